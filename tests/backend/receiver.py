"""A webhook receiver on 127.0.0.1 for tests: records what it gets; can fail the first N requests."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class WebhookReceiver:
    def __init__(self, fail_first: int = 0, status: int = 503):
        self.fail_first, self.status = fail_first, status
        self.attempts = 0
        self.received: list[dict] = []  # accepted bodies
        self.keys: list[str] = []  # Idempotency-Key of accepted requests
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.attempts += 1
                    fail = receiver.attempts <= receiver.fail_first
                    if not fail:
                        receiver.received.append(json.loads(body))
                        receiver.keys.append(self.headers.get("Idempotency-Key", ""))
                self.send_response(receiver.status if fail else 200)
                self.end_headers()
                self.wfile.write(b"down" if fail else b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
