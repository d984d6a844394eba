"""Per-finding state in DynamoDB, written by compare-and-swap on the state's revision."""

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
        if not item:
            return None
        doc = json.loads(item["doc"]["S"])
        return FindingState.model_validate({**doc, "revision": int(item["revision"]["N"])})

    def swap(self, finding_id: str, expected: FindingState | None, new: FindingState) -> bool:
        item = {
            **finding_key(finding_id),
            "doc": {"S": _doc(new)},
            "updatedAt": {"N": repr(new.updated_at)},
            "revision": {"N": str(new.revision)},
            "ttl": {"N": self._ttl()},
        }
        if expected is None:
            condition: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            condition = {
                "ConditionExpression": "revision = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected.revision)}},
            }
        return conditional(lambda: self.client.put_item(TableName=self.table_name, Item=item, **condition))

    def record(self, finding_id: str, new: FindingState) -> bool:
        def update() -> Any:
            return self.client.update_item(
                TableName=self.table_name,
                Key=finding_key(finding_id),
                UpdateExpression="SET doc = :doc, updatedAt = :at, #ttl = :ttl ADD revision :one",
                ConditionExpression="attribute_not_exists(pk) OR updatedAt < :at",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":doc": {"S": _doc(new)},
                    ":at": {"N": repr(new.updated_at)},
                    ":ttl": {"N": self._ttl()},
                    ":one": {"N": "1"},
                },
            )

        return conditional(update)

    def _ttl(self) -> str:
        return str(int(self.clock()) + STATE_TTL_S)


def _doc(state: FindingState) -> str:
    # The revision lives in its own attribute, where the conditions can see it.
    return dumps(state.model_dump(mode="json", exclude={"revision"}))
