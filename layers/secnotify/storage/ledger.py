"""The exactly-once ledger in DynamoDB: stored events with their fan-out lease, and one state
item per (event, integration) that says where that notification stands.

A large fan-out's states are spread over shards (storage/keys.py), so no partition takes more
than its share of an event's writes. The event item says how many; it is set when the item is
created and never changed, so each process learns it once per event (``_shards``)."""

from __future__ import annotations

import threading
import time
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from secnotify.models.delivery import Claim, Lease, NotificationState, Outcome
from secnotify.storage.client import query_all
from secnotify.storage.conditional import batch_write, conditional
from secnotify.storage.delivery_log import delivery_item
from secnotify.storage.keys import (
    CLAIM_SK_PREFIX,
    claim_key,
    claims_pk,
    event_key,
    number,
    string,
)

# Events whose shard count this process remembers; the oldest are forgotten first.
_KNOWN_EVENTS = 4096
# Shards of one event read at once.
_READERS = 16


class DynamoLedger:
    """The ``DeliveryLedger`` port on DynamoDB. ``clock`` is wall time: leases run out by it."""

    def __init__(self, client: Any, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.table_name = table_name
        self.clock = clock
        self._known: OrderedDict[str, int] = OrderedDict()
        self._known_lock = threading.Lock()
        self._readers: ThreadPoolExecutor | None = None

    def put_event(self, event_id: str, event_json: str, ttl_s: int) -> None:
        """Keep the normalised event for retries; compressed, as descriptions can be large.
        An update, so a stored event keeps its lease and its shard count."""
        self.client.update_item(
            TableName=self.table_name,
            Key=event_key(event_id),
            UpdateExpression="SET doc = :doc, #t = :ttl",
            ExpressionAttributeNames={"#t": "ttl"},
            ExpressionAttributeValues=self._event_values(event_json, ttl_s),
        )

    def begin_event(
        self, event_id: str, event_json: str, lease_s: float, ttl_s: int, shards: int = 1
    ) -> Lease:
        """Store the event and take the right to fan it out, for ``lease_s`` seconds.

        A new event is one conditional put, which also fixes its shard count. An existing one
        (a duplicate, a resume, a takeover) is one conditional update that keeps its count: its
        states are where that count put them. When another invocation holds the lease, says
        until when.
        """
        if shards < 1:
            raise ValueError(f"an event has at least one shard, not {shards}")
        now = self.clock()
        values = {**self._event_values(event_json, ttl_s), ":lease": {"N": repr(now + lease_s)}}
        item = {
            **event_key(event_id),
            "doc": values[":doc"],
            "ttl": values[":ttl"],
            "leaseUntil": values[":lease"],
        }
        if shards > 1:
            item["shards"] = {"N": str(shards)}
        for _ in range(3):
            created = conditional(
                lambda: self.client.put_item(
                    TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)"
                )
            )
            if created:
                self._remember(event_id, shards)
                return Lease(acquired=True)
            acquired, old = self._take_over(event_id, values, now)
            if acquired:
                self._remember(event_id, _shard_count(old))
                return Lease(acquired=True, took_over="leaseUntil" in old)
            held = self.client.get_item(
                TableName=self.table_name, Key=event_key(event_id), ConsistentRead=True
            )
            if "Item" in held:
                self._remember(event_id, _shard_count(held["Item"]))
                return Lease(acquired=False, held_until=number(held["Item"], "leaseUntil", now))
            # The item went (its time to live) between our two writes: create it after all.
        raise RuntimeError(f"event {event_id} kept appearing and vanishing")

    def _take_over(self, event_id: str, values: dict[str, Any], now: float) -> tuple[bool, dict[str, Any]]:
        """Take the lease of a stored event unless it runs: (taken, the item as it was)."""
        answer: dict[str, Any] = {}
        taken = conditional(
            lambda: answer.update(
                self.client.update_item(
                    TableName=self.table_name,
                    Key=event_key(event_id),
                    UpdateExpression="SET doc = :doc, #t = :ttl, leaseUntil = :lease",
                    ConditionExpression=(
                        "attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now)"
                    ),
                    ExpressionAttributeNames={"#t": "ttl"},
                    ExpressionAttributeValues={**values, ":now": {"N": repr(now)}},
                    ReturnValues="ALL_OLD",
                )
            )
        )
        return taken, answer.get("Attributes", {})

    def get_event(self, event_id: str) -> str | None:
        item = self.client.get_item(TableName=self.table_name, Key=event_key(event_id)).get("Item")
        if item is None:
            return None
        self._remember(event_id, _shard_count(item))
        return zlib.decompress(item["doc"]["B"]).decode()

    def record_outcomes(self, event_id: str, outcomes: list[Outcome], ttl_s: int) -> None:
        """Write the claim state and the delivery record of many notifications in batches.

        Only the holder of the event's lease writes these, so they need no condition.
        """
        now = int(self.clock())
        shards = self._shards(event_id)
        requests: list[dict[str, Any]] = []
        for outcome in outcomes:
            claim = {
                **claim_key(event_id, outcome.integration_id, shards),
                "status": {"S": str(outcome.status)},
                "attempt": {"N": str(outcome.attempt)},
                "notBefore": {"N": repr(outcome.not_before)},
                "ttl": {"N": str(now + ttl_s)},
            }
            requests.append({"PutRequest": {"Item": claim}})
            if outcome.record is not None:
                item = delivery_item(outcome.record, outcome.record_ttl_s, now)
                requests.append({"PutRequest": {"Item": item}})
        batch_write(self.client, self.table_name, requests)

    def get_claims(self, event_id: str) -> dict[str, Claim]:
        """One query per shard, at once. When this process does not know the event's shard
        count yet, shard 0 (every event has it) is read while the event item says how many."""
        readers = self._reader_pool()
        shards = self._known_shards(event_id)
        if shards is None:
            first = readers.submit(self._query_shard, event_id, 0)
            shards = self._shards(event_id)
            rest = [readers.submit(self._query_shard, event_id, k) for k in range(1, shards)]
            pages = [first.result(), *(f.result() for f in rest)]
        else:
            pages = list(readers.map(lambda k: self._query_shard(event_id, k), range(shards)))
        return {claim.integration_id: claim for page in pages for claim in page}

    def claim(
        self, event_id: str, integration_id: str, attempt: int, lease_s: float, ttl_s: int
    ) -> str | None:
        """Take the right to make ``attempt`` of this notification: a token to settle it with,
        or None when someone else has it.

        Only a scheduled attempt can be claimed (whoever scheduled it recorded RETRY_SCHEDULED
        before queueing the message), or an in-flight one whose lease ran out: its worker
        crashed mid-send.
        """
        now = self.clock()
        owner = uuid.uuid4().hex
        taken = conditional(
            lambda: self.client.update_item(
                TableName=self.table_name,
                Key=claim_key(event_id, integration_id, self._shards(event_id)),
                UpdateExpression=(
                    "SET #s = :inflight, attempt = :attempt, leaseUntil = :lease, #o = :owner, #t = :ttl"
                ),
                ConditionExpression=(
                    "(#s = :scheduled AND attempt = :attempt)"
                    " OR (#s = :inflight AND attempt = :attempt AND leaseUntil < :now)"
                ),
                ExpressionAttributeNames={"#s": "status", "#t": "ttl", "#o": "owner"},
                ExpressionAttributeValues={
                    ":inflight": {"S": str(NotificationState.IN_FLIGHT)},
                    ":scheduled": {"S": str(NotificationState.RETRY_SCHEDULED)},
                    ":attempt": {"N": str(attempt)},
                    ":lease": {"N": repr(now + lease_s)},
                    ":now": {"N": repr(now)},
                    ":owner": {"S": owner},
                    ":ttl": {"N": str(int(now) + ttl_s)},
                },
            )
        )
        return owner if taken else None

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
        """Record where the notification stands after ``attempt``; False when our lease ran out
        and another worker took the attempt over (its outcome wins)."""
        return conditional(
            lambda: self.client.update_item(
                TableName=self.table_name,
                Key=claim_key(event_id, integration_id, self._shards(event_id)),
                UpdateExpression="SET #s = :status, attempt = :next, notBefore = :nb REMOVE leaseUntil, #o",
                ConditionExpression="#s = :inflight AND attempt = :attempt AND #o = :owner",
                ExpressionAttributeNames={"#s": "status", "#o": "owner"},
                ExpressionAttributeValues={
                    ":status": {"S": str(status)},
                    ":next": {"N": str(next_attempt)},
                    ":nb": {"N": repr(not_before)},
                    ":inflight": {"S": str(NotificationState.IN_FLIGHT)},
                    ":attempt": {"N": str(attempt)},
                    ":owner": {"S": owner},
                },
            )
        )

    def _event_values(self, event_json: str, ttl_s: int) -> dict[str, Any]:
        return {
            ":doc": {"B": zlib.compress(event_json.encode(), 6)},
            ":ttl": {"N": str(int(self.clock()) + ttl_s)},
        }

    # ---- shards ----------------------------------------------------------------------

    def _shards(self, event_id: str) -> int:
        """How many shards hold the event's states: remembered, or read from the event item.
        No item yet: no states either (they are written under its lease), so one shard, which
        is not remembered, as the event may be created with more."""
        known = self._known_shards(event_id)
        if known is not None:
            return known
        item = self.client.get_item(
            TableName=self.table_name,
            Key=event_key(event_id),
            ConsistentRead=True,
            ProjectionExpression="shards",
        ).get("Item")
        if item is None:
            return 1
        self._remember(event_id, _shard_count(item))
        return _shard_count(item)

    def _known_shards(self, event_id: str) -> int | None:
        with self._known_lock:
            return self._known.get(event_id)

    def _remember(self, event_id: str, shards: int) -> None:
        with self._known_lock:
            self._known[event_id] = shards
            self._known.move_to_end(event_id)
            while len(self._known) > _KNOWN_EVENTS:
                self._known.popitem(last=False)

    def _query_shard(self, event_id: str, shard: int) -> list[Claim]:
        return [_claim(item) for item in query_all(self.client, self.table_name, claims_pk(event_id, shard))]

    def _reader_pool(self) -> ThreadPoolExecutor:
        with self._known_lock:
            if self._readers is None:
                self._readers = ThreadPoolExecutor(max_workers=_READERS, thread_name_prefix="claims")
            return self._readers


def _shard_count(item: dict[str, Any]) -> int:
    return max(1, int(number(item, "shards", 1)))


def _claim(item: dict[str, Any]) -> Claim:
    return Claim(
        integration_id=string(item, "sk").removeprefix(CLAIM_SK_PREFIX),
        status=NotificationState(string(item, "status")),
        attempt=int(number(item, "attempt", 1)),
        lease_until=number(item, "leaseUntil"),
        not_before=number(item, "notBefore"),
    )
