"""One contract for every FindingStateStore: the in-memory one and DynamoDB's on moto. The
compare-and-swap checks fail against an in-memory store whose conditions are off."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from secnotify.models.common import EventRiskLevel
from secnotify.models.finding import FindingState, FindingStatus, FindingTransition
from secnotify.service.ports.findings import FindingStateStore
from tests.contract.checks import Contract
from tests.fakes.findings import InMemoryFindingStates

FINDING_STATES: Contract[FindingStateStore] = Contract()


def state(at: float, status: FindingStatus = FindingStatus.ACTIVE, revision: int = 1) -> FindingState:
    return FindingState(
        status=status, risk_level=EventRiskLevel.HIGH, zone_ids=("1", "r"), updated_at=at, revision=revision
    )


@FINDING_STATES.check(conditional=True)
def first_write_wins(store: FindingStateStore) -> None:
    fid = f"arn:{uuid.uuid4()}"
    assert store.get(fid) is None
    assert store.swap(fid, None, state(1.5)) is True
    assert store.swap(fid, None, state(2.0)) is False  # someone else stored it first
    assert store.get(fid) == state(1.5)


@FINDING_STATES.check(conditional=True)
def swap_only_from_what_was_read(store: FindingStateStore) -> None:
    fid = f"arn:{uuid.uuid4()}"
    store.swap(fid, None, state(1700000000.356))
    resolved = state(1700000060.5, FindingStatus.RESOLVED, revision=2)
    assert store.swap(fid, state(1700000000.356), resolved) is True
    # a writer that read the older state loses, whatever it wanted to write
    assert store.swap(fid, state(1700000000.356), state(1700000030.0, revision=2)) is False
    assert store.get(fid) == resolved


@FINDING_STATES.check(conditional=True)
def swap_is_keyed_on_the_revision_not_the_time(store: FindingStateStore) -> None:
    # Security Hub leaves UpdatedAt alone on a workflow change: two writers that read the same
    # time but different revisions must not both win.
    fid = f"arn:{uuid.uuid4()}"
    store.swap(fid, None, state(5.0))
    assert store.swap(fid, state(5.0), state(5.0, FindingStatus.RESOLVED, revision=2)) is True
    assert store.swap(fid, state(5.0), state(5.0, FindingStatus.MUTED, revision=2)) is False
    assert store.get(fid) == state(5.0, FindingStatus.RESOLVED, revision=2)


@FINDING_STATES.check(conditional=True)
def record_keeps_the_newest_and_moves_the_revision(store: FindingStateStore) -> None:
    fid = f"tracked-{uuid.uuid4()}"
    assert store.record(fid, state(10.0, revision=0)) is True
    assert store.record(fid, state(5.0, FindingStatus.RESOLVED, revision=0)) is False  # older
    assert store.record(fid, state(10.0, FindingStatus.RESOLVED, revision=0)) is False  # not newer
    assert store.get(fid) == state(10.0, revision=1)
    assert store.record(fid, state(11.0, FindingStatus.RESOLVED, revision=0)) is True
    assert store.get(fid) == state(11.0, FindingStatus.RESOLVED, revision=2)


@FINDING_STATES.check(conditional=False)
def states_round_trip(store: FindingStateStore) -> None:
    fid = "arn:aws:inspector2:eu-west-1:123456789012:finding/" + "f" * 32
    full = FindingState(
        status=FindingStatus.MUTED,
        risk_level=EventRiskLevel.CRITICAL,
        zone_ids=("123456789012", "eu-west-1"),
        updated_at=1725469184.356,
        open_notified=True,
        notified_risk_level=EventRiskLevel.HIGH,
        last_transition=FindingTransition.RISK_LEVEL_CHANGED,
        revision=7,
    )
    assert store.swap(fid, None, full)
    assert store.get(fid) == full


def _dynamodb(stack: Any) -> FindingStateStore:
    from secnotify.storage.client import dynamodb_client
    from secnotify.storage.finding_state import DynamoFindingStates

    return DynamoFindingStates(dynamodb_client(), stack.table_name, clock=lambda: 1.7e9)


@pytest.fixture(params=["memory", pytest.param("dynamodb", marks=pytest.mark.moto)])
def make_store(request: pytest.FixtureRequest) -> Callable[[], FindingStateStore]:
    if request.param == "memory":
        return InMemoryFindingStates
    stack = request.getfixturevalue("stack")
    return lambda: _dynamodb(stack)


@pytest.mark.parametrize("name", FINDING_STATES.names())
def test_finding_state_contract(make_store: Callable[[], FindingStateStore], name: str) -> None:
    FINDING_STATES.run(name, make_store())


def test_the_contract_fails_a_store_that_skips_its_conditions() -> None:
    FINDING_STATES.assert_conditions_are_tested(lambda: InMemoryFindingStates(checks=False))
