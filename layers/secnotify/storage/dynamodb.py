"""DynamoDB single-table storage for configuration, claims, events and delivery records.

Layout (pk / sk):
- ``CONFIG`` / ``PROFILE#<id>``, ``INTEGRATION#<id>``, ``COUNTER#<kind>``: the whole configuration
  lives in one partition so the dispatcher loads it with a single query.
- ``EVENT#<eventId>`` / ``EVENT``: the normalised event, kept for retries and redelivery.
- ``CLAIM#<eventId>`` / ``INT#<integrationId>``: who is delivering what, so a notification is
  delivered successfully at most once however often the event arrives.
- ``DELIVERIES#<integrationId>`` / ``<deliveryId>``: the delivery log, newest first by id.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from secnotify.storage.errors import (
    InvalidToken,
    ItemTooLarge,
    LimitExceeded,
    NotFound,
    ProfileInUse,
    ProfileMissing,
    VersionConflict,
)

CONFIG_PK = "CONFIG"
PROFILE = "PROFILE"
INTEGRATION = "INTEGRATION"

_TOKEN_SK = re.compile(r"^[A-Za-z0-9#:_\-.]{1,200}$")

# Below DynamoDB's 400 KB item limit with room to spare; items written before the cap existed
# may be larger: they still load, and are refused only when written again.
MAX_CONFIG_ITEM_BYTES = 350 * 1024


@dataclass(frozen=True)
class StoredItem:
    id: str
    version: int
    doc: dict[str, Any]


@dataclass(frozen=True)
class Page:
    items: list[StoredItem]
    next_token: str | None


@dataclass(frozen=True)
class ConfigSnapshot:
    """Every profile and integration, as read by one paginated query."""

    profiles: list[StoredItem]
    integrations: list[StoredItem]


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
    status: str  # DELIVERED, FAILED, or RETRY_SCHEDULED for ``attempt``
    attempt: int
    record: dict[str, Any] | None = None
    record_ttl_s: int = 30 * 86400
    not_before: float = 0.0


@dataclass(frozen=True)
class Claim:
    integration_id: str
    status: str
    attempt: int
    lease_until: float
    not_before: float = 0.0


def _sk(kind: str, item_id: str) -> str:
    return f"{kind}#{item_id}"


_NOT_OURS = "nextToken is not a token this API issued"


def encode_token(key: dict[str, Any], secret: bytes) -> str:
    raw = json.dumps({"pk": key["pk"]["S"], "sk": key["sk"]["S"]}, separators=(",", ":")).encode()
    mac = hmac.new(secret, raw, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")


def decode_token(token: str, pk: str, sk_prefix: str, secret: bytes) -> dict[str, Any]:
    """Turn an opaque nextToken back into a start key, refusing anything we did not issue."""
    try:
        blob = base64.urlsafe_b64decode((token + "=" * (-len(token) % 4)).encode("ascii"))
        mac, raw = blob[:16], blob[16:]
        if not hmac.compare_digest(mac, hmac.new(secret, raw, hashlib.sha256).digest()[:16]):
            raise InvalidToken(_NOT_OURS)
        data = json.loads(raw)
    except (ValueError, UnicodeError, binascii.Error):
        raise InvalidToken(_NOT_OURS) from None
    if (
        not isinstance(data, dict)
        or set(data) != {"pk", "sk"}
        or data["pk"] != pk
        or not isinstance(data["sk"], str)
        or not data["sk"].startswith(sk_prefix)
        or not _TOKEN_SK.match(data["sk"])
    ):
        raise InvalidToken(_NOT_OURS)
    return {"pk": {"S": pk}, "sk": {"S": data["sk"]}}


def _cancel_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    if reasons:
        return [r.get("Code", "None") for r in reasons]
    # Some endpoints only put the codes in the message: "... [None, ConditionalCheckFailed]".
    match = re.search(r"\[(.*)\]", str(exc.response.get("Error", {}).get("Message", "")))
    return [c.strip() for c in match.group(1).split(",")] if match else []


class DynamoStore:
    """All table access. Thread-safe: it holds only a low-level boto3 client."""

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        self.table_name = table_name
        self.client = client or boto3.client(
            "dynamodb",
            config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=64),
        )
        self._secret: bytes | None = None

    def _token_secret(self) -> bytes:
        """The key that signs page tokens: made once per table, kept in it, cached here."""
        if self._secret is None:
            key = {"pk": {"S": CONFIG_PK}, "sk": {"S": "KEY#page-token"}}
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item={**key, "secret": {"B": secrets.token_bytes(32)}},
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
            item = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True)["Item"]
            self._secret = bytes(item["secret"]["B"])
        return self._secret

    # ---- configuration -------------------------------------------------------------

    def get_config_item(self, kind: str, item_id: str) -> StoredItem:
        resp = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": CONFIG_PK}, "sk": {"S": _sk(kind, item_id)}},
            ConsistentRead=True,
        )
        item = resp.get("Item")
        if not item:
            raise NotFound(f"no {_label(kind)} with id {item_id}")
        return _stored(item)

    def list_config_items(self, kind: str, limit: int, token: str | None) -> Page:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": CONFIG_PK}, ":prefix": {"S": f"{kind}#"}},
            "Limit": limit,
        }
        if token:
            kwargs["ExclusiveStartKey"] = decode_token(token, CONFIG_PK, f"{kind}#", self._token_secret())
        resp = self.client.query(**kwargs)
        last = resp.get("LastEvaluatedKey")
        return Page(
            [_stored(i) for i in resp.get("Items", [])],
            encode_token(last, self._token_secret()) if last else None,
        )

    def load_config(self) -> ConfigSnapshot:
        """The whole configuration in one query (more pages only past 1 MB)."""
        profiles: list[StoredItem] = []
        integrations: list[StoredItem] = []
        for item in self._query_all(CONFIG_PK):
            kind = item.get("kind", {}).get("S")
            if kind == PROFILE:
                profiles.append(_stored(item))
            elif kind == INTEGRATION:
                integrations.append(_stored(item))
        return ConfigSnapshot(profiles, integrations)

    def integrations_using(self, profile_id: str) -> list[StoredItem]:
        return [i for i in self.load_config().integrations if i.doc.get("alertingProfileId") == profile_id]

    def create_profile(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem:
        put = self._config_put(PROFILE, item_id, doc, 1, extra={"refCount": {"N": "0"}})
        put["ConditionExpression"] = "attribute_not_exists(pk)"
        self._transact(
            [self._counter_update(PROFILE, +1, max_count), {"Put": put}],
            on_cancel={0: LimitExceeded(f"at most {max_count} alerting profiles may exist")},
        )
        return StoredItem(item_id, 1, doc)

    def replace_profile(self, item_id: str, doc: dict[str, Any], expected_version: int) -> StoredItem:
        version = expected_version + 1
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": CONFIG_PK}, "sk": {"S": _sk(PROFILE, item_id)}},
                UpdateExpression="SET doc = :doc, version = :v",
                ConditionExpression="attribute_exists(pk) AND version = :expected",
                ExpressionAttributeValues={
                    ":doc": {"S": _dumps(doc)},
                    ":v": {"N": str(version)},
                    ":expected": {"N": str(expected_version)},
                },
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict(
                    f"alerting profile {item_id} changed since version {expected_version}"
                ) from None
            raise
        return StoredItem(item_id, version, doc)

    def delete_profile(self, item_id: str) -> None:
        self.get_config_item(PROFILE, item_id)
        users = self.integrations_using(item_id)
        if users:
            raise _in_use(item_id, users)
        delete = {
            "Delete": {
                "TableName": self.table_name,
                "Key": {"pk": {"S": CONFIG_PK}, "sk": {"S": _sk(PROFILE, item_id)}},
                # refCount guards the race with a concurrent integration create.
                "ConditionExpression": "attribute_exists(pk) AND refCount = :zero",
                "ExpressionAttributeValues": {":zero": {"N": "0"}},
            }
        }
        try:
            self._transact([delete, self._counter_update(PROFILE, -1, None)], on_cancel={})
        except _Cancelled:
            users = self.integrations_using(item_id)
            if users:
                raise _in_use(item_id, users) from None
            raise NotFound(f"no alerting profile with id {item_id}") from None

    def create_integration(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem:
        profile_id = doc["alertingProfileId"]
        put = self._config_put(INTEGRATION, item_id, doc, 1)
        put["ConditionExpression"] = "attribute_not_exists(pk)"
        self._transact(
            [
                self._counter_update(INTEGRATION, +1, max_count),
                self._ref_update(profile_id, +1),
                {"Put": put},
            ],
            on_cancel={
                0: LimitExceeded(f"at most {max_count} integrations may exist"),
                1: ProfileMissing(f"alertingProfileId: no alerting profile with id {profile_id}"),
            },
        )
        return StoredItem(item_id, 1, doc)

    def replace_integration(
        self, item_id: str, doc: dict[str, Any], expected_version: int, old_profile_id: str
    ) -> StoredItem:
        version = expected_version + 1
        put = self._config_put(INTEGRATION, item_id, doc, version)
        put["ConditionExpression"] = "attribute_exists(pk) AND version = :expected"
        put["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        ops: list[dict[str, Any]] = [{"Put": put}]
        new_profile_id = doc["alertingProfileId"]
        if new_profile_id != old_profile_id:
            ops += [self._ref_update(new_profile_id, +1), self._ref_update(old_profile_id, -1)]
        self._transact(
            ops,
            on_cancel={
                0: VersionConflict(f"integration {item_id} changed since version {expected_version}"),
                1: ProfileMissing(f"alertingProfileId: no alerting profile with id {new_profile_id}"),
            },
        )
        return StoredItem(item_id, version, doc)

    def delete_integration(self, item_id: str) -> None:
        current = self.get_config_item(INTEGRATION, item_id)
        delete = {
            "Delete": {
                "TableName": self.table_name,
                "Key": {"pk": {"S": CONFIG_PK}, "sk": {"S": _sk(INTEGRATION, item_id)}},
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        ops = [delete, self._counter_update(INTEGRATION, -1, None)]
        profile_id = current.doc.get("alertingProfileId")
        if profile_id:
            ops.append(self._ref_update(profile_id, -1))
        self._transact(ops, on_cancel={0: NotFound(f"no integration with id {item_id}")})

    # ---- events, claims and the delivery log ------------------------------------------

    def put_event(self, event_id: str, event_json: str, ttl_s: int) -> None:
        """Keep the normalised event for retries; compressed, as descriptions can be large."""
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": f"EVENT#{event_id}"},
                "sk": {"S": "EVENT"},
                "doc": {"B": zlib.compress(event_json.encode(), 6)},
                "ttl": {"N": str(int(time.time()) + ttl_s)},
            },
        )

    def begin_event(self, event_id: str, event_json: str, lease_s: float, ttl_s: int) -> Lease:
        """Store the event and take the right to fan it out, for ``lease_s`` seconds.

        One conditional write does both. When another invocation holds the lease, says until when.
        """
        now = time.time()
        try:
            resp = self.client.put_item(
                TableName=self.table_name,
                Item={
                    "pk": {"S": f"EVENT#{event_id}"},
                    "sk": {"S": "EVENT"},
                    "doc": {"B": zlib.compress(event_json.encode(), 6)},
                    "leaseUntil": {"N": repr(now + lease_s)},
                    "ttl": {"N": str(int(now) + ttl_s)},
                },
                ConditionExpression=(
                    "attribute_not_exists(pk) OR attribute_not_exists(leaseUntil) OR leaseUntil < :now"
                ),
                ExpressionAttributeValues={":now": {"N": repr(now)}},
                ReturnValues="ALL_OLD",
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            item = self.client.get_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": "EVENT"}},
                ConsistentRead=True,
            ).get("Item", {})
            return Lease(acquired=False, held_until=float(item.get("leaseUntil", {}).get("N", repr(now))))
        return Lease(acquired=True, took_over="leaseUntil" in resp.get("Attributes", {}))

    def record_outcomes(self, event_id: str, outcomes: list[Outcome], ttl_s: int) -> None:
        """Write the claim state and the delivery record of many notifications in batches.

        Only the holder of the event's lease writes these, so they need no condition.
        """
        now = int(time.time())
        requests: list[dict[str, Any]] = []
        for outcome in outcomes:
            claim = {
                "pk": {"S": f"CLAIM#{event_id}"},
                "sk": {"S": f"INT#{outcome.integration_id}"},
                "status": {"S": outcome.status},
                "attempt": {"N": str(outcome.attempt)},
                "notBefore": {"N": repr(outcome.not_before)},
                "ttl": {"N": str(now + ttl_s)},
            }
            requests.append({"PutRequest": {"Item": claim}})
            if outcome.record is not None:
                record = {
                    "pk": {"S": f"DELIVERIES#{outcome.integration_id}"},
                    "sk": {"S": outcome.record["deliveryId"]},
                    "doc": {"S": _dumps(outcome.record)},
                    "ttl": {"N": str(now + outcome.record_ttl_s)},
                }
                requests.append({"PutRequest": {"Item": record}})
        for start in range(0, len(requests), 25):
            self._batch_write(requests[start : start + 25])

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        pending: dict[str, Any] = {self.table_name: requests}
        for attempt in range(8):
            resp = self.client.batch_write_item(RequestItems=pending)
            pending = resp.get("UnprocessedItems") or {}
            if not pending:
                return
            time.sleep(min(1.0, 0.05 * 2**attempt))
        raise RuntimeError(f"DynamoDB left {len(pending.get(self.table_name, []))} writes unprocessed")

    def get_event(self, event_id: str) -> str | None:
        resp = self.client.get_item(
            TableName=self.table_name, Key={"pk": {"S": f"EVENT#{event_id}"}, "sk": {"S": "EVENT"}}
        )
        item = resp.get("Item")
        return zlib.decompress(item["doc"]["B"]).decode() if item else None

    def get_claims(self, event_id: str) -> dict[str, Claim]:
        claims: dict[str, Claim] = {}
        for item in self._query_all(f"CLAIM#{event_id}"):
            claim = _claim(item)
            claims[claim.integration_id] = claim
        return claims

    def claim(
        self, event_id: str, integration_id: str, attempt: int, lease_s: float, ttl_s: int
    ) -> str | None:
        """Take the right to make ``attempt`` of this notification: a token to settle it with,
        or None when someone else has it.

        Only a scheduled attempt can be claimed (whoever scheduled it recorded RETRY_SCHEDULED
        before queueing the message), or an in-flight one whose lease ran out: its worker
        crashed mid-send.
        """
        now = time.time()
        owner = uuid.uuid4().hex
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"CLAIM#{event_id}"}, "sk": {"S": f"INT#{integration_id}"}},
                UpdateExpression=(
                    "SET #s = :inflight, attempt = :attempt, leaseUntil = :lease, #o = :owner, #t = :ttl"
                ),
                ConditionExpression=(
                    "(#s = :scheduled AND attempt = :attempt)"
                    " OR (#s = :inflight AND attempt = :attempt AND leaseUntil < :now)"
                ),
                ExpressionAttributeNames={"#s": "status", "#t": "ttl", "#o": "owner"},
                ExpressionAttributeValues={
                    ":inflight": {"S": "IN_FLIGHT"},
                    ":scheduled": {"S": "RETRY_SCHEDULED"},
                    ":attempt": {"N": str(attempt)},
                    ":lease": {"N": repr(now + lease_s)},
                    ":now": {"N": repr(now)},
                    ":owner": {"S": owner},
                    ":ttl": {"N": str(int(now) + ttl_s)},
                },
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        return owner

    def settle_claim(
        self,
        event_id: str,
        integration_id: str,
        attempt: int,
        owner: str,
        status: str,
        next_attempt: int,
        not_before: float = 0.0,
    ) -> bool:
        """Record where the notification stands after ``attempt``; False when our lease ran out
        and another worker took the attempt over (its outcome wins)."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key={"pk": {"S": f"CLAIM#{event_id}"}, "sk": {"S": f"INT#{integration_id}"}},
                UpdateExpression="SET #s = :status, attempt = :next, notBefore = :nb REMOVE leaseUntil, #o",
                ConditionExpression="#s = :inflight AND attempt = :attempt AND #o = :owner",
                ExpressionAttributeNames={"#s": "status", "#o": "owner"},
                ExpressionAttributeValues={
                    ":status": {"S": status},
                    ":next": {"N": str(next_attempt)},
                    ":nb": {"N": repr(not_before)},
                    ":inflight": {"S": "IN_FLIGHT"},
                    ":attempt": {"N": str(attempt)},
                    ":owner": {"S": owner},
                },
            )
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def put_delivery(self, integration_id: str, delivery_id: str, record: dict[str, Any], ttl_s: int) -> None:
        self.client.put_item(
            TableName=self.table_name,
            Item={
                "pk": {"S": f"DELIVERIES#{integration_id}"},
                "sk": {"S": delivery_id},
                "doc": {"S": _dumps(record)},
                "ttl": {"N": str(int(time.time()) + ttl_s)},
            },
        )

    def get_delivery(self, integration_id: str, delivery_id: str) -> dict[str, Any]:
        resp = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": f"DELIVERIES#{integration_id}"}, "sk": {"S": delivery_id}},
        )
        item = resp.get("Item")
        if not item:
            raise NotFound(f"no delivery {delivery_id} for integration {integration_id}")
        doc: dict[str, Any] = json.loads(item["doc"]["S"])
        return doc

    def list_deliveries(
        self, integration_id: str, limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        pk = f"DELIVERIES#{integration_id}"
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if token:
            kwargs["ExclusiveStartKey"] = decode_token(token, pk, "", self._token_secret())
        resp = self.client.query(**kwargs)
        last = resp.get("LastEvaluatedKey")
        records = [json.loads(i["doc"]["S"]) for i in resp.get("Items", [])]
        return records, encode_token(last, self._token_secret()) if last else None

    # ---- helpers ---------------------------------------------------------------------

    def _query_all(self, pk: str) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
        }
        while True:
            resp = self.client.query(**kwargs)
            yield from resp.get("Items", [])
            last = resp.get("LastEvaluatedKey")
            if not last:
                return
            kwargs["ExclusiveStartKey"] = last

    def _config_put(
        self, kind: str, item_id: str, doc: dict[str, Any], version: int, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": {"S": CONFIG_PK},
            "sk": {"S": _sk(kind, item_id)},
            "kind": {"S": kind},
            "id": {"S": item_id},
            "version": {"N": str(version)},
            "doc": {"S": _dumps(doc)},
            **(extra or {}),
        }
        size = item_size(item)
        if size > MAX_CONFIG_ITEM_BYTES:
            raise ItemTooLarge(size, MAX_CONFIG_ITEM_BYTES)
        return {"TableName": self.table_name, "Item": item}

    def _counter_update(self, kind: str, delta: int, max_count: int | None) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"pk": {"S": CONFIG_PK}, "sk": {"S": f"COUNTER#{kind}"}},
            "UpdateExpression": "SET n = if_not_exists(n, :zero) + :delta",
            "ExpressionAttributeValues": {":zero": {"N": "0"}, ":delta": {"N": str(delta)}},
        }
        if max_count is not None:
            update["ConditionExpression"] = "attribute_not_exists(n) OR n < :max"
            update["ExpressionAttributeValues"][":max"] = {"N": str(max_count)}
        return {"Update": update}

    def _ref_update(self, profile_id: str, delta: int) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": {"pk": {"S": CONFIG_PK}, "sk": {"S": _sk(PROFILE, profile_id)}},
            "UpdateExpression": "SET refCount = if_not_exists(refCount, :zero) + :delta",
            "ExpressionAttributeValues": {":zero": {"N": "0"}, ":delta": {"N": str(delta)}},
            "ConditionExpression": "attribute_exists(pk)",
        }
        return {"Update": update}

    def _transact(self, ops: list[dict[str, Any]], on_cancel: dict[int, Exception]) -> None:
        try:
            self.client.transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise
            codes = _cancel_codes(exc)
            for index, error in on_cancel.items():
                if index < len(codes) and codes[index] == "ConditionalCheckFailed":
                    raise error from None
            if any(c == "TransactionConflict" for c in codes):
                raise VersionConflict("a concurrent change touched the same items; try again") from None
            raise _Cancelled(str(codes)) from None


class _Cancelled(Exception):
    pass


def _label(kind: str) -> str:
    return "alerting profile" if kind == PROFILE else "integration"


def _in_use(profile_id: str, users: list[StoredItem]) -> ProfileInUse:
    names = ", ".join(f"{u.doc.get('displayName', '')} ({u.id})" for u in users)
    return ProfileInUse(
        f"alerting profile {profile_id} is used by {len(users)} integration(s): {names}",
        [u.id for u in users],
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB counts it: attribute names plus values (strings in UTF-8,
    numbers at most 21 bytes, binary as is). Only the types our items use."""
    size = 0
    for name, value in item.items():
        size += len(name.encode("utf-8"))
        if "S" in value:
            size += len(value["S"].encode("utf-8", "surrogatepass"))
        elif "N" in value:
            size += min(21, len(value["N"]))
        elif "B" in value:
            size += len(value["B"])
    return size


def _dumps(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)


def _stored(item: dict[str, Any]) -> StoredItem:
    return StoredItem(id=item["id"]["S"], version=int(item["version"]["N"]), doc=json.loads(item["doc"]["S"]))


def _claim(item: dict[str, Any]) -> Claim:
    return Claim(
        integration_id=item["sk"]["S"].removeprefix("INT#"),
        status=item.get("status", {}).get("S", ""),
        attempt=int(item.get("attempt", {}).get("N", "1")),
        lease_until=float(item.get("leaseUntil", {}).get("N", "0")),
        not_before=float(item.get("notBefore", {}).get("N", "0")),
    )
