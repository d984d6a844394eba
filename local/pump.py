"""Hands queued events to the dispatcher handler, as Lambda's pollers do in AWS.

The EventBridge rule from template.yaml targets an inbox queue on the local endpoint, so
the template's pattern decides what reaches the dispatcher. The retry queue is drained the
same way, as SQS batches with partial failures.
"""

from __future__ import annotations

import json
import threading
import traceback
from typing import Any

import boto3

from local.lambda_runtime import LocalContext

LOCAL_ACCOUNT = "123456789012"


class Pump:
    def __init__(self, endpoint_url: str, inbox_queue_url: str, retry_queue_url: str, region: str) -> None:
        self.sqs = boto3.client("sqs", endpoint_url=endpoint_url, region_name=region)
        self.inbox = inbox_queue_url
        self.retry = retry_queue_url
        self.stop = threading.Event()
        self.handled = 0

    def start(self) -> None:
        threading.Thread(target=self._loop, args=(self.inbox, self._event), name="inbox", daemon=True).start()
        threading.Thread(target=self._loop, args=(self.retry, self._batch), name="retry", daemon=True).start()

    def _loop(self, queue_url: str, handle: Any) -> None:
        while not self.stop.is_set():
            try:
                resp = self.sqs.receive_message(
                    QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"]
                )
                messages = resp.get("Messages", [])
                if messages:
                    handle(queue_url, messages)
            except Exception:
                traceback.print_exc()
                self.stop.wait(1)

    def _event(self, queue_url: str, messages: list[dict[str, Any]]) -> None:
        from functions.dispatcher.app import lambda_handler

        for message in messages:
            try:
                event = json.loads(message["Body"])
            except ValueError:
                event = message["Body"]
            if isinstance(event, dict) and "detail-type" in event:
                # moto's EventBridge leaves out `account`, which AWS always sets.
                event.setdefault("account", LOCAL_ACCOUNT)
            lambda_handler(event, LocalContext(function_name="secnotify-dispatcher"))
            self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            self.handled += 1

    def _batch(self, queue_url: str, messages: list[dict[str, Any]]) -> None:
        from functions.dispatcher.app import lambda_handler

        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:retry",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        result = lambda_handler({"Records": records}, LocalContext(function_name="secnotify-dispatcher"))
        failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        self.handled += len(messages)
