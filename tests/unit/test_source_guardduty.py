"""Amazon GuardDuty source: the documented sample, archived findings, severity bands, resource
kinds, date forms, and mutated events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secnotify.models.common import EventRiskLevel
from secnotify.models.event import AffectedEntity, Tag
from secnotify.models.finding import FindingSnapshot, FindingSource, FindingStatus
from secnotify.sources import MalformedEvent
from secnotify.sources.guardduty import parse_guardduty
from tests.unit.aws_samples import FIXTURES
from tests.unit.aws_samples import GUARDDUTY_DETAIL as DETAIL
from tests.unit.aws_samples import GUARDDUTY_EVENT_ID as EVENT_ID
from tests.unit.aws_samples import guardduty_event as sample
from tests.unit.aws_samples import one_guardduty as parse_one
from tests.unit.finding_mutations import (
    assert_parses_or_malformed,
    json_values,
    mutate,
    paths,
    replacements,
)

ENVELOPE_TIME = datetime(2017, 11, 1, 21, 36, 7, tzinfo=UTC)
ARN = (
    "arn:aws:guardduty:us-east-1:012345678910:detector/aaaf7420746be13be119afd94e417684"
    "/finding/38af75470eced5f1c6e4ee9895961baa"
)


def test_fixture_is_listed_in_the_readme() -> None:
    assert f"- {DETAIL} — " in (FIXTURES / "README.md").read_text(encoding="utf-8")


def test_sample_parses_to_the_expected_snapshot() -> None:
    snapshot = parse_one(sample())
    when = datetime(2017, 11, 1, 21, 31, 5, 542000, tzinfo=UTC)
    assert snapshot.display_id == "GD-ee9895961baa"
    assert snapshot == FindingSnapshot(
        source=FindingSource.GUARDDUTY,
        finding_id=ARN,
        status=FindingStatus.ACTIVE,
        updated_at=when,
        created_at=when,
        risk_level=EventRiskLevel.LOW,
        risk_score=2.0,
        title="Unprotected port in EC2 Instance i-0d6c314027f74dc82 is being probed.",
        description=(
            "EC2 Instance i-0d6c314027f74dc82 has an unprotected port 22 which is being probed by a "
            "known malicious host with IP address 180.70.170.34."
        ),
        finding_type="Recon:EC2/PortProbeUnprotectedPort",
        account_id="012345678910",
        region="us-east-1",
        console_url=(
            "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1"
            "#/findings?macros=current&fId=38af75470eced5f1c6e4ee9895961baa"
        ),
        entities=(
            AffectedEntity(id="i-0d6c314027f74dc82", name="nodes.k8s.travellogic.info", type="Instance"),
        ),
        tags=(
            Tag(key="KubernetesCluster", value="k8s.travellogic.info"),
            Tag(key="Name", value="nodes.k8s.travellogic.info"),
            Tag(key="k8s.io/role/node", value="1"),
            Tag(key="aws:autoscaling:groupName", value="nodes.k8s.travellogic.info"),
        ),
        sample=False,
    )


@pytest.mark.parametrize(
    ("archived", "expected"),
    [
        (True, FindingStatus.MUTED),
        (False, FindingStatus.ACTIVE),
        ("true", FindingStatus.ACTIVE),
        (None, FindingStatus.ACTIVE),
    ],
)
def test_archived_is_muted_and_nothing_is_resolved(archived: object, expected: FindingStatus) -> None:
    raw = sample()
    if archived is None:
        del raw["detail"]["service"]["archived"]
    else:
        raw["detail"]["service"]["archived"] = archived
    assert parse_one(raw).status is expected


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (1, EventRiskLevel.LOW),
        (3.9, EventRiskLevel.LOW),
        (4.0, EventRiskLevel.MEDIUM),
        (6.9, EventRiskLevel.MEDIUM),
        (7, EventRiskLevel.HIGH),
        (8.9, EventRiskLevel.HIGH),
        (9.0, EventRiskLevel.CRITICAL),
        (10, EventRiskLevel.CRITICAL),
        (0, EventRiskLevel.NONE),
        (10.5, EventRiskLevel.NONE),
        ("8", EventRiskLevel.NONE),
        (True, EventRiskLevel.NONE),
    ],
)
def test_risk_level_comes_from_the_numeric_severity(severity: object, expected: EventRiskLevel) -> None:
    raw = sample()
    raw["detail"]["severity"] = severity
    assert parse_one(raw).risk_level is expected


@pytest.mark.parametrize(
    ("title", "additional", "expected"),
    [
        ("[SAMPLE] Unprotected port", {}, True),
        ("Unprotected port", {"sample": True}, True),
        ("Unprotected port", {"sample": "true"}, True),
        ("Unprotected port", {"sample": False}, False),
        ("Unprotected port", "sample", False),
    ],
)
def test_sample_flag(title: str, additional: object, expected: bool) -> None:
    raw = sample()
    raw["detail"]["title"] = title
    raw["detail"]["service"]["additionalInfo"] = additional
    assert parse_one(raw).sample is expected


def test_minimal_finding_takes_every_default() -> None:
    raw = sample()
    raw["detail"] = {"arn": "arn:aws:guardduty:eu-west-1:210987654321:detector/d1/finding/f00d"}
    snapshot = parse_one(raw)
    assert (snapshot.status, snapshot.risk_level, snapshot.risk_score) == (
        FindingStatus.ACTIVE,
        EventRiskLevel.NONE,
        None,
    )
    assert (snapshot.updated_at, snapshot.created_at) == (ENVELOPE_TIME, None)
    assert (snapshot.account_id, snapshot.region) == ("210987654321", "eu-west-1")
    assert snapshot.console_url.endswith("?region=eu-west-1#/findings?macros=current&fId=f00d")
    assert (snapshot.title, snapshot.entities, snapshot.tags, snapshot.sample) == ("", (), (), False)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2017-11-01T21:31:05.542+0000", datetime(2017, 11, 1, 21, 31, 5, 542000, tzinfo=UTC)),
        ("2023-03-01T10:00:00.123Z", datetime(2023, 3, 1, 10, 0, 0, 123000, tzinfo=UTC)),
        ("2023-03-01T10:00:00Z", datetime(2023, 3, 1, 10, 0, tzinfo=UTC)),
        ("2023-03-01T12:00:00+02:00", datetime(2023, 3, 1, 10, 0, tzinfo=UTC)),
        ("not a date", None),
    ],
)
def test_each_date_form(value: str, expected: datetime | None) -> None:
    raw = sample()
    raw["detail"].update(updatedAt=value, createdAt=value)
    del raw["detail"]["service"]["eventFirstSeen"]
    snapshot = parse_one(raw)
    assert snapshot.updated_at == (expected or ENVELOPE_TIME)
    assert snapshot.created_at == expected


def test_created_falls_back_to_the_first_activity() -> None:
    raw = sample()
    del raw["detail"]["createdAt"]
    raw["detail"]["service"]["eventFirstSeen"] = "2017-10-31T08:00:00.000Z"
    assert parse_one(raw).created_at == datetime(2017, 10, 31, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("resource", "entities", "tags"),
    [
        (
            {
                "resourceType": "AccessKey",
                "accessKeyDetails": {"accessKeyId": "ASIAEXAMPLE", "userName": "ci"},
            },
            [AffectedEntity(id="ASIAEXAMPLE", name="ci", type="AccessKey")],
            [],
        ),
        (
            {
                "resourceType": "S3Bucket",
                "s3BucketDetails": [
                    {"arn": "arn:aws:s3:::logs", "name": "logs", "tags": [{"key": "env", "value": "prod"}]},
                    {"name": "backups"},
                    "not an object",
                ],
            },
            [
                AffectedEntity(id="arn:aws:s3:::logs", name="logs", type="S3Bucket"),
                AffectedEntity(id="backups", name="backups", type="S3Bucket"),
            ],
            [Tag(key="env", value="prod")],
        ),
        (
            {
                "resourceType": "Lambda",
                "lambdaDetails": {
                    "functionArn": "arn:aws:lambda:us-east-1:1:function:f",
                    "functionName": "f",
                },
            },
            [AffectedEntity(id="arn:aws:lambda:us-east-1:1:function:f", name="f", type="Lambda")],
            [],
        ),
        ({"resourceType": "Instance", "instanceDetails": {"tags": [{"key": "Name"}]}}, [], []),
    ],
)
def test_entities_and_tags_from_each_resource_kind(
    resource: dict[str, Any], entities: list[AffectedEntity], tags: list[Tag]
) -> None:
    raw = sample()
    raw["detail"]["resource"] = resource
    snapshot = parse_one(raw)
    assert (list(snapshot.entities), list(snapshot.tags)) == (entities, tags)


def test_hostile_sizes_are_capped_and_surrogates_replaced() -> None:
    raw = sample()
    raw["detail"].update(title="\ud800" + "t" * 2_000_000, description="d" * 2_000_000)
    raw["detail"]["resource"] = {
        "resourceType": "S3Bucket",
        "s3BucketDetails": [
            {"name": f"b{n}", "tags": [{"key": f"k{n}", "value": "v"}] * 3} for n in range(5000)
        ],
    }
    snapshot = parse_one(raw)
    assert snapshot.title == "\ufffd" + "t" * 999 and len(snapshot.description) == 10_000
    assert (len(snapshot.entities), len(snapshot.tags)) == (1_000, 1_000)
    snapshot.model_dump_json()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda raw: raw.pop("detail"), "detail is missing or not a JSON object"),
        (
            lambda raw: raw.update({"detail-type": "GuardDuty Runtime Protection Healthy"}),
            "detail-type is not",
        ),
        (lambda raw: raw["detail"].pop("arn"), "detail.arn is missing or not a string"),
        (lambda raw: raw["detail"].update(arn=["arn"]), "detail.arn is missing or not a string"),
        (
            lambda raw: raw.update(time="never") or raw["detail"].pop("updatedAt"),
            "time is missing or not a date",
        ),
    ],
)
def test_events_that_cannot_be_understood_are_malformed(change: Any, reason: str) -> None:
    raw = sample()
    change(raw)
    with pytest.raises(MalformedEvent) as info:
        parse_guardduty(raw)
    assert info.value.reason.startswith(reason)
    assert info.value.event_id == EVENT_ID


PATHS = paths(sample())


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(PATHS), replacements, st.booleans())
def test_mutated_sample_parses_or_is_malformed(path: tuple[Any, ...], value: object, delete: bool) -> None:
    assert_parses_or_malformed(parse_guardduty, mutate(sample(), path, value, delete))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_parses_or_is_malformed(raw: object) -> None:
    assert_parses_or_malformed(parse_guardduty, raw)
