"""A wall-clock limit on a whole webhook request.

urllib3's read timeout bounds each socket read, not the response: a receiver that drips one
byte a second keeps a request alive for ever, past the claim lease and the Lambda timeout.
One watchdog thread holds the deadlines of requests in flight and shuts the socket of any that
runs over, so the blocked read fails at once.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import socket
import threading
import time
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_current = threading.local()


class Watchdog:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._armed: dict[int, Any] = {}
        self._fired: set[int] = set()
        self._ids = itertools.count()
        self._thread: threading.Thread | None = None

    def arm(self, deadline: float) -> int:
        with self._cond:
            token = next(self._ids)
            self._armed[token] = None
            # Wake the thread only for a deadline earlier than all others: with one budget for
            # every request that is only the first, so a send costs no context switch.
            earliest = not self._heap or deadline < self._heap[0][0]
            heapq.heappush(self._heap, (deadline, token))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="webhook-deadline", daemon=True)
                self._thread.start()
            if earliest:
                self._cond.notify()
            return token

    def attach(self, token: int, conn: Any) -> None:
        # No lock: a dict store is atomic, and losing a race with disarm only skips a finished one.
        if token in self._armed:
            self._armed[token] = conn

    def disarm(self, token: int) -> bool:
        """Forget the request; True when its deadline had fired. Its heap entry goes lazily."""
        self._armed.pop(token, None)
        if self._fired and token in self._fired:
            with self._cond:
                self._fired.discard(token)
            return True
        return False

    def _run(self) -> None:
        with self._cond:
            while True:
                while self._heap and self._heap[0][1] not in self._armed:
                    heapq.heappop(self._heap)  # finished in time
                if not self._heap:
                    self._cond.wait()
                    continue
                deadline, token = self._heap[0]
                wait = deadline - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                heapq.heappop(self._heap)
                self._fired.add(token)
                sock = getattr(self._armed.get(token), "sock", None)
                if sock is not None:
                    with contextlib.suppress(OSError):  # already closed
                        sock.shutdown(socket.SHUT_RDWR)


WATCHDOG = Watchdog()


def begin(deadline: float) -> int:
    """Start timing this thread's next request; pair with ``end``."""
    token = WATCHDOG.arm(deadline)
    _current.token = token
    return token


def end(token: int) -> bool:
    _current.token = None
    return WATCHDOG.disarm(token)


class _Watched:
    """Mixin: the connection a request uses reports itself to the watchdog."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        token = getattr(_current, "token", None)
        if token is not None:
            WATCHDOG.attach(token, self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = WatchedHTTPConnection


class WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = WatchedHTTPSConnection


POOL_CLASSES = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}
