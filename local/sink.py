"""A webhook sink: prints every notification it receives, so a newcomer sees one arrive."""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SHOWN_HEADERS = ("content-type", "user-agent", "webhook-id", "webhook-timestamp", "webhook-signature")


class Sink(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], quiet: bool = False) -> None:
        super().__init__(address, _Handler)
        self.quiet = quiet
        self.received: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Sink

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        entry = {
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body": body.decode("utf-8", "replace"),
            "receivedAt": time.time(),
        }
        with self.server.lock:
            self.server.received.append(entry)
        if not self.server.quiet:
            _print(entry)
        self._reply(200, b'{"ok":true}')

    def do_GET(self) -> None:
        # GET /_received lists what arrived, for scripts and tests.
        with self.server.lock:
            data = json.dumps(self.server.received).encode()
        self._reply(200, data)

    def _reply(self, status: int, data: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _print(entry: dict[str, Any]) -> None:
    lines = [f"\n=== sink: POST {entry['path']}"]
    lines += [f"  {h}: {entry['headers'][h]}" for h in SHOWN_HEADERS if h in entry["headers"]]
    try:
        pretty = json.dumps(json.loads(entry["body"]), indent=2, ensure_ascii=False)
    except ValueError:
        pretty = entry["body"]
    lines.append(pretty)
    print("\n".join(lines), file=sys.stdout, flush=True)


def serve_sink(host: str = "127.0.0.1", port: int = 8080, quiet: bool = False) -> Sink:
    sink = Sink((host, port), quiet=quiet)
    threading.Thread(target=sink.serve_forever, name="sink", daemon=True).start()
    return sink


def main() -> None:
    sink = serve_sink()
    print(f"sink listening on {sink.url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
