"""The ASGI app for multi-worker servers: ``uvicorn backend.api.asgi:app`` (settings from the environment)."""

from backend.api.main import create_app, freeze_startup_heap

app = create_app()
freeze_startup_heap()
