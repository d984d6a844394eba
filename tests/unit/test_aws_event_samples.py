"""events/aws/: every sample parses, with the project's own parsers, to what its name and
events/aws/README.md claim, and template.yaml's rules route it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from local.cfn import function_events, load_template
from local.send import bus_for, send_entry
from secnotify.models.common import EventRiskLevel
from secnotify.models.finding import FindingSnapshot, FindingStatus
from secnotify.sources.findings import parse_findings

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "events" / "aws"

# Per detail-type: the three snapshots in the order they are sent, each with its status class.
SERIES: dict[str, tuple[tuple[str, FindingStatus], ...]] = {
    "inspector": (
        ("inspector-active.json", FindingStatus.ACTIVE),
        ("inspector-unchanged.json", FindingStatus.ACTIVE),
        ("inspector-closed.json", FindingStatus.RESOLVED),
    ),
    "securityhub-asff": (
        ("securityhub-asff-active.json", FindingStatus.ACTIVE),
        ("securityhub-asff-unchanged.json", FindingStatus.ACTIVE),
        ("securityhub-asff-resolved.json", FindingStatus.RESOLVED),
    ),
    "securityhub-ocsf": (
        ("securityhub-ocsf-active.json", FindingStatus.ACTIVE),
        ("securityhub-ocsf-unchanged.json", FindingStatus.ACTIVE),
        ("securityhub-ocsf-resolved.json", FindingStatus.RESOLVED),
    ),
    # GuardDuty has no resolved state; archived is muted.
    "guardduty": (
        ("guardduty-active.json", FindingStatus.ACTIVE),
        ("guardduty-unchanged.json", FindingStatus.ACTIVE),
        ("guardduty-archived.json", FindingStatus.MUTED),
    ),
}
ALL = [(name, status) for series in SERIES.values() for name, status in series]


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    return event


def snapshot(name: str) -> FindingSnapshot:
    snapshots = parse_findings(load(name))
    assert snapshots is not None, f"{name} is no AWS finding event the parsers know"
    [one] = snapshots
    return one


def test_every_sample_file_is_checked_and_documented() -> None:
    on_disk = sorted(p.name for p in SAMPLES.glob("*.json"))
    assert on_disk == sorted(name for name, _ in ALL)
    readme = (SAMPLES / "README.md").read_text(encoding="utf-8")
    for name in on_disk:
        assert f"`{name}`" in readme, f"events/aws/README.md does not describe {name}"


@pytest.mark.parametrize(("name", "status"), ALL)
def test_sample_parses_to_the_status_it_claims(name: str, status: FindingStatus) -> None:
    found = snapshot(name)
    assert found.status is status
    # A default profile (CRITICAL and HIGH) matches every sample.
    assert found.risk_level in {EventRiskLevel.HIGH, EventRiskLevel.CRITICAL}
    assert found.title and found.account_id and found.region
    assert not found.sample


@pytest.mark.parametrize("series", list(SERIES))
def test_a_series_is_one_finding_and_the_resend_changes_nothing_that_notifies(series: str) -> None:
    active, unchanged, closing = (snapshot(name) for name, _ in SERIES[series])
    assert active.finding_id == unchanged.finding_id == closing.finding_id
    assert active.updated_at < unchanged.updated_at < closing.updated_at
    # What decides a transition: the status class, the risk level and the zone ids.
    decisive = [(s.status, s.risk_level, s.account_id, s.region) for s in (active, unchanged)]
    assert decisive[0] == decisive[1]
    assert (closing.risk_level, closing.account_id, closing.region) == (
        active.risk_level,
        active.account_id,
        active.region,
    )
    # And yet it is a new snapshot: something the services re-send for did change.
    assert load(SERIES[series][0][0]) != load(SERIES[series][1][0])


def test_inspector_samples_show_the_documented_shape() -> None:
    active = snapshot("inspector-active.json")
    assert active.display_id == "INS-3c1a9f0e2b7d"
    # The finding's account, not the one the local endpoint stamps on every event.
    assert (active.account_id, active.region) == ("111122223333", "eu-central-1")
    assert active.cve_ids == ("CVE-2024-29069",)
    assert active.fix_available == "YES"
    unchanged = snapshot("inspector-unchanged.json")
    assert [(t.key, t.value) for t in unchanged.tags] == [("Team", "platform")]


def rule_patterns() -> list[dict[str, Any]]:
    rules = function_events(load_template(), "DispatcherFunction", "EventBridgeRule")
    return [p["Pattern"] for p in rules.values() if "EventBusName" not in p]


@pytest.mark.parametrize(("name", "status"), ALL)
def test_a_default_bus_rule_of_the_template_takes_the_sample(name: str, status: FindingStatus) -> None:
    event = load(name)
    matching = [
        p
        for p in rule_patterns()
        if p["source"] == [event["source"]] and p["detail-type"] == [event["detail-type"]]
    ]
    assert len(matching) == 1, f"{name}: {event['source']} / {event['detail-type']} has no rule of its own"
    # make send puts it where those rules listen, whatever EVENT_BUS_NAME says.
    assert bus_for(event, "custom-bus") == "default"
    assert send_entry(event, "custom-bus")["EventBusName"] == "default"


def test_make_send_keeps_other_events_on_the_configured_bus() -> None:
    opened = json.loads((ROOT / "events" / "eventbridge" / "opened.json").read_text(encoding="utf-8"))
    assert send_entry(opened, "custom-bus")["EventBusName"] == "custom-bus"
    assert bus_for({"source": "awsome.security"}, "custom-bus") == "custom-bus"
    assert bus_for({"source": ["aws.inspector2"]}, "custom-bus") == "custom-bus"


def test_readme_section_names_real_samples_and_the_templates_parameters() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Findings from AWS security services\n", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"events/aws/([\w-]+\.json)", section))
    assert named >= {"inspector-active.json", "inspector-unchanged.json", "inspector-closed.json"}
    assert named <= {name for name, _ in ALL}
    parameters = load_template()["Parameters"]
    switches = {
        "InspectorFindings",
        "SecurityHubFindings",
        "SecurityHubOcsfFindings",
        "GuardDutyFindings",
        "SourceBaselineHours",
        "NoEventsAlarmHours",
    }
    assert switches <= set(parameters)
    deploy = readme.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
    for name in switches:
        assert f"`{name}`" in section, name
        assert re.search(rf"^\| [^|]*`{name}`", deploy, re.M), f"the Deploy table has no row for {name}"
    for rule in rule_patterns():
        assert f"`{rule['source'][0]}` | `{rule['detail-type'][0]}`" in section
