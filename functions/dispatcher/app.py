"""Dispatcher Lambda: security events from EventBridge, and later attempts from the retry queue."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from secnotify.service.dispatch_result import Count, DispatchResult
from secnotify.service.dispatcher_wiring import dispatcher
from secnotify.settings import tracing_enabled

logger = Logger()
# Built only when tracing is on: the Tracer imports the X-Ray SDK (wrapt, asyncio) even disabled.
tracer = Tracer() if tracing_enabled() else None
metrics = Metrics()

# Counts without a metric (muted, already handled) are in the logs only.
_METRICS = {
    Count.MATCHED: "NotificationsMatched",
    Count.DELIVERED: "NotificationsDelivered",
    Count.RETRYING: "NotificationsRetrying",
    Count.FAILED: "NotificationsFailed",
    Count.CANCELLED: "NotificationsCancelled",
    Count.HANDED_OFF: "NotificationsHandedOff",
    Count.DEFERRED: "NotificationsDeferred",
    Count.MALFORMED_EVENT: "MalformedEvents",
    Count.MALFORMED_RETRY: "MalformedRetryMessages",
    Count.RESUMED: "RetryMessages",
    Count.DROPPED: "RetryMessages",
    Count.SKIPPED: "RetryMessages",
    Count.SUPERSEDED: "RetryMessages",
    Count.RECEIVED: "SecurityEventsReceived",  # the NoEventsAlarm watches this one
    Count.TRANSITIONS: "FindingTransitions",
    Count.UNCHANGED: "FindingSnapshotsUnchanged",
    Count.UNREADABLE_FINDINGS: "UnreadableFindings",
}


def _count(result: DispatchResult) -> None:
    """The one metrics path, for events and retry messages alike."""
    for key, value in result.counts.items():
        name = _METRICS.get(key)
        if name and value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def _traced(handler: Callable[..., Any]) -> Callable[..., Any]:
    return tracer.capture_lambda_handler(handler) if tracer is not None else handler


def _retry_record(record: Any, lambda_context: LambdaContext) -> None:
    remaining_s = lambda_context.get_remaining_time_in_millis() / 1000
    result = dispatcher().handle_retry(record.body, remaining_s)
    _count(result)
    logger.info(
        "retry processed",
        extra={"event_id": result.event_id, "counts": dict(result.counts), "message_id": record.message_id},
    )


@logger.inject_lambda_context(log_event=False)
@_traced
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    graph = dispatcher()  # first: a misconfigured function fails here, naming the variable
    if isinstance(event, dict) and "Records" in event:
        # Only retry batches need the batch utility (and the asyncio it imports): keep it off
        # the cold start of the common EventBridge path.
        from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

        return process_partial_response(
            event=event,
            record_handler=_retry_record,
            processor=BatchProcessor(event_type=EventType.SQS),
            context=context,
        )
    result = graph.handle_event(event, remaining_s=context.get_remaining_time_in_millis() / 1000)
    _count(result)
    if result.malformed_reason:
        logger.warning(
            "malformed event dead-lettered",
            extra={
                "event_id": result.event_id,
                "reason": result.malformed_reason,
                "counts": dict(result.counts),
            },
        )
    else:
        logger.info("event dispatched", extra={"event_id": result.event_id, "counts": dict(result.counts)})
    return {"eventId": result.event_id, "counts": dict(result.counts)}
