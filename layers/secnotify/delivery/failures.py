"""Why a send failed, in words an operator can act on: urllib3's exceptions read down to the
TLS, connection or DNS error underneath, never with a request's header values."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator

from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.ssl_match_hostname import CertificateError as HostnameMismatch

from secnotify.delivery.outcome import ERROR_CONNECTION, ERROR_PROTOCOL, ERROR_TIMEOUT, ERROR_TLS
from secnotify.settings import Settings


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception it wraps, through args, causes and contexts."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        todo.extend(a for a in current.args if isinstance(a, BaseException))
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                todo.append(linked)


def _tls_message(exc: BaseException) -> str:
    for inner in _chain(exc):
        if isinstance(inner, ssl.SSLCertVerificationError):
            detail = inner.verify_message or str(inner)
            if inner.verify_code:
                return f"TLS error: certificate verify failed: {detail}"
            return f"TLS error: {detail}"
        if isinstance(inner, HostnameMismatch):
            return f"TLS error: certificate verify failed: {inner}"
    for inner in _chain(exc):
        if isinstance(inner, ssl.SSLError):
            reason = inner.reason or inner.strerror or type(inner).__name__
            return f"TLS error: {str(reason).lower().replace('_', ' ')}"
    return f"TLS error: {type(exc).__name__}"


def _connection_message(exc: BaseException) -> str:
    for inner in _chain(exc):
        if isinstance(inner, ConnectionRefusedError):
            return "connection refused"
        if isinstance(inner, ConnectionResetError):
            return "connection reset by the server without a response"
        if type(inner).__name__ == "RemoteDisconnected":
            return "connection closed by the server without a response"
    for inner in _chain(exc):
        if isinstance(inner, OSError) and inner.strerror:
            return f"connection failed: {inner.strerror.lower()}"
    return f"connection failed: {type(exc).__name__}"


# Checked in order: a read timeout is also an HTTPError, and most errors are OSErrors too.
_KINDS: tuple[tuple[type[BaseException], str, Callable[[BaseException, Settings], str]], ...] = (
    (NewConnectionError, ERROR_CONNECTION, lambda exc, _: _connection_message(exc)),
    (ConnectTimeoutError, ERROR_TIMEOUT, lambda _, s: f"connect timeout after {s.connect_timeout_s} s"),
    (ReadTimeoutError, ERROR_TIMEOUT, lambda _, s: f"read timeout after {s.read_timeout_s} s"),
    (ProtocolError, ERROR_CONNECTION, lambda exc, _: _connection_message(exc)),
    (HTTPError, ERROR_PROTOCOL, lambda exc, _: f"HTTP protocol error: {type(exc).__name__}"),
    (TimeoutError, ERROR_TIMEOUT, lambda _, s: f"timeout after {s.read_timeout_s} s"),
    (OSError, ERROR_CONNECTION, lambda exc, _: _connection_message(exc)),
)


def describe(exc: BaseException, settings: Settings) -> tuple[str, str]:
    """``(error kind, readable message)`` for an exception raised while sending."""
    if isinstance(exc, SSLError) or any(isinstance(e, (ssl.SSLError, HostnameMismatch)) for e in _chain(exc)):
        return ERROR_TLS, _tls_message(exc)
    for cls, kind, message in _KINDS:
        if isinstance(exc, cls):
            return kind, message(exc, settings)
    return ERROR_PROTOCOL, f"unexpected error: {type(exc).__name__}"


class DnsFailure(OSError):
    """The host name did not resolve; usually transient."""


def dns_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__
