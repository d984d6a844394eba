"""Amazon GuardDuty findings (``aws.guardduty``, ``GuardDuty Finding``) into snapshots.

One event carries one finding (the ``GetFindings`` shape). Choices where the documentation
leaves room:
- ``arn`` is the identity; an event without one is malformed. The console link uses the
  finding id at the ARN's end, as Security Hub's copy of the finding does.
- GuardDuty has no resolved state: a finding is ACTIVE until ``service.archived`` is true,
  which is MUTED (a person or a suppression rule archived it), never RESOLVED.
- The risk level comes from the numeric ``severity`` with secnotify's score bands; GuardDuty's
  own bands (Low 1.0-3.9, Medium 4.0-6.9, High 7.0-8.9, Critical 9.0-10.0) are the same.
  A severity that is not a number in 0-10 is no score, so the level is NONE.
- Repeated occurrences only raise ``service.count``; it is not part of the snapshot, so they
  are no change.
- Entities and tags come from the one ``resource``, whichever kind it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from secnotify.models.event import AffectedEntity
from secnotify.models.finding import FindingSnapshot, FindingSource, FindingStatus
from secnotify.sources import aws
from secnotify.sources import lenient as L
from secnotify.sources.eventbridge import derive_risk_level

DETAIL_TYPE = "GuardDuty Finding"

# resourceType's details key -> the fields holding the entity's id and its readable name,
# first non-empty wins. s3BucketDetails is a list; the others are one object.
_RESOURCE_DETAILS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("instanceDetails", ("instanceId",), ()),
    ("accessKeyDetails", ("accessKeyId",), ("userName", "principalId")),
    ("s3BucketDetails", ("arn", "name"), ("name",)),
    ("eksClusterDetails", ("arn", "name"), ("name",)),
    ("ecsClusterDetails", ("arn", "name"), ("name",)),
    ("lambdaDetails", ("functionArn", "functionName"), ("functionName",)),
    ("rdsDbInstanceDetails", ("dbInstanceArn", "dbInstanceIdentifier"), ("dbInstanceIdentifier",)),
    ("containerDetails", ("id", "name"), ("name",)),
)


def parse_guardduty(event: Mapping[str, Any]) -> aws.FindingBatch:
    """The one finding a GuardDuty event carries; anything unusable raises ``MalformedEvent``."""
    envelope, detail = aws.read_envelope(event, DETAIL_TYPE)
    return aws.read_one(envelope, detail, _snapshot)


def _snapshot(detail: Mapping[str, Any], env: aws.Envelope) -> FindingSnapshot:
    arn = L.finding_id(detail.get("arn"), "detail.arn")
    service = L.obj(detail.get("service"))
    severity = L.score(detail.get("severity"))
    title = L.text(detail.get("title"), L.TITLE_MAX)
    region = aws.region_of(L.text(detail.get("region")), aws.arn_part(arn, 3), env.region)
    entities, tags = _resource(L.obj(detail.get("resource")))
    return FindingSnapshot(
        source=FindingSource.GUARDDUTY,
        finding_id=arn,
        status=FindingStatus.MUTED if service.get("archived") is True else FindingStatus.ACTIVE,
        updated_at=aws.updated_at(L.date(detail.get("updatedAt")), env),
        created_at=L.date(detail.get("createdAt"), service.get("eventFirstSeen")),
        risk_level=derive_risk_level(severity),
        risk_score=severity,
        title=title,
        description=L.text(detail.get("description"), L.DESCRIPTION_MAX),
        finding_type=L.text(detail.get("type")),
        account_id=aws.account_of(L.ident(detail.get("accountId")), aws.arn_part(arn, 4), env.account),
        region=region,
        console_url=aws.console_url(FindingSource.GUARDDUTY, arn, region),
        entities=L.entities(entities),
        tags=L.tags(tags),
        sample=L.is_sample(title, L.path(service, "additionalInfo", "sample")),
    )


def _resource(resource: Mapping[str, Any]) -> tuple[list[AffectedEntity], list[tuple[object, object]]]:
    resource_type = L.text(resource.get("resourceType"))
    entities: list[AffectedEntity] = []
    tags: list[tuple[object, object]] = []
    for key, id_fields, name_fields in _RESOURCE_DETAILS:
        value = resource.get(key)
        for part in L.items(value) if isinstance(value, list) else [value]:
            details = L.obj(part)
            entity_id = L.first(*(L.text(details.get(f)) for f in id_fields))
            if not entity_id:
                continue
            part_tags = list(L.list_pairs(details.get("tags"), "key", "value"))
            name = L.first(_name_tag(part_tags), *(L.text(details.get(f)) for f in name_fields))
            entities.append(L.entity(entity_id, name, resource_type))
            tags += part_tags
    return entities, tags


def _name_tag(pairs: list[tuple[object, object]]) -> str:
    return next((L.text(v) for k, v in pairs if L.text(k) == "Name" and L.text(v)), "")
