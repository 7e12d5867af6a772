"""A pure ASGI middleware that refuses request bodies over a size limit before they are parsed."""

from __future__ import annotations

import json


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """413 for bodies larger than ``default`` bytes, or ``upload`` bytes on upload paths (ending in /upload).

    Checks Content-Length first and counts streamed bytes too, so chunked uploads are cut off as well.
    """

    def __init__(self, app, default: int, upload: int):
        self.app, self.default, self.upload = app, default, upload

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = self.upload if scope["path"].endswith("/upload") else self.default
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    if int(value) > limit:
                        return await _reject(send, limit)
                except ValueError:
                    return await _reject(send, limit, "bad Content-Length header", 400)
        seen = 0
        started = False

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _reject(send, limit)


async def _reject(send, limit: int, detail: str | None = None, status: int = 413) -> None:
    detail = detail or f"request body is larger than the limit of {limit / 1024 / 1024:.0f} MB"
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
