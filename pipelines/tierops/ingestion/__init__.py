"""Landing files and databases → validated canonical Parquet in the lake, one feed at a time."""
