"""Canonical ``Security Attack Detected`` events into ``SecurityEvent``.

``detail`` is the platform's attack object as its attacks API documents it
(``/api/v2/attacks/{id}``), plus ``url``, ``origin`` and ``dedupKey``. Decisions:
- Only ``attackId`` and ``state`` are required; every other field may be absent. A field that is
  present must have its documented type, so a template never shows a value the platform did not mean.
- An unknown ``state`` is malformed: it names no mitigation a profile could have chosen.
- An attack is not a problem: ``securityProblemId``, ``displayId`` and the risk assessment stay
  empty (risk level NONE; attacks skip the risk-level filter). ``title`` is the attack's
  ``displayName``; ``technology``, ``managementZones`` and the affected process group (and its
  instance) fill the fields of the same meaning.
- ``{EntryPoint}`` is the entry point function's display name, else its code location's.
"""

from __future__ import annotations

from datetime import UTC
from typing import Literal

from aws_lambda_powertools.utilities.parser.models import EventBridgeModel
from pydantic import Field

from secnotify.models.common import EventRiskLevel, TriggerEvent
from secnotify.models.event import AffectedEntity, ManagementZone, SecurityEvent
from secnotify.sources.fields import DedupKey, IdText, Lenient, Timestamp, Zone

ATTACK_DETAIL_TYPE = "Security Attack Detected"


class _Named(Lenient):
    id: IdText = ""
    name: str = ""


class _AffectedEntities(Lenient):
    processGroup: _Named = Field(default_factory=_Named)
    processGroupInstance: _Named = Field(default_factory=_Named)


class _Function(Lenient):
    displayName: str = ""


class _EntryPoint(Lenient):
    entrypointFunction: _Function = Field(default_factory=_Function)
    codeLocation: _Function = Field(default_factory=_Function)


class _Vulnerability(Lenient):
    vulnerabilityId: IdText = ""
    displayName: str = ""


class _RelatedProblem(Lenient):
    securityProblemId: IdText = ""


class AttackDetail(Lenient):
    """``detail`` of a ``Security Attack Detected`` event: the platform's attack object."""

    attackId: IdText = Field(min_length=1)
    state: Literal["EXPLOITED", "BLOCKED", "ALLOWLISTED"]
    displayId: str = ""
    displayName: str = ""
    attackType: str = ""
    technology: str = ""
    timestamp: Timestamp | None = None
    url: str = ""
    entrypoint: _EntryPoint = Field(default_factory=_EntryPoint)
    vulnerability: _Vulnerability = Field(default_factory=_Vulnerability)
    securityProblem: _RelatedProblem = Field(default_factory=_RelatedProblem)
    affectedEntities: _AffectedEntities = Field(default_factory=_AffectedEntities)
    managementZones: list[Zone] = Field(default_factory=list)
    origin: str = ""
    dedupKey: DedupKey | None = None


class AttackEventBridgeModel(EventBridgeModel):
    """The EventBridge envelope with an attack ``detail``."""

    detail_type: Literal["Security Attack Detected"] = Field(..., alias="detail-type")
    detail: AttackDetail


def _entities(detail: AttackDetail) -> tuple[AffectedEntity, ...]:
    found = detail.affectedEntities
    pairs = ((found.processGroup, "PROCESS_GROUP"), (found.processGroupInstance, "PROCESS_GROUP_INSTANCE"))
    return tuple(AffectedEntity(id=e.id, name=e.name, type=kind) for e, kind in pairs if e.id or e.name)


def attack_event(model: AttackEventBridgeModel, event_id: str, extra: dict[str, str]) -> SecurityEvent:
    """The ``SecurityEvent`` of one attack, under ``event_id`` (the envelope's or its dedupKey's)."""
    detail = model.detail
    entry = detail.entrypoint
    return SecurityEvent(
        event_id=event_id,
        event_time=model.time if model.time.tzinfo else model.time.replace(tzinfo=UTC),
        detail_type=model.detail_type,
        trigger=TriggerEvent.ATTACK_DETECTED,
        status="",
        title=detail.displayName,
        technology=detail.technology,
        risk_level=EventRiskLevel.NONE,
        management_zones=tuple(ManagementZone(id=z.id, name=z.name) for z in detail.managementZones),
        affected_entities=_entities(detail),
        first_seen_timestamp=detail.timestamp,
        last_updated_timestamp=detail.timestamp,
        attack_id=detail.attackId,
        attack_display_id=detail.displayId,
        attack_type=detail.attackType,
        attack_state=detail.state,
        attack_url=detail.url,
        entry_point=entry.entrypointFunction.displayName or entry.codeLocation.displayName,
        vulnerability_name=detail.vulnerability.displayName,
        process_group_id=detail.affectedEntities.processGroup.id,
        extra=extra,
    )
