"""The figures `make bench` prints, one module each. Each returns a ``Figure``: measured values, a
ratio, the target and a verdict.

Everything runs against the real code paths on a moto server and local receivers; nothing of
ours is replaced. Timings use ``time.perf_counter`` and medians; the two sides of a ratio are
measured alternately in the same run.
"""

from bench.figures.cold_import import cold_import
from bench.figures.common import (
    Figure,
    bench_request,
    create_integrations,
    event_from,
    fresh,
    invoke_dispatcher,
)
from bench.figures.config_api import config_api
from bench.figures.config_reload import config_reload
from bench.figures.delivery import delivery_overhead
from bench.figures.dynamodb import dynamodb_per_event
from bench.figures.dynatrace import dynatrace_polls
from bench.figures.fanout import fanout
from bench.figures.fanout_https import fanout_https
from bench.figures.findings import finding_snapshots
from bench.figures.rendering import jinja_rendering, rendering

__all__ = [
    "Figure",
    "bench_request",
    "cold_import",
    "config_api",
    "config_reload",
    "create_integrations",
    "delivery_overhead",
    "dynamodb_per_event",
    "dynatrace_polls",
    "event_from",
    "fanout",
    "fanout_https",
    "finding_snapshots",
    "fresh",
    "invoke_dispatcher",
    "jinja_rendering",
    "rendering",
]
