"""Drift: statistics, tier migration matrices, checks against the calibration baseline."""
