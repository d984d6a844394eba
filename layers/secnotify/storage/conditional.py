"""DynamoDB's ways of saying "no": a failed condition, a cancelled transaction, a throttled batch."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from botocore.exceptions import ClientError

from secnotify.errors import Throttled, TransactionConflict

# Reasons a transaction is cancelled for want of capacity: the same request may pass a moment later.
_THROTTLED = {"ThrottlingError", "ProvisionedThroughputExceeded"}


class Cancelled(Exception):
    """A transaction was cancelled for a reason the caller did not map."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(str(codes))
        self.codes = codes


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def conditional(write: Callable[[], Any]) -> bool:
    """Run one conditional write: True when it was applied, False when its condition failed."""
    try:
        write()
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return False
        raise
    return True


def get_or_create(
    client: Any, table_name: str, key: dict[str, Any], make: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """The item at ``key``; when there is none, ``make()``'s attributes are stored first. Read
    first, so a warm table costs one read; of concurrent creators the first wins and all get it."""
    item = client.get_item(TableName=table_name, Key=key, ConsistentRead=True).get("Item")
    if item is None:
        conditional(
            lambda: client.put_item(
                TableName=table_name, Item={**key, **make()}, ConditionExpression="attribute_not_exists(pk)"
            )
        )
        item = client.get_item(TableName=table_name, Key=key, ConsistentRead=True)["Item"]
    found: dict[str, Any] = item
    return found


def transact(client: Any, ops: list[dict[str, Any]], on_failed_check: Mapping[int, Exception]) -> None:
    """Write ``ops`` in one transaction. When the check of op ``i`` failed, raise
    ``on_failed_check[i]``; a clash with a concurrent transaction is ``TransactionConflict``; a
    throttled one is ``Throttled``; anything else is ``Cancelled`` with DynamoDB's reason codes."""
    try:
        client.transact_write_items(TransactItems=ops)
    except ClientError as exc:
        if error_code(exc) != "TransactionCanceledException":
            raise
        codes = _cancel_codes(exc)
        for index, error in on_failed_check.items():
            if index < len(codes) and codes[index] == "ConditionalCheckFailed":
                raise error from None
        if "TransactionConflict" in codes:
            raise TransactionConflict() from None
        if _THROTTLED.intersection(codes):
            raise Throttled() from None
        raise Cancelled(codes) from None


def _cancel_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    if reasons:
        return [r.get("Code", "None") for r in reasons]
    # Some endpoints only put the codes in the message: "... [None, ConditionalCheckFailed]".
    match = re.search(r"\[(.*)\]", str(exc.response.get("Error", {}).get("Message", "")))
    return [c.strip() for c in match.group(1).split(",")] if match else []


def batch_write(client: Any, table_name: str, requests: list[dict[str, Any]]) -> None:
    """Write ``requests`` 25 at a time, re-sending what DynamoDB left unprocessed."""
    for start in range(0, len(requests), 25):
        pending: dict[str, Any] = {table_name: requests[start : start + 25]}
        for attempt in range(8):
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(min(1.0, 0.05 * 2**attempt))
        else:
            raise RuntimeError(f"DynamoDB left {len(pending.get(table_name, []))} writes unprocessed")
