"""Email renders attacks as it renders problems: every sample event of events/eventbridge (attack
samples and the hostile attack among them) through the sample email integration and through an
email written for attacks, to a message whose HTML holds only the template's own elements."""

from __future__ import annotations

import email
import json
from email.message import EmailMessage
from email.policy import default
from html.parser import HTMLParser
from pathlib import Path

import pytest

from secnotify.delivery.mail import build_message
from secnotify.models.email import StoredEmail
from secnotify.service.email_channel import EmailChannel
from secnotify.settings import Settings
from secnotify.sources import parse_eventbridge
from secnotify.templating import TEMPLATES, RenderLimits

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "events" / "eventbridge").glob("*.json"))
SAMPLE_EMAIL = json.loads((ROOT / "events" / "api" / "integration-email.json").read_text(encoding="utf-8"))[
    "email"
]
ATTACK_EMAIL = {
    "recipients": ["secops@example.org"],
    "subject": "[{AttackState}] {AttackDisplayId} {Type}: {Title}",
    "body": "<h2>{AttackType} {AttackState}</h2><p>{EntryPoint}</p>"
    "<p>{VulnerabilityName} in {ProcessGroupId}</p>"
    '<p><a href="{AttackUrl}">Open {AttackDisplayId}</a> {Timestamp}</p>',
}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _channel() -> EmailChannel:
    settings = Settings(kms_key_id="k", email_sender_identity="example.com")
    return EmailChannel(settings, None, TEMPLATES, RenderLimits.from_settings(settings))


def _tags(html_text: str) -> list[str]:
    parser = _Tags()
    parser.feed(html_text)
    return parser.tags


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
@pytest.mark.parametrize("doc", [SAMPLE_EMAIL, ATTACK_EMAIL], ids=["sample email", "attack email"])
def test_every_sample_mails_with_only_the_templates_elements(path: Path, doc: dict[str, str]) -> None:
    event = parse_eventbridge(json.loads(path.read_text(encoding="utf-8")))
    stored = StoredEmail.model_validate(doc)
    rendered = _channel().render(event, stored)
    # Only the template's own elements, whatever the event: values never add one.
    assert set(_tags(rendered.html)) <= set(_tags(doc["body"]))
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    raw = build_message(
        sender="secnotify@example.com",
        to=stored.recipients,
        cc=[],
        rendered=rendered,
        message_id="msg_0123456789abcdef",
        timestamp=1_800_000_000.0,
    )
    parsed = email.message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage) and parsed.get_content_type() == "multipart/alternative"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_the_hostile_attack_reads_as_its_text() -> None:
    raw = json.loads((ROOT / "events" / "eventbridge" / "attack-hostile.json").read_text(encoding="utf-8"))
    event = parse_eventbridge(raw)
    rendered = _channel().render(event, StoredEmail.model_validate(ATTACK_EMAIL))
    parser = _Tags()
    parser.feed(rendered.html)
    assert parser.tags == ["h2", "p", "p", "p", "a"]
    text = "".join(parser.text)
    assert raw["detail"]["attackType"] in text and "</script><script>" not in rendered.html
    assert raw["detail"]["displayId"] in rendered.subject
