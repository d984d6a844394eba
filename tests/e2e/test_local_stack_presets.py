"""A preset end to end on the local stack: a PagerDuty integration made from its preset over the
API, fed by put_events on the embedded endpoint, delivering to a receiver that answers as the
Events API v2 does, after checking each event against its documented rules."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import boto3
import pytest

from local.send import entry
from tests.conftest import load_event
from tests.e2e.conftest import http
from tests.e2e.jira_like import AUTH, JiraLike
from tests.integration.servers import Receiver, RecordedRequest, Reply
from tests.presets import rules

pytestmark = pytest.mark.e2e

ROUTING_KEY = "R0123456789ABCDEF0123456789ABCDE"


class EventsV2Receiver(Receiver):
    """202 with the dedup key for an event that keeps the Events API v2 rules, 400 with the broken
    rules otherwise, as PagerDuty answers (developer.pagerduty.com/docs/events-api-v2/overview/)."""

    def __init__(self) -> None:
        super().__init__()
        self._answer = threading.local()
        self.refused: list[list[str]] = []

    def _record(self, request: RecordedRequest) -> None:
        try:
            event = json.loads(request.body)
            problems = rules.pagerduty(event)
        except ValueError as exc:
            event, problems = {}, [f"not JSON: {exc}"]
        if request.path != "/v2/enqueue" or request.header("Content-Type") != "application/json":
            problems.append(f"{request.path} as {request.header('Content-Type')}")
        if problems:
            self.refused.append(problems)
            answer = {"status": "invalid event", "message": "Event object is invalid", "errors": problems}
            self._answer.reply = Reply(status=400, body=json.dumps(answer).encode())
        else:
            answer = {"status": "success", "message": "Event processed", "dedup_key": event["dedup_key"]}
            self._answer.reply = Reply(status=202, body=json.dumps(answer).encode())
        super()._record(request)

    def _next_reply(self) -> Reply:
        reply: Reply = self._answer.reply
        return reply


def test_a_pagerduty_preset_triggers_on_opened_and_resolves_on_resolved_with_one_dedup_key(
    running: Any,
) -> None:
    api = running.api_url
    status, profile = http("POST", f"{api}/alerting-profiles", load_event("api/profile.json"))
    assert status == 201
    events = boto3.client("events", endpoint_url=running.endpoint)
    bus = running.stack.event_bus_name
    with EventsV2Receiver() as pagerduty:
        body = {
            "displayName": "PagerDuty security",
            "alertingProfileId": profile["id"],
            "preset": "pagerduty",
            "presetFields": {"routingKey": ROUTING_KEY, "url": pagerduty.url("/v2/enqueue")},
        }
        status, created = http("POST", f"{api}/integrations", body)
        assert status == 201, created
        assert ROUTING_KEY not in json.dumps(created)

        opened, resolved = load_event("eventbridge/opened.json"), load_event("eventbridge/resolved.json")
        assert events.put_events(Entries=[entry(opened, bus)])["FailedEntryCount"] == 0
        pagerduty.wait_for(1, timeout=20)
        assert events.put_events(Entries=[entry(resolved, bus)])["FailedEntryCount"] == 0
        trigger, resolve = (json.loads(r.body) for r in pagerduty.wait_for(2, timeout=20))

    assert pagerduty.refused == []
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert trigger["dedup_key"] == resolve["dedup_key"] == opened["detail"]["securityProblemId"]
    assert trigger["routing_key"] == resolve["routing_key"] == ROUTING_KEY
    assert trigger["payload"]["severity"] == "critical"
    assert opened["detail"]["title"] in trigger["payload"]["summary"]

    status, log = http("GET", f"{api}/integrations/{created['id']}/deliveries")
    assert status == 200
    records = log["items"]
    assert [(r["trigger"], r["status"], r["statusCode"]) for r in records] == [
        ("SECURITY_PROBLEM_RESOLVED", "SUCCEEDED", 202),
        ("SECURITY_PROBLEM_OPENED", "SUCCEEDED", 202),
    ]
    # The routing key went out in the body; the log shows it masked.
    assert all(ROUTING_KEY not in json.dumps(r) for r in records)


JIRA_EMAIL, JIRA_TOKEN = "jira@example.com", "e2e-token-012345"  # jira_like.AUTH in Basic auth


def _jira_by_preset(profile_id: str, url: str) -> dict[str, Any]:
    fields = {"url": url, "email": JIRA_EMAIL, "apiToken": JIRA_TOKEN, "projectKey": "SEC"}
    return {
        "displayName": "Jira SEC",
        "alertingProfileId": profile_id,
        "preset": "jira",
        "presetFields": fields,
    }


def _jira_by_type(profile_id: str, url: str) -> dict[str, Any]:
    # The platform's own shape; its URL may name the REST API rather than the site.
    config = {
        "url": f"{url}/rest/api/3",
        "username": JIRA_EMAIL,
        "apiToken": JIRA_TOKEN,
        "projectKey": "SEC",
        "issueType": "Task",
    }
    return {
        "displayName": "Jira SEC",
        "alertingProfileId": profile_id,
        "type": "JIRA",
        "jiraConfiguration": config,
    }


@pytest.mark.parametrize("create", [_jira_by_preset, _jira_by_type], ids=["preset", "type-JIRA"])
def test_a_jira_preset_creates_an_issue_on_opened_and_comments_on_that_issue_when_resolved(
    running: Any, create: Any
) -> None:
    api = running.api_url
    status, profile = http("POST", f"{api}/alerting-profiles", load_event("api/profile.json"))
    assert status == 201
    events = boto3.client("events", endpoint_url=running.endpoint)
    bus = running.stack.event_bus_name
    with JiraLike(checked=True) as jira:
        # Another problem's issue first, so the comment must name the key this problem got.
        jira.issues.append("SEC-1")
        status, created = http("POST", f"{api}/integrations", create(profile["id"], jira.url))
        assert status == 201, created
        assert created["presetOrigin"]["name"] == "jira"
        assert JIRA_TOKEN not in json.dumps(created)

        opened, resolved = load_event("eventbridge/opened.json"), load_event("eventbridge/resolved.json")
        assert events.put_events(Entries=[entry(opened, bus)])["FailedEntryCount"] == 0
        jira.wait_for(1)
        _wait_for_records(api, created["id"], 1)  # the issue key is kept with the outcome
        assert events.put_events(Entries=[entry(resolved, bus)])["FailedEntryCount"] == 0
        (create_path, issue), (comment_path, comment) = jira.wait_for(2)

    assert jira.refused == []
    assert create_path == "/rest/api/3/issue"
    assert issue["fields"]["project"] == {"key": "SEC"}
    assert issue["fields"]["issuetype"] == {"name": "Task" if create is _jira_by_type else "Bug"}
    assert opened["detail"]["title"] in issue["fields"]["summary"]
    assert jira.issues == ["SEC-1", "SEC-2"]
    assert comment_path == "/rest/api/3/issue/SEC-2/comment"
    assert "Resolved" in json.dumps(comment["body"])

    records = _wait_for_records(api, created["id"], 2)
    assert [(r["trigger"], r["status"], r["statusCode"]) for r in records] == [
        ("SECURITY_PROBLEM_RESOLVED", "SUCCEEDED", 201),
        ("SECURITY_PROBLEM_OPENED", "SUCCEEDED", 201),
    ]
    assert all(JIRA_TOKEN not in json.dumps(r) and AUTH not in json.dumps(r) for r in records)


def _wait_for_records(api: str, iid: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        status, log = http("GET", f"{api}/integrations/{iid}/deliveries")
        assert status == 200
        if len(log["items"]) >= count or time.monotonic() > deadline:
            assert len(log["items"]) >= count, log["items"]
            return list(log["items"])
        time.sleep(0.2)
