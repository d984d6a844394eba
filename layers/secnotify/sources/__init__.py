"""Event sources: each turns its raw events into the normalised ``SecurityEvent``."""

from secnotify.sources.eventbridge import (
    SOURCE_DETAIL_TYPES,
    MalformedEvent,
    SecurityProblemDetail,
    SecurityProblemEventBridgeModel,
    derive_risk_level,
    parse_eventbridge,
)
from secnotify.sources.findings import FINDING_PARSERS, parse_findings

__all__ = [
    "FINDING_PARSERS",
    "SOURCE_DETAIL_TYPES",
    "MalformedEvent",
    "SecurityProblemDetail",
    "SecurityProblemEventBridgeModel",
    "derive_risk_level",
    "parse_eventbridge",
    "parse_findings",
]
