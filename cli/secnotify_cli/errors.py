"""Exit codes and the errors that carry them to ``main``."""

from __future__ import annotations

from typing import Any

EXIT_OK = 0
EXIT_API = 1  # the API refused the request (4xx/5xx); its message is quoted
EXIT_USAGE = 2  # a wrong command line or an unreadable input file (argparse uses 2 too)
EXIT_UNREACHABLE = 3  # no endpoint, no credentials, no stack, no connection
EXIT_FAILED = 4  # the request went through but what it tried failed: a test send, a check
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """Something to print on stderr, and the exit code to leave with."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ApiError(CliError):
    """An answer of 400 or more: ``message`` quotes the API's own."""

    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        detail = body.get("message") if isinstance(body, dict) else None
        text = detail if isinstance(detail, str) else (str(body)[:500] if body else "no message")
        super().__init__(f"{method} {path}: {status} {text}", EXIT_API)
        self.status = status
        self.body = body
