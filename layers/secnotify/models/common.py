"""Enumerations shared by profiles, events and matching."""

from __future__ import annotations

from enum import StrEnum


class RiskLevel(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class EventRiskLevel(StrEnum):
    """A risk level as an event carries it: NONE matches no profile."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    NONE = "NONE"


class TriggerEvent(StrEnum):
    SECURITY_PROBLEM_OPENED = "SECURITY_PROBLEM_OPENED"
    SECURITY_PROBLEM_RESOLVED = "SECURITY_PROBLEM_RESOLVED"
    NEW_MANAGEMENT_ZONE_AFFECTED = "NEW_MANAGEMENT_ZONE_AFFECTED"


ALL_RISK_LEVELS: tuple[RiskLevel, ...] = tuple(RiskLevel)
