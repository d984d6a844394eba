"""What one event or one retry message came to: counts, for metrics and logs."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum


class Count(StrEnum):
    """What the dispatcher counts; the handler turns each into a metric (or none)."""

    MATCHED = "matched"
    DELIVERED = "delivered"
    RETRYING = "retrying"
    FAILED = "failed"
    CANCELLED = "cancelled"
    HANDED_OFF = "handed_off"  # handed to the retry queue as first attempts: no time left
    DEFERRED = "deferred"  # left for later: another worker's lease, or a message not yet due
    ALREADY_HANDLED = "already_handled"
    MUTED = "muted"
    MALFORMED_EVENT = "malformed"
    MALFORMED_RETRY = "malformed_retry"
    RESUMED = "resumed"  # a resume message looked at its event again
    DROPPED = "dropped"  # a retry message whose event is no longer kept
    SKIPPED = "skipped"  # a retry message whose attempt was not (or no longer) scheduled
    SUPERSEDED = "superseded"  # our claim's lease ran out and another worker settled the attempt
    RECEIVED = "received"  # an EventBridge event reached the dispatcher, readable or not
    TRANSITIONS = "transitions"  # finding snapshots that changed what receivers know
    UNCHANGED = "unchanged"  # finding snapshots that changed nothing receivers care about
    REPLAYED = "replayed"  # copies of a finding's last change: sent only if the first was not
    UNREADABLE_FINDINGS = "unreadable_findings"  # findings of a batch skipped (and dead-lettered)


@dataclass
class DispatchResult:
    """Counts per outcome, for one EventBridge event or one retry-queue message."""

    counts: Counter[Count] = field(default_factory=Counter)
    malformed_reason: str | None = None
    event_id: str | None = None
