"""The configuration partition in memory: what ConfigCache reads (no secrets to open), and the
whole ``ConfigRepository`` (caps, references, unique names, audit entries), held to the same
contract as DynamoDB's (tests/contract/test_config_contract.py).

``add_profile``, ``add_integration`` and ``update_integration`` write items directly, as items
stored before names were locked: no lock, no counter, no audit entry.
"""

from __future__ import annotations

import threading
from typing import Any

from secnotify.errors import (
    InvalidToken,
    LimitExceeded,
    NameTaken,
    NotFound,
    ProfileInUse,
    ProfileMissing,
    VersionConflict,
)
from secnotify.models.audit import AuditAction, AuditEntry
from secnotify.service.ports.audit import ChangeAuditor, ConfigChange
from secnotify.service.ports.config import (
    ConfigKind,
    ConfigSnapshot,
    Page,
    StoredItem,
    name_key,
    name_of,
)

_STAMP = "2027-01-01T00:00:00.000Z"


class InMemoryConfig:
    """``checks=False`` skips the name locks' conditions: the contract must catch it out."""

    def __init__(self, checks: bool = True, auditor: ChangeAuditor | None = None) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], StoredItem] = {}
        self._names: dict[tuple[str, str], tuple[str, str]] = {}  # (kind, key) -> (holder, name)
        self._counts: dict[str, int] = {}
        self._backfilled = False
        self.checks = checks
        self.auditor = auditor
        self.audit_log: list[AuditEntry] = []

    # ---- direct writes, as before names were locked -------------------------------------

    def add_profile(self, profile_id: str, **doc: Any) -> None:
        base = {"name": profile_id, "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED"], "createdAt": _STAMP}
        self._put(ConfigKind.PROFILE, profile_id, {**base, "updatedAt": _STAMP, **doc})

    def add_integration(self, integration_id: str, profile_id: str, url: str, **doc: Any) -> None:
        base = {
            "displayName": integration_id,
            "alertingProfileId": profile_id,
            "webhook": {
                "url": url,
                "headers": [{"name": "Content-Type", "value": "application/json"}],
                "payload": '{"title": "{Title}", "id": "{SecurityProblemId}"}',
            },
            "createdAt": _STAMP,
            "updatedAt": _STAMP,
        }
        self._put(ConfigKind.INTEGRATION, integration_id, {**base, **doc})

    def update_integration(self, integration_id: str, **changes: Any) -> None:
        current = self.get_config_item(ConfigKind.INTEGRATION, integration_id)
        self._put(ConfigKind.INTEGRATION, integration_id, {**current.doc, **changes}, current.version + 1)

    def _put(self, kind: str, item_id: str, doc: dict[str, Any], version: int = 1) -> None:
        with self._lock:
            self._items[(kind, item_id)] = StoredItem(item_id, version, doc)

    # ---- reads ------------------------------------------------------------------------------

    def load_config(self) -> ConfigSnapshot:
        with self._lock:
            items = dict(self._items)
        return ConfigSnapshot(
            profiles=[v for (k, _), v in items.items() if k == ConfigKind.PROFILE],
            integrations=[v for (k, _), v in items.items() if k == ConfigKind.INTEGRATION],
        )

    def get_config_item(self, kind: str, item_id: str) -> StoredItem:
        with self._lock:
            found = self._items.get((kind, item_id))
        if found is None:
            raise NotFound(kind, item_id)
        return found

    def list_config_items(self, kind: ConfigKind, limit: int, token: str | None) -> Page:
        with self._lock:
            ids = sorted(item_id for k, item_id in self._items if k == kind)
            start = 0
            if token is not None:
                if not token.startswith("after:") or token[6:] not in ids:
                    raise InvalidToken()
                start = ids.index(token[6:]) + 1
            page = [self._items[(kind, i)] for i in ids[start : start + limit]]
        more = start + limit < len(ids)
        return Page(page, f"after:{page[-1].id}" if more and page else None)

    # ---- the repository's writes --------------------------------------------------------------

    def create_profile(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem:
        with self._lock:
            self._check_count(ConfigKind.PROFILE, max_count)
            self._write(ConfigKind.PROFILE, item_id, None, doc, 1)
        return StoredItem(item_id, 1, doc)

    def replace_profile(self, item_id: str, doc: dict[str, Any], expected_version: int) -> StoredItem:
        with self._lock:
            current = self._current(ConfigKind.PROFILE, item_id, expected_version)
            self._write(ConfigKind.PROFILE, item_id, current.doc, doc, expected_version + 1)
        return StoredItem(item_id, expected_version + 1, doc)

    def delete_profile(self, item_id: str) -> None:
        with self._lock:
            current = self._current(ConfigKind.PROFILE, item_id, None)
            users = [
                (i.id, str(i.doc.get("displayName", "")))
                for (k, _), i in self._items.items()
                if k == ConfigKind.INTEGRATION and i.doc.get("alertingProfileId") == item_id
            ]
            if users:
                raise ProfileInUse(item_id, users)
            self._write(ConfigKind.PROFILE, item_id, current.doc, None, None)

    def create_integration(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem:
        with self._lock:
            self._check_count(ConfigKind.INTEGRATION, max_count)
            self._check_profile(doc["alertingProfileId"])
            self._write(ConfigKind.INTEGRATION, item_id, None, doc, 1)
        return StoredItem(item_id, 1, doc)

    def replace_integration(
        self, item_id: str, doc: dict[str, Any], expected_version: int, old_profile_id: str
    ) -> StoredItem:
        with self._lock:
            current = self._current(ConfigKind.INTEGRATION, item_id, expected_version)
            if doc["alertingProfileId"] != old_profile_id:
                self._check_profile(doc["alertingProfileId"])
            self._write(ConfigKind.INTEGRATION, item_id, current.doc, doc, expected_version + 1)
        return StoredItem(item_id, expected_version + 1, doc)

    def delete_integration(self, integration_id: str) -> None:
        with self._lock:
            current = self._current(ConfigKind.INTEGRATION, integration_id, None)
            self._write(ConfigKind.INTEGRATION, integration_id, current.doc, None, None)

    def audit_entries(self) -> list[AuditEntry]:
        """Newest first, as the API lists them."""
        with self._lock:
            return list(reversed(self.audit_log))

    # ---- helpers (called with the lock held) ---------------------------------------------------

    def _current(self, kind: str, item_id: str, expected_version: int | None) -> StoredItem:
        current = self._items.get((kind, item_id))
        if current is None:
            raise NotFound(kind, item_id)
        if expected_version is not None and current.version != expected_version:
            raise VersionConflict(kind, item_id, expected_version)
        return current

    def _check_count(self, kind: str, max_count: int) -> None:
        if self._counts.get(kind, 0) >= max_count:
            raise LimitExceeded(kind, max_count)

    def _check_profile(self, profile_id: str) -> None:
        if (ConfigKind.PROFILE, profile_id) not in self._items:
            raise ProfileMissing(profile_id)

    def _write(
        self,
        kind: ConfigKind,
        item_id: str,
        before: dict[str, Any] | None,
        after: dict[str, Any] | None,
        version: int | None,
    ) -> None:
        """Checks first, then every change: nothing is written when a check fails."""
        old = name_key(name_of(kind, before)) if before is not None else None
        new_name = name_of(kind, after) if after is not None else None
        new = name_key(new_name) if new_name is not None else None
        if new is not None and new != old:
            self._backfill()
            holder = self._names.get((kind, new))
            if self.checks and holder is not None and holder[0] != item_id:
                raise NameTaken(kind, holder[1], holder[0])
        entry = None
        if self.auditor is not None:
            action = (
                AuditAction.CREATE
                if before is None
                else AuditAction.DELETE
                if after is None
                else AuditAction.UPDATE
            )
            entry = self.auditor.entry(ConfigChange(kind, item_id, action, before, after, version))
        if old is not None and old != new and self._names.get((kind, old), ("",))[0] == item_id:
            del self._names[(kind, old)]
        if new is not None and new_name is not None:
            holder = self._names.get((kind, new))
            if holder is None or holder[0] == item_id or not self.checks:
                self._names[(kind, new)] = (item_id, new_name)
        if after is None:
            del self._items[(kind, item_id)]
        else:
            self._items[(kind, item_id)] = StoredItem(item_id, version or 1, after)
        self._counts[kind] = self._counts.get(kind, 0) + (1 if before is None else -1 if after is None else 0)
        if entry is not None:
            self.audit_log.append(entry)

    def _backfill(self) -> None:
        if self._backfilled:
            return
        for (kind, _), item in sorted(
            self._items.items(), key=lambda kv: (str(kv[1].doc.get("createdAt", "")), kv[1].id)
        ):
            name = name_of(kind, item.doc)
            self._names.setdefault((kind, name_key(name)), (item.id, name))
        self._backfilled = True
