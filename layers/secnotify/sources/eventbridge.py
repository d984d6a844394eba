"""Canonical EventBridge security-problem events (README "Events") into ``SecurityEvent``.

Decisions where the platform's documentation is silent:
- The envelope must be a JSON object as EventBridge delivers it (a ``dict``); JSON text is refused.
- Numbers, booleans and timestamps are strict: ``"7.5"`` or ``"false"`` as strings are malformed,
  so a template never shows a value the platform did not mean.
- Ids (problem, zone, entity) may be strings or integers; integers are kept as their decimal text.
- An unknown ``riskLevel`` string is malformed (the reason names the field); it is not re-derived.
- ``riskScore`` and ``baseRiskScore`` must lie in 0-10. The derived level uses half-open ranges, so
  a score between the documented one-decimal steps (3.95) takes the lower level; any score above 0 is
  at least LOW.
- ``status`` absent means RESOLVED for the Resolved detail-type and OPEN otherwise; a present status
  is kept as sent even if it disagrees with the detail-type (the trigger comes from the detail-type).
- ``source`` is not checked here: the EventBridge rule in the template already filters on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC
from types import MappingProxyType
from typing import Annotated, Literal

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from pydantic_core import PydanticSerializationError

from secnotify.models.common import EventRiskLevel, TriggerEvent, field_path
from secnotify.models.event import AffectedEntity, ManagementZone, SecurityEvent, Tag

SOURCE_DETAIL_TYPES: Mapping[str, TriggerEvent] = MappingProxyType(
    {
        "Security Problem Opened": TriggerEvent.SECURITY_PROBLEM_OPENED,
        "Security Problem Reopened": TriggerEvent.SECURITY_PROBLEM_OPENED,
        "Security Problem Resolved": TriggerEvent.SECURITY_PROBLEM_RESOLVED,
        "Security Problem Management Zone Added": TriggerEvent.NEW_MANAGEMENT_ZONE_AFFECTED,
        "Security Problem Risk Level Changed": TriggerEvent.RISK_LEVEL_CHANGED,
    }
)

# At most this many validation errors are named in one reason; the rest are counted.
_MAX_REASON_ERRORS = 5


class MalformedEvent(Exception):
    """An event that cannot be turned into a ``SecurityEvent``; it goes to the dead-letter queue."""

    def __init__(self, reason: str, event_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.event_id = event_id

    def __repr__(self) -> str:
        return f"MalformedEvent(reason={self.reason!r}, event_id={self.event_id!r})"


def _id_text(value: object) -> object:
    # The platform's ids are numeric strings; some exports carry them as JSON numbers.
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


IdText = Annotated[str, BeforeValidator(_id_text)]
Score = Annotated[float, Field(strict=True, ge=0.0, le=10.0, allow_inf_nan=False)]
StrictBool = Annotated[bool, Field(strict=True)]
Timestamp = Annotated[int, Field(strict=True)]


class _Lenient(BaseModel):
    # Unknown fields are ignored: the platform adds fields over time.
    model_config = ConfigDict(extra="ignore", frozen=True)


class _RiskAssessment(_Lenient):
    riskLevel: Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE"] | None = None
    riskScore: Score | None = None
    baseRiskScore: Score | None = None
    exposure: str = ""
    publicExploit: str = ""
    dataAssets: str = ""


class _Zone(_Lenient):
    id: IdText = ""
    name: str = ""


class _Entity(_Lenient):
    id: IdText = ""
    name: str = ""
    type: str = ""


class _Tag(_Lenient):
    key: str
    value: str | None = None


class SecurityProblemDetail(_Lenient):
    """``detail`` of a canonical event: the platform's Security Problems API v2 shape."""

    securityProblemId: IdText = ""
    displayId: str = ""
    status: Literal["OPEN", "RESOLVED"] | None = None
    muted: StrictBool = False
    title: str = ""
    description: str = ""
    url: str = ""
    technology: str = ""
    vulnerabilityType: str = ""
    cveIds: list[str] = Field(default_factory=list)
    riskAssessment: _RiskAssessment = Field(default_factory=_RiskAssessment)
    managementZones: list[_Zone] = Field(default_factory=list)
    newManagementZones: list[_Zone] = Field(default_factory=list)
    affectedEntities: list[_Entity] = Field(default_factory=list)
    tags: list[_Tag] = Field(default_factory=list)
    firstSeenTimestamp: Timestamp | None = None
    lastUpdatedTimestamp: Timestamp | None = None


DetailType = Literal[
    "Security Problem Opened",
    "Security Problem Reopened",
    "Security Problem Resolved",
    "Security Problem Management Zone Added",
    "Security Problem Risk Level Changed",
]


class SecurityProblemEventBridgeModel(EventBridgeModel):
    """The EventBridge envelope with a security-problem ``detail``."""

    detail_type: DetailType = Field(..., alias="detail-type")
    detail: SecurityProblemDetail


def derive_risk_level(score: float | None) -> EventRiskLevel:
    """The level a score implies when the event carries none (README "Events")."""
    if score is None or score <= 0:
        return EventRiskLevel.NONE
    if score < 4.0:
        return EventRiskLevel.LOW
    if score < 7.0:
        return EventRiskLevel.MEDIUM
    if score < 9.0:
        return EventRiskLevel.HIGH
    return EventRiskLevel.CRITICAL


def _reason(exc: ValidationError) -> str:
    # Only pydantic's message and the location: input values may be huge or sensitive.
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [f"{field_path(err['loc']) or 'event'}: {err['msg']}" for err in errors[:_MAX_REASON_ERRORS]]
    if len(errors) > _MAX_REASON_ERRORS:
        parts.append(f"and {len(errors) - _MAX_REASON_ERRORS} more errors")
    return "; ".join(parts)


def _zones(zones: list[_Zone]) -> tuple[ManagementZone, ...]:
    return tuple(ManagementZone(id=z.id, name=z.name) for z in zones)


def _to_event(model: SecurityProblemEventBridgeModel) -> SecurityEvent:
    detail = model.detail
    risk = detail.riskAssessment
    trigger = SOURCE_DETAIL_TYPES[model.detail_type]
    status = detail.status or ("RESOLVED" if trigger is TriggerEvent.SECURITY_PROBLEM_RESOLVED else "OPEN")
    level = (
        EventRiskLevel(risk.riskLevel) if risk.riskLevel is not None else derive_risk_level(risk.riskScore)
    )
    event_time = model.time if model.time.tzinfo else model.time.replace(tzinfo=UTC)
    return SecurityEvent(
        event_id=model.id,
        event_time=event_time,
        detail_type=model.detail_type,
        trigger=trigger,
        security_problem_id=detail.securityProblemId,
        display_id=detail.displayId,
        status=status,
        muted=detail.muted,
        title=detail.title,
        description=detail.description,
        url=detail.url,
        technology=detail.technology,
        vulnerability_type=detail.vulnerabilityType,
        cve_ids=tuple(detail.cveIds),
        risk_level=level,
        risk_score=risk.riskScore,
        base_risk_score=risk.baseRiskScore,
        exposure=risk.exposure,
        public_exploit=risk.publicExploit,
        data_assets=risk.dataAssets,
        management_zones=_zones(detail.managementZones),
        new_management_zones=_zones(detail.newManagementZones),
        affected_entities=tuple(
            AffectedEntity(id=e.id, name=e.name, type=e.type) for e in detail.affectedEntities
        ),
        tags=tuple(Tag(key=t.key, value=t.value) for t in detail.tags),
        first_seen_timestamp=detail.firstSeenTimestamp,
        last_updated_timestamp=detail.lastUpdatedTimestamp,
        extra={"source": model.source, "account": model.account, "region": model.region},
    )


def parse_eventbridge(raw: object) -> SecurityEvent:
    """Normalise one EventBridge event; anything unusable raises ``MalformedEvent``, nothing else."""
    if not isinstance(raw, dict):
        raise MalformedEvent(f"event must be a JSON object, not {type(raw).__name__}")
    raw_id = raw.get("id")
    event_id = raw_id if isinstance(raw_id, str) else None
    try:
        model = parse(event=raw, model=SecurityProblemEventBridgeModel)
        event = _to_event(model)
        # A lone surrogate ("\ud800") survives JSON parsing but is not Unicode: it could be
        # neither stored nor sent, so it is refused here, as one bad event.
        event.model_dump_json()
        return event
    except PydanticSerializationError:
        raise MalformedEvent("event text is not valid Unicode (a lone surrogate)", event_id) from None
    except ValidationError as exc:
        raise MalformedEvent(_reason(exc), event_id) from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        # Defensive: whatever slips past validation is still one bad event, not a crashed batch.
        raise MalformedEvent(f"event could not be read: {type(exc).__name__}", event_id) from None
