"""Hands queued events to the dispatcher handler, as Lambda's pollers do in AWS.

The EventBridge rule from template.yaml targets an inbox queue on the local endpoint, so
the template's pattern decides what reaches the dispatcher. The retry queue is drained the
same way, as SQS batches with partial failures.

Each inbox message is one invocation, as each event is in AWS: one that cannot be decoded goes
to the handler as the text it is (which dead-letters it as malformed), and one whose invocation
fails is left on the queue to come back shortly; the inbox's redrive policy moves it to the
dead-letter queue after as many attempts as Lambda makes. No message ever holds up another.
"""

from __future__ import annotations

import json
import threading
import traceback
from typing import Any

import boto3

from local.lambda_runtime import LocalContext, sqs_event

LOCAL_ACCOUNT = "123456789012"
RETRY_AFTER_S = 1


def _decode(body: str) -> Any:
    """The event an inbox message carries, or its text when it is not JSON (too deeply nested
    to decode, or not JSON at all): the dispatcher refuses that as malformed, with the reason."""
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return body
    if isinstance(event, dict) and "detail-type" in event:
        # moto's EventBridge leaves out `account`, which AWS always sets.
        event.setdefault("account", LOCAL_ACCOUNT)
    return event


class Pump:
    def __init__(self, endpoint_url: str, inbox_queue_url: str, retry_queue_url: str, region: str) -> None:
        self.sqs = boto3.client("sqs", endpoint_url=endpoint_url, region_name=region)
        self.inbox = inbox_queue_url
        self.retry = retry_queue_url
        self.stop = threading.Event()
        self.handled = 0
        self.threads = [
            threading.Thread(target=self._loop, args=(self.inbox, self._event), name="inbox", daemon=True),
            threading.Thread(target=self._loop, args=(self.retry, self._batch), name="retry", daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> None:
        """Wait for the messages in hand to be handled; the loops stop once ``stop`` is set."""
        for thread in self.threads:
            thread.join(timeout)

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
                lambda_handler(_decode(message["Body"]), LocalContext(function_name="secnotify-dispatcher"))
            except Exception:
                traceback.print_exc()
                self._again_soon(queue_url, message)
                continue
            self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            self.handled += 1

    def _again_soon(self, queue_url: str, message: dict[str, Any]) -> None:
        # Lambda retries a failed asynchronous invocation within minutes; a second will do here.
        try:
            self.sqs.change_message_visibility(
                QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=RETRY_AFTER_S
            )
        except Exception:
            traceback.print_exc()  # it still comes back, when its visibility timeout ends

    def _batch(self, queue_url: str, messages: list[dict[str, Any]]) -> None:
        from functions.dispatcher.app import lambda_handler

        result = lambda_handler(sqs_event(messages), LocalContext(function_name="secnotify-dispatcher"))
        failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        self.handled += len(messages)
