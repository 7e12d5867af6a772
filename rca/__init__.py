"""Stage 4 — root-cause analysis: the hypothesis library tested against evidence; ranked causes."""
