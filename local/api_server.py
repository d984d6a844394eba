"""Serves the config API on HTTP by handing each request to the same Lambda handler.

Open by default; ``LOCAL_AUTH=sigv4`` (or ``serve_api(auth="sigv4")``) checks every request's
SigV4 signature against the local credentials (local/sigv4.py), as API Gateway's IAM auth does,
and hands the verified principal to the handler in ``requestContext.identity``."""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from local.lambda_runtime import LocalContext, apigw_event
from local.sigv4 import SignatureRefused, lower_headers, verify

AUTH_MODES = ("none", "sigv4")

MAX_BODY = 10 * 1024 * 1024  # API Gateway's own limit
# A Lambda instance serves one request at a time, and the resolver relies on that.
_ONE_AT_A_TIME = threading.Lock()


class LocalApiServer(ThreadingHTTPServer):
    daemon_threads = True
    auth = "none"
    region = "us-east-1"
    # The config API's handler unless another is given (a test that reads the events it gets).
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None


class _Handler(BaseHTTPRequestHandler):
    server_version = "secnotify-local"
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        server = self.server
        lambda_handler = server.handler if isinstance(server, LocalApiServer) and server.handler else None
        if lambda_handler is None:
            from functions.config_api.app import lambda_handler

        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, {"Content-Type": "application/json"}, b'{"message":"body: too large"}')
            return
        body = self.rfile.read(length) if length else b""
        identity = self._signer(body)
        if identity is None:
            return
        event = apigw_event(
            self.command, self.path, {k: v for k, v in self.headers.items()}, body, identity=identity
        )
        # Served at the root, as a custom domain mapped without a base path: no stage in the path.
        event["requestContext"]["path"] = event["path"]
        with _ONE_AT_A_TIME:
            result: dict[str, Any] = lambda_handler(event, LocalContext())
        payload = result.get("body") or ""
        data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode()
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        self._reply(int(result.get("statusCode", 500)), headers, data)

    def _signer(self, body: bytes) -> dict[str, str] | None:
        """The verified signer's identity ({} when the server is open); None once refused with 403."""
        server = self.server
        if not isinstance(server, LocalApiServer) or server.auth != "sigv4":
            return {}
        try:
            principal = verify(
                self.command, self.path, lower_headers(self.headers.items()), body, server.region
            )
        except SignatureRefused as refused:
            data = json.dumps({"message": refused.message}).encode()
            self._reply(
                403, {"Content-Type": "application/json", "x-amzn-ErrorType": refused.error_type}, data
            )
            return None
        return principal.identity()

    def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in {"content-length", "connection"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_api(
    host: str = "127.0.0.1",
    port: int = 3000,
    auth: str | None = None,
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None,
) -> LocalApiServer:
    """``auth``: ``none`` or ``sigv4``; by default the ``LOCAL_AUTH`` environment variable, else none."""
    mode = (auth if auth is not None else os.environ.get("LOCAL_AUTH", "")) or "none"
    if mode not in AUTH_MODES:
        raise ValueError(f"LOCAL_AUTH={mode}: expected one of {', '.join(AUTH_MODES)}")
    server = LocalApiServer((host, port), _Handler)
    server.auth = mode
    server.handler = handler
    server.region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    threading.Thread(target=server.serve_forever, name="api", daemon=True).start()
    return server
