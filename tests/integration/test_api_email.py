"""EMAIL integrations through the real config API and dispatcher handlers, on a moto server whose
SES takes the mail (and gives it back to read): create, edit, preview, test-send, dispatch,
redeliver, explain, configuration as code, the audit trail, and email turned off."""

from __future__ import annotations

import copy
import email
import uuid
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest

from local.mailbox import SentMail, read_sent
from secnotify.service.notify import webhook_id
from tests.conftest import ApiClient, load_event
from tests.integration.test_dispatch import dispatch, drain

EMAIL: dict[str, Any] = {
    "recipients": ["secops@example.org", "oncall@example.org"],
    "ccRecipients": ["lead@example.org"],
    "bccRecipients": ["audit@example.org"],
    "subject": "[{Severity}] {SecurityProblemId}: {Title}",
    "body": '<h2>{Title}</h2><p>{Description}</p><p><a href="{SecurityProblemUrl}">open</a></p>',
}
ALL_TRIGGERS = ["SECURITY_PROBLEM_OPENED", "SECURITY_PROBLEM_RESOLVED", "NEW_MANAGEMENT_ZONE_AFFECTED"]


def profile(api: ApiClient) -> str:
    resp = api.post(
        "/alerting-profiles", {"name": f"all {uuid.uuid4().hex[:8]}", "enabledTriggerEvents": ALL_TRIGGERS}
    )
    assert resp.status == 201, resp.text
    return str(resp.json()["id"])


def email_body(profile_id: str, **email_fields: Any) -> dict[str, Any]:
    return {
        "displayName": f"mail {uuid.uuid4().hex[:8]}",
        "type": "EMAIL",
        "alertingProfileId": profile_id,
        "email": {**EMAIL, **email_fields},
    }


def create(api: ApiClient, **email_fields: Any) -> dict[str, Any]:
    resp = api.post("/integrations", email_body(profile(api), **email_fields))
    assert resp.status == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


def mail_with_id(endpoint: str, msg_id: str) -> list[SentMail]:
    return [m for m in read_sent(endpoint) if m.header("X-Secnotify-Id") == msg_id]


def parsed(mail: SentMail) -> EmailMessage:
    message = email.message_from_string(mail.raw, policy=default)
    assert isinstance(message, EmailMessage)
    return message


# ---- create and edit ---------------------------------------------------------------------------


def test_an_email_integration_is_created_shown_and_edited(api: ApiClient) -> None:
    created = create(api)
    assert created["type"] == "EMAIL" and created["email"] == EMAIL
    assert "webhook" not in created and "signingSecret" not in created and "signingSecretValue" not in created
    iid = created["id"]
    shown = api.get(f"/integrations/{iid}").json()
    assert shown == created
    # What GET shows is a PUT body.
    shown["email"]["recipients"] = ["secops@example.org"]
    put = api.put(f"/integrations/{iid}", shown)
    assert put.status == 200, put.text
    assert put.json()["email"]["recipients"] == ["secops@example.org"] and put.json()["version"] == 2
    patched = api.request(
        "PATCH", f"/integrations/{iid}", {"email": {"bccRecipients": [], "subject": "{Title}"}}
    )
    assert patched.status == 200, patched.text
    assert patched.json()["email"] == {
        **EMAIL,
        "recipients": ["secops@example.org"],
        "bccRecipients": [],
        "subject": "{Title}",
    }
    listed = [i for i in api.get("/integrations").json()["items"] if i["id"] == iid]
    assert listed == [patched.json()]


@pytest.mark.parametrize(
    ("change", "field", "said"),
    [
        ({"recipients": ["Alerts <a@example.org>"]}, "email.recipients", "not an email address"),
        (
            {"ccRecipients": ["a@example.org\r\nBcc: x@evil.example"]},
            "email.ccRecipients",
            "not an email address",
        ),
        ({"bccRecipients": ["SECOPS@example.org"]}, "email", "more than once"),
        ({"bccRecipients": [f"u{i}@example.org" for i in range(18)]}, "email", "21 addresses"),
        ({"subject": "{Titel}"}, "email.subject", "Titel"),
        # An email gets no answer to keep a receiver reference from.
        ({"body": "<p>{Receiver[issueKey]}</p>"}, "email.body", "unknown receiver reference: issueKey"),
        ({"body": "<p>{{ cycler.__init__.__globals__ }}</p>"}, "email.body", "unsafe"),
        ({"body": "<p>" + "x" * 5000 + "</p>"}, "email.body", "at most 5000 characters"),
    ],
)
def test_a_bad_email_is_a_400_naming_the_field(
    api: ApiClient, change: dict[str, Any], field: str, said: str
) -> None:
    resp = api.post("/integrations", email_body(profile(api), **change))
    assert resp.status == 400, resp.text
    body = resp.json()
    assert body["field"] == field or body["field"].startswith(field), body
    assert said in body["message"], body


def test_webhook_and_email_fields_stay_with_their_type(api: ApiClient) -> None:
    pid = profile(api)
    webhook = {
        "url": "https://hooks.example.com/x",
        "headers": [{"name": "Content-Type", "value": "application/json"}],
        "payload": '{"t": "{Title}"}',
    }
    both = api.post("/integrations", {**email_body(pid), "webhook": webhook})
    assert both.status == 400 and "webhook: an EMAIL integration has none" in both.json()["message"]
    hook_with_email = api.post(
        "/integrations", {"displayName": "h", "alertingProfileId": pid, "webhook": webhook, "email": EMAIL}
    )
    assert hook_with_email.status == 400 and "only an EMAIL integration" in hook_with_email.json()["message"]
    signed = api.post("/integrations", {**email_body(pid), "generateSigningSecret": True})
    assert signed.status == 400 and "generateSigningSecret" in signed.json()["message"]
    # A preset builds a WEBHOOK integration: it takes neither the EMAIL type nor an email.
    fields = {"url": "https://hooks.example.com/x"}
    typed = api.post("/integrations", {**email_body(pid), "preset": "generic-json", "presetFields": fields})
    assert typed.status == 400 and "a preset builds a WEBHOOK integration" in typed.json()["message"], (
        typed.text
    )
    mailed = api.post(
        "/integrations",
        {
            "displayName": "p",
            "alertingProfileId": pid,
            "preset": "generic-json",
            "presetFields": fields,
            "email": EMAIL,
        },
    )
    assert mailed.status == 400 and mailed.json()["field"] == "email", mailed.text
    hook = api.post(
        "/integrations",
        {"displayName": f"h {uuid.uuid4().hex[:6]}", "alertingProfileId": pid, "webhook": webhook},
    )
    assert hook.status == 201, hook.text
    to_email = api.put(
        f"/integrations/{hook.json()['id']}", {**email_body(pid), "displayName": hook.json()["displayName"]}
    )
    assert to_email.status == 400 and to_email.json()["field"] == "type", to_email.text


HOOK = {
    "url": "https://hooks.example.com/x",
    "headers": [{"name": "Content-Type", "value": "application/json"}],
    "payload": '{"t": "{Title}"}',
}


def test_a_patch_to_the_other_type_names_type_whatever_else_it_carries(api: ApiClient) -> None:
    pid = profile(api)
    webhook = HOOK
    hook = api.post(
        "/integrations",
        {
            "displayName": "signed",
            "alertingProfileId": pid,
            "webhook": webhook,
            "generateSigningSecret": True,
        },
    )
    assert hook.status == 201, hook.text
    mail = create(api)
    for iid, patch in (
        (hook.json()["id"], {"type": "EMAIL", "email": EMAIL, "webhook": None}),
        (hook.json()["id"], {"type": "EMAIL"}),
        (mail["id"], {"type": "WEBHOOK", "webhook": webhook, "email": None}),
    ):
        answer = api.request("PATCH", f"/integrations/{iid}", patch)
        assert answer.status == 400, answer.text
        assert answer.json()["field"] == "type", answer.text
        assert answer.json()["message"].startswith("type: an integration stays "), answer.text


def test_a_check_across_fields_names_the_field_it_is_about(api: ApiClient) -> None:
    pid = profile(api)
    both = api.post("/integrations", {**email_body(pid), "webhook": HOOK})
    assert both.status == 400
    assert both.json()["field"] == "webhook", both.text
    assert both.json()["message"] == "webhook: an EMAIL integration has none; leave it out", both.text
    assert "Value error" not in both.text


# ---- preview, test-send, dispatch, redeliver -------------------------------------------------------


def test_preview_renders_subject_and_escaped_html(api: ApiClient) -> None:
    iid = create(api)["id"]
    hostile = load_event("eventbridge/hostile.json")["detail"]
    saved = api.post("/integrations/preview", {"integrationId": iid, "event": hostile})
    assert saved.status == 200, saved.text
    out = saved.json()
    assert out["contentType"] == "text/html; charset=utf-8" and out["valid"] is True
    assert "\n" not in out["subject"] and out["subject"].startswith("[High] ")
    assert "<script>" not in out["body"] and "&lt;/script&gt;&lt;script&gt;" in out["body"]
    draft = api.post(
        "/integrations/preview",
        {"integration": email_body(profile(api), subject="{Nope}", body="<p>{Title}</p>")},
    ).json()
    assert draft["valid"] is False and draft["body"] == "<p>Remote Code Execution in log4j-core</p>"
    assert [e.get("field") for e in draft["errors"]] == ["email.subject"]


def test_test_send_goes_out_through_ses_and_is_logged(api: ApiClient, stack: Any, moto_endpoint: str) -> None:
    iid = create(api)["id"]
    resp = api.post(f"/integrations/{iid}/test")
    assert resp.status == 200, resp.text
    out = resp.json()
    assert out["delivered"] is True and out["statusCode"] == 200 and out["error"] is None
    (record,) = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert record["deliveryId"] == out["deliveryId"] and record["kind"] == "test"
    (mail,) = mail_with_id(moto_endpoint, record["webhookId"])
    message = parsed(mail)
    assert message["X-Secnotify-Test"] == "true"
    assert message["Subject"] == "[test] [Critical] S-1234: Remote Code Execution in log4j-core"
    assert message["From"] == "secnotify <secnotify@example.com>"
    assert (message["To"], message["Cc"], message["Bcc"]) == (
        "secops@example.org, oncall@example.org",
        "lead@example.org",
        None,
    )
    assert "audit@example.org" in mail.destinations and "audit@" not in mail.raw
    assert record["emailRecipients"] == 4 and record["emailSubject"] == message["Subject"]
    assert record["emailMimeBytes"] == len(mail.raw.encode())
    assert record["requestBody"].startswith("<h2>Remote Code Execution in log4j-core</h2>")


def test_a_matching_event_is_mailed_once_and_redelivered_with_the_same_id(
    api: ApiClient, stack: Any, moto_endpoint: str
) -> None:
    iid = create(api)["id"]
    opened = load_event("eventbridge/opened.json")
    opened["id"] = str(uuid.uuid4())
    assert dispatch(opened)["counts"]["delivered"] == 1
    assert dispatch(opened)["counts"]["already_handled"] == 1  # the same event again: nothing new
    msg_id = webhook_id(opened["id"], iid)
    (mail,) = mail_with_id(moto_endpoint, msg_id)
    assert parsed(mail)["X-Secnotify-Test"] is None
    (record,) = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert (record["kind"], record["status"], record["webhookId"]) == ("event", "SUCCEEDED", msg_id)
    per_event = api.get(f"/events/{opened['id']}/deliveries").json()["items"]
    assert [r["deliveryId"] for r in per_event] == [record["deliveryId"]]
    again = api.post(f"/integrations/{iid}/deliveries/{record['deliveryId']}/redeliver")
    assert again.status == 200 and again.json()["delivered"] is True, again.text
    assert len(mail_with_id(moto_endpoint, msg_id)) == 2
    kinds = sorted(r["kind"] for r in api.get(f"/integrations/{iid}/deliveries").json()["items"])
    assert kinds == ["event", "redelivery"]


def test_ses_refusing_the_sender_fails_the_notification_for_good(
    api: ApiClient, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secnotify.service import wiring

    iid = create(api)["id"]
    # The functions now send from an identity the endpoint's SES has never verified.
    monkeypatch.setenv("EMAIL_SENDER_IDENTITY", "not-verified.example")
    wiring.reset()
    test = api.post(f"/integrations/{iid}/test").json()
    assert test["delivered"] is False and test["statusCode"] == 400
    assert "MessageRejected" in test["error"] and "not-verified.example" in test["error"]
    opened = {**load_event("eventbridge/opened.json"), "id": str(uuid.uuid4())}
    assert dispatch(opened)["counts"]["failed"] == 1
    assert drain(stack.retry_queue_url) == []
    (dead,) = drain(stack.dead_letter_queue_url)
    assert dead["MessageAttributes"]["kind"]["StringValue"] == "notification"


# ---- explain, configuration as code, audit ----------------------------------------------------------


def test_explain_shows_who_would_get_the_mail_and_what(api: ApiClient) -> None:
    iid = create(api)["id"]
    result = api.post(
        "/events/explain", {"event": load_event("eventbridge/opened.json"), "integrationId": iid}
    )
    assert result.status == 200, result.text
    (item,) = result.json()["items"]
    assert item["matched"] is True and item["reason"] is None
    head, _, body = item["preview"].partition("\n\n")
    assert head.split("\n") == [
        "To: secops@example.org, oncall@example.org",
        "Cc: lead@example.org",
        "Bcc: audit@example.org",
        "Subject: [Critical] S-1234: Remote Code Execution in log4j-core",
    ]
    assert body.startswith("<h2>Remote Code Execution in log4j-core</h2>")
    muted = {**load_event("eventbridge/muted.json")}
    (not_sent,) = api.post("/events/explain", {"event": muted, "integrationId": iid}).json()["items"]
    assert not_sent["matched"] is False and not_sent["reason"] == "MUTED" and not_sent["preview"] is None


def test_configuration_as_code_carries_email_integrations(api: ApiClient) -> None:
    created = create(api)
    exported = api.get("/config/export").json()
    (doc,) = [i for i in exported["integrations"] if i["displayName"] == created["displayName"]]
    assert (
        doc["type"] == "EMAIL"
        and doc["email"] == EMAIL
        and "webhook" not in doc
        and "signingSecret" not in doc
    )
    plan = api.post("/config/apply?dryRun=true", exported).json()
    assert {i["action"] for i in plan["items"]} == {"unchanged"}
    changed = copy.deepcopy(exported)
    (mine,) = [i for i in changed["integrations"] if i["displayName"] == created["displayName"]]
    mine["email"]["ccRecipients"] = ["cto@example.org"]
    applied = api.post("/config/apply", changed).json()
    (step,) = [i for i in applied["items"] if i["name"] == created["displayName"]]
    assert (step["action"], step["changes"]) == ("update", ["email.ccRecipients[0]"])
    assert api.get(f"/integrations/{created['id']}").json()["email"]["ccRecipients"] == ["cto@example.org"]
    mine["signingSecret"] = "${SECNOTIFY_MAIL_SIGNING_SECRET}"
    refused = api.post("/config/apply", changed)
    assert refused.status == 400 and "EMAIL integration" in refused.json()["message"], refused.text


def test_changes_to_an_email_integration_are_audited_by_field(api: ApiClient) -> None:
    created = create(api)
    api.request("PATCH", f"/integrations/{created['id']}", {"email": {"recipients": ["new@example.org"]}})
    entries = [e for e in api.get("/audit").json()["items"] if e["objectId"] == created["id"]]
    assert next((e["action"], e["changes"]) for e in entries) == ("UPDATE", ["email.recipients"])
    assert entries[-1]["action"] == "CREATE" and "email" in entries[-1]["changes"]


# ---- email off --------------------------------------------------------------------------------------


@pytest.fixture
def stack_without_email(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from local.provision import provision
    from secnotify.service import wiring

    created = provision(
        moto_endpoint, prefix=f"t{uuid.uuid4().hex[:10]}", parameters={"EmailSenderIdentity": ""}
    )
    for key, value in created.environment().items():
        monkeypatch.setenv(key, value)
    wiring.reset()
    yield created
    wiring.reset()
    created.delete()


def test_without_a_sender_identity_an_email_integration_is_a_400_that_says_so(
    stack_without_email: Any,
) -> None:
    assert stack_without_email.environment()["EMAIL_SENDER_IDENTITY"] == ""
    api = ApiClient()
    resp = api.post("/integrations", email_body(profile(api)))
    assert resp.status == 400, resp.text
    assert (
        resp.json()["field"] == "type" and "EmailSenderIdentity parameter is empty" in resp.json()["message"]
    )
    document = {
        "apiVersion": "secnotify/v1",
        "kind": "Configuration",
        "profiles": [{"name": "p"}],
        "integrations": [{"displayName": "m", "type": "EMAIL", "alertingProfile": "p", "email": EMAIL}],
    }
    applied = api.post("/config/apply", document)
    assert applied.status == 400 and "EmailSenderIdentity" in applied.json()["message"], applied.text
    assert api.get("/integrations").json()["items"] == []
