"""Stage 1 — data: the workspace contract, validated loaders, the synthetic scenario generators."""
