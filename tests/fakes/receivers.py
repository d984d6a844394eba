"""Receiver references in memory, with the same condition and expiry as DynamoDB's."""

from __future__ import annotations

import threading
from collections.abc import Callable

from secnotify.service.ports.receivers import StoredReference
from secnotify.storage.receivers import REFERENCE_TTL_S


class InMemoryReceiverReferences:
    def __init__(self, clock: Callable[[], float] | None = None, checks: bool = True) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], tuple[StoredReference, float]] = {}  # with its expiry
        self.clock = clock or (lambda: 0.0)
        self.checks = checks  # off: every write is applied, as a store without its condition would

    def get(self, problem_id: str, integration_id: str) -> StoredReference | None:
        with self._lock:
            held = self._items.get((problem_id, integration_id))
        if held is None or held[1] <= self.clock():
            return None
        return held[0]

    def put(self, problem_id: str, integration_id: str, reference: StoredReference) -> bool:
        now = self.clock()
        with self._lock:
            held = self._items.get((problem_id, integration_id))
            live = held is not None and held[1] > int(now)
            if self.checks and live and held is not None and held[0].event_time > reference.event_time:
                return False
            self._items[(problem_id, integration_id)] = (reference, int(now) + REFERENCE_TTL_S)
            return True
