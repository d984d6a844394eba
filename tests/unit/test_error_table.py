"""The one error table: every storage error has an answer, and each answer is what the API has
always sent; DynamoDB's cancelled transactions become the right domain error."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from secnotify.http_api import ERROR_TABLE, storage_error_answer
from secnotify.storage import errors
from secnotify.storage.conditional import Cancelled, transact
from secnotify.storage.errors import (
    InvalidToken,
    ItemTooLarge,
    LimitExceeded,
    NotFound,
    ProfileInUse,
    ProfileMissing,
    StorageError,
    TransactionConflict,
    VersionConflict,
)


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_storage_error_has_a_row() -> None:
    defined = {c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, StorageError)}
    assert defined - {StorageError} == set(ERROR_TABLE)
    assert _subclasses(StorageError) <= set(ERROR_TABLE)


def test_a_transaction_conflict_is_not_a_version_conflict() -> None:
    assert not issubclass(TransactionConflict, VersionConflict)


@pytest.mark.parametrize(
    ("exc", "status", "message", "details"),
    [
        (NotFound("no integration with id 42"), 404, "no integration with id 42", {}),
        (
            VersionConflict("integration 42 changed since version 1"),
            412,
            "integration 42 changed since version 1",
            {},
        ),
        (TransactionConflict(), 409, "a concurrent change touched the same items; try again", {}),
        (LimitExceeded("at most 2 integrations may exist"), 409, "at most 2 integrations may exist", {}),
        (
            ProfileInUse("alerting profile p is used by 1 integration(s): Slack (i1)", ["i1"]),
            409,
            "alerting profile p is used by 1 integration(s): Slack (i1)",
            {"integrations": ["i1"]},
        ),
        (
            ProfileMissing("p9"),
            400,
            "alertingProfileId: no alerting profile with id p9",
            {"field": "alertingProfileId"},
        ),
        (
            ItemTooLarge(380_000, 358_400, "integration"),
            400,
            "integration: the stored item would take 380,000 bytes; the cap is 358,400 bytes",
            {"field": "webhook"},
        ),
        (
            InvalidToken("nextToken is not a token this API issued"),
            400,
            "nextToken: nextToken is not a token this API issued",
            {"field": "nextToken"},
        ),
    ],
)
def test_each_error_answers_as_the_api_always_has(
    exc: StorageError, status: int, message: str, details: dict[str, Any]
) -> None:
    assert storage_error_answer(exc) == (status, message, details)


def test_storage_messages_carry_no_field_prefix() -> None:
    missing = ProfileMissing("p9")
    assert str(missing) == "no alerting profile with id p9" and missing.field == "alertingProfileId"


class _Table:
    """A DynamoDB client whose transactions are cancelled with the given reasons."""

    def __init__(self, error: ClientError) -> None:
        self.error = error

    def transact_write_items(self, **_kwargs: Any) -> Any:
        raise self.error


def _cancelled(codes: list[str], with_reasons: bool = True) -> ClientError:
    # The shape botocore parses DynamoDB's TransactionCanceledException answer into.
    response: dict[str, Any] = {
        "Error": {
            "Code": "TransactionCanceledException",
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            f"[{', '.join(codes)}]",
        },
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    if with_reasons:
        response["CancellationReasons"] = [{"Code": c} for c in codes]
    return ClientError(response, "TransactWriteItems")


@pytest.mark.parametrize("with_reasons", [True, False])
def test_a_conflict_reason_is_a_transaction_conflict(with_reasons: bool) -> None:
    client = _Table(_cancelled(["None", "TransactionConflict", "None"], with_reasons))
    with pytest.raises(TransactionConflict) as raised:
        transact(client, [{}, {}, {}], {0: VersionConflict("stale")})
    assert storage_error_answer(raised.value)[0] == 409


def test_a_failed_check_is_the_error_mapped_to_it() -> None:
    client = _Table(_cancelled(["ConditionalCheckFailed", "None"]))
    with pytest.raises(VersionConflict):
        transact(client, [{}, {}], {0: VersionConflict("stale")})
    with pytest.raises(Cancelled):
        transact(_Table(_cancelled(["None", "ConditionalCheckFailed"])), [{}, {}], {0: NotFound("x")})
