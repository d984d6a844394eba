"""Errors the services raise when they validate a request: each carries its status and a message
that names the field or the reason, and the API answers it as it is. What storage reports goes
the other path, as a domain error (``secnotify.errors``) worded by the API's error table."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(ApiError):
    status = 400


class Conflict(ApiError):
    status = 409


class PreconditionFailed(ApiError):
    status = 412
