"""Snapshots into lifecycle: each change notifies once, re-sends and older snapshots never.

Run on the in-memory state store; tests/contract/test_finding_state_contract.py holds it and the
DynamoDB store to the same compare-and-swap."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from secnotify.models.common import EventRiskLevel
from secnotify.models.finding import (
    FindingSnapshot,
    FindingSource,
    FindingState,
    FindingStatus,
    FindingTransition,
)
from secnotify.service.clock import Clock
from secnotify.service.findings import FindingLifecycle, Observation, decide
from tests.fakes.clock import FakeClock
from tests.fakes.findings import InMemoryFindingStates

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ARN = "arn:aws:inspector2:eu-west-1:123456789012:finding/abc"


def snap(
    minutes: int, status: FindingStatus = FindingStatus.ACTIVE, level: str = "HIGH", **kw: object
) -> FindingSnapshot:
    return FindingSnapshot.model_validate(
        {
            "source": FindingSource.INSPECTOR,
            "finding_id": ARN,
            "status": status,
            "updated_at": T0 + timedelta(minutes=minutes),
            "risk_level": EventRiskLevel(level),
            "account_id": "123456789012",
            "region": "eu-west-1",
            **kw,
        }
    )


def lifecycle(baseline_hours: float = 0.0) -> FindingLifecycle:
    fake = FakeClock()
    return FindingLifecycle(InMemoryFindingStates(), Clock(fake.wall, fake.monotonic), baseline_hours)


def transitions(life: FindingLifecycle, snapshots: list[FindingSnapshot]) -> list[FindingTransition | None]:
    out = []
    for s in snapshots:
        observed = life.observe(s)
        out.append(observed.transition if observed else None)
    return out


def test_opened_resent_resolved_reopened_notifies_three_times() -> None:
    life = lifecycle()
    got = transitions(life, [snap(0), snap(1), snap(2), snap(3), snap(4, FindingStatus.RESOLVED), snap(5)])
    T = FindingTransition
    assert got == [T.OPENED, None, None, None, T.RESOLVED, T.REOPENED]


def test_an_older_snapshot_after_a_newer_one_changes_nothing() -> None:
    life = lifecycle()
    assert transitions(life, [snap(0), snap(10, FindingStatus.RESOLVED), snap(5)]) == [
        FindingTransition.OPENED,
        FindingTransition.RESOLVED,
        None,
    ]
    assert life.states.get(ARN).status is FindingStatus.RESOLVED  # type: ignore[union-attr]


def test_a_risk_level_change_while_open_is_its_own_transition() -> None:
    life = lifecycle()
    got = transitions(life, [snap(0, level="MEDIUM"), snap(1, level="MEDIUM"), snap(2, level="CRITICAL")])
    assert got == [FindingTransition.OPENED, None, FindingTransition.RISK_LEVEL_CHANGED]


def test_muted_sends_nothing_and_unmuting_an_open_finding_sends_nothing() -> None:
    life = lifecycle()
    got = transitions(life, [snap(0), snap(1, FindingStatus.MUTED, level="LOW"), snap(2)])
    assert got == [FindingTransition.OPENED, None, None]


def test_first_seen_muted_or_resolved_is_silent_and_opens_later() -> None:
    life = lifecycle()
    got = transitions(life, [snap(0, FindingStatus.MUTED), snap(1, FindingStatus.RESOLVED), snap(2)])
    assert got == [None, None, FindingTransition.OPENED]


def test_a_resolution_nobody_heard_opened_is_not_sent() -> None:
    # created before the baseline: recorded silently, so its resolution is no news either
    life = lifecycle(baseline_hours=24)
    old = snap(0, created_at=T0 - timedelta(days=30))
    assert transitions(life, [old, snap(1, FindingStatus.RESOLVED), snap(2)]) == [
        None,
        None,
        FindingTransition.OPENED,
    ]


def test_the_baseline_lets_new_findings_through() -> None:
    fake = FakeClock()
    life = FindingLifecycle(InMemoryFindingStates(), Clock(fake.wall, fake.monotonic), baseline_hours=1)
    fresh = snap(0, created_at=datetime.fromtimestamp(fake.wall(), tz=UTC))
    assert transitions(life, [fresh]) == [FindingTransition.OPENED]


class _Interleaved(InMemoryFindingStates):
    """Once armed, two racers both read before either writes, and the older snapshot's write
    waits until the newer one's is done: the interleaving a compare-and-swap exists for."""

    def __init__(self, checks: bool, older_at: float) -> None:
        super().__init__(checks)
        self.older_at = older_at
        self.armed = False
        self._both_read = threading.Barrier(2)
        self._newer_written = threading.Event()
        self._readers: set[int] = set()

    def get(self, finding_id: str) -> FindingState | None:
        state = super().get(finding_id)
        if self.armed and threading.get_ident() not in self._readers:
            self._readers.add(threading.get_ident())
            self._both_read.wait(timeout=5)
        return state

    def swap(self, finding_id: str, expected: FindingState | None, new: FindingState) -> bool:
        if self.armed and new.updated_at == self.older_at:
            self._newer_written.wait(timeout=5)
        applied = super().swap(finding_id, expected, new)
        if self.armed and new.updated_at != self.older_at:
            self._newer_written.set()
        return applied


def _race_resolution_with_a_stale_copy(checks: bool) -> tuple[list[Observation | None], FindingLifecycle]:
    """An open finding; its resolution (t+10) races an older copy with a new risk level (t+5)."""
    fake = FakeClock()
    older = snap(5, level="CRITICAL")
    store = _Interleaved(checks, older.updated_at.timestamp())
    life = FindingLifecycle(store, Clock(fake.wall, fake.monotonic))
    life.observe(snap(0))
    store.armed = True
    results: list[Observation | None] = []
    threads = [
        threading.Thread(target=lambda s=s: results.append(life.observe(s)))
        for s in (snap(10, FindingStatus.RESOLVED), older)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.armed = False
    return results, life


def test_a_stale_copy_racing_a_resolution_neither_wins_nor_notifies() -> None:
    results, life = _race_resolution_with_a_stale_copy(checks=True)
    assert [r.transition for r in results if r is not None] == [FindingTransition.RESOLVED]
    stored = life.states.get(ARN)
    assert stored is not None and stored.status is FindingStatus.RESOLVED
    # and the resolution, delivered again, is the same change under the same id: sent once
    again = life.observe(snap(10, FindingStatus.RESOLVED))
    resolved = next(r for r in results if r is not None)
    assert again is not None and again.event_id == resolved.event_id


def test_without_the_compare_and_swap_the_stale_copy_overwrites_the_resolution() -> None:
    # The same race on a store that skips its condition: the check above would catch it.
    results, life = _race_resolution_with_a_stale_copy(checks=False)
    stored = life.states.get(ARN)
    assert stored is not None and stored.status is FindingStatus.ACTIVE
    assert sorted(r.transition for r in results if r is not None) == sorted(
        [FindingTransition.RESOLVED, FindingTransition.RISK_LEVEL_CHANGED]
    )


def test_two_identical_copies_racing_give_one_change_under_one_id() -> None:
    for _ in range(20):
        life = lifecycle()
        results: list[Observation | None] = []
        barrier = threading.Barrier(2)

        def observe(
            life: FindingLifecycle = life,
            barrier: threading.Barrier = barrier,
            results: list[Observation | None] = results,
        ) -> None:
            barrier.wait()
            results.append(life.observe(snap(0)))

        threads = [threading.Thread(target=observe) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Both copies name the change (the loser replays it): one id, so the ledger sends it once.
        # (The id is derived from the change itself; what the swap protects is the stale-copy
        # race above.)
        assert len(results) == 2 and None not in results
        first, second = results
        assert first is not None and second is not None
        assert (first.transition, first.event_id) == (second.transition, second.event_id)
        assert sorted([first.replay, second.replay]) == [False, True]


def test_a_redelivered_snapshot_replays_its_transition_under_the_same_id() -> None:
    life = lifecycle()
    first, again = life.observe(snap(0)), life.observe(snap(0))
    assert first is not None and again is not None
    assert (first.transition, first.event_id) == (again.transition, again.event_id)
    assert life.observe(snap(1)) is None


def test_each_change_has_its_own_event_id() -> None:
    life = lifecycle()
    a = life.observe(snap(0))
    b = life.observe(snap(1, FindingStatus.RESOLVED))
    c = life.observe(snap(2))
    assert a and b and c
    assert len({a.event_id, b.event_id, c.event_id}) == 3


@pytest.mark.parametrize("status", list(FindingStatus))
def test_decide_on_first_sight(status: FindingStatus) -> None:
    decision = decide(None, snap(0, status), None)
    assert decision.state.status is status
    assert decision.transition == (FindingTransition.OPENED if status is FindingStatus.ACTIVE else None)
    assert decision.state.zone_ids == ("123456789012", "eu-west-1")
