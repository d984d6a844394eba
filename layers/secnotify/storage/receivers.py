"""Receiver references in DynamoDB: one item per (problem, integration), kept 400 days."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from secnotify.service.ports.receivers import StoredReference
from secnotify.storage.conditional import conditional
from secnotify.storage.keys import number, receiver_reference_key, string

# As long as a finding's state: a problem resolved a year after it opened still finds its issue.
REFERENCE_TTL_S = 400 * 86400


class DynamoReceiverReferences:
    def __init__(self, client: Any, table_name: str, clock: Callable[[], float]) -> None:
        self.client = client
        self.table_name = table_name
        self.clock = clock

    def get(self, problem_id: str, integration_id: str) -> StoredReference | None:
        item = self.client.get_item(
            TableName=self.table_name,
            Key=receiver_reference_key(integration_id, problem_id),
            ConsistentRead=True,
        ).get("Item")
        # DynamoDB removes an expired item within days, not at once: past its time it is gone.
        if not item or number(item, "ttl") <= self.clock():
            return None
        return StoredReference(
            name=string(item, "name"), value=string(item, "value"), event_time=number(item, "eventTime")
        )

    def put(self, problem_id: str, integration_id: str, reference: StoredReference) -> bool:
        item = {
            **receiver_reference_key(integration_id, problem_id),
            "problemId": {"S": problem_id},
            "name": {"S": reference.name},
            "value": {"S": reference.value},
            "eventTime": {"N": repr(float(reference.event_time))},
            "updatedAt": {"N": repr(float(self.clock()))},
            "ttl": {"N": str(int(self.clock()) + REFERENCE_TTL_S)},
        }
        return conditional(
            lambda: self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression="attribute_not_exists(pk) OR eventTime <= :at OR #ttl <= :now",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":at": {"N": repr(float(reference.event_time))},
                    ":now": {"N": str(int(self.clock()))},
                },
            )
        )
