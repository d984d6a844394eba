"""Enumerations shared by profiles, events and matching, and the validation helpers the models
and the API share."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, ValidationInfo


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
    RISK_LEVEL_CHANGED = "RISK_LEVEL_CHANGED"  # off unless a profile enables it
    ATTACK_DETECTED = "ATTACK_DETECTED"  # an attack, not a problem: see AttackMitigation


class AttackMitigation(StrEnum):
    """What the platform did about an attack, by the names its attack alerting profiles use."""

    NONE_BLOCKING_DISABLED = "NONE_BLOCKING_DISABLED"  # exploited
    BLOCKED_WITH_EXCEPTION = "BLOCKED_WITH_EXCEPTION"  # blocked
    NONE_ALLOWLISTED = "NONE_ALLOWLISTED"  # allowlisted


# An attack's ``state`` as the attacks API reports it, and the mitigation a profile names it by.
ATTACK_STATE_MITIGATIONS: dict[str, AttackMitigation] = {
    "EXPLOITED": AttackMitigation.NONE_BLOCKING_DISABLED,
    "BLOCKED": AttackMitigation.BLOCKED_WITH_EXCEPTION,
    "ALLOWLISTED": AttackMitigation.NONE_ALLOWLISTED,
}


ALL_RISK_LEVELS: tuple[RiskLevel, ...] = tuple(RiskLevel)


def field_path(loc: Iterable[int | str]) -> str:
    """A pydantic error location as a client writes it: webhook.headers[1].name."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _not_blank(value: str, info: ValidationInfo) -> str:
    if not value.strip():
        raise ValueError(f"{info.field_name} must not be blank")
    return value


# A name of only spaces is refused, as an empty one is.
NotBlank = AfterValidator(_not_blank)


_Stamp = Annotated[str, Field(max_length=64)]


class ServerFields(BaseModel):
    """The fields the server sets, accepted on input as GET returned them so that GET, edit, PUT
    works; never stored from the input (``exclude``)."""

    id: Annotated[str, Field(max_length=64)] | None = Field(
        default=None,
        exclude=True,
        description="As GET returned it: ignored; an id other than the path's is a 400.",
    )
    version: Annotated[int, Field(ge=0)] | None = Field(
        default=None,
        exclude=True,
        description="As GET returned it: a version that is no longer current is a 412, so a read, edit and "
        "write needs no If-Match; an If-Match header, when sent, wins.",
    )
    createdAt: _Stamp | None = Field(default=None, exclude=True, description="As GET returned it: ignored.")
    updatedAt: _Stamp | None = Field(default=None, exclude=True, description="As GET returned it: ignored.")
