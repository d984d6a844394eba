"""`secnotify deliveries …` and `secnotify explain` against the signed local API."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.cli.conftest import Cli, require_route, write
from tests.cli.test_cli_objects import _integration, _profile
from tests.integration.servers import Receiver, Reply


def _hook(cli: Cli, tmp_path: Path, url: str, profile: dict[str, object] | None = None) -> str:
    pid = _profile(cli, tmp_path, profile)
    created = cli.ok(
        "-o", "json", "integrations", "create", "-f", write(tmp_path, "i.json", _integration(pid, url))
    )
    return str(created.json()["id"])


def test_deliveries_list_and_redeliver(cli: Cli, tmp_path: Path) -> None:
    with Receiver() as rx:
        iid = _hook(cli, tmp_path, rx.url("/"))
        rx.reply(Reply(status=500, body=b"receiver down"))
        assert cli("integrations", "test", "hook").code == 4
        cli.ok("integrations", "test", "hook")
        records = cli.ok("deliveries", "list", "hook", "-o", "json").json()
        table = cli.ok("deliveries", "list", iid).out.splitlines()
        failed = next(r for r in records if r["status"] == "FAILED")
        again = cli.ok("deliveries", "redeliver", "hook", failed["deliveryId"])
        first, _, third = rx.wait_for(3)
    assert [r["status"] for r in records] == ["SUCCEEDED", "FAILED"]  # newest first
    assert table[0].split()[:6] == ["DELIVERY", "CREATED", "INTEGRATION", "KIND", "ATTEMPT", "STATUS"]
    assert failed["deliveryId"] in table[2] and "FAILED" in table[2] and "500" in table[2]
    assert again.out.startswith(f"redelivery of {failed['deliveryId']}: delivered, HTTP 200")
    assert third.header("webhook-id") == first.header("webhook-id")
    assert len(cli.ok("deliveries", "list", "hook", "--limit", "1", "-o", "json").json()) == 1


def test_deliveries_list_needs_an_integration_or_an_event(cli: Cli) -> None:
    result = cli("deliveries", "list")
    assert result.code == 2 and "name an integration, or an event with --event ID" in result.err


def test_deliveries_filters(cli: Cli, tmp_path: Path) -> None:
    require_route(cli.url, "GET", "/events/{event_id}/deliveries")
    with Receiver() as rx:
        _hook(cli, tmp_path, rx.url("/"))
        rx.reply(Reply(status=500))
        cli("integrations", "test", "hook")
        cli.ok("integrations", "test", "hook")
        failed = cli.ok("deliveries", "list", "hook", "--status", "FAILED", "-o", "json").json()
        assert [r["status"] for r in failed] == ["FAILED"]
        event_id = failed[0]["eventId"]
        by_event = cli.ok("deliveries", "list", "hook", "--event", event_id, "-o", "json").json()
        assert {r["eventId"] for r in by_event} == {event_id}
        across = cli.ok("deliveries", "list", "--event", event_id, "-o", "json").json()
        assert {r["eventId"] for r in across} == {event_id}
        # Redelivered, the failed test's event holds a FAILED and a SUCCEEDED record: the status
        # filter holds on one event's listing too.
        rx.reply(Reply(status=200))
        cli.ok("deliveries", "redeliver", "hook", failed[0]["deliveryId"])
        both = cli.ok("deliveries", "list", "--event", event_id, "-o", "json").json()
        assert sorted(r["status"] for r in both) == ["FAILED", "SUCCEEDED"]
        only = cli.ok("deliveries", "list", "--event", event_id, "--status", "FAILED", "-o", "json").json()
        assert [r["status"] for r in only] == ["FAILED"]


def test_deliveries_show(cli: Cli, tmp_path: Path) -> None:
    require_route(cli.url, "GET", "/integrations/{integration_id}/deliveries/{delivery_id}")
    with Receiver() as rx:
        _hook(cli, tmp_path, rx.url("/"))
        sent = cli.ok("integrations", "test", "hook", "-o", "json").json()
        shown = yaml.safe_load(cli.ok("deliveries", "show", "hook", sent["deliveryId"]).out)
    assert shown["deliveryId"] == sent["deliveryId"] and shown["status"] == "SUCCEEDED"
    assert "cli-secret-value" not in json.dumps(shown)


def test_explain_says_why_not(cli: Cli, tmp_path: Path) -> None:
    require_route(cli.url, "POST", "/events/explain")
    iid = _hook(cli, tmp_path, "http://127.0.0.1:9/", {"name": "low only", "enabledRiskLevels": ["LOW"]})
    event = json.loads(Path("events/eventbridge/opened.json").read_text(encoding="utf-8"))  # CRITICAL
    table = cli.ok("explain", write(tmp_path, "event.json", event)).out.splitlines()
    assert table[0].split() == ["INTEGRATION", "NAME", "MATCHED", "REASON", "MESSAGE"]
    items = cli.ok("explain", write(tmp_path, "event.json", event), "-o", "json").json()["items"]
    (item,) = items
    assert item["integrationId"] == iid and item["matched"] is False and item["reason"] == "RISK_LEVEL"
    assert iid in table[1] and "RISK_LEVEL" in table[1]


def test_explain_reads_yaml_and_refuses_a_non_object(cli: Cli, tmp_path: Path) -> None:
    result = cli("explain", write(tmp_path, "e.yaml", "- not\n- an event\n"))
    assert result.code == 2 and "expected one object" in result.err


def test_explain_says_why_for_each_reason(cli: Cli, tmp_path: Path) -> None:
    # One integration per reason a user asks about, each otherwise matching the opened event
    # (CRITICAL, opened, in the zone "production"), and one that matches.
    everything = {"enabledRiskLevels": ["CRITICAL", "HIGH", "MEDIUM", "LOW"]}
    cases = {
        "matches": ({"name": "all", **everything}, True),
        "disabled": ({"name": "for disabled", **everything}, False),
        "level": ({"name": "low only", "enabledRiskLevels": ["LOW"]}, True),
        "trigger": (
            {"name": "resolved only", **everything, "enabledTriggerEvents": ["SECURITY_PROBLEM_RESOLVED"]},
            True,
        ),
        "zone": ({"name": "elsewhere", **everything, "managementZone": "elsewhere"}, True),
    }
    ids = {}
    for name, (profile, enabled) in cases.items():
        pid = _profile(cli, tmp_path, profile)
        body = {**_integration(pid, "http://127.0.0.1:9/", name), "enabled": enabled}
        ids[name] = cli.ok(
            "-o", "json", "integrations", "create", "-f", write(tmp_path, "i.json", body)
        ).json()["id"]
    events = Path("events/eventbridge")

    def reasons(event_file: str) -> dict[str, object]:
        event = json.loads((events / event_file).read_text(encoding="utf-8"))
        items = cli.ok("explain", write(tmp_path, "event.json", event), "-o", "json").json()["items"]
        return {
            name: next(i["reason"] for i in items if i["integrationId"] == iid) for name, iid in ids.items()
        }

    assert reasons("opened.json") == {
        "matches": None,
        "disabled": "INTEGRATION_DISABLED",
        "level": "RISK_LEVEL",
        "trigger": "TRIGGER",
        "zone": "ZONE",
    }
    # A muted problem reaches no enabled integration whose profile is on, and says why.
    muted = reasons("muted.json")
    assert muted["matches"] == "MUTED" and muted["disabled"] == "INTEGRATION_DISABLED"
    table = cli.ok("explain", str(events / "opened.json")).out
    for reason in ("INTEGRATION_DISABLED", "RISK_LEVEL", "TRIGGER", "ZONE"):
        assert reason in table
