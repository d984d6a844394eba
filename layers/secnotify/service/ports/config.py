"""What the configuration services need from storage: profiles and integrations as versioned
items, and, for the integration routes, the kept events and the delivery log they read.

The adapters live in ``secnotify.storage``; they raise the domain errors of ``secnotify.errors``
(NotFound, VersionConflict, TransactionConflict, ...), which the API answers in one place.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)


class ConfigKind(StrEnum):
    """The kinds of configuration item; a value is also the item's stored ``kind``."""

    PROFILE = "PROFILE"
    INTEGRATION = "INTEGRATION"


# The field that names an object, unique within its kind in a stack.
NAME_FIELDS: dict[str, str] = {ConfigKind.PROFILE: "name", ConfigKind.INTEGRATION: "displayName"}


def name_of(kind: str, doc: dict[str, Any]) -> str:
    return str(doc.get(NAME_FIELDS[kind], ""))


def name_key(name: str) -> str:
    """What makes two names the same name: Unicode compatibility forms, case and runs of
    white space do not count ("Prod  Alerts" is "prod alerts"). A name is read, typed and kept
    in files by people, and two that differ only so would be told apart by nobody."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


@dataclass(frozen=True)
class StoredItem:
    id: str
    version: int
    doc: dict[str, Any]

    def as_model(self, model: type[M]) -> M:
        """The item as ``model`` (a profile, an integration with its secrets as stored)."""
        return model.model_validate({**self.doc, "id": self.id, "version": self.version})


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
    counts; replaces are conditional on the version the caller read.

    Names (``NAME_FIELDS``, compared by ``name_key``) are unique within a kind: a create or a
    rename to a name another object holds raises ``NameTaken``. Objects stored before names were
    locked keep working: an edit that keeps the name never fails for it. Every write records an
    audit entry in the same atomic write, when the repository has an auditor."""

    def list_config_items(self, kind: ConfigKind, limit: int, token: str | None) -> Page: ...

    def create_profile(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem: ...

    def replace_profile(self, item_id: str, doc: dict[str, Any], expected_version: int) -> StoredItem: ...

    def delete_profile(self, item_id: str) -> None: ...

    def create_integration(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem: ...

    def replace_integration(
        self, item_id: str, doc: dict[str, Any], expected_version: int, old_profile_id: str
    ) -> StoredItem: ...

    def delete_integration(self, item_id: str) -> None: ...
