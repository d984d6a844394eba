"""A clock that moves only when told: wall and monotonic time advance together."""

from __future__ import annotations

import threading

from secnotify.service.clock import Clock


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._lock = threading.Lock()
        self._wall = start
        self._mono = 1000.0

    def wall(self) -> float:
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._wall += seconds
            self._mono += seconds

    def clock(self) -> Clock:
        return Clock(wall=self.wall, monotonic=self.monotonic)
