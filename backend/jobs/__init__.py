"""Jobs the scheduler and `cxw job` run."""
