"""A webhook receiver on 127.0.0.1 that fails a seeded share of requests, and dedups on webhook-id.

Which request fails, and how, is a pure function of (seed, event id, path, n) where n counts the
requests already seen for that webhook-id. It does not depend on thread timing or on the random
integration ids, so one seed always injects the same faults, and ``plan()`` can tell in advance
how many attempts every notification needs.

Faults: 500, 503 with ``Retry-After: 1``, a dropped connection (request read, no response), and
a hang longer than the client's read timeout that then answers 200 (a slow receiver that did
process the request: the sender cannot know, so the receiver sees that webhook-id again).
Once a webhook-id has been answered with a 2xx, later requests for it are acknowledged with 200
and counted as raw duplicates, as a Standard Webhooks receiver deduping on webhook-id would.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError

OK = "ok"
HTTP_500 = "500"
HTTP_503 = "503"
DROP = "drop"
HANG = "hang"
FAULTS = (HTTP_500, HTTP_503, DROP, HANG)

# Cumulative shares: 10% 500, 7% 503 + Retry-After, 7% drops, 6% hangs = 30% of requests fail.
_THRESHOLDS = ((0.10, HTTP_500), (0.17, HTTP_503), (0.24, DROP), (0.30, HANG))

# Status and extra headers of each outcome that answers (a hang answers 200, late).
_ANSWERS: dict[str, tuple[int, tuple[tuple[str, str], ...]]] = {
    HTTP_500: (500, ()),
    HTTP_503: (503, (("Retry-After", "1"),)),
}


def decide(seed: int, event_id: str, path: str, n: int) -> str:
    digest = hashlib.sha256(f"{seed}\x00{event_id}\x00{path}\x00{n}".encode()).digest()
    draw = int.from_bytes(digest[:8], "big") / 2**64
    for bound, fault in _THRESHOLDS:
        if draw < bound:
            return fault
    return OK


def attempts_needed(seed: int, event_id: str, path: str, limit: int = 100) -> int:
    """Requests this notification takes until the sender sees a 2xx.

    A hang's late 200 reaches nobody; the retry after it is a duplicate the receiver acknowledges.
    """
    for n in range(limit):
        outcome = decide(seed, event_id, path, n)
        if outcome == OK:
            return n + 1
        if outcome == HANG:
            return n + 2
    return limit


@dataclass
class Stats:
    requests: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    bad_signatures: int = 0
    unknown: int = 0  # requests without a usable webhook-id or event id
    per_id: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    accepted: dict[str, str] = field(default_factory=dict)  # webhook-id -> "eventId path"
    ok_replies: Counter[str] = field(default_factory=Counter)  # webhook-id -> 2xx answers sent

    @property
    def raw_duplicates(self) -> int:
        """2xx answers beyond the first for the same webhook-id."""
        return sum(n - 1 for n in self.ok_replies.values() if n > 1)


class FaultyReceiver:
    def __init__(self, seed: int, secret: str, hang_s: float) -> None:
        self.seed = seed
        self.hang_s = hang_s
        self.verifier = Webhook(secret)
        self.stats = Stats()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    def _choose(self, webhook_id: str, event_id: str, path: str) -> str:
        with self.lock:
            self.stats.requests += 1
            n = self.stats.per_id[webhook_id]
            self.stats.per_id[webhook_id] = n + 1
            if webhook_id in self.accepted_ids():
                outcome = "duplicate"
            else:
                outcome = decide(self.seed, event_id, path, n)
            self.stats.outcomes[outcome] += 1
            if outcome in (OK, HANG, "duplicate"):
                # A hang answers 200 too, late: the receiver has the notification from then on.
                self.stats.accepted.setdefault(webhook_id, f"{event_id} {path}")
                self.stats.ok_replies[webhook_id] += 1
            return outcome

    def _verified_event_id(self, body: bytes, headers: dict[str, str]) -> str:
        """The event id of a correctly signed notification; "" for anything else."""
        try:
            self.verifier.verify(body, headers)
            return str(json.loads(body)["eventId"])
        except WebhookVerificationError:
            with self.lock:
                self.stats.bad_signatures += 1
        except (ValueError, KeyError, TypeError):
            pass
        return ""

    def accepted_ids(self) -> dict[str, str]:
        return self.stats.accepted

    def start(self) -> FaultyReceiver:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                webhook_id = self.headers.get("webhook-id") or ""
                event_id = owner._verified_event_id(body, dict(self.headers.items()))
                if not webhook_id or not event_id:
                    with owner.lock:
                        owner.stats.unknown += 1
                    self._answer(400)
                    return
                outcome = owner._choose(webhook_id, event_id, self.path)
                if outcome == DROP or (outcome == HANG and owner.stopping.wait(owner.hang_s)):
                    self.close_connection = True
                    return
                self._answer(*_ANSWERS.get(outcome, (200, ())))

            def _answer(self, status: int, extra: tuple[tuple[str, str], ...] = ()) -> None:
                try:
                    self.send_response(status)
                    for name, value in extra:
                        self.send_header(name, value)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    self.close_connection = True  # the client gave up (read timeout)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # clients timing out mid-response are part of the test

        self._server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def url(self, path: str) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}{path}"

    def stop(self) -> None:
        self.stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FaultyReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
