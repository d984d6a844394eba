"""The audit trail: who changed what and when, and the ``GET /audit`` listing.

Who: the principal of the request being served, set once per request by the API handler
(``acting_as``) in a context variable. The services and the configuration writes below them keep
their signatures, and every way of writing (POST, PUT, PATCH, config apply) is recorded alike.

What: the field paths that differ between the stored documents before and after. Secret values
are sealed with a fresh nonce on every save, so their sealed forms always differ: the auditor opens
both sides and lists a secret's path only when its value really changed, and never the value.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from secnotify.models.audit import AuditEntry, AuditKind
from secnotify.service.clock import SYSTEM_CLOCK, Clock
from secnotify.service.ports.audit import AuditLogReader, ConfigChange
from secnotify.service.ports.config import ConfigKind
from secnotify.service.ports.secrets import SecretSealer
from secnotify.service.secret_fields import open_integration

# Written by the server, not the caller, and changed on every save: not a change anyone made.
_SERVER_FIELDS = frozenset({"createdAt", "updatedAt"})
# An entry stays well inside an item even for an integration rewritten from top to bottom.
MAX_CHANGES = 200


@dataclass(frozen=True)
class Actor:
    principal: str
    request_id: str | None = None


_ACTOR: ContextVar[Actor | None] = ContextVar("secnotify_actor", default=None)
# Outside a request (a script calling the services directly) nobody is known.
_NOBODY = Actor("unknown")


@contextmanager
def acting_as(principal: str, request_id: str | None = None) -> Iterator[Actor]:
    """Every configuration change inside the block is recorded as made by ``principal``."""
    actor = Actor(principal, request_id)
    token = _ACTOR.set(actor)
    try:
        yield actor
    finally:
        _ACTOR.reset(token)


def current_actor() -> Actor:
    return _ACTOR.get() or _NOBODY


def changed_paths(before: Any, after: Any, path: str = "") -> list[str]:
    """The paths where ``after`` differs from ``before``, as a client writes them
    (``webhook.headers[Authorization].value``). Lists of named objects (headers, secrets) are
    compared by name, other lists of objects by position when their lengths agree, any other
    list as a whole."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in [*before, *(k for k in after if k not in before)]:
            if not path and key in _SERVER_FIELDS:
                continue
            out += changed_paths(before.get(key), after.get(key), f"{path}.{key}" if path else str(key))
        return out
    if isinstance(before, list) and isinstance(after, list):
        named_before, named_after = _by_name(before), _by_name(after)
        if named_before is not None and named_after is not None:
            keys = [*named_before, *(k for k in named_after if k not in named_before)]
            return _each(keys, named_before, named_after, path)
        if len(before) == len(after) and all(isinstance(v, dict) for v in [*before, *after]):
            return _each(range(len(before)), dict(enumerate(before)), dict(enumerate(after)), path)
    return [path]


def _each(keys: Iterable[Any], before: dict[Any, Any], after: dict[Any, Any], path: str) -> list[str]:
    return [p for key in keys for p in changed_paths(before.get(key), after.get(key), f"{path}[{key}]")]


def _by_name(items: list[Any]) -> dict[str, Any] | None:
    """``items`` keyed by name when each is an object with a distinct name."""
    if not all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in items):
        return None
    keyed = {str(i["name"]): i for i in items}
    return keyed if len(keyed) == len(items) else None


class Auditor:
    """Describes configuration changes for the audit trail (the ``ChangeAuditor`` port)."""

    def __init__(self, secrets: SecretSealer, clock: Clock = SYSTEM_CLOCK) -> None:
        self.secrets = secrets
        self.clock = clock

    def entry(self, change: ConfigChange) -> AuditEntry:
        before = self._opened(change.kind, change.item_id, change.before)
        after = self._opened(change.kind, change.item_id, change.after)
        latest = change.after if change.after is not None else change.before or {}
        name_field = "name" if change.kind == ConfigKind.PROFILE else "displayName"
        actor = current_actor()
        return AuditEntry(
            id=str(uuid.uuid4()),
            at=self.clock.iso(),
            principal=actor.principal,
            requestId=actor.request_id,
            action=change.action,
            kind=AuditKind(change.kind),
            objectId=change.item_id,
            name=str(latest.get(name_field, "")),
            version=change.version,
            changes=changed_paths(before or {}, after or {})[:MAX_CHANGES],
        )

    def _opened(self, kind: str, item_id: str, doc: dict[str, Any] | None) -> dict[str, Any] | None:
        if doc is None or kind != ConfigKind.INTEGRATION:
            return doc
        try:
            return open_integration(doc, item_id, self.secrets)
        except Exception:
            # A secret that cannot be opened (tampered, or never sealed) is compared sealed: its
            # path is then listed as changed, which it may not be; its value is still never shown.
            return doc


class AuditService:
    def __init__(self, log: AuditLogReader) -> None:
        self.log = log

    def page(self, limit: int, token: str | None) -> tuple[list[AuditEntry], str | None]:
        return self.log.list_entries(limit, token)
