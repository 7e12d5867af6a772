"""Pure ASGI middlewares that check request bodies before the app parses them: their size, and JSON
numbers outside what JSON allows (``NaN``, ``Infinity``, ``-Infinity``, or a literal too large for a double)."""

from __future__ import annotations

import json
import math
import re

from backend.errors import size_text


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """413 for bodies larger than ``default`` bytes, or ``upload`` bytes on upload paths (ending in /upload).

    Checks Content-Length first and counts streamed bytes too, so chunked uploads are cut off as well;
    the app's own answer to a body cut off (FastAPI turns any error while reading one into a 400) is
    replaced by the 413. Upload requests may exceed ``upload`` by ``slack`` bytes of multipart framing;
    the message names ``upload``, the configured limit.
    """

    def __init__(self, app, default: int, upload: int, slack: int = 0):
        self.app, self.default, self.upload, self.slack = app, default, upload, slack

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        is_upload = scope["path"].endswith("/upload")
        named = self.upload if is_upload else self.default
        limit = named + self.slack if is_upload else named
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        return await _reject(send, named)
                except ValueError:
                    return await _reject(send, named, "bad Content-Length header", 400)
        seen = 0
        exceeded = started = False

        async def limited_receive():
            nonlocal seen, exceeded
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            if exceeded:  # whatever the app answers to a body it could not read, the answer is 413
                if message["type"] == "http.response.start" and not started:
                    started = True
                    await _reject(send, named)
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(send, named)


# Only bodies with one of these can hold a non-finite number; others skip the strict parse.
_SUSPECT = re.compile(rb"NaN|Infinity|[eE][+-]?\d{3}|\d{300}")


def _non_finite(text: str):
    raise ValueError(f"{text} is not a number JSON allows")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large for a 64-bit float")
    return value


def non_finite_number(body: bytes) -> str | None:
    """Why a JSON ``body`` holds a number outside finite doubles, or None (also for a body that is not JSON)."""
    if not _SUSPECT.search(body):
        return None
    try:
        json.loads(body, parse_constant=_non_finite, parse_float=_finite_float)
    except ValueError as err:
        if isinstance(err, json.JSONDecodeError):
            return None  # not JSON at all: the route says so
        return str(err)
    return None


class FiniteJSONMiddleware:
    """422 for a JSON request body holding ``NaN``, ``Infinity``, ``-Infinity`` or a float literal beyond
    the double range (``1e400``), anywhere in it, before any route sees it."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS") or not _is_json(scope):
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = non_finite_number(body)
        if problem is not None:
            return await _reject(send, 0, f"request body: {problem}; send a finite number or null", 422)
        replayed = False

        async def replay():
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def _is_json(scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True  # no content type: FastAPI parses a body as JSON


async def _reject(send, limit: int, detail: str | None = None, status: int = 413) -> None:
    detail = detail or f"request body is larger than the limit of {size_text(limit)}"
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
