"""Lenient reading of hostile JSON: every reader takes any JSON value and returns a bounded value
of the expected type or a default, so a parser built on them cannot raise on odd input. Nothing
here recurses into the input: deep nesting costs nothing.

Decisions:
- Strings are stripped and capped (titles 1,000, descriptions 10,000, anything else 2,048
  characters); a lone surrogate, which survives JSON parsing but cannot be sent as UTF-8,
  becomes U+FFFD. Lists are read up to 1,000 items.
- Ids are never cut or altered: a cut id could merge two problems, so an id too long or not
  valid Unicode makes its finding unreadable (``Unreadable``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from itertools import islice
from typing import Any

from secnotify.models.event import AffectedEntity, Tag
from secnotify.models.finding import MAX_FINDING_ID_BYTES
from secnotify.sources.dates import parse_date

TITLE_MAX = 1_000
DESCRIPTION_MAX = 10_000
TEXT_MAX = 2_048  # ids, ARNs, names, types, tag keys and values
LIST_MAX = 1_000

_CVE = re.compile(r"CVE-\d{4}-\d{1,12}", re.IGNORECASE)
_EMPTY: Mapping[str, Any] = {}


class Unreadable(Exception):
    """A finding cannot be read; the message says why."""


def obj(value: object) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else _EMPTY


def items(value: object) -> list[Any]:
    """The first ``LIST_MAX`` elements of ``value`` if it is a list, else none."""
    return value[:LIST_MAX] if isinstance(value, list) else []


def path(value: object, *keys: str) -> object:
    for key in keys:
        value = obj(value).get(key)
    return value


def text(value: object, limit: int = TEXT_MAX) -> str:
    """``value`` if it is a string (stripped, capped, lone surrogates replaced), else empty."""
    if not isinstance(value, str):
        return ""
    capped = value[: limit * 2].strip()[:limit]
    try:
        capped.encode("utf-8")
    except UnicodeEncodeError:
        capped = capped.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return capped


def upper(value: object) -> str:
    return text(value, 64).upper()


def ident(value: object) -> str:
    """An id: a string, or an integer some exports use for account ids."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
        return str(value)
    return text(value)


def first(*values: str) -> str:
    return next((v for v in values if v), "")


def score(value: object, scale: float = 1.0, *, strings: bool = False) -> float | None:
    """A 0-10 score from a JSON number divided by ``scale`` (with ``strings``, also from a
    number's text, as ASFF ProductFields hold them); anything else is no score."""
    if strings and isinstance(value, str) and 0 < len(value) <= 32:
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        scaled = float(value) / scale
    except OverflowError:
        return None
    return scaled if math.isfinite(scaled) and 0.0 <= scaled <= 10.0 else None


def date(*values: object) -> datetime | None:
    """The first of ``values`` that is a date in a known form."""
    for value in values:
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    return None


def finding_id(value: object, field: str) -> str:
    """The provider's finding id, exactly as given: it is the problem's identity."""
    if not isinstance(value, str) or not value.strip():
        raise Unreadable(f"{field} is missing or not a string")
    if len(value) > TEXT_MAX:
        raise Unreadable(f"{field} is longer than {TEXT_MAX} characters")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise Unreadable(f"{field} is not valid Unicode") from None
    if size > MAX_FINDING_ID_BYTES:
        raise Unreadable(f"{field} is longer than {MAX_FINDING_ID_BYTES} bytes of UTF-8")
    return value


def cve_ids(values: Iterable[object]) -> tuple[str, ...]:
    """The CVE ids among ``values``, upper-cased, in order, once each (vendor ids like USN-… are
    left out)."""
    seen: dict[str, None] = {}
    for value in islice(values, LIST_MAX * 2):
        if isinstance(value, str) and len(value) <= 32 and _CVE.fullmatch(value.strip()):
            seen.setdefault(value.strip().upper(), None)
            if len(seen) == LIST_MAX:
                break
    return tuple(seen)


def map_pairs(mapping: object) -> Iterator[tuple[object, object]]:
    """The pairs of a ``{key: value}`` tag map (Inspector, ASFF)."""
    return islice(obj(mapping).items(), LIST_MAX)


def list_pairs(pairs: object, key: str, value: str) -> Iterator[tuple[object, object]]:
    """The pairs of a ``[{key, value}]`` tag list (GuardDuty ``key``/``value``, OCSF ``name``/``value``)."""
    return ((obj(p).get(key), obj(p).get(value)) for p in items(pairs))


def tags(pairs: Iterable[tuple[object, object]]) -> tuple[Tag, ...]:
    """Tags from ``(key, value)`` pairs, each once, up to ``LIST_MAX``; a value that is not a
    string is no value."""
    seen: dict[Tag, None] = {}
    for key, value in pairs:
        name = text(key)
        if name:
            seen.setdefault(Tag(key=name, value=text(value) if isinstance(value, str) else None), None)
            if len(seen) == LIST_MAX:
                break
    return tuple(seen)


def entity(entity_id: str, name: str, kind: str) -> AffectedEntity:
    # A readable name: the one given, else the id's last path segment (the resource's own name).
    readable = name or entity_id.rsplit("/", 1)[-1].rsplit(":", 1)[-1] or entity_id
    return AffectedEntity(id=entity_id, name=readable, type=kind)


def entities(found: Iterable[AffectedEntity]) -> tuple[AffectedEntity, ...]:
    """The entities with an id, each once, up to ``LIST_MAX``."""
    return tuple(dict.fromkeys(e for e in found if e.id))[:LIST_MAX]


def is_sample(title: str, *flags: object) -> bool:
    """A sample finding: a flag that is true (or "true"), or "[SAMPLE]" in the title."""
    return "[SAMPLE]" in title or any(
        f is True or (isinstance(f, str) and f.lower() == "true") for f in flags
    )
