"""Stage 6 — backend: the `cxw` command line, the FastAPI service, persistence, jobs, roles and audit."""

__version__ = "0.1.0"
