"""The audit trail in DynamoDB: one item per configuration change, written in the change's own
transaction (storage/config_repository.py), in one partition sorted by time, kept 400 days."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from secnotify.models.audit import AuditEntry
from secnotify.storage.keys import AUDIT_PK, audit_key, dumps
from secnotify.storage.page_tokens import PagedTable

AUDIT_TTL_DAYS = 400


def audit_item(entry: AuditEntry) -> dict[str, Any]:
    """The item of one entry; it expires (TTL) 400 days after the change."""
    written = datetime.fromisoformat(entry.at.replace("Z", "+00:00")).timestamp()
    return {
        **audit_key(entry.at, entry.id),
        "doc": {"S": dumps(entry.model_dump(mode="json"))},
        "ttl": {"N": str(int(written) + AUDIT_TTL_DAYS * 86400)},
    }


class DynamoAuditLog(PagedTable):
    """The ``AuditLogReader`` port on DynamoDB."""

    def list_entries(self, limit: int, token: str | None) -> tuple[list[AuditEntry], str | None]:
        query = {
            "TableName": self.table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": AUDIT_PK}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        items, next_token = self.tokens.query_page(query, token, "")
        return [AuditEntry.model_validate(json.loads(i["doc"]["S"])) for i in items], next_token
