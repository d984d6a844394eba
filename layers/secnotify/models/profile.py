"""Alerting profiles (README "The REST API")."""

from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, StrictBool, field_validator, model_validator

from secnotify.models.common import (
    ALL_RISK_LEVELS,
    AttackMitigation,
    NotBlank,
    RiskLevel,
    ServerFields,
    TriggerEvent,
)

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
    # Empty by default, so a profile from before attacks existed receives none.
    enabledAttackMitigations: list[AttackMitigation] = Field(
        default_factory=list,
        max_length=len(AttackMitigation),
        description="The attacks the profile wants, by what the platform did about them: "
        "NONE_BLOCKING_DISABLED (exploited), BLOCKED_WITH_EXCEPTION (blocked), NONE_ALLOWLISTED "
        "(allowlisted). Attacks reach the profile only when enabledTriggerEvents lists ATTACK_DETECTED, "
        "which needs at least one of these. Attacks skip enabledRiskLevels.",
    )

    @field_validator("enabledRiskLevels")
    @classmethod
    def _risk_unique(cls, value: list[RiskLevel]) -> list[RiskLevel]:
        return _unique(value, "enabledRiskLevels")

    @field_validator("enabledTriggerEvents")
    @classmethod
    def _trigger_unique(cls, value: list[TriggerEvent]) -> list[TriggerEvent]:
        return _unique(value, "enabledTriggerEvents")

    @field_validator("enabledAttackMitigations")
    @classmethod
    def _mitigations_unique(cls, value: list[AttackMitigation]) -> list[AttackMitigation]:
        return _unique(value, "enabledAttackMitigations")

    @model_validator(mode="after")
    def _attacks_need_a_mitigation(self) -> AlertingProfileInput:
        # Without one, the trigger would be on and no attack would ever arrive.
        if TriggerEvent.ATTACK_DETECTED in self.enabledTriggerEvents and not self.enabledAttackMitigations:
            raise ValueError(
                "enabledTriggerEvents lists ATTACK_DETECTED but enabledAttackMitigations is empty; "
                "list at least one of " + ", ".join(m.value for m in AttackMitigation)
            )
        return self


class AlertingProfile(AlertingProfileInput):
    """A stored profile, as the API returns it."""

    model_config = ConfigDict(extra="ignore")

    id: str
    version: int
    createdAt: str
    updatedAt: str
