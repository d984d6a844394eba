"""Amazon Inspector source: documented samples, each status, severity and date form, hostile input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from secnotify.models.common import EventRiskLevel
from secnotify.models.event import AffectedEntity, Tag
from secnotify.models.finding import FindingSource, FindingStatus
from tests.unit.aws_samples import FIXTURES
from tests.unit.aws_samples import INSPECTOR_CLOSED as CLOSED
from tests.unit.aws_samples import INSPECTOR_ECR as ECR
from tests.unit.aws_samples import INSPECTOR_REACHABILITY as REACHABILITY
from tests.unit.aws_samples import INSPECTOR_SAMPLES as SAMPLES
from tests.unit.aws_samples import inspector_event as sample
from tests.unit.aws_samples import one_inspector as parse_one

ENVELOPE_TIME = datetime(2024, 9, 4, 17, 0, 36, tzinfo=UTC)  # the closed sample's time


def console(region: str, quoted_arn: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/inspector/v2/home?region={region}"
        f"#/findings/all?findingArn={quoted_arn}"
    )


EXPECTED: dict[str, dict[str, Any]] = {
    CLOSED: {
        "finding_id": "arn:aws:inspector2:eu-central-1:123456789012:finding/{{FINDING_ID}}",
        "display_id": "INS-FINDING_ID}}",
        "status": FindingStatus.RESOLVED,
        "updated_at": datetime(2024, 9, 4, 17, 0, 36, 951000, tzinfo=UTC),
        "created_at": datetime(2024, 9, 4, 16, 59, 44, 356000, tzinfo=UTC),
        "risk_level": EventRiskLevel.MEDIUM,
        "risk_score": 4.8,
        "base_risk_score": 7.3,  # NVD's, not the Ubuntu score Inspector adjusted to
        "title": "CVE-2024-29069 - snapd",
        "finding_type": "PACKAGE_VULNERABILITY",
        "technology": "OS",
        "cve_ids": ("CVE-2024-29069",),  # USN-6940-1 is not a CVE
        "public_exploit": "NOT_AVAILABLE",
        "fix_available": "YES",
        "exposure": "NOT_AVAILABLE",
        "account_id": "123456789012",
        "region": "eu-central-1",
        "console_url": console(
            "eu-central-1",
            "arn%3Aaws%3Ainspector2%3Aeu-central-1%3A123456789012%3Afinding%2F%7B%7BFINDING_ID%7D%7D",
        ),
        "entities": (
            AffectedEntity(id="i-12345678901234567", name="i-12345678901234567", type="AWS_EC2_INSTANCE"),
        ),
        "tags": (),
        "sample": False,
    },
    ECR: {
        "finding_id": "arn:aws:inspector2:us-east-2:123456789012:finding/be674aaddd0f75ac632055EXAMPLE",
        "display_id": "INS-32055EXAMPLE",
        "status": FindingStatus.ACTIVE,
        "updated_at": datetime(2021, 12, 3, 18, 2, 30, tzinfo=UTC),
        "created_at": datetime(2021, 12, 3, 18, 2, 30, tzinfo=UTC),
        "risk_level": EventRiskLevel.MEDIUM,
        "risk_score": 6.5,
        "base_risk_score": 8.1,  # NVD CVSS 3.1 over NVD 2.0 (5.8)
        "title": "CVE-2019-17498 - libssh2",
        "finding_type": "PACKAGE_VULNERABILITY",
        "technology": "OS",
        "cve_ids": ("CVE-2019-17498",),
        "public_exploit": "NOT_AVAILABLE",
        "fix_available": "",
        "exposure": "NOT_AVAILABLE",
        "account_id": "123456789012",
        "region": "us-east-2",  # from the ARN: the resource says "N/A"
        "console_url": console(
            "us-east-2",
            "arn%3Aaws%3Ainspector2%3Aus-east-2%3A123456789012%3Afinding%2Fbe674aaddd0f75ac632055EXAMPLE",
        ),
        "entities": (
            AffectedEntity(
                id="arn:aws:ecr:us-east-2:123456789012:repository/amazon/amazon-ecs-sample/"
                "sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77EXAMPLE",
                name="amazon/amazon-ecs-sample:latest",
                type="AWS_ECR_CONTAINER_IMAGE",
            ),
        ),
        "tags": (),
        "sample": False,
    },
    REACHABILITY: {
        "finding_id": "arn:aws:inspector2:eu-central-1:123456789012:finding/`FINDING_ID`",
        "display_id": "INS-`FINDING_ID`",
        "status": FindingStatus.ACTIVE,
        "updated_at": datetime(2024, 9, 5, 13, 6, 56, 334000, tzinfo=UTC),
        "created_at": datetime(2024, 9, 5, 13, 6, 56, 334000, tzinfo=UTC),
        "risk_level": EventRiskLevel.MEDIUM,
        "risk_score": None,
        "base_risk_score": None,
        "title": "Port 22 is reachable from an Internet Gateway - TCP",
        "finding_type": "NETWORK_REACHABILITY",
        "technology": "",
        "cve_ids": (),
        "public_exploit": "NOT_AVAILABLE",
        "fix_available": "",
        "exposure": "PUBLIC_NETWORK",
        "account_id": "123456789012",
        "region": "eu-central-1",
        "console_url": console(
            "eu-central-1",
            "arn%3Aaws%3Ainspector2%3Aeu-central-1%3A123456789012%3Afinding%2F%60FINDING_ID%60",
        ),
        "entities": (
            AffectedEntity(id="i-12345678901234567", name="i-12345678901234567", type="AWS_EC2_INSTANCE"),
        ),
        "tags": (),
        "sample": False,
    },
}


def test_fixtures_are_listed_in_the_readme() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for name in SAMPLES:
        assert f"- {name} — " in readme


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_parses_to_the_expected_snapshot(name: str) -> None:
    raw = sample(name)
    snapshot = parse_one(raw)
    assert snapshot.source is FindingSource.INSPECTOR
    assert {field: getattr(snapshot, field) for field in EXPECTED[name]} == EXPECTED[name]
    assert snapshot.description == raw["detail"]["description"].strip()
    assert snapshot.account_name == ""  # Inspector events carry no account name


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("ACTIVE", FindingStatus.ACTIVE),
        ("SUPPRESSED", FindingStatus.MUTED),
        ("CLOSED", FindingStatus.RESOLVED),
        ("closed", FindingStatus.RESOLVED),
    ],
)
def test_each_status_class(status: str, expected: FindingStatus) -> None:
    raw = sample()
    raw["detail"]["status"] = status
    assert parse_one(raw).status is expected


@pytest.mark.parametrize(
    ("severity", "score", "expected"),
    [
        ("INFORMATIONAL", 9.8, EventRiskLevel.NONE),  # the label wins over the score
        ("CRITICAL", 1.0, EventRiskLevel.CRITICAL),
        ("high", None, EventRiskLevel.HIGH),
        ("LOW", None, EventRiskLevel.LOW),
        ("UNTRIAGED", 9.0, EventRiskLevel.CRITICAL),
        ("UNTRIAGED", 8.9, EventRiskLevel.HIGH),
        ("UNTRIAGED", 3.9, EventRiskLevel.LOW),
        ("UNTRIAGED", 0.0, EventRiskLevel.NONE),
        (None, 4.0, EventRiskLevel.MEDIUM),
        ("SEVERE", 7.0, EventRiskLevel.HIGH),
    ],
)
def test_risk_level_is_the_label_else_the_score(
    severity: object, score: object, expected: EventRiskLevel
) -> None:
    raw = sample()
    detail = raw["detail"]
    del detail["inspectorScoreDetails"], detail["packageVulnerabilityDetails"]["cvss"]
    if severity is None:
        del detail["severity"]
    else:
        detail["severity"] = severity
    if score is None:
        del detail["inspectorScore"]
    else:
        detail["inspectorScore"] = score
    assert parse_one(raw).risk_level is expected


def test_untriaged_without_any_score_is_none() -> None:
    raw = sample(REACHABILITY)
    raw["detail"]["severity"] = "UNTRIAGED"
    snapshot = parse_one(raw)
    assert (snapshot.risk_level, snapshot.risk_score) == (EventRiskLevel.NONE, None)


def test_scores_fall_back_from_inspector_to_adjusted_to_cvss() -> None:
    raw = sample()
    detail = raw["detail"]
    del detail["inspectorScore"]
    assert (parse_one(raw).risk_score, parse_one(raw).base_risk_score) == (4.8, 7.3)  # adjusted
    del detail["inspectorScoreDetails"]
    assert (parse_one(raw).risk_score, parse_one(raw).base_risk_score) == (7.3, 7.3)  # NVD base
    detail["packageVulnerabilityDetails"]["cvss"] = [
        {"baseScore": 5.0, "source": "REDHAT_CVE", "version": "2.0"},
        {"baseScore": 6.1, "source": "REDHAT_CVE", "version": "3.1"},
        {"baseScore": "9.9", "source": "NVD", "version": "3.1"},  # not a number: ignored
    ]
    assert parse_one(raw).base_risk_score == 6.1  # no NVD score: the newest version
    detail["inspectorScore"] = 11.0  # out of range: no score
    assert parse_one(raw).risk_score == 6.1


def test_minimal_finding_takes_every_default() -> None:
    raw = sample()
    raw["detail"] = {
        "findingArn": "arn:aws:inspector2:ap-south-1:210987654321:finding/abc",
        "status": "ACTIVE",
    }
    snapshot = parse_one(raw)
    assert snapshot.updated_at == ENVELOPE_TIME
    assert snapshot.created_at is None
    assert (snapshot.account_id, snapshot.region) == ("210987654321", "ap-south-1")  # from the ARN
    assert (snapshot.title, snapshot.description, snapshot.finding_type) == ("", "", "")
    assert (snapshot.risk_level, snapshot.risk_score, snapshot.base_risk_score) == (
        EventRiskLevel.NONE,
        None,
        None,
    )
    assert (snapshot.cve_ids, snapshot.entities, snapshot.tags) == ((), (), ())
    assert (snapshot.public_exploit, snapshot.fix_available, snapshot.exposure) == (
        "NOT_AVAILABLE",
        "",
        "NOT_AVAILABLE",
    )
    assert snapshot.display_id == "INS-:finding/abc"


def test_account_is_the_findings_not_the_receivers() -> None:
    raw = sample()
    raw["account"] = "999999999999"  # a delegated administrator receives member findings
    assert parse_one(raw).account_id == "123456789012"
    del raw["detail"]["awsAccountId"]
    raw["detail"]["findingArn"] = "not-an-arn"
    assert parse_one(raw).account_id == "999999999999"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Wed Sep 04 16:59:44.356 UTC 2024", datetime(2024, 9, 4, 16, 59, 44, 356000, tzinfo=UTC)),
        ("Thu Sep 05 13:06:56 UTC 2024", datetime(2024, 9, 5, 13, 6, 56, tzinfo=UTC)),
        ("Jan 19, 2023, 10:46:15 PM", datetime(2023, 1, 19, 22, 46, 15, tzinfo=UTC)),
        ("Mar 31, 2023, 19:48:33.000", datetime(2023, 3, 31, 19, 48, 33, tzinfo=UTC)),
        ("2026-06-12T01:30:00.000Z", datetime(2026, 6, 12, 1, 30, tzinfo=UTC)),
        (1_700_000_000_000, datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
        ("yesterday", None),
        (10**400, None),
        ("9999-12-31T23:59:59-01:00", None),
    ],
)
def test_each_date_form(value: object, expected: datetime | None) -> None:
    raw = sample()
    raw["detail"]["updatedAt"] = value
    raw["detail"]["firstObservedAt"] = value
    snapshot = parse_one(raw)
    # An unreadable update time falls back to the envelope's; a creation time has no fallback.
    assert snapshot.updated_at == (expected or ENVELOPE_TIME)
    assert snapshot.created_at == expected


def test_exploit_fix_cves_and_sample_flag() -> None:
    raw = sample()
    detail = raw["detail"]
    detail.update(exploitAvailable="YES", fixAvailable="partial", title="[SAMPLE] CVE-2024-29069 - snapd")
    detail["packageVulnerabilityDetails"]["relatedVulnerabilities"] = [
        "CVE-2024-0001",
        "CVE-2024-29069",
        "cve-x",
    ]
    snapshot = parse_one(raw)
    assert (snapshot.public_exploit, snapshot.fix_available, snapshot.sample) == (
        "AVAILABLE",
        "PARTIAL",
        True,
    )
    assert snapshot.cve_ids == ("CVE-2024-29069", "CVE-2024-0001")
    detail["fixAvailable"] = "MAYBE"
    detail["packageVulnerabilityDetails"]["vulnerabilityId"] = "GHSA-xxxx-yyyy-zzzz"
    assert (parse_one(raw).fix_available, parse_one(raw).cve_ids) == ("", ("CVE-2024-0001", "CVE-2024-29069"))


def test_reachability_without_internet_gateway_is_not_exposed() -> None:
    raw = sample(REACHABILITY)
    steps = raw["detail"]["networkReachabilityDetails"]["networkPath"]["steps"]
    steps[0]["componentType"] = "AWS::EC2::VPCPeeringConnection"
    assert parse_one(raw).exposure == "NOT_AVAILABLE"


def test_tags_and_readable_names_come_from_resources() -> None:
    raw = sample()
    resources = raw["detail"]["resources"]
    resources[0]["tags"] = {"Name": "web-1", "team": "payments", "empty": None}
    resources.append(
        {
            "id": "arn:aws:lambda:eu-central-1:123456789012:function:pay:$LATEST",
            "type": "AWS_LAMBDA_FUNCTION",
            "details": {"awsLambdaFunction": {"functionName": "pay"}},
            "tags": {"team": "payments"},
        }
    )
    resources.append({"type": "AWS_EC2_INSTANCE"})  # no id: not an entity
    snapshot = parse_one(raw)
    assert snapshot.entities == (
        AffectedEntity(id="i-12345678901234567", name="web-1", type="AWS_EC2_INSTANCE"),
        AffectedEntity(
            id="arn:aws:lambda:eu-central-1:123456789012:function:pay:$LATEST",
            name="pay",
            type="AWS_LAMBDA_FUNCTION",
        ),
    )
    assert snapshot.tags == (
        Tag(key="Name", value="web-1"),
        Tag(key="team", value="payments"),
        Tag(key="empty"),
    )
