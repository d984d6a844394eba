"""What the configuration services need from storage: profiles and integrations as versioned
items, and, for the integration routes, the kept events and the delivery log they read.

The adapters live in ``secnotify.storage``; they raise the domain errors of ``secnotify.errors``
(NotFound, VersionConflict, TransactionConflict, ...), which the API answers in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol


class ConfigKind(StrEnum):
    """The kinds of configuration item; a value is also the item's stored ``kind``."""

    PROFILE = "PROFILE"
    INTEGRATION = "INTEGRATION"


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


class ConfigReader(Protocol):
    """What the dispatcher's configuration cache reads."""

    def get_config_item(self, kind: ConfigKind, item_id: str) -> StoredItem:
        """The item as stored now; ``NotFound`` when there is none."""
        ...

    def load_config(self) -> ConfigSnapshot: ...


class ConfigRepository(ConfigReader, Protocol):
    """Profiles and integrations: creates and deletes keep the caps and the profiles' reference
    counts; replaces are conditional on the version the caller read."""

    def list_config_items(self, kind: ConfigKind, limit: int, token: str | None) -> Page: ...

    def create_profile(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem: ...

    def replace_profile(self, item_id: str, doc: dict[str, Any], expected_version: int) -> StoredItem: ...

    def delete_profile(self, item_id: str) -> None: ...

    def create_integration(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem: ...

    def replace_integration(
        self, item_id: str, doc: dict[str, Any], expected_version: int, old_profile_id: str
    ) -> StoredItem: ...

    def delete_integration(self, item_id: str) -> None: ...
