"""Small helpers shared by every part of tierops (config files, atomic writes, dates)."""
