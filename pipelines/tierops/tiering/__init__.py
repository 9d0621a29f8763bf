"""Tier policy: validated YAML → SQL that assigns every customer a tier, with explanations."""
