"""End to end through the local stack with an AWS finding: `make send` of a documented Inspector
sample -> the default bus -> template.yaml's Inspector rule -> the dispatcher -> the sink, only for
the profile whose management zone is the finding's account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import load_event
from tests.e2e.conftest import http

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ACTIVE = ROOT / "events" / "aws" / "inspector-active.json"
UNCHANGED = ROOT / "events" / "aws" / "inspector-unchanged.json"
CLOSED = ROOT / "events" / "aws" / "inspector-closed.json"
# Every field from placeholders that exist for every source.
PAYLOAD = json.dumps(
    {
        "id": "{SecurityProblemId}",
        "trigger": "{TriggerEvent}",
        "status": "{Status}",
        "level": "{RiskLevel}",
        "zones": "{ManagementZones}",
        "title": "{Title}",
    }
)


def make_send(path: Path, running: Any) -> None:
    """`make send EVENT=path`: local.send in its own process, as the Makefile runs it, with
    EVENT_BUS_NAME at the stack's bus for the SourceName events."""
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": running.endpoint,
        "EVENT_BUS_NAME": running.stack.event_bus_name,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers"), str(ROOT)]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "local.send", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "EventId" in json.loads(done.stdout)[0]


def integration_for(running: Any, zone: str, path: str) -> str:
    profile = {**load_event("api/profile.json"), "name": f"zone {zone}", "managementZone": zone}
    status, created = http("POST", f"{running.api_url}/alerting-profiles", profile)
    assert status == 201, created
    integration = load_event("api/integration-slack.json")
    integration["alertingProfileId"] = created["id"]
    integration["displayName"] = f"zone {zone} to {path}"  # names are unique within a stack
    integration["webhook"]["url"] = f"{running.sink.url}{path}"
    integration["webhook"]["payload"] = PAYLOAD
    status, made = http("POST", f"{running.api_url}/integrations", integration)
    assert status == 201, made
    return str(made["id"])


def received(running: Any) -> list[dict[str, Any]]:
    with running.sink.lock:
        return list(running.sink.received)


def wait_for(running: Any, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = received(running)
        if len(got) >= count:
            return got
        time.sleep(0.05)
    raise AssertionError(f"sink got {len(received(running))} of {count} notifications")


def settle(running: Any, expected: int) -> list[dict[str, Any]]:
    """The notifications once anything the stack would still send has had time to arrive."""
    got = wait_for(running, expected)
    time.sleep(1.5)
    assert len(received(running)) == expected, [r["path"] for r in received(running)]
    return got


def test_an_inspector_finding_reaches_the_profile_of_its_account_and_resolves_there(running: Any) -> None:
    sample = json.loads(ACTIVE.read_text(encoding="utf-8"))
    account = sample["detail"]["awsAccountId"]
    # The local endpoint stamps its own account on every event: the zone must be the finding's.
    assert account != "123456789012"
    ours = integration_for(running, account, "/hooks/account")
    other = integration_for(running, "999988887777", "/hooks/other-account")

    make_send(ACTIVE, running)
    (opened,) = settle(running, 1)
    assert opened["path"] == "/hooks/account"
    body = json.loads(opened["body"])
    assert body["id"] == "INS-3c1a9f0e2b7d"
    assert body["trigger"] == "SECURITY_PROBLEM_OPENED"
    assert (body["status"], body["level"]) == ("OPEN", "HIGH")
    assert account in body["zones"] and "eu-central-1" in body["zones"]
    assert body["title"] == sample["detail"]["title"]

    # The same state again, a tag changed: nobody hears of it.
    make_send(UNCHANGED, running)
    settle(running, 1)

    make_send(CLOSED, running)
    resolved = settle(running, 2)[1]
    assert resolved["path"] == "/hooks/account"
    body = json.loads(resolved["body"])
    assert (body["id"], body["trigger"], body["status"]) == (
        "INS-3c1a9f0e2b7d",
        "SECURITY_PROBLEM_RESOLVED",
        "RESOLVED",
    )
    assert resolved["headers"]["webhook-id"] != opened["headers"]["webhook-id"]

    status, log = http("GET", f"{running.api_url}/integrations/{ours}/deliveries")
    assert status == 200
    assert sorted((r["trigger"], r["status"]) for r in log["items"]) == [
        ("SECURITY_PROBLEM_OPENED", "SUCCEEDED"),
        ("SECURITY_PROBLEM_RESOLVED", "SUCCEEDED"),
    ]
    assert {r["securityProblemId"] for r in log["items"]} == {"INS-3c1a9f0e2b7d"}
    status, log = http("GET", f"{running.api_url}/integrations/{other}/deliveries")
    assert (status, log["items"]) == (200, [])


SERIES = ("inspector-{}.json", "securityhub-asff-{}.json", "securityhub-ocsf-{}.json", "guardduty-{}.json")
CLOSING = {
    "inspector": "closed",
    "securityhub-asff": "resolved",
    "securityhub-ocsf": "resolved",
    "guardduty": "archived",
}


def test_every_sample_detail_type_opens_stays_quiet_and_closes_through_the_templates_rules(
    running: Any,
) -> None:
    profile = {k: v for k, v in load_event("api/profile.json").items() if k != "managementZone"}
    status, created = http("POST", f"{running.api_url}/alerting-profiles", profile)
    assert status == 201, created
    integration = load_event("api/integration-slack.json")
    integration["alertingProfileId"] = created["id"]
    integration["webhook"]["url"] = f"{running.sink.url}/hooks/all"
    integration["webhook"]["payload"] = PAYLOAD
    assert http("POST", f"{running.api_url}/integrations", integration)[0] == 201

    folder = ROOT / "events" / "aws"
    # Each stage settles before the next, so no finding's snapshots can overtake each other.
    # Opened four times, then nothing, then resolved three times: GuardDuty's archived finding is
    # muted, not resolved.
    for stage, total in (("active", 4), ("unchanged", 4), ("closing", 7)):
        for pattern in SERIES:
            name = pattern.format(CLOSING[pattern.removesuffix("-{}.json")] if stage == "closing" else stage)
            make_send(folder / name, running)
        got = settle(running, total)
    told = sorted((b["trigger"], b["id"].split("-")[0]) for b in (json.loads(r["body"]) for r in got))
    assert told == sorted(
        [("SECURITY_PROBLEM_OPENED", code) for code in ("INS", "SHB", "GD", "GD")]
        + [("SECURITY_PROBLEM_RESOLVED", code) for code in ("INS", "SHB", "GD")]
    )
