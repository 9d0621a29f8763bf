"""Segments (分群): ad-hoc, dated groups on top of the tiers, with precedence and overlaps."""
