"""Snapshots into lifecycle: the one place that decides what a new snapshot of a finding means.

AWS services send a finding's whole current state whenever anything about it changes (a tag, a
re-scan), at least once and in no guaranteed order. A notification goes out only for a change
receivers care about, once: opened, reopened, resolved, risk level changed. The decision is
pure (``decide``); ``FindingLifecycle`` applies it with a compare-and-swap on the stored state,
so two copies of one update racing in two Lambdas decide once, and an older snapshot arriving
after a newer one changes nothing.

Snapshots are ordered by the finding's own update time. A snapshot with the stored time but
other content (status class or risk level) is a change all the same: Security Hub leaves
``UpdatedAt`` alone when a person changes a finding's workflow, so only its content tells. The
swap is keyed on the state's revision, which every write moves.

The transition's event id is derived from (finding id, transition, revision): a copy that loses
the race, or a redelivery after a crash between the state write and the fan-out, replays the
same transition under the same id, and the delivery ledger sends it at most once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from secnotify.models.common import EventRiskLevel
from secnotify.models.event import SecurityEvent
from secnotify.models.finding import (
    MAX_FINDING_ID_BYTES,
    FindingSnapshot,
    FindingState,
    FindingStatus,
    FindingTransition,
)
from secnotify.service.clock import Clock
from secnotify.service.ports.findings import FindingStateStore

_NAMESPACE = uuid.UUID("6f1c3f3e-4d0a-4b8e-9a57-2f0c1c9d5e11")
_MAX_RACES = 5


@dataclass(frozen=True)
class Decision:
    state: FindingState
    transition: FindingTransition | None
    replay: bool = False  # the stored state already holds this snapshot: repeat its transition


def transition_event_id(finding_id: str, transition: FindingTransition, revision: int) -> str:
    """The same for every copy of one change, so the delivery ledger sends it once."""
    return str(uuid.uuid5(_NAMESPACE, f"{finding_id}\x00{transition.value}\x00{revision}"))


def decide(previous: FindingState | None, snapshot: FindingSnapshot, baseline: datetime | None) -> Decision:
    """What ``snapshot`` means after ``previous``. ``baseline``: on first sight, an active finding
    created before it is recorded without a notification (an install into a busy account), and
    stays silent until it changes."""
    at = snapshot.updated_at.timestamp()
    if previous is not None:
        if at < previous.updated_at:
            return Decision(previous, None)  # an older snapshot after a newer one
        if at == previous.updated_at:
            if _says_the_same(previous, snapshot):
                replay = previous.last_transition is not None
                return Decision(previous, previous.last_transition, replay=replay)
            if snapshot.updated_at_moves:
                return Decision(previous, None)  # a late copy that disagrees: not newer
    baselined = previous.baselined if previous is not None else _before(snapshot, baseline)
    transition = _transition(previous, snapshot, baselined)
    open_notified = previous.open_notified if previous is not None else False
    told_level = previous.notified_risk_level if previous is not None else None
    if transition is FindingTransition.RESOLVED:
        open_notified = False
    elif transition is not None:
        open_notified, told_level = True, snapshot.risk_level
    state = FindingState(
        status=snapshot.status,
        risk_level=snapshot.risk_level,
        zone_ids=tuple(z for z in (snapshot.account_id, snapshot.region) if z),
        updated_at=at,
        open_notified=open_notified,
        notified_risk_level=told_level,
        last_transition=transition,
        baselined=baselined and transition is None and snapshot.status is not FindingStatus.RESOLVED,
        revision=previous.revision + 1 if previous is not None else 1,
    )
    return Decision(state, transition)


def _before(snapshot: FindingSnapshot, baseline: datetime | None) -> bool:
    created = snapshot.created_at
    if baseline is None or created is None:
        return False
    return snapshot.status is FindingStatus.ACTIVE and created < baseline


def _says_the_same(state: FindingState, snapshot: FindingSnapshot) -> bool:
    return (state.status, state.risk_level) == (snapshot.status, snapshot.risk_level)


def _transition(
    previous: FindingState | None, snapshot: FindingSnapshot, baselined: bool
) -> FindingTransition | None:
    status = snapshot.status
    if status is FindingStatus.MUTED:
        return None  # muted: nothing is sent, whatever else changed
    if status is FindingStatus.RESOLVED:
        told_open = previous is not None and previous.open_notified
        return FindingTransition.RESOLVED if told_open else None
    # ACTIVE
    if snapshot.risk_level is EventRiskLevel.NONE:
        return None  # no profile can receive it: it opens (or changes) when its level rises
    if previous is None:
        return None if baselined else FindingTransition.OPENED
    if not previous.open_notified:
        if baselined and snapshot.risk_level == previous.risk_level:
            return None  # recorded silently, and still as it was
        heard = previous.notified_risk_level is not None
        return FindingTransition.REOPENED if heard else FindingTransition.OPENED
    if snapshot.risk_level != previous.notified_risk_level:
        return FindingTransition.RISK_LEVEL_CHANGED
    return None


@dataclass(frozen=True)
class Observation:
    transition: FindingTransition
    event_id: str
    # The level receivers are told: the snapshot's, except that a resolution keeps the level
    # they heard (Security Hub lowers a passed control to INFORMATIONAL, which no profile wants).
    risk_level: EventRiskLevel
    replay: bool = False  # a copy of the last change: sent only if its first copy was not


class FindingLifecycle:
    def __init__(self, states: FindingStateStore, clock: Clock, baseline_hours: float = 0.0) -> None:
        self.states = states
        self.clock = clock
        self.baseline_hours = baseline_hours

    def observe(self, snapshot: FindingSnapshot) -> Observation | None:
        """Record ``snapshot``; the transition to notify, if any. Raises ``RuntimeError`` only if
        the state keeps changing under us (then the event is retried as a whole)."""
        baseline = self._baseline()
        for _ in range(_MAX_RACES):
            previous = self.states.get(snapshot.finding_id)
            decision = decide(previous, snapshot, baseline)
            written = decision.replay or decision.state is previous
            if not written:
                written = self.states.swap(snapshot.finding_id, previous, decision.state)
            if written:
                return _observation(snapshot, decision)
        raise RuntimeError(f"finding {snapshot.display_id} kept changing during {_MAX_RACES} attempts")

    def foresee(self, snapshot: FindingSnapshot) -> tuple[FindingState | None, Observation | None]:
        """What ``observe`` would make of ``snapshot`` on the state stored now, writing nothing:
        that state, and the transition to notify, if any (explain's view)."""
        previous = self.states.get(snapshot.finding_id)
        return previous, _observation(snapshot, decide(previous, snapshot, self._baseline()))

    def _baseline(self) -> datetime | None:
        if self.baseline_hours <= 0:
            return None
        return datetime.fromtimestamp(self.clock.wall(), tz=UTC) - timedelta(hours=self.baseline_hours)

    def track(self, event: SecurityEvent) -> None:
        """Record the state an event of the platform's own reports; an older one changes nothing."""
        state = tracked_state(event)
        if state is not None:
            self.states.record(event.security_problem_id, state)


def _observation(snapshot: FindingSnapshot, decision: Decision) -> Observation | None:
    if decision.transition is None:
        return None
    state = decision.state
    event_id = transition_event_id(snapshot.finding_id, decision.transition, state.revision)
    told = state.notified_risk_level or snapshot.risk_level
    return Observation(decision.transition, event_id, told, decision.replay)


def tracked_state(event: SecurityEvent) -> FindingState | None:
    """The state of a problem whose event already says its transition (the platform's own
    events): kept so that "what is open" has one answer across sources; None without an id."""
    if not event.security_problem_id or len(event.security_problem_id.encode()) > MAX_FINDING_ID_BYTES:
        return None  # no id to keep it under (the event itself is still delivered)
    if event.muted:
        status = FindingStatus.MUTED
    elif event.status == "RESOLVED":
        status = FindingStatus.RESOLVED
    else:
        status = FindingStatus.ACTIVE
    at = event.last_updated_timestamp
    return FindingState(
        status=status,
        risk_level=event.risk_level,
        zone_ids=tuple(z.id for z in event.management_zones if z.id),
        updated_at=at / 1000 if at is not None else event.event_time.timestamp(),
        open_notified=status is FindingStatus.ACTIVE,
        notified_risk_level=event.risk_level,
    )
