"""The HTTP API: `main.create_app` builds it; `routes/` holds one router per resource."""
