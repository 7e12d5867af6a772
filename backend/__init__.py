"""Stage 6 — backend: the `cxw` command line, the FastAPI service, persistence, jobs, roles and audit."""
