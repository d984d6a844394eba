"""What the audit trail needs: an auditor that describes a configuration change (storage writes
its entry in the change's own transaction), and a reader of the entries, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from secnotify.models.audit import AuditAction, AuditEntry


@dataclass(frozen=True)
class ConfigChange:
    """One write of a profile or an integration, as stored: ``before`` is None for a create,
    ``after`` None for a delete (secret values sealed in both)."""

    kind: str
    item_id: str
    action: AuditAction
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    version: int | None


class ChangeAuditor(Protocol):
    def entry(self, change: ConfigChange) -> AuditEntry:
        """The audit entry of ``change``: who (the caller of the request being served), what, when."""
        ...


class AuditLogReader(Protocol):
    def list_entries(self, limit: int, token: str | None) -> tuple[list[AuditEntry], str | None]:
        """A page of entries, newest first, and the token of the next page."""
        ...
