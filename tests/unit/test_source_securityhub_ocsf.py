"""Security Hub OCSF source: the documented sample, each status class and severity, vulnerability
fields, tags, dates, origins and malformed input."""

from __future__ import annotations

from typing import Any

import pytest

from secnotify.models.common import EventRiskLevel
from secnotify.models.event import AffectedEntity, Tag
from secnotify.models.finding import FindingSource, FindingStatus, display_id
from secnotify.sources.eventbridge import MalformedEvent
from secnotify.sources.securityhub_ocsf import parse_securityhub_ocsf
from tests.unit.aws_samples import INSPECTOR_ARN, ocsf_event, utc


def one_ocsf(**changes: Any) -> Any:
    event = ocsf_event()
    finding = event["detail"]["findings"][0]
    for key, value in changes.items():
        if value is None:
            finding.pop(key, None)
        else:
            finding[key] = value
    [snapshot] = parse_securityhub_ocsf(event)
    return snapshot


def test_archived_is_resolved_for_a_finding_that_is_not_guarddutys() -> None:
    info = {**ocsf_event()["detail"]["findings"][0]["finding_info"], "uid": "arn:aws:securityhub:x:finding/1"}
    assert one_ocsf(status_id=5, finding_info=info).status is FindingStatus.RESOLVED
    assert one_ocsf(status_id=5).status is FindingStatus.MUTED


def test_ocsf_guardduty_sample_is_the_expected_snapshot() -> None:
    s = one_ocsf()
    uid = ocsf_event()["detail"]["findings"][0]["finding_info"]["uid"]
    # A GuardDuty finding keeps GuardDuty as its source, so its display id is the native one.
    assert s.source is FindingSource.GUARDDUTY
    assert (s.finding_id, s.display_id) == (uid, display_id(FindingSource.GUARDDUTY, uid))
    assert s.display_id == "GD-7e20e9da1aa4"
    assert s.status is FindingStatus.MUTED  # status_id 3 Suppressed
    assert s.title == "An AWS CloudTrail trail Aws-Observability-e2esumoqeui was disabled."
    assert s.description.startswith("AWS CloudTrail trail Aws-Observability-e2esumoqeui was disabled")
    assert (s.risk_level, s.risk_score, s.base_risk_score) == (EventRiskLevel.LOW, None, None)
    assert s.updated_at == utc("2025-07-22T03:02:34.272")
    assert s.created_at == utc("2024-10-24T10:21:26")
    # The zone is the account of cloud.account, not the one inside the finding ARN.
    assert (s.account_id, s.account_name, s.region) == ("869728294964", "869728294964", "us-east-1")
    assert s.entities == (
        AffectedEntity(id="ASIA4U76YS3TEOA3O", name="cis_automation", type="AWS::IAM::AccessKey"),
    )
    assert (s.finding_type, s.technology) == ("Stealth:IAMUser/CloudTrailLoggingDisabled", "GuardDuty")
    assert (s.cve_ids, s.public_exploit, s.fix_available) == ((), "NOT_AVAILABLE", "")
    assert (s.exposure, s.tags, s.sample) == ("NOT_AVAILABLE", (), False)
    assert s.console_url == (
        "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1"
        "#/findings?macros=current&fId=06c95f0cfdfd3b579b977e20e9da1aa4"
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"status_id": 1, "status": "New"}, FindingStatus.ACTIVE),
        ({"status_id": 2, "status": "In Progress"}, FindingStatus.ACTIVE),
        ({"status_id": 3}, FindingStatus.MUTED),
        ({"status_id": 4}, FindingStatus.RESOLVED),
        ({"status_id": 5}, FindingStatus.MUTED),  # the sample is GuardDuty's: archived is muted
        ({"status_id": 6}, FindingStatus.RESOLVED),
        ({"status_id": 99, "status": "Other"}, FindingStatus.ACTIVE),
        ({"status_id": None, "status": "Resolved"}, FindingStatus.RESOLVED),  # the caption stands in
        ({"status_id": None, "status": "Suppressed"}, FindingStatus.MUTED),
        ({"status_id": None, "status": None}, FindingStatus.ACTIVE),
        ({"status_id": 1, "activity_id": 3}, FindingStatus.RESOLVED),  # Close
        ({"status_id": 1, "compliance": {"status_id": 1, "status": "Pass"}}, FindingStatus.RESOLVED),
        ({"status_id": 1, "compliance": {"status_id": 3, "status": "Fail"}}, FindingStatus.ACTIVE),
        ({"status_id": "4", "status": None}, FindingStatus.ACTIVE),  # a string id is no status
    ],
)
def test_ocsf_status_classes(changes: dict[str, Any], expected: FindingStatus) -> None:
    assert one_ocsf(**changes).status is expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"severity_id": 1, "severity": "Informational"}, EventRiskLevel.NONE),
        ({"severity_id": 2}, EventRiskLevel.LOW),
        ({"severity_id": 3}, EventRiskLevel.MEDIUM),
        ({"severity_id": 4}, EventRiskLevel.HIGH),
        ({"severity_id": 5}, EventRiskLevel.CRITICAL),
        ({"severity_id": 6, "severity": "Fatal"}, EventRiskLevel.CRITICAL),
        ({"severity_id": None, "severity": "High"}, EventRiskLevel.HIGH),
        ({"severity_id": 0, "severity": "Unknown"}, EventRiskLevel.NONE),
        ({"severity_id": None, "severity": None}, EventRiskLevel.NONE),
    ],
)
def test_ocsf_severity(changes: dict[str, Any], expected: EventRiskLevel) -> None:
    assert one_ocsf(**changes).risk_level is expected


VULNERABILITIES = [
    {
        "cve": {
            "uid": "CVE-2024-29069",
            "cvss": [{"base_score": 7.5, "version": "3.1"}, {"base_score": 5.0, "version": "2.0"}],
        },
        "related_vulnerabilities": ["CVE-2024-0001", "USN-1"],
        "is_exploit_available": True,
        "is_fix_available": True,
    },
    {"cve": {"uid": "GHSA-1"}, "fix_available": False},
]


def test_ocsf_vulnerability_fields() -> None:
    s = one_ocsf(vulnerabilities=VULNERABILITIES)
    assert s.cve_ids == ("CVE-2024-29069", "CVE-2024-0001")
    assert (s.risk_score, s.base_risk_score) == (7.5, 7.5)
    assert (s.public_exploit, s.fix_available) == ("AVAILABLE", "PARTIAL")


def test_ocsf_unknown_severity_is_derived_from_the_cvss_score() -> None:
    s = one_ocsf(vulnerabilities=VULNERABILITIES, severity_id=99, severity="Other")
    assert s.risk_level is EventRiskLevel.HIGH


def test_ocsf_inspector_finding_is_the_native_problem() -> None:
    event = ocsf_event()
    finding = event["detail"]["findings"][0]
    finding["finding_info"]["uid"] = INSPECTOR_ARN
    finding["cloud"]["region"] = "eu-west-1"
    [s] = parse_securityhub_ocsf(event)
    assert (s.source, s.display_id) == (FindingSource.INSPECTOR, "INS-475ae5876490")
    assert s.console_url.startswith(
        "https://eu-west-1.console.aws.amazon.com/inspector/v2/home?region=eu-west-1"
    )


def test_ocsf_security_hub_finding_has_no_made_up_link() -> None:
    event = ocsf_event()
    event["detail"]["findings"][0]["finding_info"]["uid"] = "arn:aws:securityhub:us-east-1:1:control/x"
    [s] = parse_securityhub_ocsf(event)
    assert (s.source, s.console_url) == (FindingSource.SECURITY_HUB, "")


def test_ocsf_tags_account_name_and_sample() -> None:
    resources = [
        {"uid": "i-1", "type": "AWS::EC2::Instance", "tags": [{"name": "team", "value": "a"}, {"name": 3}]},
        {"uid": "arn:aws:s3:::bucket-x", "tags": {"env": "prod"}},
        {"name": "no id: no entity"},
    ]
    event = ocsf_event()
    finding = event["detail"]["findings"][0]
    finding["resources"] = resources
    finding["cloud"]["account"]["name"] = "payments-prod"
    finding["finding_info"]["title"] = "[SAMPLE] " + finding["finding_info"]["title"]
    [s] = parse_securityhub_ocsf(event)
    assert s.tags == (Tag(key="team", value="a"), Tag(key="env", value="prod"))
    assert s.entities == (
        AffectedEntity(id="i-1", name="i-1", type="AWS::EC2::Instance"),
        AffectedEntity(id="arn:aws:s3:::bucket-x", name="bucket-x", type=""),
    )
    assert (s.account_name, s.sample) == ("payments-prod", True)


@pytest.mark.parametrize(
    ("info", "top", "updated"),
    [
        ({}, {}, "2025-07-22T03:02:34.272"),
        ({"modified_time": None}, {}, "2025-07-22T03:02:34.272"),  # modified_time_dt
        ({"modified_time": None, "modified_time_dt": None}, {}, "2025-07-22T03:02:34.272"),  # time
        ({"modified_time": None, "modified_time_dt": None}, {"time": None}, "2025-07-22T03:02:34.272"),
        (
            {"modified_time": None, "modified_time_dt": None},
            {"time": None, "time_dt": None},
            "2025-07-22T03:03:15",
        ),
        ({"modified_time": "soon"}, {}, "2025-07-22T03:02:34.272"),
    ],
)
def test_ocsf_update_time_fallbacks(info: dict[str, Any], top: dict[str, Any], updated: str) -> None:
    event = ocsf_event()
    finding = event["detail"]["findings"][0]
    for key, value in info.items():
        finding["finding_info"].pop(key) if value is None else finding["finding_info"].update({key: value})
    for key in top:
        finding.pop(key)
    [s] = parse_securityhub_ocsf(event)
    assert s.updated_at == utc(updated)


def test_ocsf_created_time_when_first_seen_is_absent() -> None:
    event = ocsf_event()
    info = event["detail"]["findings"][0]["finding_info"]
    del info["first_seen_time"], info["first_seen_time_dt"]
    [s] = parse_securityhub_ocsf(event)
    assert s.created_at == utc("2024-10-24T10:37:06.938")


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update({"detail-type": "Security Hub Findings - Imported"}), "detail-type is not"),
        (lambda e: e["detail"]["findings"][0].pop("finding_info"), "finding_info.uid is missing"),
        (
            lambda e: e["detail"]["findings"][0]["finding_info"].update(uid=["x"]),
            "finding_info.uid is missing",
        ),
        (lambda e: e["detail"].update(findings=None), "detail.findings must be a non-empty list"),
    ],
)
def test_ocsf_malformed(mutate: Any, reason: str) -> None:
    event = ocsf_event()
    mutate(event)
    with pytest.raises(MalformedEvent, match=reason) as caught:
        parse_securityhub_ocsf(event)
    assert caught.value.event_id == "994b02ab-3ee4-9576-abcb-6a920op2c085"
