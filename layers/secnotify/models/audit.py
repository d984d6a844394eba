"""The audit trail of configuration changes (README "Operations"): who changed which object,
which fields, and when. Never a value: ``changes`` holds field paths only."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class AuditAction(StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"


class AuditKind(StrEnum):
    """The kind of object changed; the values are the stored configuration kinds."""

    PROFILE = "PROFILE"
    INTEGRATION = "INTEGRATION"


class AuditEntry(BaseModel):
    id: str = Field(description="The entry's own id.")
    at: str = Field(description="When the change was written: ISO 8601 UTC, in milliseconds.")
    principal: str = Field(
        description="Who made it: the caller's IAM ARN as API Gateway's IAM auth identified it "
        '(`requestContext.identity.userArn`); `"local"` on the local stack.'
    )
    requestId: str | None = Field(default=None, description="The API request that made it.")
    action: AuditAction
    kind: AuditKind
    objectId: str = Field(description="The profile's or integration's id.")
    name: str = Field(description="Its `name` (profile) or `displayName` (integration), after the change.")
    version: int | None = Field(default=None, description="Its version after the change; none for a delete.")
    changes: list[str] = Field(
        description="The field paths that changed, e.g. `webhook.url`, "
        "`webhook.headers[Authorization].value`, `secrets[routingKey].value`, `signingSecret`. "
        "A secret's path is listed when its value "
        "changed; the value itself never is. A create lists every field set, a delete every field removed."
    )


class AuditList(BaseModel):
    items: list[AuditEntry] = Field(description="Newest first.")
    nextToken: str | None = Field(default=None, description="Opaque; pass back to get the next page.")
