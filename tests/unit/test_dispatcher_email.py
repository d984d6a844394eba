"""EMAIL integrations in the dispatcher, on in-memory ports and a fake clock: matched like any
integration, sent once per event, retried on the ladder when the mail service is busy, failed at
once when it refuses, and recorded in the delivery log (README "Email")."""

from __future__ import annotations

import email
import json
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest

from secnotify.models.delivery import DeadLetterKind, NotificationState
from secnotify.service.dispatch_result import Count
from secnotify.service.email_channel import EMAIL_OFF
from secnotify.service.notify import webhook_id
from tests.fakes.dispatcher import PROFILE, Harness, event, harness
from tests.fakes.mail import refused
from tests.integration.servers import Receiver, Reply

S = NotificationState
THROTTLED = refused("SES is busy or failing (TooManyRequestsException: slow down)", True, 429)
REJECTED = refused("SES rejected the message (MessageRejected: Email address is not verified.)", False)


@pytest.fixture
def h() -> Iterator[Harness]:
    yield from harness()


def _parsed(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


def _sample(name: str) -> dict[str, Any]:
    path = Path(__file__).resolve().parents[2] / "events" / "eventbridge" / f"{name}.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def _records(h: Harness, name: str) -> list:
    return sorted((r for r in h.log.all() if r.integrationId == name), key=lambda r: r.attempt)


def test_a_matching_event_sends_one_mail_and_records_it(h: Harness) -> None:
    h.email_integration(
        "mail",
        recipients=["secops@example.org", "oncall@example.org"],
        ccRecipients=["lead@example.org"],
        bccRecipients=["audit@example.org"],
    )
    raw = event()
    result = h.handle(raw)
    assert result.counts[Count.DELIVERED] == 1
    (mail,) = h.mail.sent
    assert mail.sender == "secnotify@example.com"
    assert (mail.to, mail.cc, mail.bcc) == (
        ("secops@example.org", "oncall@example.org"),
        ("lead@example.org",),
        ("audit@example.org",),
    )
    message = _parsed(mail.raw)
    msg_id = webhook_id(raw["id"], "mail")
    assert message["X-Secnotify-Id"] == msg_id and message["Bcc"] is None and b"audit@" not in mail.raw
    title = raw["detail"]["title"]
    assert message["Subject"] == f"[Critical] {raw['detail']['displayId']}: {title}"
    (record,) = _records(h, "mail")
    assert (record.status, record.webhookId, record.statusCode) == ("SUCCEEDED", msg_id, 200)
    assert record.emailRecipients == 4
    assert record.emailSubject == message["Subject"]
    assert record.emailMimeBytes == len(mail.raw)
    assert record.requestBody == f"<p>{title}</p>"
    assert record.requestBodyBytes == len(f"<p>{title}</p>".encode())
    assert h.states(raw["id"])["mail"].status is S.DELIVERED


def test_the_same_event_twice_sends_one_mail(h: Harness) -> None:
    h.email_integration("mail")
    raw = event()
    h.handle(raw)
    again = h.handle(raw)
    assert again.counts[Count.ALREADY_HANDLED] == 1 and again.counts[Count.DELIVERED] == 0
    assert len(h.mail.sent) == 1


def test_a_busy_mail_service_is_retried_on_the_ladder_with_the_same_id(h: Harness) -> None:
    h.email_integration("mail")
    h.mail.answer(THROTTLED)
    raw = event()
    assert h.handle(raw).counts[Count.RETRYING] == 1
    assert h.states(raw["id"])["mail"].status is S.RETRY_SCHEDULED
    assert h.drain(advance_s=4) == []
    (result,) = h.drain(advance_s=1)
    assert result.counts[Count.DELIVERED] == 1
    ids = [_parsed(m.raw)["X-Secnotify-Id"] for m in h.mail.sent]
    assert ids == [webhook_id(raw["id"], "mail")] * 2
    first, second = _records(h, "mail")
    assert (first.attempt, first.status, first.statusCode) == (1, "RETRYING", 429)
    assert "TooManyRequestsException" in (first.error or "")
    assert (second.attempt, second.status) == (2, "SUCCEEDED")
    # The body once per notification, as a webhook's: the retry sends the same event again.
    assert first.requestBody is not None and second.requestBody is None
    assert second.requestBodySha256 == first.requestBodySha256 and second.emailSubject == first.emailSubject


def test_a_refused_message_fails_at_once_and_goes_to_the_dead_letter_queue(h: Harness) -> None:
    h.email_integration("mail")
    h.mail.answer(REJECTED)
    raw = event()
    assert h.handle(raw).counts[Count.FAILED] == 1
    assert h.queues.retries == [] and len(h.mail.sent) == 1
    (record,) = _records(h, "mail")
    assert record.status == "FAILED" and "MessageRejected" in (record.error or "")
    (dead,) = h.dead(DeadLetterKind.NOTIFICATION)
    assert dead["integrationId"] == "mail"


def test_the_ladder_ends_failed() -> None:
    h = Harness(ladder=(0.0, 5.0))
    try:
        h.email_integration("mail")
        h.mail.answer(THROTTLED, THROTTLED)
        raw = event()
        h.handle(raw)
        assert h.drain(advance_s=5)[0].counts[Count.FAILED] == 1
        assert [(r.attempt, r.status) for r in _records(h, "mail")] == [(1, "RETRYING"), (2, "FAILED")]
        assert h.states(raw["id"])["mail"].status is S.FAILED
    finally:
        h.close()


def test_email_off_fails_at_once_saying_so() -> None:
    h = Harness()
    try:
        h.dispatcher._pool.shutdown(wait=True)
        h.settings = h.settings.replace(email_sender_identity="")
        h.dispatcher = h.build(h.settings)
        h.email_integration("mail")
        assert h.handle(event()).counts[Count.FAILED] == 1
        assert h.mail.sent == []
        (record,) = _records(h, "mail")
        assert record.error == EMAIL_OFF and record.emailRecipients == 1 and record.emailSubject is None
    finally:
        h.close()


def test_a_stored_template_that_no_longer_renders_fails_the_notification(h: Harness) -> None:
    # Stored before the save's check existed, say: delivery refuses it, it never reaches SES.
    h.email_integration("mail", subject="{NoSuchPlaceholder}")
    assert h.handle(event()).counts[Count.FAILED] == 1
    assert h.mail.sent == []
    (record,) = _records(h, "mail")
    assert record.status == "FAILED" and (record.error or "").startswith("template error:")
    assert "NoSuchPlaceholder" in (record.error or "")


def test_webhook_and_email_integrations_share_one_event(h: Harness) -> None:
    rx = h.integration("hook")
    h.email_integration("mail")
    raw = event()
    assert h.handle(raw).counts[Count.DELIVERED] == 2
    assert len(rx.requests) == 1 and len(h.mail.sent) == 1
    states = h.states(raw["id"])
    assert states["hook"].status is S.DELIVERED and states["mail"].status is S.DELIVERED


def test_an_address_written_around_the_api_cannot_inject_a_header(h: Harness) -> None:
    # The API refuses such an address; one written to the table directly is refused at send time.
    h.email_integration("mail", recipients=["secops@example.org\r\nBcc: attacker@evil.example"])
    assert h.handle(event()).counts[Count.FAILED] == 1
    assert h.mail.sent == []
    (record,) = _records(h, "mail")
    assert (record.error or "").startswith("the message could not be built:")


def test_a_resolve_mails_as_an_open_does_and_keeps_no_receiver_reference(h: Harness) -> None:
    # Beside a webhook that resolves elsewhere with a reference: the email takes no route of it.
    h.config.add_profile(
        PROFILE, enabledTriggerEvents=["SECURITY_PROBLEM_OPENED", "SECURITY_PROBLEM_RESOLVED"]
    )
    h.email_integration("mail", subject="{Status} {SecurityProblemId}")
    with Receiver(default=Reply(status=201, body=b'{"key": "SEC-1"}')) as rx:
        h.config.add_integration(
            "jira",
            PROFILE,
            rx.url("/issue"),
            webhook={
                "url": rx.url("/issue"),
                "headers": [{"name": "Content-Type", "value": "application/json"}],
                "payload": '{"t": "{Title}"}',
                "resolved": {"path": "/issue/{Receiver[issueKey]}/comment", "payload": '{"c": "done"}'},
                "receiverReference": {"name": "issueKey", "pointer": "/key"},
            },
        )
        opened = event()
        resolved = {**_sample("resolved"), "id": str(uuid.uuid4())}
        assert h.handle(opened).counts[Count.DELIVERED] == 2
        assert h.handle(resolved).counts[Count.DELIVERED] == 2
        create, comment = rx.wait_for(2)
    assert (create.path, comment.path) == ("/issue", "/issue/SEC-1/comment")
    problem = opened["detail"]["securityProblemId"]
    assert h.references.get(problem, "mail") is None and h.references.get(problem, "jira") is not None
    subjects = [_parsed(m.raw)["Subject"] for m in h.mail.sent]
    assert subjects == [
        f"OPEN {opened['detail']['displayId']}",
        f"RESOLVED {resolved['detail']['displayId']}",
    ]
    assert [r.error for r in _records(h, "mail")] == [None, None]
