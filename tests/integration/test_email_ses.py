"""The SES v2 adapter over real HTTP: a raw message sent through moto's SES and read back from it,
and SES's answers (played by a local HTTP server that answers as SES does) mapped onto the
delivery outcome: busy or failing is retried, a refusal that will refuse again is final."""

from __future__ import annotations

import base64
import email
import json
import urllib.error
import urllib.request
import uuid
from email.message import EmailMessage
from email.policy import default
from typing import Any

import boto3
import pytest

from local.endpoint import SENT_MAIL_PATH
from local.mailbox import read_sent
from secnotify.delivery.mail import Rendered, build_message
from secnotify.service.ports.mail import OutgoingMail
from secnotify.settings import Settings
from secnotify.storage.mail import SANDBOX_HINT, SesMailSender
from tests.integration.servers import Receiver, Reply, closed_port

SETTINGS = Settings(
    kms_key_id="k", connect_timeout_s=2.0, read_timeout_s=1.0, email_sender_identity="example.com"
)


def _mail(sender: str = "secnotify@example.com", marker: str | None = None) -> OutgoingMail:
    marker = marker or uuid.uuid4().hex
    raw = build_message(
        sender=sender,
        to=["secops@example.org"],
        cc=["lead@example.org"],
        rendered=Rendered(f"Alert {marker}", f"<p>Grüße {marker}</p>"),
        message_id=f"msg_{marker}",
        timestamp=1_800_000_000.0,
    )
    return OutgoingMail(
        sender=sender,
        to=("secops@example.org",),
        cc=("lead@example.org",),
        bcc=("audit@example.org",),
        raw=raw,
    )


@pytest.fixture
def verified(moto_endpoint: str) -> str:
    boto3.client("sesv2").create_email_identity(EmailIdentity="example.com")
    return moto_endpoint


def test_a_raw_message_goes_through_ses_and_reads_back(verified: str) -> None:
    mail = _mail()
    outcome = SesMailSender(SETTINGS).send(mail)
    assert (outcome.delivered, outcome.retryable, outcome.status_code, outcome.error) == (
        True,
        False,
        200,
        None,
    )
    message_id = json.loads(outcome.response_body)["messageId"]
    (sent,) = [m for m in read_sent(verified) if m.message_id == message_id]
    assert sent.source == "secnotify@example.com"
    assert sent.raw.encode() == mail.raw  # byte for byte what we built
    # Bcc is a destination only; moto lists the message's To and Cc once more after them.
    assert sent.destinations[:3] == ("secops@example.org", "lead@example.org", "audit@example.org")
    assert "audit@" not in sent.raw
    parsed = email.message_from_string(sent.raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == mail_subject(mail)


def mail_subject(mail: OutgoingMail) -> str:
    return str(email.message_from_bytes(mail.raw, policy=default)["Subject"])


def test_an_unverified_sender_is_refused_for_good_and_says_why(verified: str) -> None:
    outcome = SesMailSender(SETTINGS).send(_mail(sender="secnotify@not-verified.example"))
    assert (outcome.delivered, outcome.retryable, outcome.status_code) == (False, False, 400)
    assert outcome.error is not None and outcome.error.startswith(
        "SES rejected the message (MessageRejected:"
    )
    assert "not-verified.example" in outcome.error and SANDBOX_HINT in outcome.error


# ---- SES's answers, over real HTTP ------------------------------------------------------------


def _ses_error(status: int, code: str, message: str = "said by SES") -> Reply:
    # As SES's REST JSON protocol answers: the code in x-amzn-ErrorType, the text in the body.
    return Reply(
        status=status,
        headers=(
            ("x-amzn-ErrorType", f"{code}:http://internal.amazon.com/"),
            ("Content-Type", "application/json"),
        ),
        body=json.dumps({"message": message}).encode(),
    )


@pytest.fixture
def ses(monkeypatch: pytest.MonkeyPatch) -> Any:
    with Receiver() as rx:
        monkeypatch.setenv("AWS_ENDPOINT_URL", rx.url(""))
        yield rx


@pytest.mark.parametrize(
    ("status", "code", "retryable", "said"),
    [
        (429, "TooManyRequestsException", True, "SES is busy or failing"),
        (400, "LimitExceededException", True, "SES is busy or failing"),
        (500, "InternalFailure", True, "SES is busy or failing"),
        (503, "SomethingNewAndUnknown", True, "SES is busy or failing"),
        (400, "MessageRejected", False, "SES rejected the message"),
        (400, "MailFromDomainNotVerifiedException", False, "MAIL FROM domain is not verified"),
        (400, "SendingPausedException", False, "sending is paused"),
        (400, "AccountSuspendedException", False, "may no longer send email"),
        (403, "AccessDeniedException", False, "ses:SendEmail and ses:SendRawEmail"),
        (404, "NotFoundException", False, "SES does not know"),
        (400, "SomeOtherRefusal", False, "SES refused the message"),
    ],
)
def test_ses_answers_map_onto_the_outcome(
    ses: Receiver, status: int, code: str, retryable: bool, said: str
) -> None:
    ses.reply(_ses_error(status, code))
    outcome = SesMailSender(SETTINGS).send(_mail())
    assert (outcome.delivered, outcome.retryable, outcome.status_code) == (False, retryable, status)
    assert outcome.error is not None and said in outcome.error and code in outcome.error
    assert "said by SES" in outcome.error
    # One request: the retry ladder retries, where the delivery log shows it, not the SDK.
    assert len(ses.requests) == 1


def test_the_request_is_sendemail_with_raw_content_and_every_destination(ses: Receiver) -> None:
    ses.reply(
        Reply(status=200, headers=(("Content-Type", "application/json"),), body=b'{"MessageId": "m-1"}')
    )
    mail = _mail()
    outcome = SesMailSender(SETTINGS).send(mail)
    assert outcome.delivered and json.loads(outcome.response_body) == {"messageId": "m-1"}
    (request,) = ses.requests
    assert (request.method, request.path) == ("POST", "/v2/email/outbound-emails")
    sent = json.loads(request.body)
    assert sent["FromEmailAddress"] == "secnotify@example.com"
    assert sent["Destination"] == {
        "ToAddresses": ["secops@example.org"],
        "CcAddresses": ["lead@example.org"],
        "BccAddresses": ["audit@example.org"],
    }
    assert base64.b64decode(sent["Content"]["Raw"]["Data"]) == mail.raw


def test_an_unreachable_ses_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    sock, port = closed_port()
    try:
        monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
        outcome = SesMailSender(SETTINGS).send(_mail())
    finally:
        sock.close()
    assert (outcome.delivered, outcome.retryable, outcome.status_code) == (False, True, None)
    assert outcome.error is not None and outcome.error.startswith("SES not reached:")


def test_an_ses_that_does_not_answer_in_time_is_retried(ses: Receiver) -> None:
    ses.reply(Reply(status=200, delay_s=5.0, body=b"{}"))
    outcome = SesMailSender(SETTINGS).send(_mail())  # read timeout 1 s
    assert (outcome.delivered, outcome.retryable) == (False, True)
    assert outcome.error is not None and "timeout" in outcome.error.lower()
    assert outcome.latency_ms < 4500


# ---- the local mailbox ---------------------------------------------------------------------------


def test_the_mailbox_shows_each_new_mail_once(verified: str, capsys: pytest.CaptureFixture[str]) -> None:
    from local.mailbox import Mailbox

    sender = SesMailSender(SETTINGS)
    assert sender.send(_mail(marker="before")).delivered
    mailbox = Mailbox(verified)
    assert mailbox.available and mailbox.poll() == []  # mail sent before it started is not new
    first, second = _mail(marker="first"), _mail(marker="second")
    assert sender.send(first).delivered and sender.send(second).delivered
    new = mailbox.poll()
    assert [m.header("X-Secnotify-Id") for m in new] == ["msg_first", "msg_second"]
    assert mailbox.poll() == [] and len(mailbox.received) == 2
    shown = capsys.readouterr().out
    assert shown.count("=== mail: Alert first") == 1 and shown.count("=== mail: Alert second") == 1
    assert "  To: secops@example.org" in shown and "  Cc: lead@example.org" in shown
    assert "(SES sent it to 3: secops@example.org, lead@example.org, audit@example.org)" in shown
    assert "Grüße first" in shown  # the text part, decoded
    assert "before" not in shown


def test_a_mailbox_on_an_endpoint_without_moto_shows_nothing() -> None:
    from local.mailbox import Mailbox

    with Receiver(default=Reply(status=404, body=b"no such route")) as rx:
        mailbox = Mailbox(rx.url(""))
        assert mailbox.available is False and mailbox.poll() == []


def test_mail_reads_back_from_a_moto_server_of_its_own_too() -> None:
    from moto.server import ThreadedMotoServer

    # Not the embedded endpoint: no /_local route, so the reader takes moto's model dump.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        url = f"http://{host}:{port}"
        ses = boto3.client("sesv2", endpoint_url=url)
        ses.create_email_identity(EmailIdentity="example.com")
        mail = _mail(marker="standalone")
        ses.send_email(
            FromEmailAddress=mail.sender,
            Destination={"ToAddresses": list(mail.to)},
            Content={"Raw": {"Data": mail.raw}},
        )
        # (One process, one moto: this server shares the backends of the session's endpoint, so
        # its model dump holds everything the session made, and takes its time on a busy machine.)
        assert "msg_standalone" in [m.header("X-Secnotify-Id") for m in read_sent(url, timeout=60)]
        try:
            answer = urllib.request.urlopen(url + SENT_MAIL_PATH, timeout=10).read()
        except urllib.error.HTTPError:
            answer = b""
        assert b'"messages"' not in answer
    finally:
        server.stop()
