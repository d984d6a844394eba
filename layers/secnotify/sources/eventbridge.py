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
- ``Security Attack Detected`` events are read by ``secnotify.sources.attacks``.
- ``dedupKey`` (problems and attacks): when present, the event's id is derived from it (a UUID, as
  for AWS findings' transitions), so every copy of one change is one event to the delivery ledger
  and its ``webhook-id``, whatever envelope id EventBridge gave each copy. A key present but not
  1-512 printable ASCII characters makes the event malformed rather than silently not deduplicated.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC
from types import MappingProxyType
from typing import Literal

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import Field, ValidationError
from pydantic_core import PydanticSerializationError

from secnotify.models.common import EventRiskLevel, TriggerEvent, field_path
from secnotify.models.event import AffectedEntity, ManagementZone, SecurityEvent, Tag
from secnotify.sources.attacks import ATTACK_DETAIL_TYPE, AttackEventBridgeModel, attack_event
from secnotify.sources.fields import DedupKey, IdText, Score, StrictBool, Timestamp
from secnotify.sources.fields import Lenient as _Lenient
from secnotify.sources.fields import Zone as _Zone

SOURCE_DETAIL_TYPES: Mapping[str, TriggerEvent] = MappingProxyType(
    {
        "Security Problem Opened": TriggerEvent.SECURITY_PROBLEM_OPENED,
        "Security Problem Reopened": TriggerEvent.SECURITY_PROBLEM_OPENED,
        "Security Problem Resolved": TriggerEvent.SECURITY_PROBLEM_RESOLVED,
        "Security Problem Management Zone Added": TriggerEvent.NEW_MANAGEMENT_ZONE_AFFECTED,
        "Security Problem Risk Level Changed": TriggerEvent.RISK_LEVEL_CHANGED,
    }
)

# Ids derived from a dedupKey live apart from every other derived id.
_DEDUP_NAMESPACE = uuid.UUID("6f3b7f0e-2d4a-5c1b-9e8d-7a6b5c4d3e2f")

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


class _RiskAssessment(_Lenient):
    riskLevel: Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE"] | None = None
    riskScore: Score | None = None
    baseRiskScore: Score | None = None
    exposure: str = ""
    publicExploit: str = ""
    dataAssets: str = ""


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
    origin: str = ""
    dedupKey: DedupKey | None = None


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


def dedup_event_id(dedup_key: str) -> str:
    """The event id of every copy of the change ``dedup_key`` names."""
    return str(uuid.uuid5(_DEDUP_NAMESPACE, dedup_key))


def _identity(model: EventBridgeModel, dedup_key: str | None, origin: str) -> tuple[str, dict[str, str]]:
    """The event id, and what the event keeps of its envelope."""
    extra = {"source": model.source, "account": model.account, "region": model.region}
    if origin:
        extra["origin"] = origin
    if dedup_key is None:
        return model.id, extra
    extra |= {"dedupKey": dedup_key, "envelopeId": model.id}
    return dedup_event_id(dedup_key), extra


def _to_event(model: SecurityProblemEventBridgeModel) -> SecurityEvent:
    detail = model.detail
    risk = detail.riskAssessment
    trigger = SOURCE_DETAIL_TYPES[model.detail_type]
    status = detail.status or ("RESOLVED" if trigger is TriggerEvent.SECURITY_PROBLEM_RESOLVED else "OPEN")
    level = (
        EventRiskLevel(risk.riskLevel) if risk.riskLevel is not None else derive_risk_level(risk.riskScore)
    )
    event_time = model.time if model.time.tzinfo else model.time.replace(tzinfo=UTC)
    event_id, extra = _identity(model, detail.dedupKey, detail.origin)
    return SecurityEvent(
        event_id=event_id,
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
        extra=extra,
    )


def parse_eventbridge(raw: object) -> SecurityEvent:
    """Normalise one EventBridge event; anything unusable raises ``MalformedEvent``, nothing else."""
    if not isinstance(raw, dict):
        raise MalformedEvent(f"event must be a JSON object, not {type(raw).__name__}")
    raw_id = raw.get("id")
    event_id = raw_id if isinstance(raw_id, str) else None
    try:
        if raw.get("detail-type") == ATTACK_DETAIL_TYPE:
            attack = parse(event=raw, model=AttackEventBridgeModel)
            # ``event_id`` stays the envelope's: a failure below is reported under it.
            derived_id, extra = _identity(attack, attack.detail.dedupKey, attack.detail.origin)
            event = attack_event(attack, derived_id, extra)
        else:
            event = _to_event(parse(event=raw, model=SecurityProblemEventBridgeModel))
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
