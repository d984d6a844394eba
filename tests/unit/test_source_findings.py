"""The finding-parser registry: each documented (source, detail-type) reaches its parser, any
other event is left to the ``secnotify`` parser, and one finding read by any parser is one problem."""

from __future__ import annotations

from typing import Any

import pytest

from secnotify.models.finding import FindingSource
from secnotify.sources import FINDING_PARSERS, MalformedEvent, parse_findings
from secnotify.sources.guardduty import parse_guardduty
from secnotify.sources.inspector import parse_inspector
from secnotify.sources.securityhub_asff import parse_securityhub_asff
from secnotify.sources.securityhub_ocsf import parse_securityhub_ocsf
from tests.unit.aws_samples import (
    FIXTURES,
    GUARDDUTY_ARN,
    INSPECTOR_ARN,
    asff_event,
    event_of,
    guardduty_asff,
    guardduty_event,
    inspector_asff,
)

ROUTES = {
    "inspector2-ec2-package-closed.json": parse_inspector,
    "inspector2-ecr-package-active.json": parse_inspector,
    "inspector2-ec2-network-reachability-active.json": parse_inspector,
    "guardduty-ec2-portprobe.detail.json": parse_guardduty,
    "securityhub-asff-fsbp-control-failed.finding.json": parse_securityhub_asff,
    "securityhub-ocsf-v2-guardduty-detection-suppressed.json": parse_securityhub_ocsf,
}


def test_every_fixture_has_a_route() -> None:
    assert sorted(p.name for p in FIXTURES.glob("*.json")) == sorted(ROUTES)


def test_the_four_documented_pairs_are_registered() -> None:
    assert dict(FINDING_PARSERS) == {
        ("aws.inspector2", "Inspector2 Finding"): parse_inspector,
        ("aws.securityhub", "Security Hub Findings - Imported"): parse_securityhub_asff,
        ("aws.securityhub", "Findings Imported V2"): parse_securityhub_ocsf,
        ("aws.guardduty", "GuardDuty Finding"): parse_guardduty,
    }


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_each_fixture_routes_to_its_parser(name: str) -> None:
    event = event_of(name)
    assert FINDING_PARSERS[(event["source"], event["detail-type"])] is ROUTES[name]
    snapshots = parse_findings(event)
    assert snapshots is not None and len(snapshots) >= 1
    assert snapshots == ROUTES[name](event_of(name))


@pytest.mark.parametrize(
    ("source", "detail_type"),
    [
        ("secnotify", "Security Problem"),
        ("aws.inspector2", "Inspector2 Coverage"),
        ("aws.guardduty", "Inspector2 Finding"),
        ("aws.securityhub", "Security Hub Findings - Custom Action"),
        (None, "GuardDuty Finding"),
        (["aws.guardduty"], "GuardDuty Finding"),
        ("aws.guardduty", {"GuardDuty Finding": 1}),
    ],
)
def test_an_unknown_pair_is_left_to_the_secnotify_parser(source: Any, detail_type: Any) -> None:
    event = guardduty_event()
    event.update({"source": source, "detail-type": detail_type})
    assert parse_findings(event) is None


@pytest.mark.parametrize("event", [None, [], "{}", 7, [guardduty_event()]])
def test_a_non_object_event_is_left_to_the_secnotify_parser(event: Any) -> None:
    assert parse_findings(event) is None


def test_a_known_pair_that_cannot_be_read_is_malformed() -> None:
    event = guardduty_event({"title": "no arn"})
    with pytest.raises(MalformedEvent, match=r"detail\.arn is missing"):
        parse_findings(event)


def test_inspector_finding_is_one_problem_natively_and_through_security_hub() -> None:
    native = event_of("inspector2-ec2-package-closed.json")
    native["detail"].update(findingArn=INSPECTOR_ARN, status="ACTIVE")
    [direct] = parse_findings(native) or []
    [through] = parse_findings(asff_event(inspector_asff())) or []
    assert direct.source is through.source is FindingSource.INSPECTOR
    assert (direct.finding_id, direct.display_id, direct.console_url) == (
        through.finding_id,
        through.display_id,
        through.console_url,
    )
    assert direct.console_url.startswith("https://eu-west-1.console.aws.amazon.com/inspector/")


def test_guardduty_finding_is_one_problem_natively_and_through_security_hub() -> None:
    native = guardduty_event()
    native["detail"].update(arn=GUARDDUTY_ARN, region="us-east-1", id="not-the-arn-tail")
    [direct] = parse_findings(native) or []
    [through] = parse_findings(asff_event(guardduty_asff())) or []
    assert direct.source is through.source is FindingSource.GUARDDUTY
    assert (direct.finding_id, direct.display_id, direct.console_url) == (
        through.finding_id,
        through.display_id,
        through.console_url,
    )
    assert direct.console_url.endswith("&fId=46ba0ac2845071e23ccdeb2ae03bfdea")
