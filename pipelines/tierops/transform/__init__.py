"""dbt: staging → identity → activity → customer features, run by Dagster."""
