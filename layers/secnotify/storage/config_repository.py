"""Alerting profiles and integrations in DynamoDB: versioned items, counted, with references,
unique names, and an audit entry per change.

Every write is one transaction: the item, the kind's counter (the caps), the profile's
``refCount`` (a profile in use cannot be deleted, even by a race with a concurrent create), the
name lock (``NAMES`` / ``<kind>#<name_key>``, held by the object's id) and the audit entry.

Objects stored before names were locked hold no lock. The first create or rename after the
upgrade locks their names first (oldest object first; a duplicate keeps its name, unlocked). An
edit that keeps its object's name takes the lock when it is free and goes on without it when
another object holds it: a lock operation that may fail for such old data is *soft* (dropped and
the transaction sent again), never a reason to refuse the edit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from secnotify.errors import (
    ItemTooLarge,
    LimitExceeded,
    NameTaken,
    NotFound,
    ProfileInUse,
    ProfileMissing,
    TransactionConflict,
    VersionConflict,
)
from secnotify.models.audit import AuditAction
from secnotify.service.ports.audit import ChangeAuditor, ConfigChange
from secnotify.service.ports.config import (
    ConfigKind,
    ConfigSnapshot,
    Page,
    StoredItem,
    name_key,
    name_of,
)
from secnotify.storage.audit import audit_item
from secnotify.storage.client import query_all
from secnotify.storage.conditional import Cancelled, conditional, transact
from secnotify.storage.keys import (
    CONFIG_PK,
    config_key,
    config_sk_prefix,
    counter_key,
    dumps,
    name_lock_key,
    names_backfilled_key,
)
from secnotify.storage.page_tokens import PagedTable, PageTokens

# Below DynamoDB's 400 KB item limit with room to spare; items written before the cap existed
# may be larger: they still load, and are refused only when written again.
MAX_CONFIG_ITEM_BYTES = 350 * 1024


class _ProfileStillUsed(Exception):
    """The profile's delete failed its check: it is in use, or already gone."""


class _Soft:
    """Marks a transaction operation whose failed condition drops it instead of the write."""


SOFT = _Soft()


@dataclass(frozen=True)
class _NameHeld:
    """A lock operation whose failed condition means the name belongs to another object."""

    kind: str
    name: str


Failure = Exception | _Soft | _NameHeld | None


class DynamoConfigRepository(PagedTable):
    def __init__(
        self,
        client: Any,
        table_name: str,
        tokens: PageTokens | None = None,
        auditor: ChangeAuditor | None = None,
    ) -> None:
        super().__init__(client, table_name, tokens)
        self.auditor = auditor
        self._names_backfilled = False

    def with_auditor(self, auditor: ChangeAuditor) -> DynamoConfigRepository:
        """The same table, every write recorded by ``auditor``."""
        return DynamoConfigRepository(self.client, self.table_name, self.tokens, auditor)

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

    # ---- profiles ---------------------------------------------------------------------

    def create_profile(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem:
        put = self._put(ConfigKind.PROFILE, item_id, doc, 1, extra={"refCount": {"N": "0"}})
        put["ConditionExpression"] = "attribute_not_exists(pk)"
        ops: list[tuple[dict[str, Any], Failure]] = [
            (
                self._counter_update(ConfigKind.PROFILE, +1, max_count),
                LimitExceeded(ConfigKind.PROFILE, max_count),
            ),
            ({"Put": put}, None),
        ]
        self._write(ConfigKind.PROFILE, item_id, None, doc, 1, ops)
        return StoredItem(item_id, 1, doc)

    def replace_profile(self, item_id: str, doc: dict[str, Any], expected_version: int) -> StoredItem:
        current = self._current(ConfigKind.PROFILE, item_id, expected_version)
        version = expected_version + 1
        update = {
            "TableName": self.table_name,
            "Key": config_key(ConfigKind.PROFILE, item_id),
            "UpdateExpression": "SET doc = :doc, version = :v",
            "ConditionExpression": "attribute_exists(pk) AND version = :expected",
            "ExpressionAttributeValues": {
                ":doc": {"S": dumps(doc)},
                ":v": {"N": str(version)},
                ":expected": {"N": str(expected_version)},
            },
        }
        stale = VersionConflict(ConfigKind.PROFILE, item_id, expected_version)
        self._write(ConfigKind.PROFILE, item_id, current.doc, doc, version, [({"Update": update}, stale)])
        return StoredItem(item_id, version, doc)

    def delete_profile(self, item_id: str) -> None:
        current = self.get_config_item(ConfigKind.PROFILE, item_id)
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
            self._write(
                ConfigKind.PROFILE,
                item_id,
                current.doc,
                None,
                None,
                [
                    (delete, _ProfileStillUsed()),
                    (self._counter_update(ConfigKind.PROFILE, -1, None), None),
                ],
            )
        except _ProfileStillUsed:
            users = self.integrations_using(item_id)
            if users:
                raise _in_use(item_id, users) from None
            raise NotFound(ConfigKind.PROFILE, item_id) from None

    # ---- integrations -----------------------------------------------------------------

    def create_integration(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem:
        profile_id = doc["alertingProfileId"]
        put = self._put(ConfigKind.INTEGRATION, item_id, doc, 1)
        put["ConditionExpression"] = "attribute_not_exists(pk)"
        ops: list[tuple[dict[str, Any], Failure]] = [
            (
                self._counter_update(ConfigKind.INTEGRATION, +1, max_count),
                LimitExceeded(ConfigKind.INTEGRATION, max_count),
            ),
            (self._ref_update(profile_id, +1), ProfileMissing(profile_id)),
            ({"Put": put}, None),
        ]
        self._write(ConfigKind.INTEGRATION, item_id, None, doc, 1, ops)
        return StoredItem(item_id, 1, doc)

    def replace_integration(
        self, item_id: str, doc: dict[str, Any], expected_version: int, old_profile_id: str
    ) -> StoredItem:
        current = self._current(ConfigKind.INTEGRATION, item_id, expected_version)
        version = expected_version + 1
        put = self._put(ConfigKind.INTEGRATION, item_id, doc, version)
        put["ConditionExpression"] = "attribute_exists(pk) AND version = :expected"
        put["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        ops: list[tuple[dict[str, Any], Failure]] = [
            ({"Put": put}, VersionConflict(ConfigKind.INTEGRATION, item_id, expected_version))
        ]
        new_profile_id = doc["alertingProfileId"]
        if new_profile_id != old_profile_id:
            ops += [
                (self._ref_update(new_profile_id, +1), ProfileMissing(new_profile_id)),
                (self._ref_update(old_profile_id, -1), None),
            ]
        self._write(ConfigKind.INTEGRATION, item_id, current.doc, doc, version, ops)
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
        ops: list[tuple[dict[str, Any], Failure]] = [
            (delete, NotFound(ConfigKind.INTEGRATION, item_id)),
            (self._counter_update(ConfigKind.INTEGRATION, -1, None), None),
        ]
        profile_id = current.doc.get("alertingProfileId")
        if profile_id:
            ops.append((self._ref_update(profile_id, -1), None))
        self._write(ConfigKind.INTEGRATION, item_id, current.doc, None, None, ops)

    # ---- one write: the item's operations, the name lock, the audit entry ------------------

    def _current(self, kind: ConfigKind, item_id: str, expected_version: int) -> StoredItem:
        """The item an edit replaces: its old name is released, its old fields compared."""
        current = self.get_config_item(kind, item_id)
        if current.version != expected_version:
            raise VersionConflict(kind, item_id, expected_version)
        return current

    def _write(
        self,
        kind: ConfigKind,
        item_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        version: int | None,
        ops: list[tuple[dict[str, Any], Failure]],
    ) -> None:
        ops = ops + self._name_ops(kind, item_id, before, after)
        if self.auditor is not None:
            action = (
                AuditAction.CREATE
                if before is None
                else AuditAction.DELETE
                if after is None
                else AuditAction.UPDATE
            )
            entry = self.auditor.entry(ConfigChange(kind, item_id, action, before, after, version))
            ops.append(({"Put": {"TableName": self.table_name, "Item": audit_item(entry)}}, None))
        self._transact(ops)

    def _name_ops(
        self, kind: ConfigKind, item_id: str, before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> list[tuple[dict[str, Any], Failure]]:
        old = name_key(name_of(kind, before)) if before is not None else None
        new_name = name_of(kind, after) if after is not None else None
        new = name_key(new_name) if new_name is not None else None
        if new is not None and new == old:
            return [(self._lock_put(kind, new, item_id, str(new_name)), SOFT)]  # take it if free
        ops: list[tuple[dict[str, Any], Failure]] = []
        if old:
            ops.append((self._lock_release(kind, old, item_id), SOFT))  # held by us, or by nobody
        if new is not None:
            self._backfill_names()
            ops.append((self._lock_put(kind, new, item_id, str(new_name)), _NameHeld(kind, new)))
        return ops

    def _lock_put(self, kind: str, key: str, item_id: str, name: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table_name,
                "Item": {**name_lock_key(kind, key), "holder": {"S": item_id}, "name": {"S": name}},
                "ConditionExpression": "attribute_not_exists(pk) OR holder = :me",
                "ExpressionAttributeValues": {":me": {"S": item_id}},
            }
        }

    def _lock_release(self, kind: str, key: str, item_id: str) -> dict[str, Any]:
        return {
            "Delete": {
                "TableName": self.table_name,
                "Key": name_lock_key(kind, key),
                "ConditionExpression": "holder = :me",
                "ExpressionAttributeValues": {":me": {"S": item_id}},
            }
        }

    def _transact(self, ops: list[tuple[dict[str, Any], Failure]]) -> None:
        """Write ``ops`` in one transaction; a failed check raises its op's failure, in the order
        of ``ops``, except that soft ops that failed are dropped and the rest sent again."""
        for _attempt in range(3):
            try:
                transact(self.client, [op for op, _failure in ops], {})
                return
            except Cancelled as exc:
                failed = {i for i, code in enumerate(exc.codes) if code == "ConditionalCheckFailed"}
                if not failed:
                    raise
                for index in sorted(failed):
                    failure = ops[index][1]
                    if isinstance(failure, _NameHeld):
                        raise self._name_taken(failure) from None
                    if isinstance(failure, Exception):
                        raise failure from None
                    if failure is None:
                        raise
                ops = [op for i, op in enumerate(ops) if i not in failed]
        raise TransactionConflict()

    def _name_taken(self, held: _NameHeld) -> NameTaken:
        lock = self.client.get_item(
            TableName=self.table_name, Key=name_lock_key(held.kind, held.name), ConsistentRead=True
        ).get("Item", {})
        holder = lock.get("holder", {}).get("S", "")
        return NameTaken(held.kind, lock.get("name", {}).get("S", held.name), holder)

    def _put_if_absent(self, put: dict[str, Any]) -> None:
        conditional(lambda: self.client.put_item(**put))

    def _backfill_names(self) -> None:
        """Lock the names of the objects stored before names were locked, once per table: the
        oldest object of a name holds it; later duplicates keep their name without the lock."""
        if self._names_backfilled:
            return
        marker = names_backfilled_key()
        done = self.client.get_item(TableName=self.table_name, Key=marker, ConsistentRead=True).get("Item")
        if done is None:
            snapshot = self.load_config()
            for kind, items in (
                (ConfigKind.PROFILE, snapshot.profiles),
                (ConfigKind.INTEGRATION, snapshot.integrations),
            ):
                for item in sorted(items, key=lambda i: (str(i.doc.get("createdAt", "")), i.id)):
                    name = name_of(kind, item.doc)
                    if not name.strip():
                        continue
                    lock = self._lock_put(kind, name_key(name), item.id, name)["Put"]
                    lock["ConditionExpression"] = "attribute_not_exists(pk)"
                    lock.pop("ExpressionAttributeValues")
                    self._put_if_absent(lock)
            self.client.put_item(TableName=self.table_name, Item=marker)
        self._names_backfilled = True

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
            raise ItemTooLarge(size, MAX_CONFIG_ITEM_BYTES, kind, _growing_field(kind, doc))
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


def _growing_field(kind: ConfigKind, doc: dict[str, Any]) -> str | None:
    """What makes an integration big: its webhook (headers and payload) or its email."""
    if kind != ConfigKind.INTEGRATION:
        return None
    return "email" if doc.get("type") == "EMAIL" else "webhook"
