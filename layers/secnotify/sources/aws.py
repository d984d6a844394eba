"""What every AWS finding parser shares: the EventBridge envelope, ARN parts, region and account
checks, the origin of a finding id, console links, and reading a batch of findings.

Decisions:
- A finding whose id is the native ARN of Inspector or GuardDuty keeps that service as its source
  whichever parser reads it, so ``{Source}``, the display id and the console link agree.
- One-finding events (Inspector, GuardDuty) are malformed when their finding cannot be read. In a
  batch (Security Hub) an unreadable finding is skipped and its reason kept in
  ``FindingBatch.skipped`` for the caller to log; only when none is readable is the event malformed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

from secnotify.models.common import EventRiskLevel
from secnotify.models.finding import FindingSnapshot, FindingSource
from secnotify.sources import lenient as L
from secnotify.sources.eventbridge import MalformedEvent, derive_risk_level

REASONS_MAX = 5

_REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# Only the commercial partition's console domain is known; other partitions get no link.
_COMMERCIAL_REGION = re.compile(r"(?!cn-|us-gov-|us-iso)[a-z]{2}(-[a-z]+)+-\d{1,2}")
_ACCOUNT = re.compile(r"\d{12}")
_NATIVE_ARN = re.compile(r"arn:[\w-]{1,32}:(inspector2|guardduty):")
_NATIVE = {"inspector2": FindingSource.INSPECTOR, "guardduty": FindingSource.GUARDDUTY}
# "Id" EQUALS filter of the Security Hub console's finding search, already encoded.
_SEARCH_BY_ID = "Id%3D%255Coperator%255C%253AEQUALS%255C%253A"
_EVENT_ID_MAX = 256


class Envelope:
    """The EventBridge fields a finding falls back on when it lacks its own."""

    def __init__(self, event: Mapping[str, Any], event_id: str | None) -> None:
        self.event_id = event_id
        # The time EventBridge received the snapshot: it orders snapshots as well as the
        # service's own date does, at second precision.
        self.time = L.date(event.get("time"))
        self.account = L.ident(event.get("account"))
        self.region = L.text(event.get("region"), 64)


def read_envelope(event: object, detail_type: str) -> tuple[Envelope, Mapping[str, Any]]:
    """The envelope and the ``detail`` of an event of ``detail_type``; anything else is malformed."""
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"event must be a JSON object, not {type(event).__name__}")
    raw_id = event.get("id")
    event_id = raw_id if isinstance(raw_id, str) and len(raw_id) <= _EVENT_ID_MAX else None
    if event.get("detail-type") != detail_type:
        raise MalformedEvent(f"detail-type is not {detail_type!r}", event_id)
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("detail is missing or not a JSON object", event_id)
    return Envelope(event, event_id), detail


def updated_at(own: datetime | None, envelope: Envelope) -> datetime:
    # The finding's own update time orders snapshots; the envelope time stands in when it is absent.
    when = own or envelope.time
    if when is None:
        raise L.Unreadable("time is missing or not a date, and the finding has no update time")
    return when


def _unreadable(
    parse: Callable[[Mapping[str, Any], Envelope], FindingSnapshot],
    raw: Mapping[str, Any],
    envelope: Envelope,
) -> FindingSnapshot | str:
    """The snapshot of one finding, or why it cannot be read: the one guard of every parser."""
    try:
        return parse(raw, envelope)
    except L.Unreadable as exc:
        return str(exc)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, RecursionError) as exc:
        # Defensive: whatever slips past the readers costs one finding, never the process.
        return f"finding could not be read: unexpected {type(exc).__name__}"


class FindingBatch(list[FindingSnapshot]):
    """The readable findings of one event, with the reasons the others were skipped."""

    def __init__(self, snapshots: list[FindingSnapshot], skipped: tuple[str, ...] = ()) -> None:
        super().__init__(snapshots)
        self.skipped = skipped


def read_one(
    envelope: Envelope,
    detail: Mapping[str, Any],
    parse: Callable[[Mapping[str, Any], Envelope], FindingSnapshot],
) -> FindingBatch:
    """The one finding of a one-finding event; ``MalformedEvent`` when it cannot be read."""
    reason = _unreadable(parse, detail, envelope)
    if isinstance(reason, str):
        raise MalformedEvent(reason, envelope.event_id)
    return FindingBatch([reason])


def read_batch(
    envelope: Envelope,
    detail: Mapping[str, Any],
    parse: Callable[[Mapping[str, Any], Envelope], FindingSnapshot],
) -> FindingBatch:
    """The readable findings of ``detail.findings``; ``MalformedEvent`` when none is."""
    findings = detail.get("findings")
    if not isinstance(findings, list) or not findings:
        raise MalformedEvent("detail.findings must be a non-empty list", envelope.event_id)
    good: list[FindingSnapshot] = []
    reasons: list[str] = []
    for index, raw in enumerate(findings):
        if index >= L.LIST_MAX:
            reasons.append(f"{len(findings) - L.LIST_MAX} findings beyond the first {L.LIST_MAX} not read")
            break
        read = _unreadable(parse, raw, envelope) if isinstance(raw, Mapping) else "not a JSON object"
        if isinstance(read, str):
            reasons.append(f"findings[{index}]: {read}")
        else:
            good.append(read)
    if not good:
        shown = "; ".join(reasons[:REASONS_MAX])
        more = f"; and {len(reasons) - REASONS_MAX} more" if len(reasons) > REASONS_MAX else ""
        raise MalformedEvent(f"no readable finding: {shown}{more}", envelope.event_id)
    return FindingBatch(good, tuple(reasons))


def arn_part(arn: str, index: int) -> str:
    """One ``:``-separated part of an ARN (3 region, 4 account), or empty."""
    parts = arn.split(":", 5)
    return parts[index] if len(parts) > index else ""


def region_of(*candidates: str) -> str:
    """The first candidate that looks like a region name (the ECR sample says "N/A"), else the
    first non-empty one: a zone id that matches no profile is harmless."""
    return next((c for c in candidates if _REGION.fullmatch(c)), L.first(*candidates))


def account_of(*candidates: str) -> str:
    return next((c for c in candidates if _ACCOUNT.fullmatch(c)), L.first(*candidates))


def origin(fid: str) -> FindingSource:
    """Inspector or GuardDuty when the id is that service's native ARN, else Security Hub."""
    match = _NATIVE_ARN.match(fid)
    return _NATIVE[match.group(1)] if match else FindingSource.SECURITY_HUB


def console_url(source: FindingSource, fid: str, region: str, *, securityhub_link: bool = False) -> str:
    """A console deep link (README "Findings from AWS security services"; patterns unverified).
    Only a real commercial region goes into the host name."""
    if not _COMMERCIAL_REGION.fullmatch(region):
        return ""
    base = f"https://{region}.console.aws.amazon.com"
    if source is FindingSource.INSPECTOR:
        return f"{base}/inspector/v2/home?region={region}#/findings/all?findingArn={quote(fid, safe='')}"
    if source is FindingSource.GUARDDUTY:
        short = fid.rpartition("/finding/")[2]
        if not short:
            return ""
        return f"{base}/guardduty/home?region={region}#/findings?macros=current&fId={quote(short, safe='')}"
    if not securityhub_link:
        return ""
    # The console's search filter is itself URL-encoded inside the fragment: encode the id twice.
    twice = quote(quote(fid, safe=""), safe="")
    return f"{base}/securityhub/home?region={region}#/findings?search={_SEARCH_BY_ID}{twice}"


def combine_fix(values: list[str]) -> str:
    """One fix-available value for several vulnerabilities: all YES, all NO, else PARTIAL."""
    known = {v for v in values if v in ("YES", "NO", "PARTIAL")}
    if not known:
        return ""
    return known.pop() if len(known) == 1 else "PARTIAL"


# The services' own severity labels; INFORMATIONAL matches no profile.
SEVERITY_LABELS: Mapping[str, EventRiskLevel] = MappingProxyType(
    {
        "CRITICAL": EventRiskLevel.CRITICAL,
        "HIGH": EventRiskLevel.HIGH,
        "MEDIUM": EventRiskLevel.MEDIUM,
        "LOW": EventRiskLevel.LOW,
        "INFORMATIONAL": EventRiskLevel.NONE,
    }
)


def risk_level(label: object, risk_score: float | None) -> EventRiskLevel:
    """The source's own label when it is one we know, else the level of the score."""
    level = SEVERITY_LABELS.get(L.upper(label))
    return level if level is not None else derive_risk_level(risk_score)
