"""Alerting profiles (README "The REST API")."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StrictBool, field_validator

from secnotify.models.common import ALL_RISK_LEVELS, NotBlank, RiskLevel, ServerFields, TriggerEvent

Name = Annotated[str, Field(min_length=1, max_length=100), NotBlank]


def _unique(values: list, field_name: str) -> list:
    seen: list = []
    for value in values:
        if value in seen:
            raise ValueError(f"{field_name} lists {getattr(value, 'value', value)} twice")
        seen.append(value)
    return seen


class AlertingProfileInput(ServerFields):
    """What a client sends to create or replace a profile: a profile as GET returned it is one."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    enabled: StrictBool = True
    enabledRiskLevels: list[RiskLevel] = Field(
        default_factory=lambda: list(ALL_RISK_LEVELS), min_length=1, max_length=4
    )
    enabledTriggerEvents: list[TriggerEvent] = Field(
        default_factory=lambda: [TriggerEvent.SECURITY_PROBLEM_OPENED],
        min_length=1,
        max_length=len(TriggerEvent),
    )
    managementZone: Annotated[str, Field(min_length=1, max_length=500)] | None = None

    @field_validator("enabledRiskLevels")
    @classmethod
    def _risk_unique(cls, value: list[RiskLevel]) -> list[RiskLevel]:
        return _unique(value, "enabledRiskLevels")

    @field_validator("enabledTriggerEvents")
    @classmethod
    def _trigger_unique(cls, value: list[TriggerEvent]) -> list[TriggerEvent]:
        return _unique(value, "enabledTriggerEvents")


class AlertingProfile(AlertingProfileInput):
    """A stored profile, as the API returns it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    version: int
    createdAt: str
    updatedAt: str
