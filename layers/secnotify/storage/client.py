"""The DynamoDB client every adapter shares: one per process, thread-safe, pooled for fan-out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config


def dynamodb_client() -> Any:
    return boto3.client(
        "dynamodb",
        config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=64),
    )


def query_pages(client: Any, table_name: str, pk: str) -> Iterator[list[dict[str, Any]]]:
    """Every page of one partition, as DynamoDB returns them."""
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": pk}},
    }
    while True:
        resp = client.query(**kwargs)
        yield resp.get("Items", [])
        last = resp.get("LastEvaluatedKey")
        if not last:
            return
        kwargs["ExclusiveStartKey"] = last


def query_all(client: Any, table_name: str, pk: str) -> Iterator[dict[str, Any]]:
    """Every item of one partition, following pages."""
    for page in query_pages(client, table_name, pk):
        yield from page
