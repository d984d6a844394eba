"""The delivery log: one item per attempt, per integration, newest first."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from secnotify.errors import DeliveryNotFound
from secnotify.models.delivery import DeliveryRecord
from secnotify.storage.keys import deliveries_pk, delivery_key, dumps
from secnotify.storage.page_tokens import PagedTable, PageTokens


def delivery_item(record: DeliveryRecord, ttl_s: int, now: float) -> dict[str, Any]:
    """The one layout of a delivery record item, written alone or in the ledger's batches."""
    expires = int(now) + ttl_s
    return {
        **delivery_key(record.integrationId, record.deliveryId),
        "doc": {"S": dumps(record.stored())},
        "ttl": {"N": str(expires)},
    }


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
        return DeliveryRecord.from_stored(json.loads(item["doc"]["S"]))

    def list_deliveries(
        self, integration_id: str, limit: int, token: str | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        query = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": deliveries_pk(integration_id)}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        items, next_token = self.tokens.query_page(query, token, "")
        return [DeliveryRecord.from_stored(json.loads(i["doc"]["S"])) for i in items], next_token
