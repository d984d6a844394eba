"""Lenient reading of AWS finding events: every accessor takes any JSON value and returns a
bounded value of the expected type or a default, so a parser built on them cannot raise on odd
input. Nothing here recurses into the input: deep nesting costs nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from itertools import islice
from typing import Any

from secnotify.models.event import AffectedEntity, Tag
from secnotify.sources.dates import parse_date
from secnotify.sources.eventbridge import MalformedEvent

# Caps so that a hostile event cannot blow up memory or a template.
TITLE_MAX = 1_000
DESCRIPTION_MAX = 10_000
TEXT_MAX = 2_048  # ids, ARNs, names, types, tag keys and values
LIST_MAX = 1_000

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
_ACCOUNT = re.compile(r"\d{12}")
_CVE = re.compile(r"CVE-\d{4}-\d{4,}")
_EMPTY: Mapping[str, Any] = {}


def obj(value: object) -> Mapping[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, Mapping) else _EMPTY


def items(value: object) -> list[Any]:
    """The first ``LIST_MAX`` elements of ``value`` if it is a list, else none."""
    return value[:LIST_MAX] if isinstance(value, list) else []


def text(value: object, limit: int = TEXT_MAX) -> str:
    """``value`` if it is a string (stripped, capped, lone surrogates replaced), else empty."""
    if not isinstance(value, str):
        return ""
    capped = value[: limit * 2].strip()[:limit]
    # A lone surrogate survives JSON parsing but can be neither stored nor sent as UTF-8.
    return capped.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def ident(value: object) -> str:
    """An id: a string, or an integer some exports use for account ids."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
        return str(value)
    return text(value)


def first(*values: str) -> str:
    return next((v for v in values if v), "")


def score(value: object) -> float | None:
    """A 0-10 score; anything else (strings, booleans, out of range, NaN) is no score."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) and 0.0 <= number <= 10.0 else None


def date(value: object) -> datetime | None:
    # parse_date can overflow on huge integers or on year-9999 dates with an offset.
    try:
        return parse_date(value)
    except (OverflowError, ValueError):
        return None


def envelope_time(event: Mapping[str, Any], event_id: str | None) -> datetime:
    """The envelope's ``time``: the fallback for any unreadable finding date. It is the time
    EventBridge received the snapshot, so it orders snapshots as well as the service's own
    date does, at second precision."""
    when = date(event.get("time"))
    if when is None:
        raise MalformedEvent("time is missing or not a date, and the finding has no readable date", event_id)
    return when


def event_id_of(event: object) -> str | None:
    raw = event.get("id") if isinstance(event, Mapping) else None
    return raw[:TEXT_MAX] if isinstance(raw, str) else None


def require_detail(event: object, detail_type: str, event_id: str | None) -> Mapping[str, Any]:
    """The ``detail`` of an envelope of ``detail_type``; anything else is malformed."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"event must be a JSON object, not {type(event).__name__}", event_id)
    if event.get("detail-type") != detail_type:
        raise MalformedEvent(f"detail-type is not {detail_type!r}", event_id)
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("detail is missing or not a JSON object", event_id)
    return detail


def finding_id(value: object, field: str, event_id: str | None) -> str:
    """The provider's finding id. It is the problem's identity, so it is never truncated:
    two distinct findings must not merge."""
    if not isinstance(value, str) or not value.strip():
        raise MalformedEvent(f"{field} is missing or not a string", event_id)
    if len(value) > TEXT_MAX:
        raise MalformedEvent(f"{field} is longer than {TEXT_MAX} characters", event_id)
    return text(value)


def arn_part(arn: str, index: int) -> str:
    """One ``:``-separated part of an ARN (3 region, 4 account), or empty."""
    parts = arn.split(":", 5)
    return parts[index] if len(parts) > index else ""


def region_of(*candidates: str) -> str:
    """The first candidate that looks like a region name (the ECR sample says "N/A"), else the
    first non-empty one: a zone id that matches no profile is harmless."""
    return next((c for c in candidates if _REGION.fullmatch(c)), first(*candidates))


def account_of(*candidates: str) -> str:
    return next((c for c in candidates if _ACCOUNT.fullmatch(c)), first(*candidates))


def is_region(value: str) -> bool:
    """Only a real region name goes into a console URL's host name."""
    return _REGION.fullmatch(value) is not None


def cve_ids(values: list[object]) -> tuple[str, ...]:
    """The CVE ids among ``values``, in order, once each (vendor ids like USN-… are left out)."""
    found = [v for v in (text(v, 64) for v in values) if _CVE.fullmatch(v)]
    return tuple(dict.fromkeys(found))[:LIST_MAX]


def tag_pairs(pairs: list[object]) -> list[Tag]:
    """Tags in GuardDuty's ``[{key, value}]`` form."""
    out = []
    for pair in pairs:
        key = text(obj(pair).get("key"))
        if key:
            out.append(Tag(key=key, value=_tag_value(obj(pair).get("value"))))
    return out


def tag_map(mapping: Mapping[str, Any]) -> list[Tag]:
    """Tags in Inspector's ``{key: value}`` form."""
    out = []
    for key, value in islice(mapping.items(), LIST_MAX):
        name = text(key)
        if name:
            out.append(Tag(key=name, value=_tag_value(value)))
    return out


def _tag_value(value: object) -> str | None:
    return None if value is None else text(value)


def unique_tags(tags: list[Tag]) -> tuple[Tag, ...]:
    return tuple(dict.fromkeys(tags))[:LIST_MAX]


def unique_entities(entities: list[AffectedEntity]) -> tuple[AffectedEntity, ...]:
    return tuple(dict.fromkeys(e for e in entities if e.id))[:LIST_MAX]


def is_sample(title: str, flag: object = False) -> bool:
    """A sample finding: GuardDuty's ``additionalInfo.sample`` or "[SAMPLE]" in the title."""
    return flag is True or (isinstance(flag, str) and flag.lower() == "true") or "[SAMPLE]" in title
