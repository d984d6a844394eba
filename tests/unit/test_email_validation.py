"""What an EMAIL integration may hold (README "Email"): the platform's field names, at most 20
addresses in all, each a plain address named once, no webhook and none of its secrets, and
subject and body templates checked on save like a payload."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from secnotify.models.email import SENDER_LOCAL_PART, address_problem, identity_problem, sender_address
from secnotify.models.integration import Integration
from secnotify.models.integration_api import IntegrationInput, IntegrationView
from secnotify.service.email_edits import checked_email, refuse_when_email_off
from secnotify.service.errors import BadRequest
from secnotify.service.integration_edits import apply_input
from secnotify.settings import Settings
from secnotify.templating import RenderLimits

LIMITS = RenderLimits.from_settings(Settings(kms_key_id="k"))
EMAIL: dict[str, Any] = {
    "recipients": ["secops@example.org"],
    "subject": "[{Severity}] {SecurityProblemId}: {Title}",
    "body": "<p>{Title}</p>",
}


def _input(**email: Any) -> IntegrationInput:
    return IntegrationInput.model_validate(
        {"displayName": "mail", "type": "EMAIL", "alertingProfileId": "p", "email": {**EMAIL, **email}}
    )


def _refusal(doc: dict[str, Any]) -> str:
    with pytest.raises(ValidationError) as refused:
        IntegrationInput.model_validate(doc)
    return str(refused.value)


# ---- addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["a@example.org", "first.last+tag@sub.example.co.uk", "x_y%z-1@xn--bcher-kva.example", "A@EXAMPLE.ORG"],
)
def test_plain_addresses_are_taken(address: str) -> None:
    assert address_problem(address) is None
    assert _input(recipients=[address]).email is not None


@pytest.mark.parametrize(
    "address",
    [
        "Alerts <alerts@example.org>",  # a display name
        '"quoted"@example.org',
        "a@example.org\r\nBcc: attacker@evil.example",  # header injection
        "a@example.org\nX-Injected: 1",
        "a@example.org, b@example.org",  # two in one
        "a b@example.org",
        "a@example",  # no top level
        "a@-example.org",
        "a..b@example.org",
        ".a@example.org",
        "*@example.org",  # an IAM wildcard
        "a@b@example.org",
        "a@[127.0.0.1]",
        "ä@example.org",
        "a@exämple.org",
        "@example.org",
        "a@",
        "x" * 65 + "@example.org",
        "a@" + "b" * 250 + ".org",
    ],
)
def test_anything_else_is_refused_naming_it(address: str) -> None:
    assert address_problem(address) is not None
    message = _refusal(
        {
            "displayName": "m",
            "type": "EMAIL",
            "alertingProfileId": "p",
            "email": {**EMAIL, "recipients": [address]},
        }
    )
    assert "email.recipients" in message


@pytest.mark.parametrize("field", ["recipients", "ccRecipients", "bccRecipients"])
def test_every_list_is_checked(field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        _input(**{field: ["bad address"]})


def test_at_least_one_recipient() -> None:
    with pytest.raises(ValidationError, match="recipients"):
        _input(recipients=[], ccRecipients=["a@example.org"])


def test_twenty_addresses_in_all() -> None:
    twenty = [f"user{i}@example.org" for i in range(20)]
    assert _input(recipients=twenty[:10], ccRecipients=twenty[10:15], bccRecipients=twenty[15:]).email
    with pytest.raises(ValidationError, match="21 addresses"):
        _input(
            recipients=twenty[:10], ccRecipients=twenty[10:15], bccRecipients=[*twenty[15:], "x@example.org"]
        )


def test_an_address_is_named_once_across_the_lists_whatever_its_case() -> None:
    with pytest.raises(ValidationError, match="more than once") as refused:
        _input(recipients=["secops@example.org"], bccRecipients=["SecOps@Example.org"])
    assert "secops@example.org" in str(refused.value)
    with pytest.raises(ValidationError, match="more than once"):
        _input(recipients=["a@example.org", "a@example.org"])


# ---- the type's fields ------------------------------------------------------------------------


def test_an_email_integration_has_email_and_no_webhook() -> None:
    base = {"displayName": "m", "type": "EMAIL", "alertingProfileId": "p"}
    assert "email: required" in _refusal(base)
    webhook = {"url": "https://x.example/", "headers": [{"name": "Content-Type", "value": "text/plain"}]}
    assert "webhook: an EMAIL integration has none" in _refusal(
        {**base, "email": EMAIL, "webhook": {**webhook, "payload": "p"}}
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("generateSigningSecret", True),
        ("signingSecret", "whsec_" + "A" * 32),
        ("secrets", [{"name": "key", "value": "v"}]),
        ("signingSecretOverlapSeconds", 60),
    ],
)
def test_an_email_integration_has_none_of_the_webhooks_secrets(field: str, value: Any) -> None:
    doc = {"displayName": "m", "type": "EMAIL", "alertingProfileId": "p", "email": EMAIL, field: value}
    assert f"{field}: WEBHOOK integrations only" in _refusal(doc)


def test_a_webhook_integration_must_not_carry_email() -> None:
    webhook = {
        "url": "https://x.example/",
        "headers": [{"name": "Content-Type", "value": "text/plain"}],
        "payload": "p",
    }
    doc = {"displayName": "w", "alertingProfileId": "p", "webhook": webhook, "email": EMAIL}
    assert "email: only an EMAIL integration has one" in _refusal(doc)
    assert "webhook: required" in _refusal({"displayName": "w", "alertingProfileId": "p"})


def test_unknown_email_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="toAddresses"):
        _input(toAddresses=["a@example.org"])


def test_the_view_shows_email_and_no_webhook_or_signing_secret_and_goes_back_as_a_put() -> None:
    stored = Integration.model_validate(
        {
            "id": "i1",
            "displayName": "mail",
            "type": "EMAIL",
            "alertingProfileId": "p",
            "email": {**EMAIL, "ccRecipients": ["c@example.org"], "bccRecipients": []},
            "version": 3,
            "createdAt": "2027-01-01T00:00:00.000Z",
            "updatedAt": "2027-01-01T00:00:00.000Z",
        }
    )
    shown = IntegrationView.of(stored).model_dump(mode="json")
    assert "webhook" not in shown and "signingSecret" not in shown
    assert shown["email"] == {**EMAIL, "ccRecipients": ["c@example.org"], "bccRecipients": []}
    again = IntegrationInput.model_validate(shown)
    assert again.email is not None and again.email.stored() == stored.email


# ---- the save's checks -------------------------------------------------------------------------


def test_the_body_is_at_most_max_payload_chars() -> None:
    data = _input(body="<p>" + "x" * 100 + "</p>")
    with pytest.raises(BadRequest, match=r"email\.body: must be at most 50 characters") as refused:
        checked_email(data, None, 50, LIMITS)
    assert refused.value.details["field"] == "email.body"
    assert checked_email(data, None, 107, LIMITS).body == data.email.body  # type: ignore[union-attr]


def test_the_subject_template_is_at_most_1000_characters() -> None:
    with pytest.raises(ValidationError, match="subject"):
        _input(subject="x" * 1001)


@pytest.mark.parametrize(
    ("field", "subject", "body", "said"),
    [
        ("email.subject", "{Titel}", "<p/>", "Titel"),
        ("email.body", "s", "<p>{Severty}</p>", "Severty"),
        ("email.body", "s", "<p>{{ ''.__class__.__mro__ }}</p>", "unsafe"),
        ("email.subject", "{% for %}", "<p/>", "syntax error"),
        ("email.body", "s", "<p>{Secret[key]}</p>", "key"),
    ],
)
def test_templates_are_checked_against_the_sample_event(
    field: str, subject: str, body: str, said: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        checked_email(_input(subject=subject, body=body), None, 5000, LIMITS)
    assert refused.value.details["field"] == field
    assert said.lower() in refused.value.message.lower()
    assert all(e["field"] == field for e in refused.value.details["errors"])


def test_an_integration_keeps_its_type() -> None:
    email = Integration.model_validate(
        {
            "id": "i1",
            "displayName": "mail",
            "type": "EMAIL",
            "alertingProfileId": "p",
            "email": EMAIL,
            "version": 1,
            "createdAt": "x",
            "updatedAt": "x",
        }
    )
    webhook_input = IntegrationInput.model_validate(
        {
            "displayName": "mail",
            "alertingProfileId": "p",
            "webhook": {
                "url": "https://x.example/",
                "headers": [{"name": "Content-Type", "value": "text/plain"}],
                "payload": "p",
            },
        }
    )
    with pytest.raises(BadRequest, match="type: an integration stays EMAIL"):
        apply_input(webhook_input, email, 5000, LIMITS)
    hook = Integration.model_validate(
        {
            **email.model_dump(),
            "type": "WEBHOOK",
            "email": None,
            "webhook": webhook_input.webhook.model_dump(),
        }  # type: ignore[union-attr]
    )
    with pytest.raises(BadRequest, match="type: an integration stays WEBHOOK"):
        apply_input(_input(), hook, 5000, LIMITS)


def test_a_new_email_integration_needs_the_sender_identity() -> None:
    with pytest.raises(BadRequest, match="EmailSenderIdentity parameter is empty") as refused:
        refuse_when_email_off(_input(), Settings(kms_key_id="k"))
    assert refused.value.details["field"] == "type"
    refuse_when_email_off(_input(), Settings(kms_key_id="k", email_sender_identity="example.com"))


# ---- the sender identity ------------------------------------------------------------------------


def test_the_sender_is_the_address_or_secnotify_at_the_domain() -> None:
    assert sender_address("alerts@example.com") == "alerts@example.com"
    assert sender_address("example.com") == f"{SENDER_LOCAL_PART}@example.com"
    assert identity_problem("example.com") is None and identity_problem("alerts@example.com") is None
    assert identity_problem("*.example.com") is not None and identity_problem("exa?ple.com") is not None
