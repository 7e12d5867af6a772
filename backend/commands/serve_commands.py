"""`cxw serve`: the HTTP API (and the web UI when built), optionally with the scheduled detection job.

The defaults are the fast configuration the latency benchmark measures (benchmarks/api_latency.py):
uvloop and httptools, no per-request access log (it costs about a fifth of a cached incident read's
CPU; `--access-log` turns it on, or log at the reverse proxy), and the start-up heap frozen out of the
garbage collector's reach (`backend.api.main.freeze_startup_heap`).
"""

from __future__ import annotations

import typer

from backend.commands.apps import app

WORKER_HEALTHCHECK_SECONDS = 60  # how long a worker may take to answer uvicorn's supervisor


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (loopback by default)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=16, help="Worker processes (no scheduler when > 1)."),
    log_level: str = typer.Option("info", "--log-level", help="uvicorn log level."),
    access_log: bool = typer.Option(False, "--access-log/--no-access-log",
                                    help="Log every request (off by default: it slows every request)."),
) -> None:
    """Serve the API at /api (docs at /docs); runs the detection job on CXW_SCHEDULE_CRON when set."""
    import uvicorn

    from backend.api.main import create_app, freeze_startup_heap
    from backend.settings import get_settings

    settings = get_settings()
    settings.check_deployable()
    options = {"host": host, "port": port, "log_level": log_level, "access_log": access_log, "loop": "uvloop",
               "http": "httptools"}
    if workers > 1:
        create_app(settings)  # migrate once before the workers start
        # each worker imports the app before it answers the supervisor's health check (4.5 s on an idle
        # 2-core machine, more when busy): uvicorn's default of 5 s killed and restarted workers still starting
        uvicorn.run("backend.api.asgi:app", workers=workers, timeout_worker_healthcheck=WORKER_HEALTHCHECK_SECONDS,
                    **options)
        return
    application = create_app(settings, start_scheduler=True)
    freeze_startup_heap()
    uvicorn.run(application, **options)
