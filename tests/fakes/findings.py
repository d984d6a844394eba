"""Per-finding state in memory, with the same conditions as DynamoDB's."""

from __future__ import annotations

import threading

from secnotify.models.finding import FindingState


class InMemoryFindingStates:
    def __init__(self, checks: bool = True) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, FindingState] = {}
        self.checks = checks  # off: every write is applied, as a store without conditions would

    def get(self, finding_id: str) -> FindingState | None:
        with self._lock:
            return self._items.get(finding_id)

    def swap(self, finding_id: str, expected: FindingState | None, new: FindingState) -> bool:
        with self._lock:
            current = self._items.get(finding_id)
            same = (
                (current is None)
                if expected is None
                else (current is not None and current.revision == expected.revision)
            )
            if self.checks and not same:
                return False
            self._items[finding_id] = new
            return True

    def record(self, finding_id: str, new: FindingState) -> bool:
        with self._lock:
            current = self._items.get(finding_id)
            if self.checks and current is not None and current.updated_at >= new.updated_at:
                return False
            revision = (current.revision if current is not None else 0) + 1
            self._items[finding_id] = new.model_copy(update={"revision": revision})
            return True
