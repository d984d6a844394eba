"""End to end through the local stack as `make run` starts it: an EMAIL integration created over
the API's HTTP port, an event put on the embedded endpoint's bus, the mail taken by the endpoint's
SES and shown by the mailbox, and the delivery log saying so (README "Email")."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from local.mailbox import SentMail, show
from local.send import entry
from secnotify.service.notify import webhook_id
from tests.conftest import load_event
from tests.e2e.conftest import http

pytestmark = pytest.mark.e2e


def wait_for_mail(running: Any, count: int, timeout: float = 20) -> list[SentMail]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(running.mailbox.received) >= count:
            return list(running.mailbox.received)
        time.sleep(0.1)
    raise AssertionError(f"the mailbox got {len(running.mailbox.received)} of {count} mails")


def email_integration(running: Any) -> dict[str, Any]:
    api = running.api_url
    status, profile = http("POST", f"{api}/alerting-profiles", load_event("api/profile.json"))
    assert status == 201, profile
    body = load_event("api/integration-email.json")
    body["alertingProfileId"] = profile["id"]
    status, created = http("POST", f"{api}/integrations", body)
    assert status == 201, created
    return created


def test_a_matching_event_is_mailed_through_ses_and_logged(running: Any) -> None:
    running.mailbox.quiet = True
    created = email_integration(running)
    opened = load_event("eventbridge/opened.json")
    events = boto3.client("events", endpoint_url=running.endpoint)
    resp = events.put_events(Entries=[entry(opened, running.stack.event_bus_name)])
    assert resp["FailedEntryCount"] == 0
    event_id = resp["Entries"][0]["EventId"]

    (mail,) = wait_for_mail(running, 1)
    assert mail.header("X-Secnotify-Id") == webhook_id(event_id, created["id"])
    detail = opened["detail"]
    assert mail.header("Subject") == f"[Critical] {detail['displayId']}: {detail['title']}"
    assert mail.header("From") == "secnotify <secnotify@example.com>"
    assert mail.header("Bcc") is None and "audit@example.org" in mail.destinations
    html = mail.part("html")
    assert f"<h2>{detail['title']}</h2>" in html
    for entity in detail["affectedEntities"]:  # the Jinja loop of the sample template
        assert f"<li>{entity['name']} ({entity['type']})</li>" in html
    assert detail["title"] in mail.part("plain")

    status, log = http("GET", f"{running.api_url}/integrations/{created['id']}/deliveries")
    assert status == 200
    (record,) = log["items"]
    assert (record["status"], record["kind"], record["eventId"]) == ("SUCCEEDED", "event", event_id)
    assert record["emailRecipients"] == 3 and record["emailSubject"] == mail.header("Subject")
    assert record["emailMimeBytes"] == len(mail.raw.encode())
    assert json.loads(record["responseBody"])["messageId"] == mail.message_id
    time.sleep(1.0)  # nothing else arrives: one event, one mail
    assert len(running.mailbox.received) == 1


def test_a_test_mail_is_shown_like_the_sink_shows_a_webhook(running: Any) -> None:
    running.mailbox.quiet = True
    created = email_integration(running)
    status, result = http("POST", f"{running.api_url}/integrations/{created['id']}/test")
    assert status == 200 and result["delivered"] is True, result
    (mail,) = wait_for_mail(running, 1)
    shown = show(mail)
    lines = shown.split("\n")
    assert lines[1] == "=== mail: [test] [Critical] S-1234: Remote Code Execution in log4j-core"
    assert "  To: secops@example.org" in lines and "  Cc: platform-lead@example.org" in lines
    assert "  X-Secnotify-Test: true" in lines
    assert "  (SES sent it to 3: secops@example.org, platform-lead@example.org, audit@example.org)" in lines
    # Then the text part, made from the HTML.
    text = lines[lines.index("  X-Secnotify-Test: true") + 2 :]
    assert text[0] == "Remote Code Execution in log4j-core"
    assert "- orders-service (PROCESS_GROUP)" in text
    assert text[-1] == "Open S-1234 (https://example.com/security/problem/11497873967941161718)"
