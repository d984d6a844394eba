"""One contract for every DeliveryLedger: the in-memory one the fast tests use, and DynamoDB's
on a moto server. The same checks fail against an in-memory ledger whose conditions are off."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.contract.ledger_checks import LEDGER, Subject
from tests.fakes.clock import FakeClock
from tests.fakes.ledger import InMemoryLedger


def _memory(checks: bool = True, shards: int = 1) -> Callable[[], Subject]:
    def make() -> Subject:
        clock = FakeClock()
        ledger = InMemoryLedger(clock.wall, checks=checks)
        # One store, one object: a second process sees the same states.
        return Subject(ledger, ledger.log, clock, f"ev-{uuid.uuid4().hex[:8]}", shards, ledger)

    return make


def _dynamodb(stack: Any, shards: int) -> Callable[[], Subject]:
    from secnotify.storage.client import dynamodb_client
    from secnotify.storage.delivery_log import DynamoDeliveryLog
    from secnotify.storage.ledger import DynamoLedger

    client = dynamodb_client()

    def make() -> Subject:
        clock = FakeClock()
        return Subject(
            DynamoLedger(client, stack.table_name, clock=clock.wall),
            DynamoDeliveryLog(client, stack.table_name, clock=clock.wall),
            clock,
            f"ev-{uuid.uuid4().hex[:8]}",
            shards,
            DynamoLedger(client, stack.table_name, clock=clock.wall),
        )

    return make


@pytest.fixture(
    params=[
        "memory-1",
        "memory-4",
        pytest.param("dynamodb-1", marks=pytest.mark.moto),
        pytest.param("dynamodb-4", marks=pytest.mark.moto),
    ]
)
def subject_factory(request: pytest.FixtureRequest) -> Callable[[], Subject]:
    kind, shards = request.param.split("-")
    if kind == "memory":
        return _memory(shards=int(shards))
    return _dynamodb(request.getfixturevalue("stack"), int(shards))


@pytest.mark.parametrize("name", LEDGER.names())
def test_ledger_contract(subject_factory: Callable[[], Subject], name: str) -> None:
    LEDGER.run(name, subject_factory())


@pytest.mark.moto
def test_the_dynamodb_log_dates_its_records_by_its_own_clock(stack: Any) -> None:
    from secnotify.storage.client import dynamodb_client
    from secnotify.storage.delivery_log import DynamoDeliveryLog
    from secnotify.storage.keys import delivery_key
    from tests.contract.ledger_checks import _record

    client, clock = dynamodb_client(), FakeClock()
    record = _record("ev", "i")
    DynamoDeliveryLog(client, stack.table_name, clock=clock.wall).put_delivery(record, 60)
    item = client.get_item(TableName=stack.table_name, Key=delivery_key("i", record.deliveryId))["Item"]
    assert int(item["ttl"]["N"]) == int(clock.wall()) + 60


@pytest.mark.parametrize("shards", [1, 4])
def test_the_contract_fails_a_ledger_that_skips_its_conditions(shards: int) -> None:
    LEDGER.assert_conditions_are_tested(_memory(checks=False, shards=shards))


@pytest.mark.moto
def test_a_sharded_events_states_are_spread_over_its_partitions(stack: Any) -> None:
    from secnotify.models.delivery import NotificationState, Outcome
    from secnotify.storage.client import dynamodb_client, query_all
    from secnotify.storage.keys import event_key
    from secnotify.storage.ledger import DynamoLedger

    client, clock, event_id = dynamodb_client(), FakeClock(), f"ev-{uuid.uuid4().hex[:8]}"
    ledger = DynamoLedger(client, stack.table_name, clock=clock.wall)
    assert ledger.begin_event(event_id, "{}", lease_s=30, ttl_s=60, shards=4).acquired
    ids = [f"int-{n:04d}" for n in range(1000)]
    ledger.record_outcomes(event_id, [Outcome(i, NotificationState.DELIVERED, 1) for i in ids], 60)
    event = client.get_item(TableName=stack.table_name, Key=event_key(event_id))["Item"]
    assert event["shards"] == {"N": "4"}
    keys = [f"CLAIM#{event_id}", *(f"CLAIM{k}#{event_id}" for k in (1, 2, 3))]
    sizes = [len(list(query_all(client, stack.table_name, pk))) for pk in keys]
    assert sum(sizes) == 1000 and all(200 <= n <= 300 for n in sizes), sizes
    assert list(query_all(client, stack.table_name, f"CLAIM4#{event_id}")) == []


@pytest.mark.moto
def test_states_written_before_sharding_stay_where_they_are_and_are_claimed_there(stack: Any) -> None:
    """An event stored by the code before sharding (no ``shards``, states under CLAIM#<id>), taken
    over by a process that would shard it: its states are read, claimed and settled in place."""
    import zlib

    from secnotify.models.delivery import NotificationState
    from secnotify.storage.client import dynamodb_client, query_all
    from secnotify.storage.keys import event_key
    from secnotify.storage.ledger import DynamoLedger

    client, clock, event_id = dynamodb_client(), FakeClock(), f"ev-{uuid.uuid4().hex[:8]}"
    ttl = {"N": str(int(clock.wall()) + 600)}
    client.put_item(
        TableName=stack.table_name,
        Item={
            **event_key(event_id),
            "doc": {"B": zlib.compress(b'{"old":true}')},
            "ttl": ttl,
            "leaseUntil": {"N": repr(clock.wall() - 1)},
        },
    )
    ids = [f"int-{n:02d}" for n in range(30)]
    for i in ids:
        client.put_item(
            TableName=stack.table_name,
            Item={
                "pk": {"S": f"CLAIM#{event_id}"},
                "sk": {"S": f"INT#{i}"},
                "status": {"S": "RETRY_SCHEDULED"},
                "attempt": {"N": "2"},
                "notBefore": {"N": "0"},
                "ttl": ttl,
            },
        )
    ledger = DynamoLedger(client, stack.table_name, clock=clock.wall)
    lease = ledger.begin_event(event_id, '{"old":true}', lease_s=30, ttl_s=600, shards=8)
    assert lease.acquired and lease.took_over
    assert "shards" not in client.get_item(TableName=stack.table_name, Key=event_key(event_id))["Item"]
    assert set(DynamoLedger(client, stack.table_name, clock=clock.wall).get_claims(event_id)) == set(ids)
    fresh = DynamoLedger(client, stack.table_name, clock=clock.wall)
    for i in ids:
        owner = fresh.claim(event_id, i, 2, 60, 600)
        assert owner is not None, i
        assert fresh.settle_claim(event_id, i, 2, owner, NotificationState.DELIVERED, 2)
    statuses = {item["status"]["S"] for item in query_all(client, stack.table_name, f"CLAIM#{event_id}")}
    assert statuses == {"DELIVERED"}
