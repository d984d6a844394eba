"""SQS: the retry queue that schedules later attempts, and the dead-letter queue."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config

from secnotify.models.delivery import DeadLetterKind
from secnotify.service.ports.queues import MAX_DELAY_S
from secnotify.storage.client import aws_client


class Queues:
    def __init__(self, retry_queue_url: str, dead_letter_queue_url: str, client: Any | None = None) -> None:
        self.retry_queue_url = retry_queue_url
        self.dead_letter_queue_url = dead_letter_queue_url
        self.client = client or aws_client(
            "sqs", config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=64)
        )

    def schedule_retry(self, message: dict[str, Any], delay_s: float) -> None:
        if not self.retry_queue_url:
            raise RuntimeError("no retry queue URL given")
        self.client.send_message(
            QueueUrl=self.retry_queue_url,
            MessageBody=json.dumps(message, separators=(",", ":")),
            DelaySeconds=max(0, min(MAX_DELAY_S, round(delay_s))),
        )

    def schedule_retries(self, items: list[tuple[dict[str, Any], float]]) -> None:
        """Many retry messages, ten to a request."""
        if not self.retry_queue_url:
            raise RuntimeError("no retry queue URL given")
        for start in range(0, len(items), 10):
            entries = [
                {
                    "Id": str(index),
                    "MessageBody": json.dumps(message, separators=(",", ":")),
                    "DelaySeconds": max(0, min(MAX_DELAY_S, round(delay_s))),
                }
                for index, (message, delay_s) in enumerate(items[start : start + 10])
            ]
            resp = self.client.send_message_batch(QueueUrl=self.retry_queue_url, Entries=entries)
            for failed in resp.get("Failed", []):
                # Rare (throttling); one more try each, individually, before giving up loudly.
                entry = entries[int(failed["Id"])]
                self.client.send_message(
                    QueueUrl=self.retry_queue_url,
                    MessageBody=entry["MessageBody"],
                    DelaySeconds=entry["DelaySeconds"],
                )

    def dead_letter(self, kind: DeadLetterKind, reason: str, body: str) -> None:
        """Park something we could not process, with why, for an operator to inspect or replay."""
        if not self.dead_letter_queue_url:
            raise RuntimeError("no dead-letter queue URL given")
        self.client.send_message(
            QueueUrl=self.dead_letter_queue_url,
            MessageBody=body,
            MessageAttributes={
                "kind": {"DataType": "String", "StringValue": str(kind)},
                "reason": {"DataType": "String", "StringValue": reason[:1000] or "unknown"},
            },
        )
