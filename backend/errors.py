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


class UnsupportedType(ServiceError):
    status_code = 415

