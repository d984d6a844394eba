"""Alerting profiles and integrations in DynamoDB: versioned items, counted, with references.

Creates and deletes are transactions with the kind's counter (the caps) and the profile's
``refCount`` (a profile in use cannot be deleted, even by a race with a concurrent create).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from secnotify.errors import (
    ItemTooLarge,
    LimitExceeded,
    NotFound,
    ProfileInUse,
    ProfileMissing,
    VersionConflict,
)
from secnotify.service.ports.config import ConfigKind, ConfigSnapshot, Page, StoredItem
from secnotify.storage.client import query_all
from secnotify.storage.conditional import Cancelled, conditional, transact
from secnotify.storage.keys import CONFIG_PK, config_key, config_sk_prefix, counter_key, dumps
from secnotify.storage.page_tokens import PagedTable

# Below DynamoDB's 400 KB item limit with room to spare; items written before the cap existed
# may be larger: they still load, and are refused only when written again.
MAX_CONFIG_ITEM_BYTES = 350 * 1024


class DynamoConfigRepository(PagedTable):
    def get_config_item(self, kind: ConfigKind, item_id: str) -> StoredItem:
        resp = self.client.get_item(
            TableName=self.table_name, Key=config_key(kind, item_id), ConsistentRead=True
        )
        item = resp.get("Item")
        if not item:
            raise NotFound(kind, item_id)
        return _stored(item)

    def list_config_items(self, kind: ConfigKind, limit: int, token: str | None) -> Page:
        prefix = config_sk_prefix(kind)
        query = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": CONFIG_PK}, ":prefix": {"S": prefix}},
            "Limit": limit,
        }
        items, next_token = self.tokens.query_page(query, token, prefix)
        return Page([_stored(i) for i in items], next_token)

    def load_config(self) -> ConfigSnapshot:
        """The whole configuration in one query (more pages only past 1 MB)."""
        found: dict[str, list[StoredItem]] = {ConfigKind.PROFILE: [], ConfigKind.INTEGRATION: []}
        for item in query_all(self.client, self.table_name, CONFIG_PK):
            kind = item.get("kind", {}).get("S")
            if kind in found:
                found[kind].append(_stored(item))
        return ConfigSnapshot(found[ConfigKind.PROFILE], found[ConfigKind.INTEGRATION])

    def integrations_using(self, profile_id: str) -> list[StoredItem]:
        return [i for i in self.load_config().integrations if i.doc.get("alertingProfileId") == profile_id]

    def create_profile(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem:
        put = self._put(ConfigKind.PROFILE, item_id, doc, 1, extra={"refCount": {"N": "0"}})
        put["ConditionExpression"] = "attribute_not_exists(pk)"
        transact(
            self.client,
            [self._counter_update(ConfigKind.PROFILE, +1, max_count), {"Put": put}],
            {0: LimitExceeded(ConfigKind.PROFILE, max_count)},
        )
        return StoredItem(item_id, 1, doc)

    def replace_profile(self, item_id: str, doc: dict[str, Any], expected_version: int) -> StoredItem:
        version = expected_version + 1
        applied = conditional(
            lambda: self.client.update_item(
                TableName=self.table_name,
                Key=config_key(ConfigKind.PROFILE, item_id),
                UpdateExpression="SET doc = :doc, version = :v",
                ConditionExpression="attribute_exists(pk) AND version = :expected",
                ExpressionAttributeValues={
                    ":doc": {"S": dumps(doc)},
                    ":v": {"N": str(version)},
                    ":expected": {"N": str(expected_version)},
                },
            )
        )
        if not applied:
            raise VersionConflict(ConfigKind.PROFILE, item_id, expected_version)
        return StoredItem(item_id, version, doc)

    def delete_profile(self, item_id: str) -> None:
        self.get_config_item(ConfigKind.PROFILE, item_id)
        users = self.integrations_using(item_id)
        if users:
            raise _in_use(item_id, users)
        delete = {
            "Delete": {
                "TableName": self.table_name,
                "Key": config_key(ConfigKind.PROFILE, item_id),
                # refCount guards the race with a concurrent integration create.
                "ConditionExpression": "attribute_exists(pk) AND refCount = :zero",
                "ExpressionAttributeValues": {":zero": {"N": "0"}},
            }
        }
        try:
            transact(self.client, [delete, self._counter_update(ConfigKind.PROFILE, -1, None)], {})
        except Cancelled:
            users = self.integrations_using(item_id)
            if users:
                raise _in_use(item_id, users) from None
            raise NotFound(ConfigKind.PROFILE, item_id) from None

    def create_integration(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem:
        profile_id = doc["alertingProfileId"]
        put = self._put(ConfigKind.INTEGRATION, item_id, doc, 1)
        put["ConditionExpression"] = "attribute_not_exists(pk)"
        transact(
            self.client,
            [
                self._counter_update(ConfigKind.INTEGRATION, +1, max_count),
                self._ref_update(profile_id, +1),
                {"Put": put},
            ],
            {
                0: LimitExceeded(ConfigKind.INTEGRATION, max_count),
                1: ProfileMissing(profile_id),
            },
        )
        return StoredItem(item_id, 1, doc)

    def replace_integration(
        self, item_id: str, doc: dict[str, Any], expected_version: int, old_profile_id: str
    ) -> StoredItem:
        version = expected_version + 1
        put = self._put(ConfigKind.INTEGRATION, item_id, doc, version)
        put["ConditionExpression"] = "attribute_exists(pk) AND version = :expected"
        put["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        ops: list[dict[str, Any]] = [{"Put": put}]
        new_profile_id = doc["alertingProfileId"]
        if new_profile_id != old_profile_id:
            ops += [self._ref_update(new_profile_id, +1), self._ref_update(old_profile_id, -1)]
        failures: Mapping[int, Exception] = {
            0: VersionConflict(ConfigKind.INTEGRATION, item_id, expected_version),
            1: ProfileMissing(new_profile_id),
        }
        transact(self.client, ops, failures)
        return StoredItem(item_id, version, doc)

    def delete_integration(self, item_id: str) -> None:
        current = self.get_config_item(ConfigKind.INTEGRATION, item_id)
        delete = {
            "Delete": {
                "TableName": self.table_name,
                "Key": config_key(ConfigKind.INTEGRATION, item_id),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        ops = [delete, self._counter_update(ConfigKind.INTEGRATION, -1, None)]
        profile_id = current.doc.get("alertingProfileId")
        if profile_id:
            ops.append(self._ref_update(profile_id, -1))
        transact(self.client, ops, {0: NotFound(ConfigKind.INTEGRATION, item_id)})

    def _put(
        self,
        kind: ConfigKind,
        item_id: str,
        doc: dict[str, Any],
        version: int,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            **config_key(kind, item_id),
            "kind": {"S": kind},
            "id": {"S": item_id},
            "version": {"N": str(version)},
            "doc": {"S": dumps(doc)},
            **(extra or {}),
        }
        size = item_size(item)
        if size > MAX_CONFIG_ITEM_BYTES:
            raise ItemTooLarge(size, MAX_CONFIG_ITEM_BYTES, kind)
        return {"TableName": self.table_name, "Item": item}

    def _counter_update(self, kind: ConfigKind, delta: int, max_count: int | None) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table_name,
            "Key": counter_key(kind),
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
            "Key": config_key(ConfigKind.PROFILE, profile_id),
            "UpdateExpression": "SET refCount = if_not_exists(refCount, :zero) + :delta",
            "ExpressionAttributeValues": {":zero": {"N": "0"}, ":delta": {"N": str(delta)}},
            "ConditionExpression": "attribute_exists(pk)",
        }
        return {"Update": update}


def _in_use(profile_id: str, users: list[StoredItem]) -> ProfileInUse:
    return ProfileInUse(profile_id, [(u.id, str(u.doc.get("displayName", ""))) for u in users])


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


def _stored(item: dict[str, Any]) -> StoredItem:
    return StoredItem(id=item["id"]["S"], version=int(item["version"]["N"]), doc=json.loads(item["doc"]["S"]))
