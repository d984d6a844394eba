"""Dispatcher Lambda: security events from EventBridge, and later attempts from the retry queue."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from secnotify.service.dispatch import DispatchResult
from secnotify.service.wiring import dispatcher

logger = Logger()
tracer = Tracer()
metrics = Metrics()

_METRICS = {
    "delivered": "NotificationsDelivered",
    "retrying": "NotificationsRetrying",
    "failed": "NotificationsFailed",
    "cancelled": "NotificationsCancelled",
    "malformed": "MalformedEvents",
    "matched": "NotificationsMatched",
    "handed_off": "NotificationsHandedOff",
    "deferred": "NotificationsDeferred",
}


def _count(result: DispatchResult) -> None:
    for key, name in _METRICS.items():
        if result.counts.get(key):
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=result.counts[key])


def _retry_record(record: Any, lambda_context: LambdaContext) -> None:
    remaining_s = lambda_context.get_remaining_time_in_millis() / 1000
    status = dispatcher().handle_retry(record.body, remaining_s)
    metrics.add_metric(name=_METRICS.get(status, "RetryMessages"), unit=MetricUnit.Count, value=1)
    logger.info("retry processed", extra={"status": status, "message_id": record.message_id})


@logger.inject_lambda_context(log_event=False)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
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
    result = dispatcher().handle_event(event, remaining_s=context.get_remaining_time_in_millis() / 1000)
    _count(result)
    if result.malformed_reason:
        logger.warning(
            "malformed event dead-lettered",
            extra={"event_id": result.event_id, "reason": result.malformed_reason},
        )
    else:
        logger.info("event dispatched", extra={"event_id": result.event_id, "counts": dict(result.counts)})
    return {"eventId": result.event_id, "counts": dict(result.counts)}
