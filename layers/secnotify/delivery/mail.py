"""The email an EMAIL integration sends (README "Email"): one multipart/alternative MIME message,
built with the standard library, its plain-text part made from the HTML body.

Everything that reaches a header is checked or cleaned first: addresses are plain
``local@domain`` (models/email.py), the subject loses its line breaks and control characters,
and the library encodes non-ASCII text (RFC 2047) and folds long lines. Both parts are
quoted-printable UTF-8, so no line of the message passes 1,000 characters (RFC 5321, and SES's
rule) and the message is 7-bit clean.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formataddr, formatdate

from secnotify.models.email import SENDER_NAME, SUBJECT_MAX_CHARS

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: none belongs in a
# one-line header, and some mail software reads them as line breaks.
_SUBJECT_JUNK = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")
TEST_SUBJECT_PREFIX = "[test] "


def encodable(text: str) -> str:
    """Lone surrogates (a template can hold them) cannot be encoded: U+FFFD instead."""
    return _SURROGATES.sub("\ufffd", text)


def clean_subject(text: str, limit: int = SUBJECT_MAX_CHARS) -> str:
    """A rendered subject as one header line: control characters and line breaks become spaces,
    runs of white space one space, and past ``limit`` characters it is cut with an ellipsis."""
    one_line = _SPACES.sub(" ", _SUBJECT_JUNK.sub(" ", text)).strip()
    one_line = encodable(one_line)
    if len(one_line) > limit:
        one_line = one_line[: limit - 1].rstrip() + "…"
    return one_line


# ---- HTML to text ---------------------------------------------------------------------------

# Tags that end a line of text (`li` starts an item instead).
_BLOCK = frozenset(
    {
        *("address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset"),
        *("figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header"),
        *("hr", "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul"),
    }
)
_CELL = frozenset({"td", "th"})
# Whose content is not text for a reader.
_HIDDEN = frozenset({"script", "style", "head", "title", "template", "noscript"})
_TAG_NAME = re.compile(r"(/?)([A-Za-z][A-Za-z0-9-]*)")
_HREF = re.compile(r"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.IGNORECASE)
_ALT = re.compile(r"""\balt\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_HORIZONTAL = re.compile(r"[ \t\f\v\r]+")
_BLANK_LINES = re.compile(r"\n{3,}")
# Links open at once that are followed: deeper ones are text (bounds the work of a hostile nest).
_MAX_OPEN_LINKS = 32
_HIDDEN_END = {name: re.compile(rf"</{name}\s*>", re.IGNORECASE) for name in _HIDDEN}


class _Text:
    """Text collected while scanning: runs of white space are one space, except in ``pre``."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.pre = 0
        # Each open `a`: its href, and where its text starts, to write the href after it.
        self.links: list[tuple[str, int]] = []

    def data(self, raw: str) -> None:
        text = html.unescape(raw)
        if not self.pre:
            text = _SPACES.sub(" ", text)
        self.parts.append(text)

    def newline(self, prefix: str = "") -> None:
        self.parts.append("\n" + prefix)

    def result(self) -> str:
        text = "".join(self.parts)
        lines = [_HORIZONTAL.sub(" ", line).strip() for line in text.split("\n")]
        return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip() + "\n"


def html_to_text(source: str) -> str:
    """The text a reader sees in ``source``: block elements on lines of their own, list items as
    ``- item``, links as ``text (url)``, scripts and styles left out, entities decoded.

    One pass with ``str.find``, never backtracking: time grows with the length of the HTML
    however it is malformed (the standard library's parser takes minutes on some 300 KB
    inputs, and a template is as hostile as anything else)."""
    out = _Text()
    at, end = 0, len(source)
    while at < end:
        lt = source.find("<", at)
        if lt < 0:
            out.data(source[at:])
            break
        out.data(source[at:lt])
        if source.startswith("<!--", lt):
            close = source.find("-->", lt + 4)
            at = end if close < 0 else close + 3
            continue
        gt = source.find(">", lt + 1)
        if gt < 0:
            out.data(source[lt:])  # a lone `<` is text
            break
        at = _tag(source, lt, gt, out)
    return out.result()


def _tag(source: str, lt: int, gt: int, out: _Text) -> int:
    """Handle the tag ``source[lt:gt + 1]``; where scanning goes on."""
    inside = source[lt + 1 : gt]
    match = _TAG_NAME.match(inside)
    if match is None:
        if inside[:1] not in ("!", "?", "/"):
            out.data(source[lt : gt + 1])  # `a < b > c`: text, not a tag
        return gt + 1  # a declaration, processing instruction or `</>`
    closing, name = match.group(1) == "/", match.group(2).lower()
    if name in _HIDDEN and not closing and not inside.rstrip().endswith("/"):
        found = _HIDDEN_END[name].search(source, gt + 1)
        return len(source) if found is None else found.end()
    if name == "pre":
        out.pre = max(out.pre + (-1 if closing else 1), 0)
    if name == "a":
        _link(inside, closing, out)
    elif not closing:
        _opening(name, inside, out)
    elif name in _BLOCK:
        out.newline()
    return gt + 1


def _opening(name: str, inside: str, out: _Text) -> None:
    if name == "li":
        out.newline("- ")
    elif name in _BLOCK:
        out.newline()
        if name == "hr":
            out.parts.append("---")
            out.newline()
    elif name in _CELL:
        out.parts.append(" ")
    elif name == "img":
        alt = _ALT.search(inside)
        if alt:
            out.data(alt.group(1) or alt.group(2) or "")


def _link(inside: str, closing: bool, out: _Text) -> None:
    if not closing:
        if len(out.links) >= _MAX_OPEN_LINKS:
            return
        found = _HREF.search(inside)
        href = html.unescape(next((g for g in found.groups() if g is not None), "")) if found else ""
        out.links.append((href.strip(), len(out.parts)))
        return
    if not out.links:
        return
    href, start = out.links.pop()
    text = "".join(out.parts[start:])
    shown = href.removeprefix("mailto:")
    if href.lower().startswith(("http://", "https://", "mailto:")) and shown not in text:
        out.parts.append(f" ({shown})")


# ---- the message ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """What the templates made of one event for one integration."""

    subject: str
    html: str


def build_message(
    *,
    sender: str,
    to: Sequence[str],
    cc: Sequence[str],
    rendered: Rendered,
    message_id: str,
    timestamp: float,
    test_marker: str | None = None,
) -> bytes:
    """The raw message: From, To, Cc (never Bcc), Subject, Date, Message-ID, then a text and an
    HTML alternative. ``message_id`` is the notification's stable id (the webhook-id of a
    webhook): SES replaces the Message-ID header with its own, so it is also sent as
    ``X-Secnotify-Id``, which SES keeps."""
    # Imported on the first mail: the header machinery costs every dispatcher cold start ~20 ms.
    from email.message import EmailMessage
    from email.policy import SMTP

    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((SENDER_NAME, sender))
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(timestamp, usegmt=True)
    message["Message-ID"] = f"<{message_id}@{sender.partition('@')[2]}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to alerts
    message["X-Secnotify-Id"] = message_id
    if test_marker is not None:
        message["X-Secnotify-Test"] = test_marker
    body = encodable(rendered.html)
    message.set_content(html_to_text(body), charset="utf-8", cte="quoted-printable")
    message.add_alternative(body, subtype="html", charset="utf-8", cte="quoted-printable")
    return message.as_bytes()
