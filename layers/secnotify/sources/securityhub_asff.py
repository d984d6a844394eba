"""AWS Security Hub CSPM findings in ASFF (``aws.securityhub``, ``Security Hub Findings - Imported``).

``detail.findings`` holds one or more ASFF findings; each readable one becomes a snapshot, and an
unreadable one is skipped with its reason (see ``securityhub_common``).

Decisions where the documentation leaves room:
- Status, strongest first: the origin's own state where ASFF carries it (Inspector's
  ``aws/inspector/FindingStatus`` CLOSED is resolved and SUPPRESSED muted; GuardDuty's
  ``aws/guardduty/service/archived`` "true" is muted, as an archived finding is natively); then
  ``RecordState`` ARCHIVED, ``Compliance.Status`` PASSED or ``Workflow.Status`` RESOLVED is
  resolved; ``Workflow.Status`` SUPPRESSED is muted; anything else is active. The legacy
  ``WorkflowState`` stands in when ``Workflow`` is absent (DEFERRED is muted).
- Risk level: ``Severity.Label`` (INFORMATIONAL is NONE), except for a GuardDuty finding, whose
  level comes from its own numeric severity (``Severity.Product``) with our bands, as the native
  parser does; an absent or unknown label is derived from the score.
- Score: Inspector's score (``aws/inspector/inspectorScore``), GuardDuty's severity, else the
  highest CVSS base score, else ``Severity.Normalized`` / 10.
- Console link: the origin's console for Inspector and GuardDuty findings, else Security Hub's
  finding search. ``SourceUrl`` is not used: it is whatever the provider put there.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from secnotify.models.common import EventRiskLevel
from secnotify.models.event import AffectedEntity, Tag
from secnotify.models.finding import FindingSnapshot, FindingSource, FindingStatus, display_id
from secnotify.sources import securityhub_common as c
from secnotify.sources.eventbridge import derive_risk_level

DETAIL_TYPE = "Security Hub Findings - Imported"

_LABELS = {
    "CRITICAL": EventRiskLevel.CRITICAL,
    "HIGH": EventRiskLevel.HIGH,
    "MEDIUM": EventRiskLevel.MEDIUM,
    "LOW": EventRiskLevel.LOW,
    "INFORMATIONAL": EventRiskLevel.NONE,
}
_INSPECTOR_STATUS = {"CLOSED": FindingStatus.RESOLVED, "SUPPRESSED": FindingStatus.MUTED}
_WORKFLOW = {
    "RESOLVED": FindingStatus.RESOLVED,
    "SUPPRESSED": FindingStatus.MUTED,
    "DEFERRED": FindingStatus.MUTED,  # legacy WorkflowState
}


def parse_securityhub_asff(event: Mapping[str, Any]) -> list[FindingSnapshot]:
    """The snapshots of an ASFF event's readable findings; ``MalformedEvent`` if there are none."""
    envelope, findings = c.read_envelope(event, DETAIL_TYPE)
    return c.read_all(envelope, findings, _finding)


def _finding(f: Mapping[str, Any], env: c.Envelope) -> FindingSnapshot:
    fid = c.finding_id(f.get("Id"), "Id")
    source = c.origin(fid)
    fields = c.obj(f.get("ProductFields"))
    vulns = [c.obj(v) for v in c.items(f.get("Vulnerabilities"))]
    title = c.text(f.get("Title"), c.TITLE_MAX)
    base = _cvss(vulns)
    risk_score = _score(f, source, fields, base)
    region = c.text(f.get("Region"), 64) or env.region
    account = c.text(f.get("AwsAccountId"), 64) or env.account
    return FindingSnapshot(
        source=source,
        finding_id=fid,
        display_id=display_id(source, fid),
        status=_status(f, source, fields),
        updated_at=c.updated_at(c.first_date(f.get("UpdatedAt")), env),
        created_at=c.first_date(f.get("FirstObservedAt"), f.get("CreatedAt")),
        risk_level=_level(f, source, risk_score),
        risk_score=risk_score,
        base_risk_score=base,
        title=title,
        description=c.text(f.get("Description"), c.DESCRIPTION_MAX),
        finding_type=c.text(next(iter(c.items(f.get("Types"))), "")) or c.text(f.get("GeneratorId")),
        technology=c.text(f.get("ProductName")) or c.text(fields.get("aws/securityhub/ProductName")),
        cve_ids=c.cve_ids(_vulnerability_ids(vulns)),
        public_exploit=_exploit(vulns),
        fix_available=c.combine_fix([c.upper(v.get("FixAvailable")) for v in vulns]),
        exposure=_exposure(f),
        account_id=account,
        account_name=c.text(f.get("AwsAccountName")) or account,
        region=region,
        console_url=c.console_url(source, fid, region, securityhub_link=True),
        entities=_entities(f),
        tags=_tags(f),
        sample=_sample(f, title, fields),
    )


def _status(f: Mapping[str, Any], source: FindingSource, fields: Mapping[str, Any]) -> FindingStatus:
    if source is FindingSource.INSPECTOR:
        native = _INSPECTOR_STATUS.get(c.upper(fields.get("aws/inspector/FindingStatus")))
        if native is not None:
            return native
    if source is FindingSource.GUARDDUTY and c.upper(fields.get("aws/guardduty/service/archived")) == "TRUE":
        return FindingStatus.MUTED
    if c.upper(f.get("RecordState")) == "ARCHIVED":
        return FindingStatus.RESOLVED
    if c.upper(c.path(f, "Compliance", "Status")) == "PASSED":
        return FindingStatus.RESOLVED
    workflow = c.upper(c.path(f, "Workflow", "Status")) or c.upper(f.get("WorkflowState"))
    return _WORKFLOW.get(workflow, FindingStatus.ACTIVE)


def _score(
    f: Mapping[str, Any], source: FindingSource, fields: Mapping[str, Any], base: float | None
) -> float | None:
    if source is FindingSource.INSPECTOR:
        own = c.score(fields.get("aws/inspector/inspectorScore"))
        if own is not None:
            return own
    if source is FindingSource.GUARDDUTY:
        own = c.score(c.path(f, "Severity", "Product"))
        if own is not None:
            return own
    if base is not None:
        return base
    return c.score(c.path(f, "Severity", "Normalized"), scale=10.0)


def _level(f: Mapping[str, Any], source: FindingSource, risk_score: float | None) -> EventRiskLevel:
    # GuardDuty's level is its numeric severity in our bands (the rule), not Security
    # Hub's label, which has mapped GuardDuty severities differently over time.
    if source is FindingSource.GUARDDUTY and risk_score is not None:
        return derive_risk_level(risk_score)
    label = _LABELS.get(c.upper(c.path(f, "Severity", "Label")))
    return label if label is not None else derive_risk_level(risk_score)


def _cvss(vulns: list[Mapping[str, Any]]) -> float | None:
    """The highest CVSS base score, from NVD where NVD scored it."""
    scored = [(c.upper(cv.get("Source")), c.score(cv.get("BaseScore"))) for v in vulns for cv in _cvss_of(v)]
    nvd = [s for src, s in scored if s is not None and src == "NVD"]
    scores = nvd or [s for _, s in scored if s is not None]
    return max(scores) if scores else None


def _cvss_of(vuln: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return [c.obj(cv) for cv in c.items(vuln.get("Cvss"))]


def _vulnerability_ids(vulns: list[Mapping[str, Any]]) -> Iterator[object]:
    for v in vulns:
        yield v.get("Id")
        yield from c.items(v.get("RelatedVulnerabilities"))


def _exploit(vulns: list[Mapping[str, Any]]) -> str:
    available = any(c.upper(v.get("ExploitAvailable")) == "YES" for v in vulns)
    return "AVAILABLE" if available else "NOT_AVAILABLE"


def _exposure(f: Mapping[str, Any]) -> str:
    # Inspector's network reachability findings carry the path; through an internet gateway
    # means reachable from the internet.
    steps = c.items(f.get("NetworkPath"))
    public = any("INTERNETGATEWAY" in c.upper(c.obj(s).get("ComponentType")) for s in steps)
    return "PUBLIC_NETWORK" if public else "NOT_AVAILABLE"


def _entities(f: Mapping[str, Any]) -> tuple[AffectedEntity, ...]:
    out = []
    for raw in c.items(f.get("Resources")):
        r = c.obj(raw)
        rid = c.text(r.get("Id"), c.ID_MAX)
        if rid:
            name = c.text(c.obj(r.get("Tags")).get("Name"))
            out.append(c.entity(rid, name, c.text(r.get("Type"))))
    return tuple(out)


def _tags(f: Mapping[str, Any]) -> tuple[Tag, ...]:
    pairs: dict[tuple[str, str | None], None] = {}
    for raw in c.items(f.get("Resources")):
        c.tag_pairs(iter(c.obj(c.obj(raw).get("Tags")).items()), pairs)
    return c.tags_of(pairs)


def _sample(f: Mapping[str, Any], title: str, fields: Mapping[str, Any]) -> bool:
    gd_sample = c.upper(fields.get("aws/guardduty/service/additionalInfo/sample")) == "TRUE"
    return f.get("Sample") is True or gd_sample or "[SAMPLE]" in title
