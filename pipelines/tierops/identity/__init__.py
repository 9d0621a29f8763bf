"""Identity stitching: many identifiers, one customer."""
