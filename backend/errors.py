"""Service errors with an HTTP status; the API turns each into ``{"detail": message}``.

`data.errors.UserError` (bad input found by a stage) maps to 422 unless it is one of these.
"""

from __future__ import annotations

from data.errors import UserError


class ServiceError(UserError):
    status_code = 400


class NotFound(ServiceError):
    status_code = 404


class Conflict(ServiceError):
    status_code = 409


class Invalid(ServiceError):
    status_code = 422


class TooLarge(ServiceError):
    status_code = 413


def size_text(n: int) -> str:
    """Bytes as people read them: ``200 MB``, ``9.8 KB``, ``512 bytes`` (1 KB = 1024 bytes)."""
    for unit, size in (("GB", 1024 ** 3), ("MB", 1024 ** 2), ("KB", 1024)):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


class UnsupportedType(ServiceError):
    status_code = 415

