"""The AWS samples the source tests share: the documented fixtures (each read once, handed out as
a fresh copy), the EventBridge envelopes AWS documents around them, and ASFF findings from
Inspector and GuardDuty built from documented field names."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from secnotify.models.finding import FindingSnapshot
from secnotify.sources.guardduty import parse_guardduty
from secnotify.sources.inspector import parse_inspector
from secnotify.sources.securityhub_asff import parse_securityhub_asff

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "aws"
INSPECTOR_CLOSED = "inspector2-ec2-package-closed.json"
INSPECTOR_ECR = "inspector2-ecr-package-active.json"
INSPECTOR_REACHABILITY = "inspector2-ec2-network-reachability-active.json"
INSPECTOR_SAMPLES = (INSPECTOR_CLOSED, INSPECTOR_ECR, INSPECTOR_REACHABILITY)
GUARDDUTY_DETAIL = "guardduty-ec2-portprobe.detail.json"
ASFF_FINDING = "securityhub-asff-fsbp-control-failed.finding.json"
OCSF_EVENT = "securityhub-ocsf-v2-guardduty-detection-suppressed.json"

GUARDDUTY_EVENT_ID = "c8c4daa7-a20c-2f03-0070-b7393dd542ad"
INSPECTOR_ARN = "arn:aws:inspector2:eu-west-1:111122223333:finding/c830773636319eaf8313475ae5876490"
GUARDDUTY_ARN = (
    "arn:aws:guardduty:us-east-1:193043430472:detector/d4b040365221be2b54a6264dc9a4bc64"
    "/finding/46ba0ac2845071e23ccdeb2ae03bfdea"
)


@cache
def _read(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def fixture(name: str) -> Any:
    """A fresh copy of one fixture: callers may change it freely."""
    return copy.deepcopy(_read(name))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def inspector_event(name: str = INSPECTOR_CLOSED) -> dict[str, Any]:
    # The Inspector fixtures are whole EventBridge events.
    event: dict[str, Any] = fixture(name)
    return event


def guardduty_event(detail: dict[str, Any] | None = None) -> dict[str, Any]:
    # The documentation shows the finding bare; GuardDuty's EventBridge page documents this
    # envelope (resources empty, the finding as detail). The receiving account here is a
    # delegated administrator, not the finding's account.
    return {
        "version": "0",
        "id": GUARDDUTY_EVENT_ID,
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": "111122223333",
        "time": "2017-11-01T21:36:07Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail if detail is not None else fixture(GUARDDUTY_DETAIL),
    }


def asff_finding() -> dict[str, Any]:
    finding: dict[str, Any] = fixture(ASFF_FINDING)
    return finding


def asff_event(*findings: Any, time: object = "2021-09-28T16:10:10Z") -> dict[str, Any]:
    # The envelope AWS documents for "Security Hub Findings - Imported" (securityhub-cwe-event-formats).
    return {
        "version": "0",
        "id": "8e5622f9-d81c-4d81-612a-9319e7ee2506",
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": "123456789012",
        "time": time,
        "region": "us-east-2",
        "resources": ["arn:aws:securityhub:us-east-2::product/aws/securityhub/finding"],
        "detail": {"findings": list(findings) if findings else [asff_finding()]},
    }


def ocsf_event() -> dict[str, Any]:
    # The OCSF fixture is a whole EventBridge event.
    event: dict[str, Any] = fixture(OCSF_EVENT)
    return event


def event_of(name: str) -> dict[str, Any]:
    """Any fixture as the EventBridge event that carries it."""
    if name.endswith(".detail.json"):
        return guardduty_event(fixture(name))
    if name.endswith(".finding.json"):
        return asff_event(fixture(name))
    event: dict[str, Any] = fixture(name)
    return event


def one_inspector(event: dict[str, Any]) -> FindingSnapshot:
    [snapshot] = parse_inspector(event)
    return snapshot


def one_guardduty(event: dict[str, Any]) -> FindingSnapshot:
    [snapshot] = parse_guardduty(event)
    return snapshot


def one_asff(finding: dict[str, Any]) -> FindingSnapshot:
    [snapshot] = parse_securityhub_asff(asff_event(finding))
    return snapshot


def inspector_asff(status: str = "ACTIVE") -> dict[str, Any]:
    """An Inspector finding as ASFF carries it (field names per the Security Hub integration docs)."""
    finding = asff_finding()
    finding.update(
        Id=INSPECTOR_ARN,
        ProductArn="arn:aws:securityhub:eu-west-1::product/aws/inspector",
        ProductName="Inspector",
        Region="eu-west-1",
        AwsAccountId="111122223333",
        AwsAccountName="payments-prod",
        Title="CVE-2022-3643 - kernel",
        Severity={"Label": "CRITICAL", "Normalized": 90},
        ProductFields={
            "aws/inspector/FindingStatus": status,
            "aws/inspector/inspectorScore": "9.8",
            "aws/inspector/ProductVersion": "2",
        },
        Vulnerabilities=[
            {
                "Id": "CVE-2022-3643",
                "RelatedVulnerabilities": ["cve-2022-0001", "ALAS-2023-1"],
                "Cvss": [
                    {"Version": "3.1", "BaseScore": 7.1, "Source": "UBUNTU_CVE"},
                    {"Version": "3.1", "BaseScore": 6.5, "Source": "NVD"},
                ],
                "FixAvailable": "YES",
                "ExploitAvailable": "YES",
            },
            {"Id": "GHSA-xxxx", "FixAvailable": "NO"},
        ],
        NetworkPath=[{"ComponentId": "igw-1", "ComponentType": "AWS::EC2::InternetGateway"}],
        Resources=[
            {
                "Type": "AwsEc2Instance",
                "Id": "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc",
                "Tags": {"Name": "web-1", "team": "payments", "cost": 7},
            }
        ],
    )
    finding.pop("Compliance")
    return finding


def guardduty_asff(**product_fields: str) -> dict[str, Any]:
    """GuardDuty's "typical finding" in ASFF (GuardDuty User Guide, Security Hub integration)."""
    finding = asff_finding()
    finding.update(
        Id=GUARDDUTY_ARN,
        ProductArn="arn:aws:securityhub:us-east-1::product/aws/guardduty",
        ProductName="GuardDuty",
        Region="us-east-1",
        Title="199.241.229.197 is performing SSH brute force attacks against i-0c10c2c7863d1a356.",
        Severity={"Product": 2, "Label": "MEDIUM", "Normalized": 40},
        ProductFields={"aws/guardduty/service/archived": "false", **product_fields},
    )
    finding.pop("Compliance")
    return finding
