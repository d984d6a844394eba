"""Keep-alive pools sized for a fan-out to many hosts, within the process's file descriptors.

urllib3 keeps one pool per host (per address, port and verification mode and TLS name) and at
most ``maxsize`` idle connections in each, but has no limit across pools. Lambda allows 1,024
open files, and a fan-out to 1,000 hosts that kept a connection to each would use them all.
So the pools share one budget of idle connections: a connection handed back while the budget
is spent is closed instead of kept. Connections in use are not counted (at most one per
worker thread); the budget leaves room for them and for everything else the process opens.
"""

from __future__ import annotations

import contextlib
import queue
import resource
import threading
from typing import Any

import urllib3

from secnotify.delivery import deadline
from secnotify.settings import Settings

# Files the rest of the process may hold: boto3's pools (10 per client), the runtime's own, logs.
RESERVED_FDS = 64
MIN_IDLE = 16


class IdleBudget:
    """How many idle connections all the pools of one manager may keep; thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.idle = 0
        self._lock = threading.Lock()

    def keep(self) -> bool:
        with self._lock:
            if self.idle >= self.limit:
                return False
            self.idle += 1
            return True

    def taken(self) -> None:
        with self._lock:
            self.idle -= 1


class _BudgetedQueue(queue.LifoQueue[Any]):
    """A pool's queue that counts the connections it holds against the shared budget.

    urllib3 fills the queue with ``None`` placeholders, one per slot; a connection over budget is
    closed and its slot goes back as a placeholder, so the pool never sees ``queue.Full``.
    """

    budget: IdleBudget

    def _put(self, item: Any) -> None:
        if item is not None and not self.budget.keep():
            with contextlib.suppress(Exception):
                item.close()
            item = None
        if item is None:
            # Under the kept connections, so a get takes one of those before opening a new one.
            self.queue.insert(0, None)
        else:
            super()._put(item)

    def _get(self) -> Any:
        item = super()._get()
        if item is not None:
            self.budget.taken()
        return item


def idle_limit(settings: Settings, fd_limit: int | None = None) -> int:
    """Idle connections to keep: what the open-file limit leaves after the other files and one
    connection in use per worker thread. With Lambda's 1,024 and 64 workers, 896."""
    if fd_limit is None:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        fd_limit = soft if soft != resource.RLIM_INFINITY else 1 << 20
    return max(MIN_IDLE, fd_limit - RESERVED_FDS - settings.fanout_concurrency)


def make_pool(settings: Settings, fd_limit: int | None = None, **connection_kw: Any) -> SharedPool:
    """The manager every sender shares: ``http_pool_hosts`` hosts, each up to one connection per
    worker thread, all together no more idle connections than ``idle_limit``. ``connection_kw``
    go to every pool (a test's ``ca_certs``)."""
    return SharedPool(settings, idle_limit(settings, fd_limit), **connection_kw)


class SharedPool(urllib3.PoolManager):
    """A ``PoolManager`` whose pools report to the watchdog and share one ``IdleBudget``."""

    def __init__(self, settings: Settings, idle: int, **connection_kw: Any) -> None:
        # block=False: a burst beyond maxsize opens extra connections instead of waiting.
        super().__init__(
            num_pools=settings.http_pool_hosts,
            maxsize=max(10, settings.fanout_concurrency),
            block=False,
            **connection_kw,
        )
        self.idle_budget = IdleBudget(idle)
        queue_cls = type("IdleQueue", (_BudgetedQueue,), {"budget": self.idle_budget})
        # Connections that report to the watchdog, which bounds each request as a whole.
        self.pool_classes_by_scheme = {
            scheme: type(cls.__name__, (cls,), {"QueueCls": queue_cls})
            for scheme, cls in deadline.POOL_CLASSES.items()
        }
