"""A stand-in OpenAI-compatible chat-completions server on 127.0.0.1 for the optional language model's tests
(`tests/ask/test_llm.py`, `tests/narratives/`): the test queues its replies, the server keeps every request."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from backend.llm import ChatProvider


class StandIn:
    """A chat-completions server whose replies are queued by the test (``reply`` is called with the request's
    user message and returns the body to send: a dict as JSON, or raw text); when the queue is empty the
    ``otherwise`` reply answers (default: a body that is not JSON)."""

    def __init__(self, timeout: float = 5.0):
        self.replies: list = []
        self.otherwise: Callable[[str], object] = lambda user: "no reply"
        self.requests: list[dict] = []
        self.headers: list[dict[str, str]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(body)
                outer.headers.append({k.lower(): v for k, v in self.headers.items()})
                make = outer.replies.pop(0) if outer.replies else outer.otherwise
                reply = make(body["messages"][-1]["content"])
                data = json.dumps(reply).encode() if isinstance(reply, dict) else str(reply).encode()
                try:
                    self.send_response(200 if self.path.endswith("/chat/completions") else 404)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (a timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.provider = ChatProvider(f"http://127.0.0.1:{self.server.server_address[1]}/v1", "stand-in", "k", timeout)

    @staticmethod
    def completion(text: str) -> dict:
        return {"choices": [{"message": {"role": "assistant", "content": text}}]}

    def say(self, make: Callable[[str], str]) -> None:
        """Queue one reply: ``make(user message)`` as the model's text."""
        self.replies.append(lambda user: self.completion(make(user)))

    def raw(self, text: str) -> None:
        """Queue one reply whose whole body is ``text``."""
        self.replies.append(lambda user: text)

    def always(self, make: Callable[[str], str]) -> None:
        """Answer every request not queued with ``make(user message)`` as the model's text."""
        self.otherwise = lambda user: self.completion(make(user))

    def always_raw(self, text: str) -> None:
        self.otherwise = lambda user: text

    def always_slow(self, seconds: float) -> None:
        """Answer every request not queued after ``seconds`` (longer than the provider's timeout)."""
        def slow(user: str) -> dict:
            time.sleep(seconds)
            return self.completion(user)
        self.otherwise = slow

    def user_texts(self) -> list[str]:
        return [r["messages"][-1]["content"] for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stand_in():
    server = StandIn()
    yield server
    server.close()


def reworded(user: str) -> str:
    """A faithful rewording: the same sentences, introduced differently."""
    return "In short: " + user


def changed_number(user: str) -> str:
    """The text with its first number changed by a tenth (unfaithful), e.g. ``1,000`` → ``1100.17``; a text
    without a number gets one."""
    first = re.search(r"(?<![\w.])\d[\d,]*(?:\.\d+)?", user)
    if first is None:
        return user + " It grew by 12.5%."
    return user[: first.start()] + f"{float(first.group(0).replace(',', '')) * 1.1 + 0.17:.2f}" + user[first.end():]


def invented_number(user: str) -> str:
    """The text with a number the engine never computed (unfaithful)."""
    return user + " About 98,765 more are expected."
