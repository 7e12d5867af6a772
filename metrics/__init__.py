"""Stage 2 — metrics: declarative metric specs compiled to one GROUPING SETS query (the metric cube)."""
