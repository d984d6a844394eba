"""The per-finding state that turns snapshots into lifecycle transitions."""

from __future__ import annotations

from typing import Protocol

from secnotify.models.finding import FindingState


class FindingStateStore(Protocol):
    def get(self, finding_id: str) -> FindingState | None:
        """The stored state, read consistently; None on first sight."""

    def swap(self, finding_id: str, expected: FindingState | None, new: FindingState) -> bool:
        """Store ``new`` only if the stored state is still ``expected`` (None: absent), compared by
        its revision; False when another writer got there first."""

    def record(self, finding_id: str, new: FindingState) -> bool:
        """Store ``new`` unless the stored state is as recent (by ``updated_at``) or more, in one
        write without a read, moving the revision on; False when it was not stored. For sources
        that decide their transitions themselves and are only tracked."""
