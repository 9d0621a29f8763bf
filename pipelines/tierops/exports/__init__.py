"""Files for people and systems: audience lists, manifests."""
