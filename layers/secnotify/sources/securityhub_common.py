"""What the Security Hub parsers (ASFF and OCSF) share: hostile-input readers, the envelope,
the per-finding skip rule, origin detection and console links.

Decisions:
- Every reader returns a default for a value of the wrong JSON type; nothing here raises but
  ``MalformedEvent``. Strings are capped (titles 1,000, descriptions 10,000 characters), lists
  are read up to 1,000 items, so a hostile event cannot blow up memory or time.
- A finding that cannot be read is skipped and its reason kept in ``FindingBatch.skipped`` for the
  caller to log; only when no finding is readable is the whole event malformed.
- A finding whose id is the native ARN of Inspector or GuardDuty keeps that service as its source:
  it is the same problem the native parser reports, so ``{Source}``, the display id and the
  console link agree whichever way the finding arrived.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from itertools import islice
from typing import Any
from urllib.parse import quote

from secnotify.models.event import AffectedEntity, Tag
from secnotify.models.finding import FindingSnapshot, FindingSource
from secnotify.sources.dates import parse_date
from secnotify.sources.eventbridge import MalformedEvent

TITLE_MAX = 1_000
DESCRIPTION_MAX = 10_000
LIST_MAX = 1_000
ID_MAX = 2_048  # ASFF allows 512; longer is refused rather than cut (a cut id could merge problems)
SHORT_MAX = 1_000
REASONS_MAX = 5

_EMPTY: Mapping[str, Any] = {}
_CVE = re.compile(r"CVE-\d{4}-\d{1,12}", re.IGNORECASE)
_NATIVE_ARN = re.compile(r"arn:[\w-]{1,32}:(inspector2|guardduty):")
_NATIVE = {"inspector2": FindingSource.INSPECTOR, "guardduty": FindingSource.GUARDDUTY}
# "Id" EQUALS filter of the Security Hub console's finding search, already encoded.
_SEARCH_BY_ID = "Id%3D%255Coperator%255C%253AEQUALS%255C%253A"
# Only the commercial partition's console domain is known; other partitions get no link.
_REGION = re.compile(r"(?!cn-|us-gov-|us-iso)[a-z]{2}(-[a-z]+)+-\d{1,2}")


class FindingSkipped(Exception):
    """One finding of several cannot be read; the others still count."""


class FindingBatch(list[FindingSnapshot]):
    """The readable findings of one event, with the reasons the others were skipped."""

    def __init__(self, snapshots: list[FindingSnapshot], skipped: tuple[str, ...] = ()) -> None:
        super().__init__(snapshots)
        self.skipped = skipped


class Envelope:
    """The EventBridge fields a finding falls back on when it lacks its own."""

    def __init__(self, event: Mapping[str, Any], event_id: str | None) -> None:
        self.event_id = event_id
        # The envelope time is when EventBridge got the event: the fallback update time.
        self.time = parse_date(event.get("time"))
        self.account = text(event.get("account"), 64)
        self.region = text(event.get("region"), 64)


# --- readers -------------------------------------------------------------------------------------


def obj(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else _EMPTY


def items(value: object) -> list[Any]:
    return value[:LIST_MAX] if isinstance(value, list) else []


def path(value: object, *keys: str) -> object:
    for key in keys:
        value = obj(value).get(key)
    return value


def text(value: object, limit: int = SHORT_MAX) -> str:
    """``value`` if it is a string, cut to ``limit``; a lone surrogate becomes ``?``."""
    if not isinstance(value, str):
        return ""
    cut = value[:limit]
    try:
        cut.encode("utf-8")
    except UnicodeEncodeError:
        cut = cut.encode("utf-8", "replace").decode("utf-8")
    return cut


def upper(value: object) -> str:
    return text(value, 64).upper()


def score(value: object, scale: float = 1.0) -> float | None:
    """A 0-10 score from a JSON number (or a number's text, as ASFF ProductFields hold them)."""
    if isinstance(value, str) and 0 < len(value) <= 32:
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


def first_date(*values: object) -> datetime | None:
    for value in values:
        parsed = parse_date(value)
        if parsed is not None:
            return parsed
    return None


def cve_ids(candidates: Iterator[object]) -> tuple[str, ...]:
    """The CVE ids among ``candidates``, upper-cased, each once, in order."""
    seen: dict[str, None] = {}
    for value in islice(candidates, LIST_MAX):
        if isinstance(value, str) and len(value) <= 32 and _CVE.fullmatch(value):
            seen.setdefault(value.upper(), None)
    return tuple(seen)


def combine_fix(values: list[str]) -> str:
    """One fix-available value for several vulnerabilities: all YES, all NO, else PARTIAL."""
    known = {v for v in values if v in ("YES", "NO", "PARTIAL")}
    if not known:
        return ""
    return known.pop() if len(known) == 1 else "PARTIAL"


def tag_pairs(pairs: Iterator[tuple[object, object]], into: dict[tuple[str, str | None], None]) -> None:
    for key, value in islice(pairs, LIST_MAX):
        if isinstance(key, str) and key and len(into) < LIST_MAX:
            into.setdefault((text(key), text(value) if isinstance(value, str) else None), None)


def tags_of(pairs: dict[tuple[str, str | None], None]) -> tuple[Tag, ...]:
    return tuple(Tag(key=k, value=v) for k, v in pairs)


def entity(entity_id: str, name: str, kind: str) -> AffectedEntity:
    # A readable name: the one given, else the id's last path segment (the resource's own name).
    readable = name or entity_id.rsplit("/", 1)[-1].rsplit(":", 1)[-1] or entity_id
    return AffectedEntity(id=entity_id, name=readable, type=kind)


# --- ids, origin, links --------------------------------------------------------------------------


def finding_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FindingSkipped(f"{field} is missing or not a string")
    if len(value) > ID_MAX:
        raise FindingSkipped(f"{field} is longer than {ID_MAX} characters")
    if text(value, ID_MAX) != value:
        raise FindingSkipped(f"{field} is not valid Unicode")
    return value


def origin(fid: str) -> FindingSource:
    """Inspector or GuardDuty when the id is that service's native ARN, else Security Hub."""
    match = _NATIVE_ARN.match(fid)
    return _NATIVE[match.group(1)] if match else FindingSource.SECURITY_HUB


def console_url(source: FindingSource, fid: str, region: str, *, securityhub_link: bool) -> str:
    """A console deep link (README "Findings from AWS security services"; patterns unverified)."""
    if not _REGION.fullmatch(region):
        return ""
    base = f"https://{region}.console.aws.amazon.com"
    if source is FindingSource.INSPECTOR:
        return f"{base}/inspector/v2/home?region={region}#/findings/all?findingArn={quote(fid, safe='')}"
    if source is FindingSource.GUARDDUTY:
        short = fid.rsplit("/finding/", 1)[-1]
        return f"{base}/guardduty/home?region={region}#/findings?macros=current&fId={quote(short, safe='')}"
    if not securityhub_link:
        return ""
    # The console's search filter is itself URL-encoded inside the fragment: encode the id twice.
    twice = quote(quote(fid, safe=""), safe="")
    return f"{base}/securityhub/home?region={region}#/findings?search={_SEARCH_BY_ID}{twice}"


# --- envelope and batch --------------------------------------------------------------------------


def read_envelope(event: object, detail_type: str) -> tuple[Envelope, list[Any]]:
    """The envelope and its findings list, or ``MalformedEvent`` when there is nothing to read."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"event must be a JSON object, not {type(event).__name__}")
    raw_id = event.get("id")
    event_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= 256 else None
    if event.get("detail-type") != detail_type:
        raise MalformedEvent(f"detail-type is not {detail_type!r}", event_id)
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("detail must be a JSON object", event_id)
    findings = detail.get("findings")
    if not isinstance(findings, list) or not findings:
        raise MalformedEvent("detail.findings must be a non-empty list", event_id)
    return Envelope(event, event_id), findings


def read_all(
    envelope: Envelope,
    findings: list[Any],
    parse_one: Callable[[Mapping[str, Any], Envelope], FindingSnapshot],
) -> FindingBatch:
    good: list[FindingSnapshot] = []
    reasons: list[str] = []
    for index, raw in enumerate(findings):
        if index >= LIST_MAX:
            reasons.append(f"{len(findings) - LIST_MAX} findings beyond the first {LIST_MAX} not read")
            break
        try:
            if not isinstance(raw, Mapping):
                raise FindingSkipped("not a JSON object")
            good.append(parse_one(raw, envelope))
        except FindingSkipped as exc:
            reasons.append(f"findings[{index}]: {exc}")
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
            # Defensive: whatever slips past the readers costs one finding, not the event.
            reasons.append(f"findings[{index}]: could not be read ({type(exc).__name__})")
    if not good:
        shown = "; ".join(reasons[:REASONS_MAX])
        more = f"; and {len(reasons) - REASONS_MAX} more" if len(reasons) > REASONS_MAX else ""
        raise MalformedEvent(f"no readable finding: {shown}{more}", envelope.event_id)
    return FindingBatch(good, tuple(reasons))


def updated_at(own: datetime | None, envelope: Envelope) -> datetime:
    # The finding's own update time orders snapshots; the envelope time stands in when it is absent.
    when = own or envelope.time
    if when is None:
        raise FindingSkipped("no update time (neither the finding's nor the envelope's)")
    return when
