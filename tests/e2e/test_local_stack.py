"""End to end through the local stack: put_events on the embedded endpoint -> the rule from
template.yaml -> the dispatcher -> a webhook sink; and the API over real HTTP on its port."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import urllib3

from local.send import entry
from tests.conftest import load_event
from tests.e2e.conftest import http

pytestmark = pytest.mark.e2e


def wait_for(sink: Any, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sink.lock:
            if len(sink.received) >= count:
                return list(sink.received)
        time.sleep(0.05)
    raise AssertionError(f"sink got {len(sink.received)} of {count} notifications")


def test_put_events_reaches_the_sink_through_the_templates_rule(running: Any) -> None:
    api = running.api_url
    status, profile = http("POST", f"{api}/alerting-profiles", load_event("api/profile.json"))
    assert status == 201
    integration = load_event("api/integration-slack.json")
    integration["alertingProfileId"] = profile["id"]
    integration["webhook"]["url"] = f"{running.sink.url}/hooks/slack"
    status, created = http("POST", f"{api}/integrations", integration)
    assert status == 201, created

    events = boto3.client("events", endpoint_url=running.endpoint)
    opened = load_event("eventbridge/opened.json")
    bus = running.stack.event_bus_name
    # Matching, wrong detail-type and wrong source: only the first passes the rule.
    stray_type = {**opened, "detail-type": "Security Finding Opened"}
    stray_source = {**opened, "source": "someone-else"}
    resp = events.put_events(Entries=[entry(e, bus) for e in (opened, stray_type, stray_source)])
    assert resp["FailedEntryCount"] == 0

    (received,) = wait_for(running.sink, 1)
    time.sleep(1.5)  # anything the rule should have filtered would have arrived by now
    assert len(running.sink.received) == 1
    assert received["path"] == "/hooks/slack"
    assert received["headers"]["webhook-id"].startswith("msg_")
    text = json.loads(received["body"])["text"]
    assert opened["detail"]["displayId"] in text and opened["detail"]["title"] in text

    status, log = http("GET", f"{api}/integrations/{created['id']}/deliveries")
    assert status == 200 and log["items"][0]["status"] == "SUCCEEDED"


def test_every_sample_event_flows_and_the_hostile_one_stays_valid_json(running: Any) -> None:
    api = running.api_url
    _, profile = http("POST", f"{api}/alerting-profiles", load_event("api/profile.json"))
    integration = load_event("api/integration-slack.json")
    integration["alertingProfileId"] = profile["id"]
    integration["webhook"]["url"] = f"{running.sink.url}/hooks/slack"
    assert http("POST", f"{api}/integrations", integration)[0] == 201
    names = ["opened", "reopened", "resolved", "zone-added", "derived-risk", "hostile", "muted"]
    events = boto3.client("events", endpoint_url=running.endpoint)
    samples = [load_event(f"eventbridge/{n}.json") for n in names]
    events.put_events(Entries=[entry(e, running.stack.event_bus_name) for e in samples])
    received = wait_for(running.sink, len(names) - 1)  # muted never notifies
    time.sleep(1.0)
    assert len(running.sink.received) == len(names) - 1
    bodies = [json.loads(r["body"])["text"] for r in received]
    hostile = samples[names.index("hostile")]["detail"]
    assert any(hostile["title"] in b and hostile["description"] in b for b in bodies)


def test_api_over_http_answers_json_errors(running: Any) -> None:
    status, body = http("GET", f"{running.api_url}/integrations/nope")
    assert status == 404 and "nope" in body["message"]
    json_type = {"Content-Type": "application/json"}
    resp = urllib3.request(
        "POST", f"{running.api_url}/alerting-profiles", body=b"{", headers=json_type, timeout=10
    )
    assert resp.status == 400 and "JSON" in resp.json()["message"]
    # A body without a Content-Type: refused for its type, before it is read.
    resp = urllib3.request("POST", f"{running.api_url}/alerting-profiles", body=b'{"name": "p"}', timeout=10)
    assert resp.status == 415 and "application/json" in resp.json()["message"]


def _queue_depth(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _bad_message(i: int) -> str:
    """Four kinds of message the pump cannot hand over as an event, each carrying its marker."""
    marker = f"bad-{i:03d}"
    kind = i % 4
    if kind == 0:  # decoding it raises RecursionError
        return "[" * 3000 + json.dumps(marker) + "]" * 3000
    if kind == 1:  # not JSON at all
        return f"not json at all: {marker}"
    if kind == 2:  # what invalid UTF-8 becomes when decoded leniently: lone surrogates
        return json.dumps(
            {"id": marker, "detail-type": "Security Problem Opened", "detail": {"title": "\udcff\udcfe"}}
        )
    return json.dumps({"Records": marker})  # makes the handler itself raise


def test_a_flood_with_undecodable_messages_delivers_every_good_event(running: Any) -> None:
    api = running.api_url
    _, profile = http("POST", f"{api}/alerting-profiles", load_event("api/profile.json"))
    integration = load_event("api/integration-slack.json")
    integration["alertingProfileId"] = profile["id"]
    integration["webhook"]["url"] = f"{running.sink.url}/hooks/flood"
    assert http("POST", f"{api}/integrations", integration)[0] == 201

    events = boto3.client("events", endpoint_url=running.endpoint)
    sqs = boto3.client("sqs", endpoint_url=running.endpoint)
    opened = load_event("eventbridge/opened.json")
    good: list[str] = []
    bad: list[str] = []
    for round_ in range(30):  # 30 rounds of 9 good events and 1 bad message: 300 in all
        entries = []
        for j in range(9):
            display = f"S-{round_:02d}{j}"
            good.append(display)
            entries.append(entry({**opened, "detail": {**opened["detail"], "displayId": display}}, "default"))
        assert events.put_events(Entries=entries)["FailedEntryCount"] == 0
        marker = f"bad-{round_:03d}"
        bad.append(marker)
        sqs.send_message(QueueUrl=running.stack.inbox_queue_url, MessageBody=_bad_message(round_))

    received = wait_for(running.sink, len(good), timeout=120)
    texts = [json.loads(r["body"])["text"] for r in received]
    assert sorted(d for d in good if any(f"*{d}*" in t for t in texts)) == sorted(good)

    dead: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (
        len(dead) < len(bad) or _queue_depth(sqs, running.stack.inbox_queue_url)
    ):
        resp = sqs.receive_message(
            QueueUrl=running.stack.dead_letter_queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        for m in resp.get("Messages", []):
            dead.append(m["Body"])
            sqs.delete_message(QueueUrl=running.stack.dead_letter_queue_url, ReceiptHandle=m["ReceiptHandle"])
    # Every bad message in the dead-letter queue, once each, and nothing good there.
    assert sorted(marker for marker in bad if sum(marker in body for body in dead) == 1) == sorted(bad)
    assert len(dead) == len(bad)
    assert _queue_depth(sqs, running.stack.inbox_queue_url) == 0
    time.sleep(0.5)
    assert len(running.sink.received) == len(good)


def test_put_events_fails_only_the_entries_with_a_malformed_detail(running: Any) -> None:
    api = running.api_url
    _, profile = http("POST", f"{api}/alerting-profiles", load_event("api/profile.json"))
    integration = load_event("api/integration-slack.json")
    integration["alertingProfileId"] = profile["id"]
    integration["webhook"]["url"] = f"{running.sink.url}/hooks/mixed"
    assert http("POST", f"{api}/integrations", integration)[0] == 201

    opened = load_event("eventbridge/opened.json")
    first, last = (
        entry({**opened, "detail": {**opened["detail"], "displayId": d}}, "default") for d in ("S-1", "S-2")
    )
    details = ['"this should be an object"', "[1, 2]", "{not json", "[" * 3000 + "]" * 3000, "null"]
    malformed = [{**first, "Detail": d} for d in details]
    events = boto3.client("events", endpoint_url=running.endpoint)
    resp = events.put_events(Entries=[first, *malformed, last])
    assert resp["FailedEntryCount"] == len(details)
    results = resp["Entries"]
    assert (
        "EventId" in results[0]
        and "EventId" in results[-1]
        and results[0]["EventId"] != results[-1]["EventId"]
    )
    assert [r.get("ErrorCode") for r in results[1:-1]] == ["MalformedDetail"] * len(details)
    received = wait_for(running.sink, 2)
    time.sleep(1.0)
    assert len(running.sink.received) == 2
    assert sorted(json.loads(r["body"])["text"].split("*")[1] for r in received) == ["S-1", "S-2"]
    # Only malformed entries: every one fails, none is sent on.
    resp = events.put_events(Entries=malformed[:2])
    assert resp["FailedEntryCount"] == 2 and all(r["ErrorCode"] == "MalformedDetail" for r in resp["Entries"])


def _documented_malformed_samples() -> dict[str, str]:
    """The README's table of what `make send` does with each malformed sample."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Events", 1)[1].split("\n## ", 1)[0]
    table = section.split("| sample | `make send", 1)[1]
    documented: dict[str, str] = {}
    for line in table.splitlines()[2:]:
        if not line.startswith("|"):
            break
        samples, outcome = line.strip("|").split("|", 1)
        for name in re.findall(r"`([\w-]+\.json)`", samples):
            documented[name] = outcome
    return documented


def _make_send(path: Path, endpoint: str, bus: str) -> tuple[int, Any]:
    """`make send EVENT=path`: local.send in its own process, as the Makefile runs it."""
    root = Path(__file__).resolve().parents[2]
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint,
        "EVENT_BUS_NAME": bus,
        "PYTHONPATH": os.pathsep.join([str(root / "layers"), str(root)]),
    }
    done = subprocess.run(
        [sys.executable, "-m", "local.send", str(path)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def test_each_malformed_sample_does_what_the_readme_says_through_make_send(running: Any) -> None:
    api = running.api_url
    _, profile = http("POST", f"{api}/alerting-profiles", load_event("api/profile.json"))
    integration = load_event("api/integration-slack.json")
    integration["alertingProfileId"] = profile["id"]
    integration["webhook"]["url"] = f"{running.sink.url}/hooks/samples"
    assert http("POST", f"{api}/integrations", integration)[0] == 201

    folder = Path(__file__).resolve().parents[2] / "events" / "eventbridge" / "malformed"
    documented = _documented_malformed_samples()
    assert sorted(documented) == sorted(p.name for p in folder.glob("*.json"))
    dead_lettered: dict[str, str] = {}
    delivered: list[str] = []
    for name, outcome in sorted(documented.items()):
        status, printed = _make_send(folder / name, running.endpoint, running.stack.event_bus_name)
        refusal = re.search(r"fails with `(\w+)`", outcome)
        if refusal:
            assert status == 1 and printed == [
                {"ErrorCode": refusal.group(1), "ErrorMessage": printed[0]["ErrorMessage"]}
            ]
            continue
        assert status == 0 and "EventId" in printed[0], name
        if "dead-lettered by the dispatcher" in outcome:
            dead_lettered[name] = load_event(f"eventbridge/malformed/{name}")["detail-type"]
        else:
            assert "delivered like" in outcome, (name, outcome)
            delivered.append(name)
    # Accepted samples carry EventBridge's id, not their own: find their dead letters by detail-type
    # and content, and the delivered one at the sink.
    assert delivered == ["missing-id.json"]
    (notification,) = wait_for(running.sink, 1)
    assert "S-1234" in json.loads(notification["body"])["text"]
    sqs = boto3.client("sqs", endpoint_url=running.endpoint)
    dead: list[dict[str, Any]] = []
    deadline = time.monotonic() + 20
    while len(dead) < len(dead_lettered) and time.monotonic() < deadline:
        resp = sqs.receive_message(
            QueueUrl=running.stack.dead_letter_queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
        )
        dead += resp.get("Messages", [])
    assert len(dead) == len(dead_lettered) == 9
    reasons = sorted(m["MessageAttributes"]["reason"]["StringValue"] for m in dead)
    assert all(m["MessageAttributes"]["kind"]["StringValue"] == "event" for m in dead)
    for field in (
        "detail-type",
        "detail.muted",
        "detail.riskAssessment.riskLevel",
        "detail.riskAssessment.riskScore",
        "detail.attackId",
        "detail.state",
        "detail.timestamp",
        "detail.dedupKey",
    ):
        assert any(r.startswith(field) for r in reasons), (field, reasons)
    time.sleep(0.5)
    assert len(running.sink.received) == 1
