"""Run reports: per-tier KPIs, A/B readouts and the report page."""
