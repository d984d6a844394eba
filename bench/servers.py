"""Child processes the benchmark talks to: a moto server and webhook receivers, on 127.0.0.1 only.

Run as ``python -m bench.servers moto PORT``, ``python -m bench.servers receiver DELAY_S`` or
``python -m bench.servers tls-receiver DELAY_S CERT_PEM`` (a certificate and key, as trustme writes
them, for every hostname the bench's integrations use).
Each child prints one ready line and exits when its stdin closes, so it cannot outlive the bench
even if the bench is killed.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import sys
import threading
import time
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


class _TlsServer(_Server):
    """HTTPS: the handshake happens in the connection's own thread (on its first read), not in
    the accept loop, so 200 clients connecting at once do not queue behind each other."""

    context: ssl.SSLContext

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


def run_receiver(delay_s: float, cert_pem: str | None = None) -> None:
    if cert_pem is None:
        server = _Server((LOOPBACK, 0), _Handler)
    else:
        server = _TlsServer((LOOPBACK, 0), _Handler)
        server.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server.context.load_cert_chain(cert_pem)
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
        run_receiver(float(sys.argv[2]), sys.argv[3])
    elif kind == "moto":
        run_moto(int(sys.argv[2]))
    else:
        raise SystemExit(f"unknown server kind {kind}")
