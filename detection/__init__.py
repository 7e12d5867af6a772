"""Stage 3 — detection: detectors over the metric cube, false-discovery control, slice localization."""
