"""The delivery vocabulary: where a notification stands, what an attempt came to, the record of
an attempt, and the retry queue's messages (README "Delivery").

These enums are the one place for these strings: a new state or status is a new member here,
never a literal elsewhere. Their values are what DynamoDB and SQS hold, so they never change.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    TypeAdapter,
    ValidationError,
)


class NotificationState(StrEnum):
    """The state item of one (event, integration)."""

    DELIVERED = "DELIVERED"
    RETRY_SCHEDULED = "RETRY_SCHEDULED"  # for ``attempt``, not before ``notBefore``
    FAILED = "FAILED"
    IN_FLIGHT = "IN_FLIGHT"  # ``attempt`` claimed by a retry worker, leased
    CANCELLED = "CANCELLED"  # a retry whose integration was disabled or deleted meanwhile


class AttemptStatus(StrEnum):
    """The status of one delivery record."""

    SUCCEEDED = "SUCCEEDED"
    RETRYING = "RETRYING"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class RecordKind(StrEnum):
    """What made an attempt: an event (the dispatcher), a test-send, or a redelivery."""

    EVENT = "event"
    TEST = "test"
    REDELIVERY = "redelivery"


class DeadLetterKind(StrEnum):
    """What a dead letter holds: an event that could not be read, a retry message that could
    not be used, or a notification given up."""

    EVENT = "event"
    RETRY = "retry"
    NOTIFICATION = "notification"


# The record fields a record carries only when they apply; every other field is always stored,
# ``None`` as null.
_ONLY_WHEN_SET = frozenset(
    {
        "nextAttemptAt",
        "redeliveryOf",
        "requestBodyBytes",
        "requestBodySha256",
        "requestBodyTruncated",
        "emailRecipients",
        "emailSubject",
        "emailMimeBytes",
    }
)
# Kept beside the document, compressed (``stored_body``), never inside it.
_KEPT_APART = frozenset({"requestBody"})
# How much of a sent body a record keeps.
REQUEST_BODY_LIMIT = 64 * 1024


def utf8_head(text: str, limit: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 form fits in ``limit`` bytes."""
    return text.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


class DeliveryRecord(BaseModel):
    """One attempt at one notification, as the delivery log keeps it and the API lists it."""

    model_config = ConfigDict(frozen=True)

    deliveryId: str
    integrationId: str
    eventId: str
    webhookId: str
    kind: RecordKind
    attempt: int
    status: AttemptStatus
    statusCode: int | None = None
    latencyMs: float | None = None
    error: str | None = None
    responseBody: str = ""
    createdAt: str
    trigger: str | None = None
    securityProblemId: str | None = None
    nextAttemptAt: float | None = None
    redeliveryOf: str | None = None
    # The body sent, secrets masked: on the record of a notification's first attempt (and of each
    # test and redelivery), not repeated on its retries, which send the same event again.
    requestBody: str | None = None
    requestBodyBytes: int | None = Field(default=None, description="The sent body's size, in bytes.")
    requestBodySha256: str | None = Field(
        default=None, description="Hex SHA-256 of the body as sent, on every attempt's record."
    )
    requestBodyTruncated: bool | None = Field(
        default=None, description=f"True when only the first {REQUEST_BODY_LIMIT} bytes were kept."
    )
    # An EMAIL integration's attempt: the request body is the rendered HTML body.
    emailRecipients: int | None = Field(
        default=None, description="Email: how many addresses the message went to (To, Cc and Bcc)."
    )
    emailSubject: str | None = Field(default=None, description="Email: the subject as sent.")
    emailMimeBytes: int | None = Field(default=None, description="Email: the MIME message's size, in bytes.")
    # Stored, so that a test sent again is still a test; the API does not show it.
    _test_marker: str | None = PrivateAttr(default=None)

    @property
    def test_marker(self) -> str | None:
        return self._test_marker

    def marked(self, test_marker: str | None) -> DeliveryRecord:
        """This record, of a send that carried ``test_marker`` as its ``webhook-test`` header."""
        copy = self.model_copy()
        copy._test_marker = test_marker
        return copy

    def with_request(self, sent: bytes, mask: Callable[[str], str] | None, margin: int = 0) -> DeliveryRecord:
        """This record, saying what was sent: its size and digest always; with ``mask`` (which
        hides the integration's secrets) the body too, cut at ``REQUEST_BODY_LIMIT`` bytes.
        ``margin``: the longest text ``mask`` hides, so a secret that starts inside the kept head
        is still masked whole."""
        update: dict[str, Any] = {
            "requestBodyBytes": len(sent),
            "requestBodySha256": hashlib.sha256(sent).hexdigest(),
        }
        if mask is not None:
            room = REQUEST_BODY_LIMIT + 4 * margin  # a character is at most 4 bytes
            masked = mask(sent[:room].decode("utf-8", "replace"))
            kept = utf8_head(masked, REQUEST_BODY_LIMIT)
            update["requestBody"] = kept
            update["requestBodyTruncated"] = len(kept) < len(masked) or len(sent) > room
        return self.model_copy(update=update)

    @classmethod
    def from_stored(cls, doc: dict[str, Any], body: bytes | None = None) -> DeliveryRecord:
        """The record a ``stored()`` document and its ``stored_body()`` hold, test marker included."""
        if body is not None:
            doc = {**doc, "requestBody": zlib.decompress(body).decode("utf-8", "replace")}
        return cls.model_validate(doc).marked(doc.get("testMarker"))

    def stored_body(self) -> bytes | None:
        """The kept request body as the delivery log stores it: zlib-compressed UTF-8."""
        if self.requestBody is None:
            return None
        return zlib.compress(self.requestBody.encode("utf-8", "surrogatepass"), 6)

    def stored(self) -> dict[str, Any]:
        """The document as the delivery log stores it: these keys, in this order (the request
        body apart, see ``stored_body``)."""
        doc: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in _KEPT_APART or (name in _ONLY_WHEN_SET and value is None):
                continue
            if name == "redeliveryOf" and self._test_marker is not None:
                doc["testMarker"] = self._test_marker  # before redeliveryOf, as always stored
            doc[name] = str(value) if isinstance(value, StrEnum) else value
        if self._test_marker is not None:
            doc.setdefault("testMarker", self._test_marker)
        return doc


# ---- the retry queue's messages ------------------------------------------------------------


class AttemptMessage(BaseModel):
    """Make ``attempt`` of one notification, not before ``notBefore``. Written without ``kind``."""

    model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True)

    kind: Literal["attempt"] = "attempt"
    eventId: str
    integrationId: str = Field(min_length=1)
    attempt: int = Field(ge=1)
    notBefore: float = 0.0

    def wire(self) -> dict[str, Any]:
        return {
            "eventId": self.eventId,
            "integrationId": self.integrationId,
            "attempt": self.attempt,
            "notBefore": self.notBefore,
        }


class ResumeMessage(BaseModel):
    """Look at an event again once another worker's fan-out lease has run out."""

    model_config = ConfigDict(frozen=True, coerce_numbers_to_str=True)

    kind: Literal["resume"] = "resume"
    eventId: str
    notBefore: float = 0.0

    def wire(self) -> dict[str, Any]:
        return {"kind": "resume", "eventId": self.eventId, "notBefore": self.notBefore}


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("kind", "attempt")  # messages of the attempt kind never carried it
        return kind if isinstance(kind, str) else None
    return getattr(value, "kind", None)


RetryMessage = Annotated[
    Annotated[AttemptMessage, Tag("attempt")] | Annotated[ResumeMessage, Tag("resume")],
    Discriminator(_kind),
]
_RETRY_MESSAGE: TypeAdapter[AttemptMessage | ResumeMessage] = TypeAdapter(RetryMessage)


class MalformedRetryMessage(ValueError):
    """A retry-queue message that is not one we write."""


def parse_retry_message(body: str) -> AttemptMessage | ResumeMessage:
    try:
        return _RETRY_MESSAGE.validate_json(body)
    except ValidationError as exc:
        raise MalformedRetryMessage(str(exc)) from None


# ---- what the ledger answers and takes -----------------------------------------------------


@dataclass(frozen=True)
class Lease:
    """The answer to ``begin_event``."""

    acquired: bool
    took_over: bool = False  # an earlier holder's lease ran out: what it did must be re-read
    held_until: float = 0.0


@dataclass(frozen=True)
class Outcome:
    """Where one notification stands after the event path handled it."""

    integration_id: str
    status: NotificationState  # DELIVERED, FAILED, CANCELLED, or RETRY_SCHEDULED for ``attempt``
    attempt: int
    record: DeliveryRecord | None = None
    record_ttl_s: int = 0  # how long the record is kept: required with a record
    not_before: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.status, NotificationState):
            raise TypeError(f"an outcome's status is a NotificationState, not {self.status!r}")
        if self.record is not None and self.record_ttl_s <= 0:
            raise ValueError("a delivery record is written with its time to live")


@dataclass(frozen=True)
class Claim:
    """A notification's state item as read back."""

    integration_id: str
    status: NotificationState
    attempt: int
    lease_until: float = 0.0
    not_before: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", NotificationState(self.status))
