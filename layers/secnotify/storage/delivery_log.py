"""The delivery log: one item per attempt, per integration, newest first; and, through the
``ByEvent`` index, every record of one event across integrations (storage/keys.py).

The index projects keys only: its write costs one unit per record whatever the record's size
(a kept request body can be tens of KB), and its listings read the records themselves with one
``BatchGetItem`` per page."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from secnotify.errors import DeliveryNotFound, InvalidToken
from secnotify.models.delivery import AttemptStatus, DeliveryRecord
from secnotify.storage.keys import (
    EVENT_INDEX,
    EVENT_LOG_SHARDS,
    deliveries_pk,
    delivery_key,
    dumps,
    event_log_keys,
    event_log_pk,
    event_log_shard,
)
from secnotify.storage.page_tokens import PagedTable, PageTokens

# A page with a status filter reads at most this many query pages before it answers with a token.
_FILTERED_READS = 8
_INDEX_KEYS = ("pk", "sk", "eventPk", "eventSk")


def delivery_item(record: DeliveryRecord, ttl_s: int, now: float) -> dict[str, Any]:
    """The one layout of a delivery record item, written alone or in the ledger's batches."""
    expires = int(now) + ttl_s
    item: dict[str, Any] = {
        **delivery_key(record.integrationId, record.deliveryId),
        **event_log_keys(record.eventId, record.integrationId, record.deliveryId),
        "doc": {"S": dumps(record.stored())},
        "ttl": {"N": str(expires)},
    }
    body = record.stored_body()
    if body is not None:
        item["body"] = {"B": body}
    return item


def read_item(item: dict[str, Any]) -> DeliveryRecord:
    body = item.get("body", {}).get("B")
    return DeliveryRecord.from_stored(json.loads(item["doc"]["S"]), bytes(body) if body is not None else None)


def _status_needle(status: AttemptStatus) -> str:
    # The stored document is compact JSON in which a quote inside a value is escaped, so this
    # text occurs only as the record's own status.
    return f'"status":"{status.value}"'


class DynamoDeliveryLog(PagedTable):
    """The ``DeliveryLog`` port on DynamoDB. ``clock`` is wall time: records expire by it."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        tokens: PageTokens | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(client, table_name, tokens)
        self.clock = clock

    def put_delivery(self, record: DeliveryRecord, ttl_s: int) -> None:
        self.client.put_item(TableName=self.table_name, Item=delivery_item(record, ttl_s, self.clock()))

    def get_delivery(self, integration_id: str, delivery_id: str) -> DeliveryRecord:
        resp = self.client.get_item(TableName=self.table_name, Key=delivery_key(integration_id, delivery_id))
        item = resp.get("Item")
        if not item:
            raise DeliveryNotFound(integration_id, delivery_id)
        return read_item(item)

    def list_deliveries(
        self,
        integration_id: str,
        limit: int,
        token: str | None,
        status: AttemptStatus | None = None,
        event_id: str | None = None,
    ) -> tuple[list[DeliveryRecord], str | None]:
        if event_id is not None:
            return self._integration_event_page(integration_id, event_id, limit, token, status)
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": deliveries_pk(integration_id)}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status is None:
            items, next_token = self.tokens.query_page(query, token, "")
            return [read_item(i) for i in items], next_token
        # A filter is applied after the limit: read on until the page is full, within a budget.
        query["FilterExpression"] = "contains(doc, :status)"
        query["ExpressionAttributeValues"][":status"] = {"S": _status_needle(status)}
        found: list[dict[str, Any]] = []
        for _ in range(_FILTERED_READS):
            query["Limit"] = limit - len(found)
            items, token = self.tokens.query_page(query, token, "")
            found += items
            if token is None or len(found) >= limit:
                break
        return [read_item(i) for i in found], token

    def list_event_deliveries(
        self, event_id: str, limit: int, token: str | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        """Every record of one event, by integration, each integration's attempts oldest first."""
        shard, start = 0, None
        if token:
            shard, start = self._open_position(token, "event", event_id, range(EVENT_LOG_SHARDS), "")
        keys: list[dict[str, Any]] = []
        while shard < EVENT_LOG_SHARDS and len(keys) < limit:
            resp = self.client.query(
                **self._index_query(event_log_pk(event_id, shard), limit - len(keys), start, forward=True)
            )
            keys += resp.get("Items", [])
            start = resp.get("LastEvaluatedKey")
            if start is None:
                shard += 1
        next_token = None
        if shard < EVENT_LOG_SHARDS:
            next_token = self.tokens.seal({"of": "event", "shard": shard, "start": _start(start)})
        return self._read_records(keys), next_token

    # ---- the index -------------------------------------------------------------------

    def _integration_event_page(
        self, integration_id: str, event_id: str, limit: int, token: str | None, status: AttemptStatus | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        """One integration's records of one event, newest first: a handful, read from the index."""
        shard = event_log_shard(integration_id)
        start = None
        if token:
            _, start = self._open_position(token, "integration", event_id, (shard,), f"{integration_id}#")
        query = self._index_query(event_log_pk(event_id, shard), limit, start, forward=False)
        query["KeyConditionExpression"] += " AND begins_with(eventSk, :iid)"
        query["ExpressionAttributeValues"][":iid"] = {"S": f"{integration_id}#"}
        resp = self.client.query(**query)
        last = resp.get("LastEvaluatedKey")
        records = self._read_records(resp.get("Items", []))
        if status is not None:
            records = [r for r in records if r.status is status]
        position = {"of": "integration", "shard": shard, "start": _start(last)}
        next_token = self.tokens.seal(position) if last else None
        return records, next_token

    def _index_query(
        self, pk: str, limit: int, start: dict[str, Any] | None, *, forward: bool
    ) -> dict[str, Any]:
        query: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": EVENT_INDEX,
            "KeyConditionExpression": "eventPk = :epk",
            "ExpressionAttributeValues": {":epk": {"S": pk}},
            "ScanIndexForward": forward,
            "Limit": limit,
        }
        if start is not None:
            query["ExclusiveStartKey"] = start
        return query

    def _open_position(
        self, token: str, listing: str, event_id: str, shards: Any, sk_prefix: str
    ) -> tuple[int, dict[str, Any] | None]:
        """The (shard, start key) a token of this listing holds; ``InvalidToken`` for any other."""
        data = self.tokens.open(token)
        shard, start = data.get("shard"), data.get("start")
        if set(data) != {"of", "shard", "start"} or data["of"] != listing:
            raise InvalidToken()
        if not isinstance(shard, int) or isinstance(shard, bool) or shard not in shards:
            raise InvalidToken()
        if start is None:
            return shard, None
        if not isinstance(start, dict) or set(start) != set(_INDEX_KEYS):
            raise InvalidToken()
        if not all(isinstance(v, str) for v in start.values()):
            raise InvalidToken()
        integration_id, _, delivery_id = start["eventSk"].rpartition("#")
        if (
            start["eventPk"] != event_log_pk(event_id, shard)
            or not start["eventSk"].startswith(sk_prefix)
            or not delivery_id
            or start["pk"] != deliveries_pk(integration_id)
            or start["sk"] != delivery_id
        ):
            raise InvalidToken()
        return shard, {name: {"S": start[name]} for name in _INDEX_KEYS}

    def _read_records(self, keys: list[dict[str, Any]]) -> list[DeliveryRecord]:
        """The records the index keys name, in their order; one expired meanwhile is left out."""
        wanted = [(k["pk"]["S"], k["sk"]["S"]) for k in keys]
        unique = list(dict.fromkeys(wanted))
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for begin in range(0, len(unique), 100):
            chunk = [{"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in unique[begin : begin + 100]]
            pending: dict[str, Any] = {self.table_name: {"Keys": chunk}}
            for attempt in range(8):
                resp = self.client.batch_get_item(RequestItems=pending)
                for item in resp.get("Responses", {}).get(self.table_name, []):
                    found[(item["pk"]["S"], item["sk"]["S"])] = item
                pending = resp.get("UnprocessedKeys") or {}
                if not pending:
                    break
                time.sleep(min(1.0, 0.05 * 2**attempt))
            else:
                raise RuntimeError("DynamoDB left delivery records unread")
        return [read_item(found[key]) for key in wanted if key in found]


def _start(key: dict[str, Any] | None) -> dict[str, str] | None:
    return None if key is None else {name: key[name]["S"] for name in _INDEX_KEYS}
