"""The retry queue and the dead-letter queue in memory, with SQS's delay cap."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from secnotify.models.delivery import DeadLetterKind
from secnotify.service.ports.queues import MAX_DELAY_S


@dataclass(frozen=True)
class Queued:
    body: str
    due_at: float

    @property
    def message(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass(frozen=True)
class DeadLetter:
    kind: DeadLetterKind
    reason: str
    body: str


class InMemoryQueues:
    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.retries: list[Queued] = []
        self.dead: list[DeadLetter] = []

    def schedule_retry(self, message: dict[str, Any], delay_s: float) -> None:
        self.schedule_retries([(message, delay_s)])

    def schedule_retries(self, items: list[tuple[dict[str, Any], float]]) -> None:
        now = self.clock()
        with self._lock:
            for message, delay_s in items:
                delay = max(0, min(MAX_DELAY_S, round(delay_s)))
                self.retries.append(Queued(json.dumps(message, separators=(",", ":")), now + delay))

    def dead_letter(self, kind: DeadLetterKind, reason: str, body: str) -> None:
        with self._lock:
            self.dead.append(DeadLetter(kind, reason[:1000] or "unknown", body))

    def take_due(self) -> list[Queued]:
        """Receive (and delete) every retry message whose delay is over."""
        now = self.clock()
        with self._lock:
            due = [q for q in self.retries if q.due_at <= now]
            self.retries = [q for q in self.retries if q.due_at > now]
        return due
