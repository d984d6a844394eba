"""Per-finding state in DynamoDB, written by compare-and-swap on the snapshot's update time."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from secnotify.models.finding import FindingState
from secnotify.storage.conditional import conditional
from secnotify.storage.keys import dumps, finding_key

# Well past the services' own retention of a finding (Security Hub keeps them 90 days).
STATE_TTL_S = 400 * 86400


class DynamoFindingStates:
    def __init__(self, client: Any, table_name: str, clock: Callable[[], float]) -> None:
        self.client = client
        self.table_name = table_name
        self.clock = clock

    def get(self, finding_id: str) -> FindingState | None:
        item = self.client.get_item(
            TableName=self.table_name, Key=finding_key(finding_id), ConsistentRead=True
        ).get("Item")
        return FindingState.model_validate(json.loads(item["doc"]["S"])) if item else None

    def swap(self, finding_id: str, expected: FindingState | None, new: FindingState) -> bool:
        item = {
            **finding_key(finding_id),
            "doc": {"S": dumps(new.model_dump(mode="json"))},
            "updatedAt": {"N": repr(new.updated_at)},
            "ttl": {"N": str(int(self.clock()) + STATE_TTL_S)},
        }
        if expected is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "updatedAt = :expected",
                "ExpressionAttributeValues": {":expected": {"N": repr(expected.updated_at)}},
            }
        return conditional(lambda: self.client.put_item(TableName=self.table_name, Item=item, **condition))
