"""Resolving at another URL and receiver references (README "Resolving at another URL"): the
rules for a resolved route's path and a reference's JSON pointer, which the API checks on save
and delivery follows when it sends."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from secnotify.models.integration import HEADER_VALUE_FORBIDDEN
from secnotify.models.named_secrets import SECRET_NAME_PATTERN

# A reference's name: as a secret's, a letter then up to 63 letters, digits or underscores.
RECEIVER_NAME_PATTERN = SECRET_NAME_PATTERN
MAX_PATH_CHARS = 1000
MAX_POINTER_CHARS = 500
# The longest value kept as a reference: an issue key or an alert id, not a document.
MAX_REFERENCE_CHARS = 1024

_JINJA_MARKERS = ("{{", "{%", "{#")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# `~` only as `~0` (for `~`) or `~1` (for `/`): RFC 6901, section 3.
_BAD_TILDE = re.compile(r"~(?![01])")
_INDEX = re.compile(r"^(?:0|[1-9][0-9]*)$")
_SURROGATE = re.compile("[\ud800-\udfff]")
# A host no path can name: checks that a path keeps the URL's authority.
_PROBE = "http://origin.invalid"


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot be a resolved route's path, or None. It is appended to the scheme,
    host and port of ``webhook.url``, so it must start with one ``/`` and nothing in it may be
    read as another authority: no ``//`` at its start, no backslash (which some parsers take for
    ``/``), no space, control character or fragment, and ``%`` only in ``%XX`` escapes."""
    if not path.startswith("/"):
        return "must start with /"
    if path.startswith("//"):
        return "must not start with // (it would name another host)"
    if any(marker in path for marker in _JINJA_MARKERS):
        return "takes {Placeholder}s only, not Jinja"
    if "\\" in path:
        return "must not contain a backslash"
    if HEADER_VALUE_FORBIDDEN.search(path) or any(c.isspace() for c in path):
        return "must not contain spaces or control characters"
    if "#" in path:
        return "must not contain a fragment (#)"
    if _BAD_ESCAPE.search(path):
        return "% must start a %XX escape"
    parts = urlsplit(_PROBE + path)
    if parts.netloc != "origin.invalid" or not parts.path.startswith("/"):
        return "must not change the scheme, host or port"
    return None


def pointer_problem(pointer: str) -> str | None:
    """Why ``pointer`` is not an RFC 6901 JSON pointer, or None."""
    if pointer and not pointer.startswith("/"):
        return 'must be a JSON pointer (RFC 6901): empty, or starting with /, e.g. "/key"'
    if _BAD_TILDE.search(pointer):
        return "~ must be written ~0, and / inside a name ~1 (RFC 6901)"
    return None


_MISSING = object()


def pointer_value(doc: Any, pointer: str) -> Any:
    """The value ``pointer`` (checked by ``pointer_problem``) names in ``doc``, or ``_MISSING``."""
    if pointer == "":
        return doc
    value = doc
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            if token not in value:
                return _MISSING
            value = value[token]
        elif isinstance(value, list):
            if not _INDEX.match(token) or int(token) >= len(value):
                return _MISSING
            value = value[int(token)]
        else:
            return _MISSING
    return value


def reference_in(doc: Any, pointer: str) -> tuple[str | None, str]:
    """The reference ``pointer`` names in a receiver's decoded JSON answer, and why there is none
    when it is None. A string is kept as it is, a number as written; anything else is not a
    reference. ``doc`` comes from ``json.loads`` with numbers left as their text (``parse_float``
    and ``parse_int`` of ``str``), so ``10001`` and ``"10001"`` both give ``10001``."""
    value = pointer_value(doc, pointer)
    if value is _MISSING:
        return None, f"the answer has no value at {pointer or 'its root'}"
    if not isinstance(value, str):
        kind = "null" if value is None else type(value).__name__
        kind = {"bool": "true/false", "dict": "an object", "list": "an array"}.get(kind, kind)
        return None, f"the value at {pointer or 'the root'} is {kind}, not a string or number"
    if not value:
        return None, f"the value at {pointer or 'the root'} is empty"
    if len(value) > MAX_REFERENCE_CHARS:
        return None, f"the value at {pointer or 'the root'} is over {MAX_REFERENCE_CHARS} characters"
    if not value.isascii() and _SURROGATE.search(value):  # `"\ud800"` decodes to one
        return None, f"the value at {pointer or 'the root'} is not valid Unicode"
    return value, ""
