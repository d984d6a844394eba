"""Event sources: each turns its raw events into the normalised ``SecurityEvent``."""

from secnotify.sources.eventbridge import (
    SOURCE_DETAIL_TYPES,
    MalformedEvent,
    SecurityProblemDetail,
    SecurityProblemEventBridgeModel,
    derive_risk_level,
    parse_eventbridge,
)

__all__ = [
    "SOURCE_DETAIL_TYPES",
    "MalformedEvent",
    "SecurityProblemDetail",
    "SecurityProblemEventBridgeModel",
    "derive_risk_level",
    "parse_eventbridge",
]
