"""Sub-commands of `cxw`, one module per area."""
