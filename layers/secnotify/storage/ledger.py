"""The exactly-once ledger in DynamoDB: stored events with their fan-out lease, and one state
item per (event, integration) that says where that notification stands."""

from __future__ import annotations

import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any

from secnotify.models.delivery import Claim, Lease, NotificationState, Outcome
from secnotify.storage.client import query_all
from secnotify.storage.conditional import batch_write, conditional
from secnotify.storage.delivery_log import delivery_item
from secnotify.storage.keys import CLAIM_SK_PREFIX, claim_key, claims_pk, event_key, number, string


class DynamoLedger:
    """The ``DeliveryLedger`` port on DynamoDB. ``clock`` is wall time: leases run out by it."""

    def __init__(self, client: Any, table_name: str, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.table_name = table_name
        self.clock = clock

    def put_event(self, event_id: str, event_json: str, ttl_s: int) -> None:
        """Keep the normalised event for retries; compressed, as descriptions can be large."""
        self.client.put_item(TableName=self.table_name, Item=self._event_item(event_id, event_json, ttl_s))

    def begin_event(self, event_id: str, event_json: str, lease_s: float, ttl_s: int) -> Lease:
        """Store the event and take the right to fan it out, for ``lease_s`` seconds.

        One conditional write does both. When another invocation holds the lease, says until when.
        """
        now = self.clock()
        item = {**self._event_item(event_id, event_json, ttl_s), "leaseUntil": {"N": repr(now + lease_s)}}
        answer: dict[str, Any] = {}
        acquired = conditional(
            lambda: answer.update(
                self.client.put_item(
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression=(
                        "attribute_not_exists(pk) OR attribute_not_exists(leaseUntil) OR leaseUntil < :now"
                    ),
                    ExpressionAttributeValues={":now": {"N": repr(now)}},
                    ReturnValues="ALL_OLD",
                )
            )
        )
        if acquired:
            return Lease(acquired=True, took_over="leaseUntil" in answer.get("Attributes", {}))
        held = self.client.get_item(TableName=self.table_name, Key=event_key(event_id), ConsistentRead=True)
        return Lease(acquired=False, held_until=number(held.get("Item", {}), "leaseUntil", now))

    def get_event(self, event_id: str) -> str | None:
        item = self.client.get_item(TableName=self.table_name, Key=event_key(event_id)).get("Item")
        return zlib.decompress(item["doc"]["B"]).decode() if item else None

    def record_outcomes(self, event_id: str, outcomes: list[Outcome], ttl_s: int) -> None:
        """Write the claim state and the delivery record of many notifications in batches.

        Only the holder of the event's lease writes these, so they need no condition.
        """
        now = int(self.clock())
        requests: list[dict[str, Any]] = []
        for outcome in outcomes:
            claim = {
                **claim_key(event_id, outcome.integration_id),
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
        claims = (_claim(item) for item in query_all(self.client, self.table_name, claims_pk(event_id)))
        return {claim.integration_id: claim for claim in claims}

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
                Key=claim_key(event_id, integration_id),
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
                Key=claim_key(event_id, integration_id),
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

    def _event_item(self, event_id: str, event_json: str, ttl_s: int) -> dict[str, Any]:
        return {
            **event_key(event_id),
            "doc": {"B": zlib.compress(event_json.encode(), 6)},
            "ttl": {"N": str(int(self.clock()) + ttl_s)},
        }


def _claim(item: dict[str, Any]) -> Claim:
    return Claim(
        integration_id=string(item, "sk").removeprefix(CLAIM_SK_PREFIX),
        status=NotificationState(string(item, "status")),
        attempt=int(number(item, "attempt", 1)),
        lease_until=number(item, "leaseUntil"),
        not_before=number(item, "notBefore"),
    )
