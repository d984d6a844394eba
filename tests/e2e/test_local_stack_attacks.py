"""Attacks end to end through the local stack: put_events on the embedded endpoint -> the
dispatcher's rule from template.yaml (which takes ``Security Attack Detected`` beside the
``Security Problem`` prefix) -> the dispatcher -> a webhook sink. EventBridge gives every put its
own envelope id, so a change put twice reaches the sink once only through its dedupKey."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from local.send import entry
from tests.conftest import load_event
from tests.e2e.conftest import http

pytestmark = pytest.mark.e2e

PAYLOAD = '{"attack": "{AttackDisplayId}", "state": "{AttackState}", "type": "{Type}", "url": "{AttackUrl}"}'


def wait_for(sink: Any, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sink.lock:
            if len(sink.received) >= count:
                return list(sink.received)
        time.sleep(0.05)
    raise AssertionError(f"sink got {len(sink.received)} of {count} notifications")


def _integration(running: Any, profile: dict[str, Any], path: str) -> str:
    api = running.api_url
    status, created = http("POST", f"{api}/alerting-profiles", profile)
    assert status == 201, created
    integration = load_event("api/integration-slack.json")
    integration["alertingProfileId"] = created["id"]
    integration["displayName"] = f"hook {path}"
    integration["webhook"]["url"] = f"{running.sink.url}{path}"
    integration["webhook"]["payload"] = PAYLOAD
    status, hook = http("POST", f"{api}/integrations", integration)
    assert status == 201, hook
    return str(hook["id"])


def test_an_attack_put_twice_reaches_the_sink_once(running: Any) -> None:
    from secnotify.service.notify import webhook_id
    from secnotify.sources.eventbridge import dedup_event_id

    attack = load_event("eventbridge/attack-exploited.json")
    iid = _integration(
        running,
        {
            "name": "exploited attacks",
            "enabledTriggerEvents": ["ATTACK_DETECTED"],
            "enabledAttackMitigations": ["NONE_BLOCKING_DISABLED"],
        },
        "/hooks/attacks",
    )
    _integration(running, load_event("api/profile.json"), "/hooks/problems")  # problems only
    events = boto3.client("events", endpoint_url=running.endpoint)
    bus = running.stack.event_bus_name
    stray = {**attack, "detail-type": "Security Attack Detected Again"}  # not the rule's detail-type
    for batch in ([attack, stray], [attack]):  # the second put: a copy under a new envelope id
        resp = events.put_events(Entries=[entry(e, bus) for e in batch])
        assert resp["FailedEntryCount"] == 0
        time.sleep(0.5)

    (received,) = wait_for(running.sink, 1)
    time.sleep(2.0)  # a second delivery, or one to the problems hook, would have arrived by now
    assert len(running.sink.received) == 1
    assert received["path"] == "/hooks/attacks"
    assert json.loads(received["body"]) == {
        "attack": "A-4321",
        "state": "EXPLOITED",
        "type": "SQL_INJECTION",
        "url": attack["detail"]["url"],
    }
    key = attack["detail"]["dedupKey"]
    assert received["headers"]["webhook-id"] == webhook_id(dedup_event_id(key), iid)
    status, log = http("GET", f"{running.api_url}/integrations/{iid}/deliveries")
    assert status == 200
    assert [(r["status"], r["eventId"]) for r in log["items"]] == [("SUCCEEDED", dedup_event_id(key))]


def test_each_attack_state_reaches_the_profile_that_wants_it(running: Any) -> None:
    every = ["NONE_BLOCKING_DISABLED", "BLOCKED_WITH_EXCEPTION", "NONE_ALLOWLISTED"]
    paths = {}
    for mitigation in every:
        path = f"/hooks/{mitigation.lower()}"
        _integration(
            running,
            {
                "name": mitigation,
                "enabledTriggerEvents": ["ATTACK_DETECTED"],
                "enabledAttackMitigations": [mitigation],
            },
            path,
        )
        paths[mitigation] = path
    samples = [
        load_event(f"eventbridge/attack-{n}.json") for n in ("exploited", "blocked", "allowlisted", "hostile")
    ]
    events = boto3.client("events", endpoint_url=running.endpoint)
    assert (
        events.put_events(Entries=[entry(e, running.stack.event_bus_name) for e in samples])[
            "FailedEntryCount"
        ]
        == 0
    )
    received = wait_for(running.sink, 4)
    time.sleep(1.0)
    assert len(running.sink.received) == 4
    by_path: dict[str, list[str]] = {}
    for request in received:
        by_path.setdefault(request["path"], []).append(json.loads(request["body"])["state"])
    assert {p: sorted(s) for p, s in by_path.items()} == {
        paths["NONE_BLOCKING_DISABLED"]: ["EXPLOITED", "EXPLOITED"],  # the hostile one is exploited too
        paths["BLOCKED_WITH_EXCEPTION"]: ["BLOCKED"],
        paths["NONE_ALLOWLISTED"]: ["ALLOWLISTED"],
    }
