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


def _memory(checks: bool = True) -> Callable[[], Subject]:
    def make() -> Subject:
        clock = FakeClock()
        ledger = InMemoryLedger(clock.wall, checks=checks)
        return Subject(ledger, ledger.log, clock, f"ev-{uuid.uuid4().hex[:8]}")

    return make


def _dynamodb(stack: Any) -> Callable[[], Subject]:
    from secnotify.storage.client import dynamodb_client
    from secnotify.storage.delivery_log import DynamoDeliveryLog
    from secnotify.storage.ledger import DynamoLedger

    client = dynamodb_client()

    def make() -> Subject:
        clock = FakeClock()
        ledger = DynamoLedger(client, stack.table_name, clock=clock.wall)
        return Subject(
            ledger,
            DynamoDeliveryLog(client, stack.table_name, clock=clock.wall),
            clock,
            f"ev-{uuid.uuid4().hex[:8]}",
        )

    return make


@pytest.fixture(params=["memory", pytest.param("dynamodb", marks=pytest.mark.moto)])
def subject_factory(request: pytest.FixtureRequest) -> Callable[[], Subject]:
    if request.param == "memory":
        return _memory()
    return _dynamodb(request.getfixturevalue("stack"))


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


def test_the_contract_fails_a_ledger_that_skips_its_conditions() -> None:
    LEDGER.assert_conditions_are_tested(_memory(checks=False))
