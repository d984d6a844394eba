"""Which parser reads an AWS security finding event: one per documented (source, detail-type).

An event of any other pair is no AWS finding event, so ``parse_findings`` gives None and the caller
reads it with the ``secnotify`` parser; that includes an event that is not a JSON object at all,
which that parser then reports as malformed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

from secnotify.models.common import EventRiskLevel
from secnotify.models.event import ManagementZone, SecurityEvent
from secnotify.models.finding import FindingSnapshot, FindingTransition
from secnotify.sources import guardduty, inspector, securityhub_asff, securityhub_ocsf
from secnotify.sources.aws import FindingBatch
from secnotify.sources.eventbridge import SOURCE_DETAIL_TYPES

FindingParser = Callable[[Mapping[str, Any]], FindingBatch]

FINDING_PARSERS: Mapping[tuple[str, str], FindingParser] = MappingProxyType(
    {
        ("aws.inspector2", inspector.DETAIL_TYPE): inspector.parse_inspector,
        ("aws.securityhub", securityhub_asff.DETAIL_TYPE): securityhub_asff.parse_securityhub_asff,
        ("aws.securityhub", securityhub_ocsf.DETAIL_TYPE): securityhub_ocsf.parse_securityhub_ocsf,
        ("aws.guardduty", guardduty.DETAIL_TYPE): guardduty.parse_guardduty,
    }
)


def parse_findings(event: object) -> FindingBatch | None:
    """The snapshots of an AWS finding event; None when ``event`` is none (see the module
    docstring); ``MalformedEvent`` when it is one that cannot be read."""
    if not isinstance(event, Mapping):
        return None
    source, detail_type = event.get("source"), event.get("detail-type")
    if not isinstance(source, str) or not isinstance(detail_type, str):
        return None  # a list or object here is unhashable, and no known pair anyway
    parser = FINDING_PARSERS.get((source, detail_type))
    return None if parser is None else parser(event)


# What receivers are told for each transition: the canonical detail-types, so profiles, templates
# and matching treat an AWS finding exactly as one of the platform's own events.
TRANSITION_DETAIL_TYPES: Mapping[FindingTransition, str] = MappingProxyType(
    {
        FindingTransition.OPENED: "Security Problem Opened",
        FindingTransition.REOPENED: "Security Problem Reopened",
        FindingTransition.RESOLVED: "Security Problem Resolved",
        FindingTransition.RISK_LEVEL_CHANGED: "Security Problem Risk Level Changed",
    }
)


def security_event(
    snapshot: FindingSnapshot, transition: FindingTransition, event_id: str, risk_level: EventRiskLevel
) -> SecurityEvent:
    """The notification of one transition of a finding. Every field comes from the snapshot and
    the transition, never from the envelope that carried it, so any copy of the change (directly
    from Inspector, or through Security Hub) makes the same event under the same id."""
    detail_type = TRANSITION_DETAIL_TYPES[transition]
    zones = tuple(
        ManagementZone(id=zone_id, name=name)
        for zone_id, name in (
            (snapshot.account_id, snapshot.account_name or snapshot.account_id),
            (snapshot.region, snapshot.region),
        )
        if zone_id
    )
    return SecurityEvent(
        event_id=event_id,
        event_time=snapshot.updated_at,
        detail_type=detail_type,
        trigger=SOURCE_DETAIL_TYPES[detail_type],
        security_problem_id=snapshot.finding_id,
        display_id=snapshot.display_id,
        status="RESOLVED" if transition is FindingTransition.RESOLVED else "OPEN",
        title=snapshot.title,
        description=snapshot.description,
        url=snapshot.console_url,
        technology=snapshot.technology,
        vulnerability_type=snapshot.finding_type,
        cve_ids=snapshot.cve_ids,
        risk_level=risk_level,
        risk_score=snapshot.risk_score,
        base_risk_score=snapshot.base_risk_score,
        exposure=snapshot.exposure,
        public_exploit=snapshot.public_exploit,
        management_zones=zones,
        affected_entities=snapshot.entities,
        tags=snapshot.tags,
        first_seen_timestamp=_millis(snapshot.created_at),
        last_updated_timestamp=_millis(snapshot.updated_at),
        source=snapshot.source.value,
        account_id=snapshot.account_id,
        region=snapshot.region,
        finding_type=snapshot.finding_type,
        fix_available=snapshot.fix_available,
        console_url=snapshot.console_url,
    )


def _millis(when: datetime | None) -> int | None:
    return None if when is None else int(when.timestamp() * 1000)
