"""Amazon Inspector findings (``aws.inspector2``, ``Inspector2 Finding``) into snapshots.

One event carries one finding, the whole of its current state. Choices where the
documentation leaves room:
- ``findingArn`` is the identity and ``status`` the lifecycle: an event without a readable one
  is malformed, since guessing either could open, resolve or merge the wrong problem.
- ``severity`` is Inspector's own label; UNTRIAGED, a missing or an unknown label falls back to
  the score bands secnotify already uses.
- The risk score is ``inspectorScore``, else the adjusted CVSS score, else the CVSS base score;
  the base score prefers NVD, then the newest CVSS version.
- Zones: ``awsAccountId`` (the member account, not the delegated administrator that may have
  received the event) and the region in the finding ARN, else the envelope's.
- ``exposure`` is PUBLIC_NETWORK only when a network path starts at an internet gateway.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from secnotify.models.event import AffectedEntity
from secnotify.models.finding import FindingSnapshot, FindingSource, FindingStatus
from secnotify.sources import aws
from secnotify.sources import lenient as L

DETAIL_TYPE = "Inspector2 Finding"

_STATUS = {
    "ACTIVE": FindingStatus.ACTIVE,
    "SUPPRESSED": FindingStatus.MUTED,
    "CLOSED": FindingStatus.RESOLVED,
}
_INTERNET_GATEWAY = "AWS::EC2::InternetGateway"


def parse_inspector(event: Mapping[str, Any]) -> aws.FindingBatch:
    """The one finding an Inspector event carries; anything unusable raises ``MalformedEvent``."""
    envelope, detail = aws.read_envelope(event, DETAIL_TYPE)
    return aws.read_one(envelope, detail, _snapshot)


def _snapshot(detail: Mapping[str, Any], env: aws.Envelope) -> FindingSnapshot:
    arn = L.finding_id(detail.get("findingArn"), "detail.findingArn")
    status = _STATUS.get(L.upper(detail.get("status")))
    if status is None:
        raise L.Unreadable("detail.status is not ACTIVE, SUPPRESSED or CLOSED")
    vulnerability = L.obj(detail.get("packageVulnerabilityDetails"))
    base_score = _base_score(detail, vulnerability)
    risk_score = L.score(detail.get("inspectorScore"))
    if risk_score is None:
        risk_score = _adjusted_score(detail)
    if risk_score is None:
        risk_score = base_score
    title = L.text(detail.get("title"), L.TITLE_MAX)
    region = aws.region_of(aws.arn_part(arn, 3), env.region)
    resources = [L.obj(r) for r in L.items(detail.get("resources"))]
    return FindingSnapshot(
        source=FindingSource.INSPECTOR,
        finding_id=arn,
        status=status,
        updated_at=aws.updated_at(L.date(detail.get("updatedAt")), env),
        created_at=L.date(detail.get("firstObservedAt")),
        risk_level=aws.risk_level(detail.get("severity"), risk_score),
        risk_score=risk_score,
        base_risk_score=base_score,
        title=title,
        description=L.text(detail.get("description"), L.DESCRIPTION_MAX),
        finding_type=L.text(detail.get("type")),
        technology=_technology(vulnerability),
        cve_ids=L.cve_ids(
            [vulnerability.get("vulnerabilityId"), *L.items(vulnerability.get("relatedVulnerabilities"))]
        ),
        public_exploit="AVAILABLE" if detail.get("exploitAvailable") == "YES" else "NOT_AVAILABLE",
        fix_available=aws.combine_fix([L.upper(detail.get("fixAvailable"))]),
        exposure=_exposure(detail),
        account_id=aws.account_of(L.ident(detail.get("awsAccountId")), aws.arn_part(arn, 4), env.account),
        region=region,
        console_url=aws.console_url(FindingSource.INSPECTOR, arn, region),
        entities=L.entities(_entity(r) for r in resources),
        tags=L.tags(p for r in resources for p in L.map_pairs(r.get("tags"))),
        sample=L.is_sample(title),
    )


def _adjusted_score(detail: Mapping[str, Any]) -> float | None:
    adjusted = L.obj(L.obj(detail.get("inspectorScoreDetails")).get("adjustedCvss"))
    return L.score(adjusted.get("score"))


def _base_score(detail: Mapping[str, Any], vulnerability: Mapping[str, Any]) -> float | None:
    """The CVSS base score: NVD's first, then the newest CVSS version, then Inspector's adjusted one."""
    ranked = []
    for entry in L.items(vulnerability.get("cvss")):
        cvss = L.obj(entry)
        base = L.score(cvss.get("baseScore"))
        if base is not None:
            ranked.append((L.text(cvss.get("source")) == "NVD", _version(cvss.get("version")), base))
    if ranked:
        return max(ranked)[2]
    return _adjusted_score(detail)


def _version(value: object) -> tuple[int, ...]:
    parts = L.text(value, 16).split(".")
    return tuple(int(p) for p in parts if p.isdigit() and len(p) < 6)


def _technology(vulnerability: Mapping[str, Any]) -> str:
    packages = L.items(vulnerability.get("vulnerablePackages"))
    return L.text(L.obj(packages[0]).get("packageManager")) if packages else ""


def _exposure(detail: Mapping[str, Any]) -> str:
    path = L.obj(L.obj(detail.get("networkReachabilityDetails")).get("networkPath"))
    for step in L.items(path.get("steps")):
        if L.obj(step).get("componentType") == _INTERNET_GATEWAY:
            return "PUBLIC_NETWORK"
    return "NOT_AVAILABLE"


def _entity(resource: Mapping[str, Any]) -> AffectedEntity:
    return L.entity(L.ident(resource.get("id")), _name(resource), L.text(resource.get("type")))


def _name(resource: Mapping[str, Any]) -> str:
    """A readable name: the Name tag, the function, the image as repository:tag, or the project."""
    details = L.obj(resource.get("details"))
    image = L.obj(details.get("awsEcrContainerImage"))
    repository = L.text(image.get("repositoryName"))
    image_tags = [t for t in (L.text(t) for t in L.items(image.get("imageTags"))) if t]
    return L.first(
        L.text(L.obj(resource.get("tags")).get("Name")),
        L.text(L.obj(details.get("awsLambdaFunction")).get("functionName")),
        f"{repository}:{image_tags[0]}" if repository and image_tags else repository,
        L.text(L.obj(details.get("codeRepository")).get("projectName")),
    )
