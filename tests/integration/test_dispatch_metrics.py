"""What the dispatcher's handler emits as metrics for retry-queue messages, through the real
handler on a moto server, as in AWS (embedded metric format on stdout)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import ApiClient, load_event
from tests.integration.servers import Receiver, Reply
from tests.integration.test_dispatch import _emitted_metrics, dispatch_retries, drain, setup


def _through_the_queue(stack: Any, body: dict[str, Any]) -> list[dict[str, Any]]:
    """``body`` sent to the retry queue and received back, as the Lambda poller gets it."""
    boto3.client("sqs").send_message(QueueUrl=stack.retry_queue_url, MessageBody=json.dumps(body))
    return drain(stack.retry_queue_url)


@pytest.fixture
def emitted(monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]) -> Any:
    from secnotify.service import wiring

    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)  # metrics as in AWS
    wiring.reset()
    # The handler's Metrics is process-wide: what earlier tests added with metrics disabled
    # (never flushed) would be counted here.
    from functions.dispatcher.app import metrics

    metrics.clear_metrics()

    def read() -> dict[str, float]:
        return _emitted_metrics(capfd.readouterr().out)

    return read


def test_a_resumed_fan_out_counts_its_deliveries_and_failures(
    api: ApiClient, stack: Any, emitted: Any
) -> None:
    from secnotify.models.delivery import NotificationState, Outcome
    from secnotify.service.wiring import dispatcher
    from secnotify.sources import parse_eventbridge

    event = load_event("eventbridge/opened.json")
    with Receiver() as done, Receiver() as ok, Receiver(default=Reply(status=400)) as refused:
        iid_done = setup(api, done.url("/"))
        setup(api, ok.url("/"))
        setup(api, refused.url("/"))
        ledger = dispatcher().ledger
        # A worker took the event, delivered one notification, and crashed; its lease is over.
        parsed = parse_eventbridge(event)
        assert ledger.begin_event(event["id"], parsed.model_dump_json(), lease_s=-1, ttl_s=60).acquired
        ledger.record_outcomes(event["id"], [Outcome(iid_done, NotificationState.DELIVERED, 1)], ttl_s=60)
        emitted()
        resume = {"kind": "resume", "eventId": event["id"], "notBefore": 0}
        assert dispatch_retries(_through_the_queue(stack, resume))["batchItemFailures"] == []
        metrics = emitted()
        ok.wait_for(1)
        refused.wait_for(1)
    assert metrics.get("NotificationsDelivered") == 1, metrics
    assert metrics.get("NotificationsFailed") == 1, metrics
    assert done.requests == []


def test_a_malformed_retry_message_is_not_a_malformed_event(api: ApiClient, stack: Any, emitted: Any) -> None:
    emitted()
    bad = {"kind": "attempt", "eventId": "no-integration-no-attempt"}
    assert dispatch_retries(_through_the_queue(stack, bad))["batchItemFailures"] == []
    metrics = emitted()
    assert metrics.get("MalformedRetryMessages") == 1, metrics
    assert "MalformedEvents" not in metrics, metrics


def test_every_event_counts_as_received_readable_or_not(api: ApiClient, stack: Any, emitted: Any) -> None:
    # The NoEventsAlarm watches SecurityEventsReceived: a quiet week and a dead rule must differ.
    from tests.integration.test_dispatch import dispatch

    emitted()
    dispatch(load_event("eventbridge/resolved.json"))
    dispatch({"id": "not-a-security-event", "detail-type": "Security Problem Opened", "detail": []})
    metrics = emitted()
    assert metrics.get("SecurityEventsReceived") == 2, metrics
    assert metrics.get("MalformedEvents") == 1, metrics


def test_finding_snapshots_count_as_transitions_or_unchanged(
    api: ApiClient, stack: Any, emitted: Any
) -> None:
    from tests.integration.test_dispatch import dispatch
    from tests.unit.aws_samples import INSPECTOR_REACHABILITY, inspector_event

    emitted()
    first = inspector_event(INSPECTOR_REACHABILITY)
    again = inspector_event(INSPECTOR_REACHABILITY)
    again["id"] = "a-later-copy"
    again["detail"]["updatedAt"] = "Thu Sep 05 14:06:56.334 UTC 2024"
    dispatch(first)
    dispatch(again)
    metrics = emitted()
    assert (metrics.get("FindingTransitions"), metrics.get("FindingSnapshotsUnchanged")) == (1, 1), metrics
