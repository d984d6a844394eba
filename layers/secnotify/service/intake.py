"""From one EventBridge event to the security events to fan out: the one place that knows the sources.

An AWS finding event carries snapshots; each goes through the finding lifecycle, and only a
transition becomes an event (under an id derived from the change, not from the envelope). An
event of the platform's own (``source: secnotify``) already names its transition: it is passed
on as it is, and its state is recorded for tracking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from secnotify.models.event import SecurityEvent
from secnotify.service.dispatch_result import Count, DispatchResult
from secnotify.service.findings import FindingLifecycle
from secnotify.sources import parse_eventbridge, parse_findings
from secnotify.sources.findings import security_event

# Runs the lifecycle over a batch's snapshots, keeping their order: ``map``, or a thread pool's.
Mapper = Callable[..., Iterable[Any]]


@dataclass
class Reading:
    """What one EventBridge event came to."""

    event_id: str | None
    events: list[SecurityEvent] = field(default_factory=list)
    unreadable: tuple[str, ...] = ()  # why findings of a batch were skipped (the others were read)


class Intake:
    def __init__(self, lifecycle: FindingLifecycle, mapper: Mapper = map) -> None:
        self.lifecycle = lifecycle
        self.mapper = mapper

    def read(self, raw: object, result: DispatchResult) -> Reading:
        """The events ``raw`` makes; ``MalformedEvent`` when it cannot be read at all."""
        snapshots = parse_findings(raw)
        if snapshots is None:
            event = parse_eventbridge(raw)
            self.lifecycle.track(event)
            return Reading(event.event_id, [event])
        reading = Reading(_envelope_id(raw), unreadable=snapshots.skipped)
        observations = self.mapper(self.lifecycle.observe, snapshots)
        for snapshot, observed in zip(snapshots, observations, strict=True):
            if observed is None:
                result.counts[Count.UNCHANGED] += 1
                continue
            result.counts[Count.REPLAYED if observed.replay else Count.TRANSITIONS] += 1
            reading.events.append(
                security_event(snapshot, observed.transition, observed.event_id, observed.risk_level)
            )
        return reading


def _envelope_id(raw: object) -> str | None:
    event_id = raw.get("id") if isinstance(raw, dict) else None
    return event_id if isinstance(event_id, str) else None
