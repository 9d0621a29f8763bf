"""Checks that say when tiers or thresholds look wrong."""
