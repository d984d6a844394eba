"""Resolving at another URL end to end on the local stack (README "Resolving at another URL"):
put_events on the embedded endpoint -> the template's rule -> the dispatcher -> a Jira-like
receiver over real HTTP, which creates an issue and answers its key, and takes a comment only on
an issue it created. The resolve must comment on the issue the create returned."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from local.send import entry
from tests.conftest import load_event
from tests.e2e.conftest import http
from tests.e2e.jira_like import AUTH, JiraLike

pytestmark = pytest.mark.e2e


@pytest.fixture
def jira() -> Iterator[JiraLike]:
    receiver = JiraLike()
    yield receiver
    receiver.close()


def integration(running: Any, url: str) -> str:
    api = running.api_url
    status, profile = http(
        "POST",
        f"{api}/alerting-profiles",
        {"name": "jira", "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED", "SECURITY_PROBLEM_RESOLVED"]},
    )
    assert status == 201, profile
    body = {
        "displayName": "Jira SEC project",
        "alertingProfileId": profile["id"],
        "webhook": {
            "url": f"{url}/rest/api/3/issue",
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Authorization", "value": AUTH, "secret": True},
            ],
            "payload": '{"fields": {"project": {"key": "SEC"}, "summary": "{SecurityProblemId}: {Title}"}}',
            "resolved": {
                "path": "/rest/api/3/issue/{Receiver[issueKey]}/comment",
                "payload": '{"body": "{SecurityProblemId} was resolved (issue {Receiver[issueKey]})"}',
            },
            "receiverReference": {"name": "issueKey", "pointer": "/key"},
        },
    }
    status, created = http("POST", f"{api}/integrations", body)
    assert status == 201, created
    return str(created["id"])


def send(running: Any, name: str) -> None:
    events = boto3.client("events", endpoint_url=running.endpoint)
    resp = events.put_events(
        Entries=[entry(load_event(f"eventbridge/{name}.json"), running.stack.event_bus_name)]
    )
    assert resp["FailedEntryCount"] == 0


def deliveries(running: Any, iid: str, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    items: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        status, log = http("GET", f"{running.api_url}/integrations/{iid}/deliveries")
        assert status == 200
        items = log["items"]
        if len(items) >= count:
            return items
        time.sleep(0.2)
    raise AssertionError(f"{len(items)} of {count} delivery records: {items}")


def test_the_resolve_comments_on_the_issue_the_create_returned(running: Any, jira: JiraLike) -> None:
    iid = integration(running, jira.url)
    send(running, "opened")
    ((create_path, create_body),) = jira.wait_for(1)
    assert create_path == "/rest/api/3/issue" and create_body["fields"]["summary"].startswith("S-1234: ")
    deliveries(running, iid, 1)  # the key is kept once the outcome is recorded
    send(running, "resolved")
    _, (comment_path, comment_body) = jira.wait_for(2)
    assert comment_path == "/rest/api/3/issue/SEC-1/comment"
    assert comment_body == {"body": "S-1234 was resolved (issue SEC-1)"}
    log = deliveries(running, iid, 2)
    assert [(r["trigger"], r["status"], r["statusCode"]) for r in log] == [
        ("SECURITY_PROBLEM_RESOLVED", "SUCCEEDED", 201),
        ("SECURITY_PROBLEM_OPENED", "SUCCEEDED", 201),
    ]
    assert AUTH not in json.dumps(log)


def test_a_resolve_before_any_key_retries_then_fails(running: Any, jira: JiraLike) -> None:
    from secnotify.service import wiring

    os.environ["RETRY_LADDER_SECONDS"] = "0,0,0"  # three attempts in all; the fixture restores it
    wiring.reset()
    iid = integration(running, jira.url)
    send(running, "resolved")
    log = deliveries(running, iid, 3)
    assert [(r["attempt"], r["status"], r["error"]) for r in log] == [
        (3, "FAILED", "missing receiver reference"),
        (2, "RETRYING", "missing receiver reference"),
        (1, "RETRYING", "missing receiver reference"),
    ]
    time.sleep(0.5)
    assert jira.requests == []  # nothing went out: there was no issue to comment on
