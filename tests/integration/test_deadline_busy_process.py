"""A receiver that answers in time is never recorded as timed out because our process was busy.

The receiver runs in its own process, so it answers on time whatever happens in ours; in ours,
a neighbour holds the GIL in one long builtin call (as a runaway template render once did)
while other threads burn CPU, all past the request deadline.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from secnotify.delivery import WebhookRequest, WebhookSender
from secnotify.delivery.http import make_pool
from secnotify.delivery.ssrf import SsrfGuard
from secnotify.settings import Settings

RECEIVER = r"""
import sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        print("got", self.path, flush=True)
        time.sleep(0.3)
        self.send_response(200)
        self.send_header("Content-Length", "8")
        self.end_headers()
        self.wfile.write(b"received")
    def log_message(self, *args):
        pass

ThreadingHTTPServer.request_queue_size = 64
server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
import threading
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
"""

SENDS = 8


@pytest.fixture
def receiver() -> Iterator[subprocess.Popen[bytes]]:
    """Answers 0.3 s after each request, and prints a line as each one arrives."""
    child = subprocess.Popen([sys.executable, "-c", RECEIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    yield child
    assert child.stdin is not None
    child.stdin.close()
    child.wait(10)


def _gil_holding_call(seconds: float) -> int:
    """Size one builtin call (it never releases the GIL) to take about ``seconds``."""
    started = time.perf_counter()
    sum(range(2_000_000))
    per_item = (time.perf_counter() - started) / 2_000_000
    return max(2_000_000, int(seconds / per_item))


def _read_lines(fd: int, count: int, timeout_s: float) -> list[bytes]:
    """Up to ``count`` lines from ``fd``, waiting at most ``timeout_s`` in all."""
    data = b""
    until = time.monotonic() + timeout_s
    while data.count(b"\n") < count:
        left = until - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.splitlines()[:count]


def test_answers_in_time_are_not_timeouts_when_our_process_is_busy(
    receiver: subprocess.Popen[bytes],
) -> None:
    assert receiver.stdout is not None
    out = receiver.stdout.fileno()
    port = int(_read_lines(out, 1, 30)[0])
    cfg = Settings().replace(ssrf_allow_cidrs=("127.0.0.0/8",), connect_timeout_s=0.5, read_timeout_s=1.0)
    guard = SsrfGuard.from_settings(cfg, resolver=lambda h, p: ["127.0.0.1"])
    sender = WebhookSender(cfg, pool=make_pool(cfg), guard=guard)
    items = _gil_holding_call(3.0)  # well past the 1.5 s request budget
    stop = threading.Event()

    def hog() -> None:
        # every request is out and the receiver is working on it, to answer in 0.3 s
        _read_lines(out, SENDS, 10)
        sum(range(items))

    def burn() -> None:
        while not stop.is_set():
            sum(range(10_000))

    def send(i: int) -> Any:
        return sender.send(
            WebhookRequest(
                url=f"http://127.0.0.1:{port}/hook/{i}",
                headers=(("Content-Type", "application/json"),),
                body=b"{}",
                accept_any_certificate=False,
                webhook_id=f"msg_{i}",
                timestamp=int(time.time()),
            )
        )

    burners = [threading.Thread(target=burn, daemon=True) for _ in range(2)]
    for thread in burners:
        thread.start()
    outcomes: list[Any] = []
    try:
        for _round in range(2):  # the second on kept-alive connections
            with ThreadPoolExecutor(max_workers=SENDS + 1) as pool:
                busy = pool.submit(hog)
                outcomes += pool.map(send, range(SENDS))
                busy.result()
    finally:
        stop.set()
    got = [(o.delivered, o.status_code, o.error) for o in outcomes]
    assert got == [(True, 200, None)] * SENDS * 2, got
    assert all(o.response_body == "received" for o in outcomes)
