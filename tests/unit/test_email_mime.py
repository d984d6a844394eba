"""The email an EMAIL integration sends: one multipart/alternative MIME message whose headers no
value can break out of, an HTML body whose values are escaped, a text part made from it
(README "Email")."""

from __future__ import annotations

import email
import html
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secnotify.delivery.mail import (
    TEST_SUBJECT_PREFIX,
    Rendered,
    build_message,
    clean_subject,
    html_to_text,
)
from secnotify.models.email import SUBJECT_MAX_CHARS, StoredEmail
from secnotify.models.event import SecurityEvent, sample_event
from secnotify.service.email_channel import EmailChannel
from secnotify.settings import Settings
from secnotify.templating import TEMPLATES, RenderLimits

SENDER = "secnotify@example.com"
HOSTILE = (
    'Q"uote\' <script>alert(1)</script> & &amp; <b onmouseover="x">b</b> "><img src=x onerror=y> '
    "{{7*7}} {Title} \x00\x08\x1b[31m \u2028 \ud800 🔥"
)
INJECTION = "Patch now\r\nBcc: attacker@evil.example\r\n\r\n<h1>forged body</h1>"


def _event(**update: Any) -> SecurityEvent:
    return sample_event().model_copy(update=update)


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _message(subject: str = "Alert", body: str = "<p>Hello</p>", **kwargs: Any) -> bytes:
    options: dict[str, Any] = {
        "sender": SENDER,
        "to": ["secops@example.org", "oncall@example.org"],
        "cc": ["lead@example.org"],
        "rendered": Rendered(subject, body),
        "message_id": "msg_0123456789abcdef",
        "timestamp": 1_800_000_000.0,
    }
    return build_message(**{**options, **kwargs})


# ---- the message ----------------------------------------------------------------------------


def test_headers_name_sender_recipients_subject_date_and_the_stable_id() -> None:
    message = _parse(_message(subject="[Critical] S-1234: log4j"))
    assert message["From"] == f"secnotify <{SENDER}>"
    assert message["To"] == "secops@example.org, oncall@example.org"
    assert message["Cc"] == "lead@example.org"
    assert message["Subject"] == "[Critical] S-1234: log4j"
    assert message["Date"] == "Fri, 15 Jan 2027 08:00:00 +0000"
    assert message["Message-ID"] == "<msg_0123456789abcdef@example.com>"
    # SES replaces Message-ID with its own; this one it keeps.
    assert message["X-Secnotify-Id"] == "msg_0123456789abcdef"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["MIME-Version"] == "1.0"
    assert message["X-Secnotify-Test"] is None


def test_a_test_send_is_marked() -> None:
    message = _parse(_message(test_marker="custom-event"))
    assert message["X-Secnotify-Test"] == "custom-event"


def test_bcc_is_never_in_the_message() -> None:
    # Bcc addresses are SES destinations only (the port's ``bcc``); build_message never sees them.
    raw = _message()
    assert b"bcc" not in raw.lower()
    assert "Bcc" not in _parse(raw)


def test_one_multipart_alternative_text_then_html_both_utf8() -> None:
    body = "<h1>Titel: Grüße</h1><p>Score <b>9.8</b> 🔥</p>"
    message = _parse(_message(body=body))
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    # The HTML exactly as rendered, with the line end MIME adds (lines end CRLF in a message).
    assert parts[1].get_content() == body + "\r\n"
    assert parts[0].get_content() == "Titel: Grüße\r\n\r\nScore 9.8 🔥\r\n"


def test_the_message_is_7bit_with_short_lines() -> None:
    long_line = "<p>" + "ü" * 5000 + "</p>"
    raw = _message(subject="Ä" * 200, body=long_line)
    raw.decode("ascii")  # every part encoded: nothing an 8-bit-unsafe hop can corrupt
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78  # SES and RFC 5321 allow 1,000
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only
    assert _parse(raw)["Subject"] == "Ä" * 200


def test_lone_surrogates_in_the_body_become_replacement_characters() -> None:
    message = _parse(_message(body="<p>a\ud800b</p>"))
    assert list(message.iter_parts())[1].get_content() == "<p>a\ufffdb</p>\r\n"


# ---- the subject ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain", "plain"),
        ("  two\t\tspaces  ", "two spaces"),
        ("line\r\nbreak", "line break"),
        ("bare\rcr\nlf", "bare cr lf"),
        ("nul\x00bell\x07esc\x1b[31mdel\x7f", "nul bell esc [31mdel"),
        ("c1\x85next\x9bcsi", "c1 next csi"),
        ("unicode\u2028line\u2029para", "unicode line para"),
        ("\r\n\r\n", ""),
    ],
)
def test_clean_subject_is_one_line(raw: str, clean: str) -> None:
    assert clean_subject(raw) == clean


def test_clean_subject_is_cut_with_an_ellipsis() -> None:
    cut = clean_subject("x" * 1000)
    assert len(cut) == SUBJECT_MAX_CHARS and cut.endswith("…")
    assert clean_subject("x" * SUBJECT_MAX_CHARS) == "x" * SUBJECT_MAX_CHARS


@given(st.text(max_size=400))
def test_no_subject_can_add_a_header(text: str) -> None:
    raw = _message(subject=clean_subject(text))
    headers = BytesHeaderParser(policy=default).parsebytes(raw)
    names = [name.lower() for name in headers]
    assert names.count("subject") == 1 and "bcc" not in names
    assert names == [
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "auto-submitted",
        "x-secnotify-id",
        "mime-version",
        "content-type",
    ]
    assert str(headers["Subject"]) == clean_subject(text)


def test_a_header_injection_in_the_title_stays_in_the_subject() -> None:
    channel = _channel()
    email_ = _email(subject="[{Severity}] {Title}", body="<p>{Title}</p>")
    rendered = channel.render(_event(title=INJECTION), email_)
    message = _parse(_message(subject=rendered.subject, body=rendered.html))
    assert "Bcc" not in message and message["Bcc"] is None
    assert message["Subject"] == "[Critical] Patch now Bcc: attacker@evil.example <h1>forged body</h1>"
    html_part = list(message.iter_parts())[1].get_content()
    assert "<h1>" not in html_part and "&lt;h1&gt;forged body&lt;/h1&gt;" in html_part


# ---- the body's escaping --------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _channel() -> EmailChannel:
    settings = Settings(kms_key_id="k", email_sender_identity="example.com")
    return EmailChannel(settings, None, TEMPLATES, RenderLimits.from_settings(settings))


def _email(subject: str, body: str) -> StoredEmail:
    return StoredEmail(recipients=["secops@example.org"], subject=subject, body=body)


@pytest.mark.parametrize("jinja", [False, True])
def test_hostile_values_cannot_add_tags_or_attributes(jinja: bool) -> None:
    title = "{{ Title }}" if jinja else "{Title}"
    body = f'<p class="t" title="{title}">{title}</p><a href="{{SecurityProblemUrl}}">open</a>'
    event = _event(title=HOSTILE, url='https://x.example/"><script>x</script>')
    rendered = _channel().render(event, _email("s", body))
    parser = _Tags()
    parser.feed(rendered.html)
    # Only the template's own elements and attributes exist, whatever the values hold.
    assert [(tag, [name for name, _ in attrs]) for tag, attrs in parser.tags] == [
        ("p", ["class", "title"]),
        ("a", ["href"]),
    ]
    expected = HOSTILE.replace("\x00", "\ufffd").replace("\x08", "\ufffd").replace("\x1b", "\ufffd")
    expected = expected.replace("\ud800", "\ufffd")
    assert dict(parser.tags[0][1])["title"] == expected
    assert parser.text[0] == expected
    assert dict(parser.tags[1][1])["href"] == 'https://x.example/"><script>x</script>'


def test_hostile_subject_values_stay_plain_text_on_one_line() -> None:
    rendered = _channel().render(_event(title=HOSTILE), _email("{Title} / {{ Title }}", "<p>b</p>"))
    assert "\n" not in rendered.subject and "\r" not in rendered.subject and "\x1b" not in rendered.subject
    # Plain text: nothing is entity-escaped in a subject.
    assert rendered.subject.startswith('Q"uote\' <script>alert(1)</script> & &amp; <b onmouseover="x">')


def test_a_test_send_subject_starts_with_the_test_prefix() -> None:
    rendered = _channel().render(sample_event(), _email("{SecurityProblemId}", "<p/>"), test=True)
    assert rendered.subject == f"{TEST_SUBJECT_PREFIX}S-1234"


# ---- HTML to text -----------------------------------------------------------------------------


def test_html_to_text_keeps_what_a_reader_sees() -> None:
    source = (
        "<html><head><title>t</title><style>p { color: red }</style></head><body>"
        "<h1>Alert &amp; more</h1><p>Problem <b>S-1</b>   is\n  open.<br>Next line</p>"
        "<ul><li>one</li><li>two</li></ul>"
        '<p><a href="https://x.example/p?a=1&amp;b=2">View it</a>, <a href="mailto:a@b.example">write</a>, '
        '<a href="https://y.example/">https://y.example/</a>, <a href="javascript:alert(1)">no</a></p>'
        "<table><tr><td>a</td><td>b</td></tr></table><img alt='[logo]' src=x><hr>"
        "<script>var x = '<p>not text</p>';</script>a &lt; b<!-- a comment --> end</body></html>"
    )
    assert html_to_text(source) == (
        "Alert & more\n\n"
        "Problem S-1 is open.\nNext line\n\n"
        "- one\n- two\n\n"
        "View it (https://x.example/p?a=1&b=2), write (a@b.example), https://y.example/, no\n\n"
        "a b\n\n[logo]\n---\n"
        "a < b end\n"
    )


def test_html_to_text_of_text_without_tags_is_that_text() -> None:
    assert html_to_text("just text, a < b > c") == "just text, a < b > c\n"


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    "hostile",
    [
        "<a x='" * 50_000,  # the standard library's parser takes minutes on this
        "<!--" * 50_000,
        "<![CDATA[" * 50_000,
        "<script>" * 100_000,
        "<a href='https://x.example'>" * 50_000 + "</a>" * 50_000,
        "<" * 300_000,
    ],
)
def test_html_to_text_ends_on_malformed_html(hostile: str) -> None:
    # Guards against a hang, not a speed target: linear work takes well under a second here.
    text = html_to_text(hostile)
    assert isinstance(text, str) and len(text) <= len(hostile) * 2


@given(st.text(alphabet="<>!-/a=\"' &;pbrlihx\n", max_size=300))
def test_html_to_text_takes_anything(source: str) -> None:
    text = html_to_text(source)
    assert text.endswith("\n") and "\n\n\n" not in text


@given(st.text(alphabet=st.characters(blacklist_characters="<", blacklist_categories=("Cs",)), max_size=300))
def test_text_without_tags_comes_out_as_its_words(source: str) -> None:
    assert html_to_text(source).split() == html.unescape(source).split()
