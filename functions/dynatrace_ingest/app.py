"""Dynatrace ingest Lambda: on its schedule, one poll of the environment (README "Dynatrace ingest")."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from secnotify.settings import get_settings
from secnotify.sources.dynatrace.wiring import build_poller

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = build_poller(get_settings()).poll()
    metrics.add_metric(name="DynatraceRequests", unit=MetricUnit.Count, value=report.requests)
    metrics.add_metric(
        name="DynatraceEventsPut", unit=MetricUnit.Count, value=report.events_put + report.attacks_put
    )
    summary = report.summary()
    if report.complete:
        logger.info("dynatrace poll complete", extra=summary)
    else:
        # The next scheduled poll resumes from the cursor; nothing is lost by stopping here.
        logger.warning("dynatrace poll stopped early", extra=summary)
    return summary
