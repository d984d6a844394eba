"""Child processes the benchmark talks to: a moto server and webhook receivers, on 127.0.0.1 only.

Run as ``python -m bench.servers moto PORT``, ``python -m bench.servers receiver DELAY_S`` or
``python -m bench.servers tls-receiver DELAY_S CERT_PEM`` (a certificate and key, as trustme writes
them, for every hostname the bench's integrations use); ``async-receiver DELAY_S`` is that same
server on plain HTTP.

The TLS receiver stands in for 200 remote hosts, so its CPU is not the dispatcher's: it is one
asyncio loop (no thread, and no sleeping thread, per request) with a small HTTP/1.1 parser, and the
figure prints what it costs.
Each child prints one ready line and exits when its stdin closes, so it cannot outlive the bench
even if the bench is killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOOPBACK = "127.0.0.1"


def _exit_with_parent() -> None:
    def watch() -> None:
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


class _Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.header_names: dict[str, list[str]] = {}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real webhook endpoint would
    # Headers and body leave in two writes; with Nagle on, the body waits for the client's
    # delayed ACK (40 ms on Linux), which would swamp every figure.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        stats = self.server.stats
        with stats.lock:
            stats.count += 1
            stats.header_names[self.path.split("/")[1]] = [k.lower() for k in self.headers]
        if self.server.delay_s:
            time.sleep(self.server.delay_s)
        self._answer(b"ok")

    def do_GET(self) -> None:
        if self.path.startswith("/delay/"):
            # Lets one set of integrations measure both a slow and an instant endpoint.
            self.server.delay_s = float(self.path.removeprefix("/delay/"))
        stats = self.server.stats
        with stats.lock:
            body = json.dumps({"count": stats.count, "headerNames": stats.header_names}).encode()
        self._answer(body)

    def _answer(self, body: bytes) -> None:
        head = f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
        self.wfile.write(head.encode("ascii") + body)  # one segment on the wire


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # The default backlog of 5 drops SYNs when 200 connections open at once (1 s client retransmit).
    request_queue_size = 1024
    stats: _Stats
    delay_s: float


MAX_HEAD = 64 * 1024


class _Http11(asyncio.Protocol):
    """One keep-alive connection: requests answered one at a time and in order, each POST after
    the server's delay (a timer, not a sleeping thread). Content-Length bodies only: a chunked
    request is answered 501 and the connection closed; anything malformed gets 400 and a close."""

    def __init__(self, server: _AsyncReceiver) -> None:
        self.server = server
        self.buf = bytearray()
        self.busy = False  # a request is being answered; later ones wait in ``buf``
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._next()

    def _next(self) -> None:
        if self.busy or self.transport is None:
            return
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > MAX_HEAD:
                self._answer(431, b"", keep=False)
            return
        lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or parts[2] != "HTTP/1.1":
            self._answer(400, b"", keep=False)
            return
        method, target, _ = parts
        fields: list[tuple[str, str]] = []
        for line in lines[1:]:
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                self._answer(400, b"", keep=False)
                return
            fields.append((name.lower(), value.strip()))
        names = {name for name, _ in fields}
        if "transfer-encoding" in names:
            self._answer(501, b"", keep=False)
            return
        lengths = {value for name, value in fields if name == "content-length"}
        if len(lengths) > 1 or not all(v.isdigit() for v in lengths) or "host" not in names:
            self._answer(400, b"", keep=False)
            return
        length = int(lengths.pop()) if lengths else 0
        if len(self.buf) < end + 4 + length:
            return  # the body is still on its way
        del self.buf[: end + 4 + length]
        keep = all(not (name == "connection" and value.lower() == "close") for name, value in fields)
        self.busy = True
        self.server.handle(self, method, target, [name for name, _ in fields], keep)

    def _answer(self, status: int, body: bytes, keep: bool) -> None:
        if self.transport is None:
            return
        phrase = HTTPStatus(status).phrase
        close = "" if keep else "Connection: close\r\n"
        head = (
            f"HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain\r\n{close}"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self.transport.write(head.encode("ascii") + body)  # one TLS record
        if not keep:
            self.transport.close()
            self.transport = None
            return
        self.busy = False
        self._next()  # a pipelined request already read


class _AsyncReceiver:
    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.count = 0
        self.header_names: dict[str, list[str]] = {}
        self.loop = asyncio.new_event_loop()

    def handle(self, conn: _Http11, method: str, target: str, names: list[str], keep: bool) -> None:
        if method == "POST":
            self.count += 1
            self.header_names[target.split("/")[1]] = names
            if self.delay_s:
                self.loop.call_later(self.delay_s, conn._answer, 200, b"ok", keep)
            else:
                conn._answer(200, b"ok", keep)
        elif method == "GET":
            if target.startswith("/delay/"):
                self.delay_s = float(target.removeprefix("/delay/"))
            conn._answer(
                200, json.dumps({"count": self.count, "headerNames": self.header_names}).encode(), keep
            )
        else:
            conn._answer(405, b"", keep=False)


def run_tls_receiver(delay_s: float, cert_pem: str | None) -> None:
    """The asyncio receiver, over TLS with ``cert_pem``, or plain HTTP when it is None (the same
    server both ways, so the two fan-out figures differ by TLS alone)."""
    receiver = _AsyncReceiver(delay_s)
    context = None
    if cert_pem is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_pem)
    loop = receiver.loop
    # The default backlog of 100 would drop SYNs when 200 connections open at once.
    server = loop.run_until_complete(
        loop.create_server(lambda: _Http11(receiver), LOOPBACK, 0, ssl=context, backlog=1024)
    )
    _exit_with_parent()
    print(f"READY {server.sockets[0].getsockname()[1]}", flush=True)
    loop.run_forever()


def run_receiver(delay_s: float) -> None:
    server = _Server((LOOPBACK, 0), _Handler)
    server.stats = _Stats()
    server.delay_s = delay_s
    _exit_with_parent()
    print(f"READY {server.server_address[1]}", flush=True)
    server.serve_forever(poll_interval=0.2)


def run_moto(port: int) -> None:
    import logging

    from moto.server import main

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    _exit_with_parent()
    print("READY", flush=True)
    main(["-H", LOOPBACK, "-p", str(port)])


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "receiver":
        run_receiver(float(sys.argv[2]))
    elif kind == "tls-receiver":
        run_tls_receiver(float(sys.argv[2]), sys.argv[3])
    elif kind == "async-receiver":
        run_tls_receiver(float(sys.argv[2]), None)
    elif kind == "moto":
        run_moto(int(sys.argv[2]))
    else:
        raise SystemExit(f"unknown server kind {kind}")
