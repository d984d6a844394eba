"""Content-type aware escaping (README "Payload templates")."""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring
from typing import Any, Literal

from secnotify.templating.placeholders import Kind, dumps, fix_surrogates

Mode = Literal["json", "xml", "raw"]


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_json_content_type(content_type: str) -> bool:
    # text/json and */x-json are older names receivers still parse as JSON: escaping must follow.
    media = _media_type(content_type)
    if media.endswith("+json"):
        return True
    _, slash, subtype = media.partition("/")
    return bool(slash) and (media in ("application/json", "text/json") or subtype == "x-json")


def is_xml_content_type(content_type: str) -> bool:
    media = _media_type(content_type)
    return media in ("application/xml", "text/xml") or media.endswith("+xml")


def mode_for(content_type: str) -> Mode:
    if is_json_content_type(content_type):
        return "json"
    if is_xml_content_type(content_type):
        return "xml"
    return "raw"


# --- JSON: a value written for where the scanner says it stands --------------------------


def json_string_content(text: str) -> str:
    """``text`` escaped for use between the quotes of a JSON string."""
    return fix_surrogates(encode_basestring(text)[1:-1])


def _bare_string(text: str) -> str:
    return fix_surrogates(encode_basestring(text)) if text else "null"


def _bare_literal(text: str) -> str:
    return text or "null"


def placeholder_escaper(mode: Mode, in_string: bool, kind: Kind) -> Callable[[str], str]:
    """How a placeholder's text is inserted at a given position."""
    if mode == "xml":
        return xml_escape
    if mode == "raw":
        return _identity
    if in_string:
        return json_string_content
    return _bare_string if kind == "string" else _bare_literal


def _identity(text: str) -> str:
    return text


# --- XML -----------------------------------------------------------------------------------


def _xml_table() -> dict[int, str]:
    table: dict[int, str] = {
        ord("&"): "&amp;",
        ord("<"): "&lt;",
        ord(">"): "&gt;",
        ord('"'): "&quot;",
        ord("'"): "&#39;",
    }
    # XML 1.0 allows only tab, LF, CR below 0x20, and no surrogates or U+FFFE/U+FFFF.
    bad = [c for c in range(0x20) if c not in (0x9, 0xA, 0xD)]
    bad += [*range(0xD800, 0xE000), 0xFFFE, 0xFFFF]
    table.update(dict.fromkeys(bad, "\ufffd"))
    return table


_XML_TABLE = _xml_table()


def xml_escape(text: str) -> str:
    return text.translate(_XML_TABLE)


# --- values of Jinja expressions (the Jinja-only ones live in jinja_engine) ----------------


def to_text(value: Any) -> str:
    """A Jinja value as plain text, formatted the way placeholders are."""
    if isinstance(value, str):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | dict):
        return dumps(value)
    return str(value)  # an Undefined raises here (StrictUndefined)
