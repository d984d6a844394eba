"""Security Hub ASFF source: the documented sample, each status class, levels, and findings from
Inspector and GuardDuty arriving through Security Hub."""

from __future__ import annotations

from typing import Any

import pytest

from secnotify.models.common import EventRiskLevel
from secnotify.models.event import AffectedEntity, Tag
from secnotify.models.finding import FindingSource, FindingStatus, display_id
from tests.unit.aws_samples import (
    GUARDDUTY_ARN,
    INSPECTOR_ARN,
    asff_finding,
    guardduty_asff,
    inspector_asff,
    one_asff,
    utc,
)

# --- the documented samples ----------------------------------------------------------------------


def test_asff_control_sample_is_the_expected_snapshot() -> None:
    raw = asff_finding()
    s = one_asff(raw)
    assert s.source is FindingSource.SECURITY_HUB
    assert s.finding_id == raw["Id"]
    assert s.display_id == "SHB-EXAMPLE11111"
    assert s.status is FindingStatus.ACTIVE
    assert s.title == "CloudTrail.2 CloudTrail should have encryption at-rest enabled"
    assert s.description.startswith("This AWS control checks whether AWS CloudTrail")
    assert (s.risk_level, s.risk_score, s.base_risk_score) == (EventRiskLevel.MEDIUM, 4.0, None)
    assert s.updated_at == utc("2021-09-28T16:10:00.093")
    assert s.created_at == utc("2020-08-06T02:18:23.076")
    assert (s.account_id, s.account_name, s.region) == ("123456789012", "123456789012", "us-east-2")
    assert s.cve_ids == ()
    assert (s.public_exploit, s.fix_available, s.exposure) == ("NOT_AVAILABLE", "", "NOT_AVAILABLE")
    assert s.finding_type == raw["Types"][0]
    assert s.technology == "Security Hub"
    assert s.entities == (
        AffectedEntity(
            id="arn:aws:cloudtrail:us-east-2:123456789012:trail/AWSMacieTrail-DO-NOT-EDIT",
            name="AWSMacieTrail-DO-NOT-EDIT",
            type="AwsCloudTrailTrail",
        ),
    )
    assert s.tags == ()
    assert s.sample is False
    assert s.console_url == (
        "https://us-east-2.console.aws.amazon.com/securityhub/home?region=us-east-2#/findings?search="
        "Id%3D%255Coperator%255C%253AEQUALS%255C%253Aarn%253Aaws%253Asecurityhub%253Aus-east-2%253A"
        "123456789012%253Asubscription%252Faws-foundational-security-best-practices%252Fv%252F1.0.0"
        "%252FCloudTrail.2%252Ffinding%252Fa1b2c3d4-5678-90ab-cdef-EXAMPLE11111"
    )


# --- ASFF status classes -------------------------------------------------------------------------


def _set(finding: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    target = finding
    for key in parents:
        target = target.setdefault(key, {})
    if value is None:
        target.pop(last, None)
    else:
        target[last] = value


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, FindingStatus.ACTIVE),
        ({"Workflow.Status": "NOTIFIED"}, FindingStatus.ACTIVE),
        ({"Compliance.Status": "WARNING"}, FindingStatus.ACTIVE),
        ({"RecordState": "ARCHIVED"}, FindingStatus.RESOLVED),
        ({"Workflow.Status": "RESOLVED"}, FindingStatus.RESOLVED),
        ({"Compliance.Status": "PASSED"}, FindingStatus.RESOLVED),
        ({"Workflow.Status": "SUPPRESSED"}, FindingStatus.MUTED),
        ({"Workflow.Status": "suppressed"}, FindingStatus.MUTED),
        # Resolved outranks muted: the provider says the problem is gone.
        ({"Workflow.Status": "SUPPRESSED", "RecordState": "ARCHIVED"}, FindingStatus.RESOLVED),
        ({"Workflow": None, "WorkflowState": "DEFERRED"}, FindingStatus.MUTED),
        ({"Workflow": None, "WorkflowState": "RESOLVED"}, FindingStatus.RESOLVED),
        (
            {"Workflow": None, "WorkflowState": None, "RecordState": None, "Compliance": None},
            FindingStatus.ACTIVE,
        ),
    ],
)
def test_asff_status_classes(changes: dict[str, Any], expected: FindingStatus) -> None:
    finding = asff_finding()
    for dotted, value in changes.items():
        _set(finding, dotted, value)
    assert one_asff(finding).status is expected


# --- ASFF levels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "level", "score"),
    [
        ({"Label": "CRITICAL", "Normalized": 90}, EventRiskLevel.CRITICAL, 9.0),
        ({"Label": "HIGH"}, EventRiskLevel.HIGH, None),
        ({"Label": "LOW", "Normalized": 20}, EventRiskLevel.LOW, 2.0),
        ({"Label": "INFORMATIONAL", "Normalized": 0}, EventRiskLevel.NONE, 0.0),
        ({"Normalized": 75}, EventRiskLevel.HIGH, 7.5),  # no label: from the score
        ({"Label": "UNTRIAGED", "Normalized": 45}, EventRiskLevel.MEDIUM, 4.5),
        ({"Label": 3, "Normalized": "x"}, EventRiskLevel.NONE, None),
        ({"Normalized": 1000}, EventRiskLevel.NONE, None),  # out of range is no score
    ],
)
def test_asff_risk_level_from_label_else_score(
    severity: dict[str, Any], level: EventRiskLevel, score: Any
) -> None:
    finding = asff_finding()
    finding["Severity"] = severity
    s = one_asff(finding)
    assert (s.risk_level, s.risk_score) == (level, score)


# --- findings from Inspector and GuardDuty through Security Hub ----------------------------------


def test_inspector_finding_via_security_hub_is_the_native_problem() -> None:
    s = one_asff(inspector_asff())
    assert s.source is FindingSource.INSPECTOR
    assert s.finding_id == INSPECTOR_ARN
    assert s.display_id == display_id(FindingSource.INSPECTOR, INSPECTOR_ARN) == "INS-475ae5876490"
    assert (s.risk_level, s.risk_score, s.base_risk_score) == (EventRiskLevel.CRITICAL, 9.8, 6.5)
    assert s.cve_ids == ("CVE-2022-3643", "CVE-2022-0001")
    assert (s.public_exploit, s.fix_available, s.exposure) == ("AVAILABLE", "PARTIAL", "PUBLIC_NETWORK")
    assert (s.account_id, s.account_name, s.region) == ("111122223333", "payments-prod", "eu-west-1")
    assert s.entities == (
        AffectedEntity(
            id="arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc", name="web-1", type="AwsEc2Instance"
        ),
    )
    assert s.tags == (
        Tag(key="Name", value="web-1"),
        Tag(key="team", value="payments"),
        Tag(key="cost", value=None),
    )
    assert s.console_url == (
        "https://eu-west-1.console.aws.amazon.com/inspector/v2/home?region=eu-west-1#/findings/all?findingArn="
        "arn%3Aaws%3Ainspector2%3Aeu-west-1%3A111122223333%3Afinding%2Fc830773636319eaf8313475ae5876490"
    )


@pytest.mark.parametrize(
    ("native", "record", "expected"),
    [
        ("ACTIVE", "ACTIVE", FindingStatus.ACTIVE),
        ("CLOSED", "ARCHIVED", FindingStatus.RESOLVED),
        ("CLOSED", "ACTIVE", FindingStatus.RESOLVED),
        # Suppressed in Inspector is muted natively: Security Hub archiving it is not "resolved".
        ("SUPPRESSED", "ARCHIVED", FindingStatus.MUTED),
    ],
)
def test_inspector_status_via_security_hub_follows_inspector(
    native: str, record: str, expected: FindingStatus
) -> None:
    finding = inspector_asff(native)
    finding["RecordState"] = record
    assert one_asff(finding).status is expected


def test_guardduty_finding_via_security_hub_uses_guardduty_severity_and_ids() -> None:
    s = one_asff(guardduty_asff())
    assert s.source is FindingSource.GUARDDUTY
    assert (s.finding_id, s.display_id) == (GUARDDUTY_ARN, "GD-eb2ae03bfdea")
    # Severity 2 is LOW in GuardDuty's and our bands, whatever label Security Hub gave it.
    assert (s.risk_level, s.risk_score) == (EventRiskLevel.LOW, 2.0)
    assert (s.status, s.sample) == (FindingStatus.ACTIVE, False)
    assert s.console_url.endswith("#/findings?macros=current&fId=46ba0ac2845071e23ccdeb2ae03bfdea")


def test_guardduty_archived_and_sample_via_security_hub() -> None:
    s = one_asff(
        guardduty_asff(
            **{
                "aws/guardduty/service/archived": "true",
                "aws/guardduty/service/additionalInfo/sample": "true",
            }
        )
    )
    assert (s.status, s.sample) == (FindingStatus.MUTED, True)


def test_guardduty_without_numeric_severity_keeps_the_label() -> None:
    finding = guardduty_asff()
    finding["Severity"] = {"Label": "HIGH"}
    assert one_asff(finding).risk_level is EventRiskLevel.HIGH


@pytest.mark.parametrize(
    "changes", [{"Sample": True}, {"Title": "[SAMPLE] Unusual port probe"}], ids=["Sample field", "title"]
)
def test_asff_sample_flag(changes: dict[str, Any]) -> None:
    finding = asff_finding()
    finding.update(changes)
    assert one_asff(finding).sample is True
