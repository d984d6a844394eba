"""One contract for every ConfigRepository's names and audit trail: the in-memory one and
DynamoDB's on a moto server. The name checks fail against an in-memory repository whose
lock conditions are off."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from secnotify.service.audit import Auditor, acting_as
from tests.contract.config_checks import ALICE, CONFIG, Subject
from tests.fakes.config import InMemoryConfig
from tests.fakes.secrets import InMemorySecrets


def _memory(checks: bool = True) -> Subject:
    repo = InMemoryConfig(checks=checks, auditor=Auditor(InMemorySecrets()))
    return Subject(repo, lambda kind, item_id, doc: repo._put(kind, item_id, doc), repo.audit_entries)


def _dynamodb(stack: Any) -> Subject:
    from secnotify.storage.audit import DynamoAuditLog
    from secnotify.storage.client import dynamodb_client
    from secnotify.storage.config_repository import DynamoConfigRepository

    client = dynamodb_client()
    repo = DynamoConfigRepository(client, stack.table_name).with_auditor(Auditor(InMemorySecrets()))

    def legacy(kind: str, item_id: str, doc: dict[str, Any]) -> None:
        # As items were written before name locks: the item alone.
        client.put_item(**repo._put(kind, item_id, doc, 1, extra={"refCount": {"N": "0"}}))  # type: ignore[arg-type]

    return Subject(repo, legacy, lambda: DynamoAuditLog(client, stack.table_name).list_entries(100, None)[0])


@pytest.fixture(params=["memory", pytest.param("dynamodb", marks=pytest.mark.moto)])
def make_subject(request: pytest.FixtureRequest) -> Callable[[], Subject]:
    if request.param == "memory":
        return _memory
    stack = request.getfixturevalue("stack")
    return lambda: _dynamodb(stack)


@pytest.mark.parametrize("name", CONFIG.names())
def test_config_contract(make_subject: Callable[[], Subject], name: str) -> None:
    with acting_as(ALICE):
        CONFIG.run(name, make_subject())


def test_the_contract_fails_a_repository_that_skips_its_name_locks() -> None:
    with acting_as(ALICE):
        CONFIG.assert_conditions_are_tested(lambda: _memory(checks=False))
