"""Stage 5 — recommendations: actions, expected impact, tradeoffs, what-if and experiment plans."""
