"""The configuration partition in memory: what ConfigCache reads (no secrets to open)."""

from __future__ import annotations

import threading
from typing import Any

from secnotify.errors import NotFound
from secnotify.service.ports.config import ConfigKind, ConfigSnapshot, StoredItem

_STAMP = "2027-01-01T00:00:00.000Z"


class InMemoryConfig:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[tuple[str, str], StoredItem] = {}

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

    def delete_integration(self, integration_id: str) -> None:
        with self._lock:
            del self._items[(ConfigKind.INTEGRATION, integration_id)]

    def _put(self, kind: str, item_id: str, doc: dict[str, Any], version: int = 1) -> None:
        with self._lock:
            self._items[(kind, item_id)] = StoredItem(item_id, version, doc)

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
