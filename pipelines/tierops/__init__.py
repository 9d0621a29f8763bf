"""tierops: customer tiering that drives operations, on Dagster + dbt."""

__version__ = "0.1.0"
