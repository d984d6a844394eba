"""The ledger and the delivery log in memory, with DynamoDB's conditional-write semantics.

``checks=False`` switches every condition off (a lease never holds, any claim and any settle
succeed): the contract tests must then fail, which shows they test the conditions.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from secnotify.errors import DeliveryNotFound, InvalidToken
from secnotify.models.delivery import AttemptStatus, Claim, DeliveryRecord, Lease, NotificationState, Outcome


class InMemoryDeliveryLog:
    """Keeps each record's stored document and compressed body and reads them back, as
    DynamoDB's log does. Its page tokens name the listing they belong to, and no other takes them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], tuple[dict[str, Any], bytes | None]] = {}

    def put_delivery(self, record: DeliveryRecord, ttl_s: int) -> None:
        with self._lock:
            self._items[(record.integrationId, record.deliveryId)] = (record.stored(), record.stored_body())

    def get_delivery(self, integration_id: str, delivery_id: str) -> DeliveryRecord:
        with self._lock:
            found = self._items.get((integration_id, delivery_id))
        if found is None:
            raise DeliveryNotFound(integration_id, delivery_id)
        return DeliveryRecord.from_stored(*found)

    def list_deliveries(
        self,
        integration_id: str,
        limit: int,
        token: str | None,
        status: AttemptStatus | None = None,
        event_id: str | None = None,
    ) -> tuple[list[DeliveryRecord], str | None]:
        scope = f"integration\x00{integration_id}\x00{event_id}\x00{status}"
        with self._lock:
            keys = sorted(((i, d) for (i, d) in self._items if i == integration_id), reverse=True)
            records = [DeliveryRecord.from_stored(*self._items[k]) for k in keys]
        records = [
            r
            for r in records
            if (status is None or r.status is status) and (event_id is None or r.eventId == event_id)
        ]
        return _page(records, [r.deliveryId for r in records], limit, token, scope)

    def list_event_deliveries(
        self, event_id: str, limit: int, token: str | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        with self._lock:
            records = [DeliveryRecord.from_stored(*v) for v in self._items.values()]
        records = sorted(
            (r for r in records if r.eventId == event_id), key=lambda r: (r.integrationId, r.deliveryId)
        )
        positions = [f"{r.integrationId}#{r.deliveryId}" for r in records]
        return _page(records, positions, limit, token, f"event\x00{event_id}")

    def all(self) -> list[DeliveryRecord]:
        with self._lock:
            return [DeliveryRecord.from_stored(*v) for _, v in sorted(self._items.items())]


def _page(
    records: list[DeliveryRecord], positions: list[str], limit: int, token: str | None, scope: str
) -> tuple[list[DeliveryRecord], str | None]:
    """The page after ``token`` (the last position of the page before, in this ``scope``)."""
    start = 0
    if token is not None:
        token_scope, _, after = token.rpartition("\x01")
        if token_scope != scope or after not in positions:
            raise InvalidToken()
        start = positions.index(after) + 1
    page = records[start : start + limit]
    more = start + limit < len(records)
    return page, f"{scope}\x01{positions[start + limit - 1]}" if more else None


@dataclass(frozen=True)
class _State:
    status: NotificationState
    attempt: int
    not_before: float
    lease_until: float | None = None
    owner: str | None = None


class InMemoryLedger:
    def __init__(
        self, clock: Callable[[], float], log: InMemoryDeliveryLog | None = None, *, checks: bool = True
    ) -> None:
        self.clock = clock
        self.log = log or InMemoryDeliveryLog()
        self.checks = checks
        self._lock = threading.Lock()
        self._events: dict[str, tuple[str, float | None]] = {}  # event id -> (json, leaseUntil)
        # Kept as DynamoDB keeps it (fixed when the event is created); states are not placed by
        # it here, as nothing a caller sees depends on where they are.
        self.shards: dict[str, int] = {}
        self._states: dict[tuple[str, str], _State] = {}

    def put_event(self, event_id: str, event_json: str, ttl_s: int) -> None:
        with self._lock:
            old = self._events.get(event_id)
            self._events[event_id] = (event_json, old[1] if old is not None else None)

    def begin_event(
        self, event_id: str, event_json: str, lease_s: float, ttl_s: int, shards: int = 1
    ) -> Lease:
        if shards < 1:
            raise ValueError(f"an event has at least one shard, not {shards}")
        now = self.clock()
        with self._lock:
            old = self._events.get(event_id)
            self.shards.setdefault(event_id, shards if old is None else 1)
            held = old[1] if old is not None else None
            if self.checks and held is not None and not held < now:
                return Lease(acquired=False, held_until=held)
            self._events[event_id] = (event_json, now + lease_s)
            return Lease(acquired=True, took_over=held is not None)

    def get_event(self, event_id: str) -> str | None:
        with self._lock:
            found = self._events.get(event_id)
        return found[0] if found is not None else None

    def record_outcomes(self, event_id: str, outcomes: list[Outcome], ttl_s: int) -> None:
        with self._lock:
            for outcome in outcomes:
                key = (event_id, outcome.integration_id)
                self._states[key] = _State(outcome.status, outcome.attempt, outcome.not_before)
        for outcome in outcomes:
            if outcome.record is not None:
                self.log.put_delivery(outcome.record, outcome.record_ttl_s)

    def get_claims(self, event_id: str) -> dict[str, Claim]:
        with self._lock:
            return {
                iid: Claim(iid, s.status, s.attempt, s.lease_until or 0.0, s.not_before)
                for (eid, iid), s in self._states.items()
                if eid == event_id
            }

    def claim(
        self, event_id: str, integration_id: str, attempt: int, lease_s: float, ttl_s: int
    ) -> str | None:
        now = self.clock()
        owner = uuid.uuid4().hex
        with self._lock:
            state = self._states.get((event_id, integration_id))
            if self.checks and not _claimable(state, attempt, now):
                return None
            not_before = state.not_before if state is not None else 0.0
            self._states[(event_id, integration_id)] = _State(
                NotificationState.IN_FLIGHT, attempt, not_before, now + lease_s, owner
            )
            return owner

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
        with self._lock:
            state = self._states.get((event_id, integration_id))
            owned = (
                state is not None
                and state.status is NotificationState.IN_FLIGHT
                and state.attempt == attempt
                and state.owner == owner
            )
            if self.checks and not owned:
                return False
            self._states[(event_id, integration_id)] = _State(
                NotificationState(status), next_attempt, not_before
            )
            return True

    def expire_leases(self) -> None:
        """Make every running lease end now (as if its holder crashed long ago)."""
        now = self.clock()
        with self._lock:
            self._events = {k: (j, None if h is None else now - 1) for k, (j, h) in self._events.items()}
            self._states = {
                k: replace(s, lease_until=now - 1) if s.lease_until is not None else s
                for k, s in self._states.items()
            }


def _claimable(state: _State | None, attempt: int, now: float) -> bool:
    if state is None or state.attempt != attempt:
        return False
    if state.status is NotificationState.RETRY_SCHEDULED:
        return True
    return state.status is NotificationState.IN_FLIGHT and (state.lease_until or 0.0) < now
