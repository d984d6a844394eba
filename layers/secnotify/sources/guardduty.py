"""Amazon GuardDuty findings (``aws.guardduty``, ``GuardDuty Finding``) into snapshots.

One event carries one finding (the ``GetFindings`` shape). Choices where the documentation
leaves room:
- ``arn`` is the identity; an event without one is malformed.
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
from urllib.parse import quote

from pydantic import ValidationError

from secnotify.models.event import AffectedEntity, Tag
from secnotify.models.finding import FindingSnapshot, FindingSource, FindingStatus, display_id
from secnotify.sources import lenient as L
from secnotify.sources.eventbridge import MalformedEvent, derive_risk_level

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


def parse_guardduty(event: Mapping[str, Any]) -> list[FindingSnapshot]:
    """The one finding a GuardDuty event carries; anything unusable raises ``MalformedEvent``."""
    event_id = L.event_id_of(event)
    detail = L.require_detail(event, DETAIL_TYPE, event_id)
    arn = L.finding_id(detail.get("arn"), "detail.arn", event_id)
    try:
        return [_snapshot(event, detail, arn, event_id)]
    except (ValidationError, ValueError, TypeError) as exc:
        # Defensive: the accessors return clean values, so this is not expected to happen.
        raise MalformedEvent(
            f"finding could not be read: unexpected {type(exc).__name__}", event_id
        ) from None


def _snapshot(
    event: Mapping[str, Any], detail: Mapping[str, Any], arn: str, event_id: str | None
) -> FindingSnapshot:
    service = L.obj(detail.get("service"))
    severity = L.score(detail.get("severity"))
    title = L.text(detail.get("title"), L.TITLE_MAX)
    region = L.region_of(L.text(detail.get("region")), L.arn_part(arn, 3), L.text(event.get("region")))
    resource = L.obj(detail.get("resource"))
    entities, tags = _resource(resource)
    updated = L.date(detail.get("updatedAt")) or L.envelope_time(event, event_id)
    return FindingSnapshot(
        source=FindingSource.GUARDDUTY,
        finding_id=arn,
        display_id=display_id(FindingSource.GUARDDUTY, arn),
        status=FindingStatus.MUTED if service.get("archived") is True else FindingStatus.ACTIVE,
        updated_at=updated,
        created_at=L.date(detail.get("createdAt")) or L.date(service.get("eventFirstSeen")),
        risk_level=derive_risk_level(severity),
        risk_score=severity,
        title=title,
        description=L.text(detail.get("description"), L.DESCRIPTION_MAX),
        finding_type=L.text(detail.get("type")),
        account_id=L.account_of(
            L.ident(detail.get("accountId")), L.arn_part(arn, 4), L.ident(event.get("account"))
        ),
        region=region,
        console_url=_console_url(L.first(L.text(detail.get("id")), _arn_finding_id(arn)), region),
        entities=L.unique_entities(entities),
        tags=L.unique_tags(tags),
        sample=L.is_sample(title, L.obj(service.get("additionalInfo")).get("sample")),
    )


def _arn_finding_id(arn: str) -> str:
    _, _, tail = arn.rpartition("/finding/")
    return tail


def _console_url(finding: str, region: str) -> str:
    if not finding or not L.is_region(region):
        return ""
    return (
        f"https://{region}.console.aws.amazon.com/guardduty/home?region={region}"
        f"#/findings?macros=current&fId={quote(finding, safe='')}"
    )


def _resource(resource: Mapping[str, Any]) -> tuple[list[AffectedEntity], list[Tag]]:
    resource_type = L.text(resource.get("resourceType"))
    entities: list[AffectedEntity] = []
    tags: list[Tag] = []
    for key, id_fields, name_fields in _RESOURCE_DETAILS:
        value = resource.get(key)
        for part in L.items(value) if isinstance(value, list) else [value]:
            details = L.obj(part)
            entity_id = L.first(*(L.text(details.get(f)) for f in id_fields))
            if not entity_id:
                continue
            part_tags = L.tag_pairs(L.items(details.get("tags")))
            name = L.first(_name_tag(part_tags), *(L.text(details.get(f)) for f in name_fields))
            entities.append(AffectedEntity(id=entity_id, name=name or entity_id, type=resource_type))
            tags += part_tags
    return entities, tags


def _name_tag(tags: list[Tag]) -> str:
    return next((t.value for t in tags if t.key == "Name" and t.value), "")
