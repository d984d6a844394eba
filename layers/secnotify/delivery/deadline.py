"""A wall-clock limit on a whole webhook request.

urllib3's read timeout bounds each socket read, not the response: a receiver that drips one
byte a second keeps a request alive for ever, past the claim lease and the Lambda timeout.
One watchdog thread holds the deadlines of requests in flight and shuts the socket of any that
runs over, so the blocked read fails at once.

The deadline is measured against the request, not against our own process: it starts when the
request goes out on its connection, and a receiver that answered is never blamed for our being
busy. When a deadline falls due while the answer is already waiting unread in the socket (the
sending thread did not get the CPU, or the GIL, to read it), the watchdog gives the sender more
time instead of cutting the answer off; and a response the sender read completely counts as an
answer even if the watchdog fired meanwhile (see ``WebhookSender.send``).
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import select
import socket
import threading
import time
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()

GRACE_STEP_S = 0.25  # how often to look again while an answer waits unread


def _we_are_behind(sock: Any, sent: bool) -> bool:
    """True when the socket waits for us, not for the receiver: while sending, the kernel would
    take more bytes (POLLOUT); once sent, bytes (or the end of the stream) wait unread (POLLIN)."""
    try:
        if sent and getattr(sock, "pending", None) is not None and sock.pending() > 0:
            return True  # decrypted TLS bytes already inside the SSL object
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN if sent else select.POLLOUT)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return False


class _Entry:
    __slots__ = ("budget", "conn", "deadline", "grace_left", "sent")

    def __init__(self, budget: float) -> None:
        self.budget = budget
        self.deadline = float("inf")  # the clock starts when the request goes out
        self.conn: Any = None
        self.sent = False
        self.grace_left = budget  # at most one budget more, and only while we are the slow one


class Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, _Entry] = {}
        self._fired: set[int] = set()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def _push(self, deadline: float, token: int) -> None:
        # Wake the thread only for a deadline earlier than all others: with one budget for
        # every request that is only the first, so a send costs no context switch.
        earliest = not self._heap or deadline < self._heap[0][0]
        heapq.heappush(self._heap, (deadline, token))
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="webhook-deadline", daemon=True)
            self._thread.start()
        if earliest:
            self._cond.notify()

    def arm(self, budget_s: float) -> int:
        """Register a request; its clock starts in ``attach``, when it goes out on a connection."""
        with self._cond:
            token = next(self._ids)
            self._armed[token] = _Entry(budget_s)
            return token

    def attach(self, token: int, conn: Any) -> None:
        """The request starts going out on ``conn``: from now, one budget for the whole exchange
        (plus grace only while this process is the slow one), so the README's bound holds."""
        with self._cond:
            entry = self._armed.get(token)
            if entry is None:
                return
            entry.conn = conn
            entry.deadline = time.monotonic() + entry.budget
            self._push(entry.deadline, token)

    def sent(self, token: int) -> None:
        """The request is out: from now on a late deadline looks for an unread answer."""
        entry = self._armed.get(token)
        if entry is not None:
            entry.sent = True

    def disarm(self, token: int) -> bool:
        """Forget the request; True when its deadline had fired. Its heap entries go lazily."""
        self._armed.pop(token, None)
        if self._fired and token in self._fired:
            with self._cond:
                self._fired.discard(token)
            return True
        return False

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._stale(*self._heap[0]):
                    heapq.heappop(self._heap)  # finished in time, or moved
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, token = self._heap[0]
                now = time.monotonic()
                wait = deadline - now
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                entry = self._armed[token]
                sock = getattr(entry.conn, "sock", None)
                if sock is not None and entry.grace_left > 0 and _we_are_behind(sock, entry.sent):
                    # The receiver has answered (or could take our bytes) and this process has
                    # not got round to it: we are the slow one, not the receiver.
                    step = min(GRACE_STEP_S, entry.grace_left)
                    entry.grace_left -= step
                    entry.deadline = now + step
                    heapq.heappush(self._heap, (entry.deadline, token))
                    continue
                self._fired.add(token)
                entry.deadline = float("inf")  # any other heap entry for it is stale now
                if sock is not None:
                    with contextlib.suppress(OSError):  # already closed
                        sock.shutdown(socket.SHUT_RDWR)

    def _stale(self, deadline: float, token: int) -> bool:
        entry = self._armed.get(token)
        return entry is None or entry.deadline != deadline


WATCHDOG = Watchdog()


def begin(budget_s: float) -> int:
    """Time this thread's next request: ``budget_s`` to send it, then ``budget_s`` for the
    answer. Pair with ``end``."""
    token = WATCHDOG.arm(budget_s)
    _current.token = token
    return token


def end(token: int) -> bool:
    _current.token = None
    return WATCHDOG.disarm(token)


_BYTES = (bytes, bytearray, memoryview)


class _Watched:
    """Mixin: the connection a request uses reports itself to the watchdog, and sends the header
    block together with the first piece of the body.

    urllib3 sends the header block and the body in two writes: over TLS that is two records and
    two syscalls per request, and the second write can wait on Nagle and a delayed ACK.
    http.client's own ``_send_output`` joins them when it is given the body; urllib3 never gives
    it, so the header block is held here until the next ``send`` (or the end of the request)."""

    _held_head: bytes | None = None
    _holding = False

    def request(self, *args: Any, **kwargs: Any) -> Any:
        token = getattr(_current, "token", None)
        if token is not None:
            WATCHDOG.attach(token, self)
        self._holding = True
        try:
            result = super().request(*args, **kwargs)  # type: ignore[misc]
            self._flush_head()  # no body: the header block alone
        finally:
            self._holding = False
            self._held_head = None  # a request that failed half-way leaves nothing behind
        if token is not None:
            WATCHDOG.sent(token)
        return result

    def send(self, data: Any) -> None:
        if self._holding:  # the first send of a request is the header block (``endheaders``)
            self._holding = False
            self._held_head = bytes(data)
            return
        head = self._held_head
        if head is None:
            super().send(data)  # type: ignore[misc]
            return
        self._held_head = None
        if isinstance(data, _BYTES):
            super().send(head + bytes(data))  # type: ignore[misc]
        else:  # a file or an iterable: http.client sends it piece by piece
            super().send(head)  # type: ignore[misc]
            super().send(data)  # type: ignore[misc]

    def _flush_head(self) -> None:
        head = self._held_head
        if head is not None:
            self._held_head = None
            super().send(head)  # type: ignore[misc]


class WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


POOL_CLASSES = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}
