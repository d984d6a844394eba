"""Snapshots into lifecycle: each change notifies once, re-sends and older snapshots never.

Run on the in-memory state store; tests/contract/test_finding_state_contract.py holds it and the
DynamoDB store to the same compare-and-swap."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from secnotify.models.common import EventRiskLevel
from secnotify.models.finding import FindingSnapshot, FindingSource, FindingStatus, FindingTransition
from secnotify.service.clock import Clock
from secnotify.service.findings import FindingLifecycle, decide
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
            "display_id": "INS-finding/abc",
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


def _race(life: FindingLifecycle, snapshot: FindingSnapshot, copies: int) -> list[object]:
    barrier = threading.Barrier(copies)
    results: list[object] = []

    def observe() -> None:
        barrier.wait()
        results.append(life.observe(snapshot))

    threads = [threading.Thread(target=observe) for _ in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_two_copies_racing_decide_once_under_one_event_id() -> None:
    for _ in range(20):
        results = _race(lifecycle(), snap(0), 2)
        # The loser replays the winner's transition under the same id: the delivery ledger
        # sends that event once.
        assert len(results) == 2
        assert {r.event_id for r in results if r is not None} == {  # type: ignore[attr-defined]
            results[0].event_id  # type: ignore[attr-defined]
        }


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
