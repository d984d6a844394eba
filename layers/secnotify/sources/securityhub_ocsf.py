"""AWS Security Hub findings in OCSF (``aws.securityhub``, ``Findings Imported V2``).

``detail.findings`` holds OCSF findings (Vulnerability 2002, Compliance 2003, Detection 2004);
each readable one becomes a snapshot, an unreadable one is skipped with its reason (see
``aws``).

Decisions where the documentation leaves room:
- Status: ``status_id`` 3 (Suppressed) is muted, and so is 5 (Archived) for a GuardDuty
  finding, which has no "resolved"; 4 (Resolved), 5 (Archived), 6 (Deleted) and
  ``activity_id`` 3 (Close) are resolved; a compliance finding whose check passes
  (``compliance.status_id`` 1) is resolved too, as ``Compliance.Status`` PASSED is in ASFF.
  The ``status`` caption stands in when ``status_id`` is absent.
- Risk level: ``severity_id`` 1 (Informational) is NONE, 2-5 LOW..CRITICAL, 6 (Fatal) CRITICAL;
  0 (Unknown), 99 (Other) or absent is derived from the score. OCSF carries no GuardDuty
  numeric severity, so a GuardDuty finding here keeps its ``severity_id``.
- Score: the highest CVSS base score of ``vulnerabilities[].cve.cvss[]``.
- Times are epoch milliseconds with ``_dt`` ISO twins; the update time is
  ``finding_info.modified_time``, else the finding's ``time``, else the envelope's.
- Console link: the origin's console for Inspector and GuardDuty findings; no documented link
  exists for other Security Hub findings in this format, so none is made up.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from secnotify.models.common import EventRiskLevel
from secnotify.models.event import AffectedEntity, Tag
from secnotify.models.finding import FindingSnapshot, FindingSource, FindingStatus
from secnotify.sources import aws
from secnotify.sources import lenient as L
from secnotify.sources.eventbridge import derive_risk_level

DETAIL_TYPE = "Findings Imported V2"

_SEVERITY_IDS = {
    1: EventRiskLevel.NONE,
    2: EventRiskLevel.LOW,
    3: EventRiskLevel.MEDIUM,
    4: EventRiskLevel.HIGH,
    5: EventRiskLevel.CRITICAL,
    6: EventRiskLevel.CRITICAL,
}
_SEVERITY_CAPTIONS = {"INFORMATIONAL": 1, "LOW": 2, "MEDIUM": 3, "HIGH": 4, "CRITICAL": 5, "FATAL": 6}
_STATUS_IDS = {
    3: FindingStatus.MUTED,
    4: FindingStatus.RESOLVED,
    5: FindingStatus.RESOLVED,
    6: FindingStatus.RESOLVED,
}
_STATUS_CAPTIONS = {"NEW": 1, "IN PROGRESS": 2, "SUPPRESSED": 3, "RESOLVED": 4, "ARCHIVED": 5, "DELETED": 6}
_ARCHIVED = 5
_CLOSE_ACTIVITY = 3
_COMPLIANCE_PASS = 1


def parse_securityhub_ocsf(event: Mapping[str, Any]) -> aws.FindingBatch:
    """The snapshots of an OCSF event's readable findings; ``MalformedEvent`` if there are none."""
    envelope, detail = aws.read_envelope(event, DETAIL_TYPE)
    return aws.read_batch(envelope, detail, _finding)


def _finding(o: Mapping[str, Any], env: aws.Envelope) -> FindingSnapshot:
    info = L.obj(o.get("finding_info"))
    fid = L.finding_id(info.get("uid"), "finding_info.uid")
    source = aws.origin(fid)
    vulns = [L.obj(v) for v in L.items(o.get("vulnerabilities"))]
    title = L.text(info.get("title"), L.TITLE_MAX)
    base = _cvss(vulns)
    account = L.text(L.path(o, "cloud", "account", "uid"), 64) or env.account
    region = L.text(L.path(o, "cloud", "region"), 64) or env.region
    own_update = L.date(
        info.get("modified_time"), info.get("modified_time_dt"), o.get("time"), o.get("time_dt")
    )
    return FindingSnapshot(
        source=source,
        finding_id=fid,
        status=_status(o, source),
        updated_at=aws.updated_at(own_update, env),
        created_at=L.date(
            info.get("first_seen_time"),
            info.get("first_seen_time_dt"),
            info.get("created_time"),
            info.get("created_time_dt"),
        ),
        risk_level=_level(o, base),
        risk_score=base,
        base_risk_score=base,
        title=title,
        description=L.text(info.get("desc"), L.DESCRIPTION_MAX),
        finding_type=L.text(next(iter(L.items(info.get("types"))), "")) or L.text(o.get("class_name")),
        technology=L.text(L.path(o, "metadata", "product", "name")),
        cve_ids=L.cve_ids(_vulnerability_ids(vulns)),
        public_exploit=_exploit(vulns),
        fix_available=aws.combine_fix([_fix(v) for v in vulns]),
        account_id=account,
        account_name=L.text(L.path(o, "cloud", "account", "name")) or account,
        region=region,
        console_url=aws.console_url(source, fid, region, securityhub_link=False),
        entities=_entities(o),
        tags=_tags(o),
        sample=L.is_sample(title),
    )


def _enum(value: object, captions: Mapping[str, int]) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return captions.get(L.upper(value))


def _status(o: Mapping[str, Any], source: FindingSource) -> FindingStatus:
    status_id = _enum(o.get("status_id"), {}) or _enum(o.get("status"), _STATUS_CAPTIONS)
    status = _STATUS_IDS.get(status_id) if status_id is not None else None
    if source is FindingSource.GUARDDUTY and status_id == _ARCHIVED:
        return FindingStatus.MUTED  # GuardDuty has no "resolved": archived is muted
    if status is not None:
        return status
    if _enum(o.get("activity_id"), {}) == _CLOSE_ACTIVITY:
        return FindingStatus.RESOLVED
    if _enum(L.path(o, "compliance", "status_id"), {}) == _COMPLIANCE_PASS:
        return FindingStatus.RESOLVED
    return FindingStatus.ACTIVE


def _level(o: Mapping[str, Any], risk_score: float | None) -> EventRiskLevel:
    severity_id = _enum(o.get("severity_id"), {}) or _enum(o.get("severity"), _SEVERITY_CAPTIONS)
    level = _SEVERITY_IDS.get(severity_id) if severity_id is not None else None
    return level if level is not None else derive_risk_level(risk_score)


def _cvss(vulns: list[Mapping[str, Any]]) -> float | None:
    scores = [
        s
        for v in vulns
        for cv in L.items(L.path(v, "cve", "cvss"))
        if (s := L.score(L.obj(cv).get("base_score"), strings=True)) is not None
    ]
    return max(scores) if scores else None


def _vulnerability_ids(vulns: list[Mapping[str, Any]]) -> Iterator[object]:
    for v in vulns:
        yield L.path(v, "cve", "uid")
        yield from L.items(v.get("related_vulnerabilities"))


def _exploit(vulns: list[Mapping[str, Any]]) -> str:
    available = any(v.get("is_exploit_available") is True for v in vulns)
    return "AVAILABLE" if available else "NOT_AVAILABLE"


def _fix(vuln: Mapping[str, Any]) -> str:
    flag = vuln.get("is_fix_available", vuln.get("fix_available"))
    if isinstance(flag, bool):
        return "YES" if flag else "NO"
    return ""


def _entities(o: Mapping[str, Any]) -> tuple[AffectedEntity, ...]:
    resources = [L.obj(r) for r in L.items(o.get("resources"))]
    return L.entities(
        L.entity(L.text(r.get("uid")), L.text(r.get("name")), L.text(r.get("type"))) for r in resources
    )


def _tags(o: Mapping[str, Any]) -> tuple[Tag, ...]:
    # OCSF tags are a list of {name, value}; a key-value map is read too.
    return L.tags(p for r in L.items(o.get("resources")) for p in _tag_pairs(L.obj(r).get("tags")))


def _tag_pairs(tags: object) -> Iterator[tuple[object, object]]:
    return L.map_pairs(tags) if isinstance(tags, Mapping) else L.list_pairs(tags, "name", "value")
