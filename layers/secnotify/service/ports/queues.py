"""What the dispatcher needs from SQS: the retry queue and the dead-letter queue."""

from __future__ import annotations

from typing import Any, Protocol

from secnotify.models.delivery import DeadLetterKind

# SQS caps DelaySeconds at 15 minutes; longer waits are chained by the dispatcher.
MAX_DELAY_S = 900


class DispatchQueues(Protocol):
    def schedule_retry(self, message: dict[str, Any], delay_s: float) -> None: ...

    def schedule_retries(self, items: list[tuple[dict[str, Any], float]]) -> None:
        """Many retry messages (message, delay in seconds) at once."""

    def dead_letter(self, kind: DeadLetterKind, reason: str, body: str) -> None:
        """Park something that could not be processed, with why."""
