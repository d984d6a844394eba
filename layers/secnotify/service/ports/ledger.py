"""What the dispatcher, the Notifier and the integration routes need from storage: the
exactly-once ledger and the delivery log. DynamoDB implements them (storage/ledger.py,
storage/delivery_log.py); so does an in-memory ledger for fast tests, held to the same contract."""

from __future__ import annotations

from typing import Protocol

from secnotify.models.delivery import AttemptStatus, Claim, DeliveryRecord, Lease, NotificationState, Outcome


class EventArchive(Protocol):
    """The normalised events kept for retries and redelivery: the part of the delivery ledger
    the integration routes use (a test-send keeps its event; a redelivery reads one back)."""

    def put_event(self, event_id: str, event_json: str, ttl_s: int) -> None:
        """Keep an event for redelivery, without touching its lease or its shard count."""

    def get_event(self, event_id: str) -> str | None: ...


class DeliveryLedger(EventArchive, Protocol):
    """Stored events with their fan-out lease, and one state item per (event, integration).

    Times are the ledger's own clock (unix seconds): a lease runs out by that clock.
    """

    def begin_event(
        self, event_id: str, event_json: str, lease_s: float, ttl_s: int, shards: int = 1
    ) -> Lease:
        """Store the event and take the right to fan it out for ``lease_s`` seconds, unless
        another holder's lease still runs.

        ``shards``: over how many partitions the event's state items are spread, so a large
        fan-out does not write them all to one. Only the call that creates the event sets it;
        the event keeps it for good (every later reader and writer finds its states by it), and
        an event stored without it (``put_event``, or before sharding) has one."""

    def record_outcomes(self, event_id: str, outcomes: list[Outcome], ttl_s: int) -> None:
        """Write states and delivery records unconditionally: only the lease holder calls it."""

    def get_claims(self, event_id: str) -> dict[str, Claim]:
        """Every state item of the event, by integration id."""

    def claim(
        self, event_id: str, integration_id: str, attempt: int, lease_s: float, ttl_s: int
    ) -> str | None:
        """Take ``attempt`` when it is scheduled, or in flight with its lease run out: a token to
        settle it with, or None."""

    def settle_claim(
        self,
        event_id: str,
        integration_id: str,
        attempt: int,
        owner: str,
        status: NotificationState,
        next_attempt: int,
        not_before: float = 0.0,
    ) -> bool:
        """Record the outcome of a claimed attempt; False unless ``owner`` still holds it."""


class DeliveryLogReader(Protocol):
    """The delivery log as the API reads it. A record keeps the request body it was written with
    (``requestBody``, on a notification's first attempt) and reads back with it."""

    def get_delivery(self, integration_id: str, delivery_id: str) -> DeliveryRecord:
        """The record; ``NotFound`` when there is none."""

    def list_deliveries(
        self,
        integration_id: str,
        limit: int,
        token: str | None,
        status: AttemptStatus | None = None,
        event_id: str | None = None,
    ) -> tuple[list[DeliveryRecord], str | None]:
        """One integration's records, newest first, only those of ``status`` and of ``event_id``
        when given. A page may hold fewer than ``limit`` records (none, even) and still have a
        next one; a token is good only for the listing that issued it (``InvalidToken``)."""

    def list_event_deliveries(
        self, event_id: str, limit: int, token: str | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        """Every record of one event across integrations: grouped by integration, each one's
        records oldest first. Paged like ``list_deliveries``."""


class DeliveryLog(DeliveryLogReader, Protocol):
    """One record per attempt, per integration, newest first."""

    def put_delivery(self, record: DeliveryRecord, ttl_s: int) -> None: ...
