"""One contract for every ReceiverReferences: the in-memory one and DynamoDB's on moto. The check
that a late answer of an older event loses fails against an in-memory store whose condition is
off."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from secnotify.service.ports.receivers import ReceiverReferences, StoredReference
from tests.contract.checks import Contract
from tests.fakes.receivers import InMemoryReceiverReferences

REFERENCES: Contract[ReceiverReferences] = Contract()
DAY = 86400.0
NOW = 1.7e9


class Clock:
    """A wall clock the checks move; both stores read their time from it."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


CLOCKS: dict[int, Clock] = {}


def clock_of(store: ReceiverReferences) -> Clock:
    return CLOCKS[id(store)]


def ref(value: str, at: float = 1767268800.0, name: str = "issueKey") -> StoredReference:
    return StoredReference(name=name, value=value, event_time=at)


def ids() -> tuple[str, str]:
    return f"problem-{uuid.uuid4()}", f"int-{uuid.uuid4()}"


@REFERENCES.check(conditional=False)
def a_kept_reference_reads_back(store: ReceiverReferences) -> None:
    problem, integration = ids()
    assert store.get(problem, integration) is None
    assert store.put(problem, integration, ref("SEC-1")) is True
    assert store.get(problem, integration) == ref("SEC-1")


@REFERENCES.check(conditional=False)
def one_per_problem_and_integration(store: ReceiverReferences) -> None:
    problem, integration = ids()
    other_problem, other_integration = ids()
    store.put(problem, integration, ref("SEC-1"))
    store.put(other_problem, integration, ref("SEC-2"))
    store.put(problem, other_integration, ref("OPS-3", name="alertId"))
    assert store.get(problem, integration) == ref("SEC-1")
    assert store.get(other_problem, integration) == ref("SEC-2")
    assert store.get(problem, other_integration) == ref("OPS-3", name="alertId")
    assert store.get(other_problem, other_integration) is None


@REFERENCES.check(conditional=False)
def a_later_or_equal_event_replaces_it(store: ReceiverReferences) -> None:
    problem, integration = ids()
    store.put(problem, integration, ref("SEC-1", at=100.0))
    assert store.put(problem, integration, ref("SEC-2", at=100.0)) is True  # the same event, sent again
    assert store.put(problem, integration, ref("SEC-3", at=200.5, name="ticket")) is True
    assert store.get(problem, integration) == ref("SEC-3", at=200.5, name="ticket")


@REFERENCES.check(conditional=True)
def an_older_events_late_answer_loses(store: ReceiverReferences) -> None:
    problem, integration = ids()
    store.put(problem, integration, ref("SEC-REOPENED", at=200.0))
    assert store.put(problem, integration, ref("SEC-OPENED", at=100.0)) is False
    assert store.get(problem, integration) == ref("SEC-REOPENED", at=200.0)


@REFERENCES.check(conditional=False)
def it_expires_400_days_after_its_write(store: ReceiverReferences) -> None:
    problem, integration = ids()
    clock = clock_of(store)
    store.put(problem, integration, ref("SEC-1", at=200.0))
    clock.now = NOW + 399 * DAY
    assert store.get(problem, integration) == ref("SEC-1", at=200.0)
    clock.now = NOW + 400 * DAY + 1
    assert store.get(problem, integration) is None
    # An expired one, whatever its event, no longer holds the place.
    assert store.put(problem, integration, ref("SEC-9", at=100.0)) is True
    assert store.get(problem, integration) == ref("SEC-9", at=100.0)


@REFERENCES.check(conditional=False)
def long_and_unusual_problem_ids_stay_apart(store: ReceiverReferences) -> None:
    _, integration = ids()
    arn = "arn:aws:inspector2:eu-west-1:123456789012:finding/" + "f" * 32
    long_a, long_b = "p" * 2000 + "a", "p" * 2000 + "b"  # past a sort key's size: named by digest
    for problem, value in ((arn, "A"), (long_a, "B"), (long_b, "C"), ("ünï#cøde/…", "D"), ("x#y", "E")):
        assert store.put(problem, integration, ref(value)) is True
    assert [store.get(p, integration) for p in (arn, long_a, long_b, "ünï#cøde/…", "x#y")] == [
        ref(v) for v in "ABCDE"
    ]


@REFERENCES.check(conditional=False)
def values_round_trip_as_they_are(store: ReceiverReferences) -> None:
    problem, integration = ids()
    value = 'SEC-"1" ünïcode ' + "k" * 1000
    store.put(problem, integration, ref(value, at=1767268800.123))
    assert store.get(problem, integration) == ref(value, at=1767268800.123)


def _make(kind: str, stack: Any) -> ReceiverReferences:
    clock = Clock()
    store: ReceiverReferences
    if kind == "memory":
        store = InMemoryReceiverReferences(clock)
    elif kind == "unconditional":
        store = InMemoryReceiverReferences(clock, checks=False)
    else:
        from secnotify.storage.client import dynamodb_client
        from secnotify.storage.receivers import DynamoReceiverReferences

        store = DynamoReceiverReferences(dynamodb_client(), stack.table_name, clock)
    CLOCKS[id(store)] = clock
    return store


@pytest.fixture(params=["memory", pytest.param("dynamodb", marks=pytest.mark.moto)])
def make_store(request: pytest.FixtureRequest) -> Callable[[], ReceiverReferences]:
    stack = request.getfixturevalue("stack") if request.param == "dynamodb" else None
    return lambda: _make(request.param, stack)


@pytest.mark.parametrize("name", REFERENCES.names())
def test_receiver_references_contract(make_store: Callable[[], ReceiverReferences], name: str) -> None:
    REFERENCES.run(name, make_store())


def test_the_contract_fails_a_store_that_skips_its_condition() -> None:
    REFERENCES.assert_conditions_are_tested(lambda: _make("unconditional", None))
