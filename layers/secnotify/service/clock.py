"""The dispatcher's two clocks, injected so tests can move time instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Clock:
    """``wall``: unix seconds, for what is stored or sent (not-before times, leases, records);
    ``monotonic``: for intervals inside one invocation (deadlines, flush timing)."""

    wall: Callable[[], float] = time.time
    monotonic: Callable[[], float] = time.monotonic

    def iso(self) -> str:
        """Wall time as the records store it: ISO 8601 UTC, in milliseconds."""
        moment = datetime.fromtimestamp(self.wall(), UTC)
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


SYSTEM_CLOCK = Clock()
