"""The one error table: every domain error has an answer, and each answer is what the API has
always sent; DynamoDB's cancelled transactions become the right domain error."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from secnotify import errors
from secnotify.errors import (
    DeliveryNotFound,
    DomainError,
    InvalidToken,
    ItemTooLarge,
    LimitExceeded,
    NameTaken,
    NotFound,
    ProfileInUse,
    ProfileMissing,
    Throttled,
    TransactionConflict,
    VersionConflict,
)
from secnotify.http_api import ERROR_TABLE, domain_error_answer
from secnotify.service.ports.config import ConfigKind
from secnotify.storage.conditional import Cancelled, transact


def _subclasses(cls: type) -> set[type]:
    found: set[type] = set(cls.__subclasses__())
    for sub in list(found):
        found |= _subclasses(sub)
    return found


def test_every_domain_error_has_a_row() -> None:
    defined = {c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, DomainError)}
    assert defined - {DomainError} == set(ERROR_TABLE)
    assert _subclasses(DomainError) <= set(ERROR_TABLE)


def test_a_transaction_conflict_is_not_a_version_conflict() -> None:
    assert not issubclass(TransactionConflict, VersionConflict)


@pytest.mark.parametrize(
    ("exc", "status", "message", "details"),
    [
        (NotFound(ConfigKind.INTEGRATION, "42"), 404, "no integration with id 42", {}),
        (
            VersionConflict(ConfigKind.INTEGRATION, "42", 1),
            412,
            "integration 42 changed since version 1",
            {},
        ),
        (NotFound(ConfigKind.PROFILE, "p1"), 404, "no alerting profile with id p1", {}),
        (DeliveryNotFound("i1", "d1"), 404, "no delivery d1 for integration i1", {}),
        (
            VersionConflict(ConfigKind.PROFILE, "p1", 3),
            412,
            "alerting profile p1 changed since version 3",
            {},
        ),
        (LimitExceeded(ConfigKind.PROFILE, 5), 409, "at most 5 alerting profiles may exist", {}),
        (
            ProfileInUse("p", [("i1", "Slack"), ("i2", "")]),
            409,
            "alerting profile p is used by 2 integration(s): Slack (i1),  (i2)",
            {"integrations": ["i1", "i2"]},
        ),
        (
            ItemTooLarge(400_000, 358_400, ConfigKind.PROFILE),
            400,
            "alerting profile: the stored item would take 400,000 bytes; the cap is 358,400 bytes",
            {},
        ),
        (TransactionConflict(), 409, "a concurrent change touched the same items; try again", {}),
        (Throttled(), 429, "too many writes at once; try again in a moment", {}),
        (LimitExceeded(ConfigKind.INTEGRATION, 2), 409, "at most 2 integrations may exist", {}),
        (
            ProfileInUse("p", [("i1", "Slack")]),
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
            ItemTooLarge(380_000, 358_400, ConfigKind.INTEGRATION, "webhook"),
            400,
            "integration: the stored item would take 380,000 bytes; the cap is 358,400 bytes",
            {"field": "webhook"},
        ),
        (
            ItemTooLarge(380_000, 358_400, ConfigKind.INTEGRATION, "email"),
            400,
            "integration: the stored item would take 380,000 bytes; the cap is 358,400 bytes",
            {"field": "email"},
        ),
        (
            NameTaken(ConfigKind.PROFILE, "Prod", "p1"),
            409,
            "name: alerting profile p1 is already named 'Prod'; names are unique",
            {"field": "name", "holderId": "p1"},
        ),
        (
            NameTaken(ConfigKind.INTEGRATION, "Slack", "i1"),
            409,
            "displayName: integration i1 is already named 'Slack'; names are unique",
            {"field": "displayName", "holderId": "i1"},
        ),
        (
            InvalidToken(),
            400,
            "nextToken: nextToken is not a token this API issued",
            {"field": "nextToken"},
        ),
    ],
)
def test_each_error_answers_as_the_api_always_has(
    exc: DomainError, status: int, message: str, details: dict[str, Any]
) -> None:
    assert domain_error_answer(exc) == (status, message, details)


def test_domain_errors_carry_data_not_words() -> None:
    missing = ProfileMissing("p9")
    assert (missing.profile_id, missing.field) == ("p9", "alertingProfileId")
    for exc in (missing, NotFound(ConfigKind.INTEGRATION, "42"), LimitExceeded(ConfigKind.INTEGRATION, 2)):
        message = domain_error_answer(exc)[1]
        assert "no " not in str(exc) and "at most" not in str(exc) and message not in str(exc)


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
        transact(client, [{}, {}, {}], {0: VersionConflict(ConfigKind.INTEGRATION, "42", 1)})
    assert domain_error_answer(raised.value)[0] == 409


def test_a_failed_check_is_the_error_mapped_to_it() -> None:
    client = _Table(_cancelled(["ConditionalCheckFailed", "None"]))
    with pytest.raises(VersionConflict):
        transact(client, [{}, {}], {0: VersionConflict(ConfigKind.INTEGRATION, "42", 1)})
    with pytest.raises(Cancelled):
        transact(
            _Table(_cancelled(["None", "ConditionalCheckFailed"])),
            [{}, {}],
            {0: NotFound(ConfigKind.INTEGRATION, "x")},
        )


@pytest.mark.parametrize("reason", ["ThrottlingError", "ProvisionedThroughputExceeded"])
@pytest.mark.parametrize("with_reasons", [True, False])
def test_a_throttled_transaction_is_a_429_to_try_again(reason: str, with_reasons: bool) -> None:
    client = _Table(_cancelled(["None", reason], with_reasons))
    with pytest.raises(Throttled) as raised:
        transact(client, [{}, {}], {0: VersionConflict(ConfigKind.INTEGRATION, "42", 1)})
    status, message, _details = domain_error_answer(raised.value)
    assert status == 429 and "try again" in message


def test_other_cancellations_stay_unmapped() -> None:
    with pytest.raises(Cancelled) as raised:
        transact(_Table(_cancelled(["ValidationError", "None"])), [{}, {}], {})
    assert raised.value.codes == ["ValidationError", "None"]
