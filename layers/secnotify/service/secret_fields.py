"""Which fields of a stored integration are secret, sealed on the way in and opened on the way out."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from secnotify.models.integration import Integration
from secnotify.service.ports.config import StoredItem
from secnotify.service.ports.secrets import SecretSealer


def _map_secrets(doc: dict[str, Any], change: Callable[[str, str], str]) -> dict[str, Any]:
    """Apply ``change(value, field)`` to every secret; ``field`` names where the value belongs."""
    out = copy.deepcopy(doc)
    for header in (out.get("webhook") or {}).get("headers", []):
        if header.get("secret") and header.get("value") is not None:
            header["value"] = change(header["value"], f"header:{header['name'].lower()}")
    for secret in out.get("secrets") or []:
        if secret.get("value") is not None:
            secret["value"] = change(secret["value"], f"secret:{secret['name']}")
    for name in ("signingSecret", "previousSigningSecret"):
        if out.get(name):
            out[name] = change(out[name], name)
    return out


def seal_integration(doc: dict[str, Any], integration_id: str, box: SecretSealer) -> dict[str, Any]:
    # Bound to the integration and the field: a sealed value cannot be moved to another.
    return _map_secrets(doc, lambda value, field: box.seal(value, f"{integration_id}|{field}"))


def open_integration(doc: dict[str, Any], integration_id: str, box: SecretSealer) -> dict[str, Any]:
    return _map_secrets(doc, lambda value, field: box.open(value, f"{integration_id}|{field}"))


def stored_integration(item: StoredItem, secrets: SecretSealer) -> Integration:
    """A stored integration with its secrets opened."""
    return Integration.model_validate(
        {**open_integration(item.doc, item.id, secrets), "id": item.id, "version": item.version}
    )
