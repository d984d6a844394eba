"""Real local webhook receivers for tests: HTTP and HTTPS (trustme), on loopback only.

    with Receiver() as rx:                       # http://127.0.0.1:<port>
        rx.reply(Reply(status=429, headers=(("Retry-After", "7"),)))
        ... send to rx.url("/hook") ...
        req = rx.wait_for(1)[0]                  # RecordedRequest

    with HttpsReceiver() as rx:                  # https://localhost:<port>, self-signed CA
        rx.ca_file                               # PEM of the CA, for a client that should trust it

Replies are taken from a queue, one per request; when the queue is empty the default reply is
used (``Receiver(default=Reply(...))`` or ``rx.default = ...``).
"""

from __future__ import annotations

import socket
import ssl
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

LOOPBACK_V4 = "127.0.0.1"
LOOPBACK_V6 = "::1"


@dataclass(frozen=True)
class Reply:
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b"ok"
    delay_s: float = 0.0  # wait this long before answering (cut short when the server stops)
    drop: bool = False  # read the request, then close the connection without any response


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    client: tuple[Any, ...]  # (address, port, ...) of the client end: same port = same connection

    def header(self, name: str) -> str | None:
        """The first value of ``name`` (case-insensitive), or ``None``."""
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_values(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse can be observed
    # Headers and body go out as two writes: without this, each reply on a kept-alive connection
    # waits for the client's delayed ACK (about 40 ms).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        # Header values arrive latin-1 decoded; give tests the UTF-8 text that was sent.
        headers = [(k, v.encode("latin-1").decode("utf-8", "replace")) for k, v in self.headers.items()]
        self.server.owner._record(
            RecordedRequest(self.command, self.path, headers, body, tuple(self.client_address))
        )
        reply = self.server.owner._next_reply()
        if reply.delay_s and self.server.owner._stopping.wait(reply.delay_s):
            self.close_connection = True
            return
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_POST = _handle
    do_GET = _handle
    do_PUT = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-request are part of the tests, not failures


class _V6Server(_Server):
    address_family = socket.AF_INET6


class _TlsServer(_Server):
    ssl_context: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Handshake in the per-connection thread, so a client that rejects us cannot stall accept().
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            request.close()
            return
        super().finish_request(tls, client_address)


class _TlsV6Server(_TlsServer):
    address_family = socket.AF_INET6


class Receiver:
    """A threaded HTTP receiver on loopback that records requests and answers as told."""

    scheme = "http"

    def __init__(self, host: str = LOOPBACK_V4, default: Reply | None = None) -> None:
        if host not in (LOOPBACK_V4, LOOPBACK_V6):
            raise ValueError("test receivers listen on loopback only")
        self.bind_host = host
        self.default = default or Reply()
        self.requests: list[RecordedRequest] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------
    def _make_server(self) -> _Server:
        cls = _V6Server if self.bind_host == LOOPBACK_V6 else _Server
        return cls((self.bind_host, 0), _Handler)

    def start(self) -> Receiver:
        server = self._make_server()
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Receiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addressing ----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None, "receiver not started"
        return int(self._server.server_address[1])

    def url(self, path: str = "/", host: str | None = None) -> str:
        """URL of this receiver; ``host`` replaces the bind address (e.g. ``localhost``)."""
        name = host or self.bind_host
        shown = f"[{name}]" if ":" in name else name
        return f"{self.scheme}://{shown}:{self.port}{path}"

    # -- behaviour -----------------------------------------------------------------------------
    def reply(self, *replies: Reply) -> None:
        """Queue answers for the next requests, in order."""
        with self._lock:
            self._replies.extend(replies)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._replies.popleft() if self._replies else self.default

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)
            self._lock.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[RecordedRequest]:
        """The first ``count`` requests, waiting for them to arrive; AssertionError if they do not."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} requests, got {len(self.requests)}")
                self._lock.wait(left)
            return list(self.requests[:count])


class HttpsReceiver(Receiver):
    """The HTTPS variant: a certificate for ``localhost``, 127.0.0.1 and ::1 from a fresh trustme CA."""

    scheme = "https"

    def __init__(
        self,
        host: str = LOOPBACK_V4,
        default: Reply | None = None,
        names: tuple[str, ...] = ("localhost", LOOPBACK_V4, LOOPBACK_V6),
    ) -> None:
        super().__init__(host, default)
        self.ca = trustme.CA()
        self._tmp = tempfile.TemporaryDirectory(prefix="secnotify-tls-")
        self.ca_file = Path(self._tmp.name) / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.server_cert = self.ca.issue_cert(*names)

    def _make_server(self) -> _Server:
        cls = _TlsV6Server if self.bind_host == LOOPBACK_V6 else _TlsServer
        server = cls((self.bind_host, 0), _Handler)
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.server_cert.configure_cert(ctx)
        server.ssl_context = ctx
        return server

    def stop(self) -> None:
        super().stop()
        self._tmp.cleanup()


def closed_port() -> tuple[socket.socket, int]:
    """A loopback port that refuses connections: bound, never listening. Close the socket after use."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK_V4, 0))
    return sock, int(sock.getsockname()[1])
