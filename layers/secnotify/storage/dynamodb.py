"""The stack's one DynamoDB table, opened as its adapters: configuration, ledger, delivery log,
finding state, audit trail, receiver references."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from secnotify.storage.audit import DynamoAuditLog
from secnotify.storage.client import dynamodb_client
from secnotify.storage.config_repository import DynamoConfigRepository
from secnotify.storage.delivery_log import DynamoDeliveryLog
from secnotify.storage.finding_state import DynamoFindingStates
from secnotify.storage.ledger import DynamoLedger
from secnotify.storage.page_tokens import PageTokens
from secnotify.storage.receivers import DynamoReceiverReferences


@dataclass(frozen=True)
class Storage:
    client: Any
    config: DynamoConfigRepository
    ledger: DynamoLedger
    deliveries: DynamoDeliveryLog
    findings: DynamoFindingStates
    audit: DynamoAuditLog
    references: DynamoReceiverReferences


def open_storage(
    table_name: str, client: Any | None = None, clock: Callable[[], float] = time.time
) -> Storage:
    """The adapters over one table, sharing one client (thread-safe, pooled) and one token key.
    ``clock`` (wall time) is the one the ledger's leases and the stored items' TTLs run by."""
    client = client or dynamodb_client()
    tokens = PageTokens(client, table_name)
    return Storage(
        client=client,
        config=DynamoConfigRepository(client, table_name, tokens),
        ledger=DynamoLedger(client, table_name, clock),
        deliveries=DynamoDeliveryLog(client, table_name, tokens, clock),
        findings=DynamoFindingStates(client, table_name, clock),
        audit=DynamoAuditLog(client, table_name, tokens),
        references=DynamoReceiverReferences(client, table_name, clock),
    )
