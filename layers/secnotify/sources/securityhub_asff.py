"""AWS Security Hub CSPM findings in ASFF (``aws.securityhub``, ``Security Hub Findings - Imported``).

``detail.findings`` holds one or more ASFF findings; each readable one becomes a snapshot, and an
unreadable one is skipped with its reason (see ``aws``).

Decisions where the documentation leaves room:
- Status, strongest first: the origin's own state where ASFF carries it (Inspector's
  ``aws/inspector/FindingStatus`` CLOSED is resolved and SUPPRESSED muted; GuardDuty's
  ``aws/guardduty/service/archived`` "true" or an archived record is muted, as natively); then
  ``RecordState`` ARCHIVED, ``Compliance.Status`` PASSED or ``Workflow.Status`` RESOLVED is
  resolved; ``Workflow.Status`` SUPPRESSED is muted; anything else is active. The legacy
  ``WorkflowState`` stands in when ``Workflow`` is absent (DEFERRED is muted).
- Risk level: ``Severity.Label`` (INFORMATIONAL is NONE), except for a GuardDuty finding, whose
  level comes from its own numeric severity (``Severity.Product``) with our bands, as the native
  parser does; an absent or unknown label is derived from the score.
- Score: Inspector's score (``aws/inspector/inspectorScore``), GuardDuty's severity, else the
  highest CVSS base score, else ``Severity.Normalized`` / 10.
- Order: ``UpdatedAt`` for an Inspector or GuardDuty finding, which is the origin's own time,
  so its direct and Security Hub copies are ordered alike. For Security Hub's own findings the
  later of ``UpdatedAt`` and ``ProcessedAt``: a person's workflow or severity change
  (``BatchUpdateFindings``) leaves ``UpdatedAt`` alone but is processed anew; without
  ``ProcessedAt`` the snapshot says its time may not move, and the lifecycle tells a change by
  its content.
- GuardDuty has no "resolved": an archived GuardDuty finding (natively, or ``RecordState``
  ARCHIVED) is muted, as the native parser has it.
- Console link: the origin's console for Inspector and GuardDuty findings, else Security Hub's
  finding search. ``SourceUrl`` is not used: it is whatever the provider put there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from secnotify.models.common import EventRiskLevel
from secnotify.models.event import AffectedEntity, Tag
from secnotify.models.finding import FindingSnapshot, FindingSource, FindingStatus
from secnotify.sources import aws
from secnotify.sources import lenient as L
from secnotify.sources.eventbridge import derive_risk_level

DETAIL_TYPE = "Security Hub Findings - Imported"

_INSPECTOR_STATUS = {"CLOSED": FindingStatus.RESOLVED, "SUPPRESSED": FindingStatus.MUTED}
_WORKFLOW = {
    "RESOLVED": FindingStatus.RESOLVED,
    "SUPPRESSED": FindingStatus.MUTED,
    "DEFERRED": FindingStatus.MUTED,  # legacy WorkflowState
}


def parse_securityhub_asff(event: Mapping[str, Any]) -> aws.FindingBatch:
    """The snapshots of an ASFF event's readable findings; ``MalformedEvent`` if there are none."""
    envelope, detail = aws.read_envelope(event, DETAIL_TYPE)
    return aws.read_batch(envelope, detail, _finding)


def _last_change(f: Mapping[str, Any], source: FindingSource) -> tuple[datetime | None, bool]:
    """The snapshot's order time, and whether it moves with every change (see the docstring)."""
    updated = L.date(f.get("UpdatedAt"))
    if source is not FindingSource.SECURITY_HUB:
        return updated, True  # ordered as its origin orders it, so both paths agree
    processed = L.date(f.get("ProcessedAt"))
    if processed is None:
        return updated, False
    return (max(updated, processed) if updated is not None else processed), True


def _finding(f: Mapping[str, Any], env: aws.Envelope) -> FindingSnapshot:
    fid = L.finding_id(f.get("Id"), "Id")
    source = aws.origin(fid)
    fields = L.obj(f.get("ProductFields"))
    vulns = [L.obj(v) for v in L.items(f.get("Vulnerabilities"))]
    title = L.text(f.get("Title"), L.TITLE_MAX)
    base = _cvss(vulns)
    risk_score = _score(f, source, fields, base)
    region = L.text(f.get("Region"), 64) or env.region
    account = L.text(f.get("AwsAccountId"), 64) or env.account
    changed, moves = _last_change(f, source)
    return FindingSnapshot(
        source=source,
        finding_id=fid,
        status=_status(f, source, fields),
        updated_at=aws.updated_at(changed, env),
        updated_at_moves=moves,
        created_at=L.date(f.get("FirstObservedAt"), f.get("CreatedAt")),
        risk_level=_level(f, source, risk_score),
        risk_score=risk_score,
        base_risk_score=base,
        title=title,
        description=L.text(f.get("Description"), L.DESCRIPTION_MAX),
        finding_type=L.text(next(iter(L.items(f.get("Types"))), "")) or L.text(f.get("GeneratorId")),
        technology=L.text(f.get("ProductName")) or L.text(fields.get("aws/securityhub/ProductName")),
        cve_ids=L.cve_ids(_vulnerability_ids(vulns)),
        public_exploit=_exploit(vulns),
        fix_available=aws.combine_fix([L.upper(v.get("FixAvailable")) for v in vulns]),
        exposure=_exposure(f),
        account_id=account,
        account_name=L.text(f.get("AwsAccountName")) or account,
        region=region,
        console_url=aws.console_url(source, fid, region, securityhub_link=True),
        entities=_entities(f),
        tags=_tags(f),
        sample=_sample(f, title, fields),
    )


def _status(f: Mapping[str, Any], source: FindingSource, fields: Mapping[str, Any]) -> FindingStatus:
    if source is FindingSource.INSPECTOR:
        native = _INSPECTOR_STATUS.get(L.upper(fields.get("aws/inspector/FindingStatus")))
        if native is not None:
            return native
    archived = L.upper(f.get("RecordState")) == "ARCHIVED"
    # GuardDuty has no "resolved": archived is muted, however the finding arrives.
    native_archive = L.upper(fields.get("aws/guardduty/service/archived")) == "TRUE"
    if source is FindingSource.GUARDDUTY and (archived or native_archive):
        return FindingStatus.MUTED
    if archived:
        return FindingStatus.RESOLVED
    if L.upper(L.path(f, "Compliance", "Status")) == "PASSED":
        return FindingStatus.RESOLVED
    workflow = L.upper(L.path(f, "Workflow", "Status")) or L.upper(f.get("WorkflowState"))
    return _WORKFLOW.get(workflow, FindingStatus.ACTIVE)


def _score(
    f: Mapping[str, Any], source: FindingSource, fields: Mapping[str, Any], base: float | None
) -> float | None:
    if source is FindingSource.INSPECTOR:
        own = L.score(fields.get("aws/inspector/inspectorScore"), strings=True)
        if own is not None:
            return own
    if source is FindingSource.GUARDDUTY:
        own = L.score(L.path(f, "Severity", "Product"), strings=True)
        if own is not None:
            return own
    if base is not None:
        return base
    return L.score(L.path(f, "Severity", "Normalized"), scale=10.0, strings=True)


def _level(f: Mapping[str, Any], source: FindingSource, risk_score: float | None) -> EventRiskLevel:
    # GuardDuty's level is its numeric severity in our bands (the rule), not Security
    # Hub's label, which has mapped GuardDuty severities differently over time.
    if source is FindingSource.GUARDDUTY and risk_score is not None:
        return derive_risk_level(risk_score)
    return aws.risk_level(L.path(f, "Severity", "Label"), risk_score)


def _cvss(vulns: list[Mapping[str, Any]]) -> float | None:
    """The highest CVSS base score, from NVD where NVD scored it."""
    scored = [
        (L.upper(cv.get("Source")), L.score(cv.get("BaseScore"), strings=True))
        for v in vulns
        for cv in _cvss_of(v)
    ]
    nvd = [s for src, s in scored if s is not None and src == "NVD"]
    scores = nvd or [s for _, s in scored if s is not None]
    return max(scores) if scores else None


def _cvss_of(vuln: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [L.obj(cv) for cv in L.items(vuln.get("Cvss"))]


def _vulnerability_ids(vulns: list[Mapping[str, Any]]) -> Iterator[object]:
    for v in vulns:
        yield v.get("Id")
        yield from L.items(v.get("RelatedVulnerabilities"))


def _exploit(vulns: list[Mapping[str, Any]]) -> str:
    available = any(L.upper(v.get("ExploitAvailable")) == "YES" for v in vulns)
    return "AVAILABLE" if available else "NOT_AVAILABLE"


def _exposure(f: Mapping[str, Any]) -> str:
    # Inspector's network reachability findings carry the path; through an internet gateway
    # means reachable from the internet.
    steps = L.items(f.get("NetworkPath"))
    public = any("INTERNETGATEWAY" in L.upper(L.obj(s).get("ComponentType")) for s in steps)
    return "PUBLIC_NETWORK" if public else "NOT_AVAILABLE"


def _entities(f: Mapping[str, Any]) -> tuple[AffectedEntity, ...]:
    resources = [L.obj(r) for r in L.items(f.get("Resources"))]
    return L.entities(
        L.entity(L.text(r.get("Id")), L.text(L.obj(r.get("Tags")).get("Name")), L.text(r.get("Type")))
        for r in resources
    )


def _tags(f: Mapping[str, Any]) -> tuple[Tag, ...]:
    return L.tags(p for r in L.items(f.get("Resources")) for p in L.map_pairs(L.obj(r).get("Tags")))


def _sample(f: Mapping[str, Any], title: str, fields: Mapping[str, Any]) -> bool:
    return L.is_sample(
        title, f.get("Sample") is True, fields.get("aws/guardduty/service/additionalInfo/sample")
    )
