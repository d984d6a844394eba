"""What happened to a Dynatrace security problem (its events) as canonical ``secnotify`` events.

SECURITY_PROBLEM_CREATED -> Opened; _REOPENED -> Reopened; _RESOLVED and VULNERABILITY_DEPRECATED
-> Resolved; ASSESSMENT_CHANGED with a new risk level while open -> Risk Level Changed; every other
reason (other assessment changes, _MUTED, _UNMUTED, VULNERABILITY_ID_CHANGED) -> nothing.

Every value from the API is hostile until checked: ids and reasons must be short printable text,
numbers must be numbers in range, and a field that is not what the canonical detail accepts is
left out rather than passed on (the dispatcher would refuse the whole event).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ORIGIN = "dynatrace"
SOURCE = "secnotify"
ATTACK_DETAIL_TYPE = "Security Attack Detected"
MAX_DEDUP_KEY = 512
MAX_TEXT = 4000
MAX_DESCRIPTION = 10_000
MAX_LIST = 100
# An EventBridge entry holds 256 KB with its envelope fields; the detail keeps a margin.
MAX_DETAIL_BYTES = 200_000

OPENED = "Security Problem Opened"
REOPENED = "Security Problem Reopened"
RESOLVED = "Security Problem Resolved"
RISK_CHANGED = "Security Problem Risk Level Changed"

CREATED = "SECURITY_PROBLEM_CREATED"
ALL = "*"  # in ``event_reasons``: every event at ``event_at`` counts as handled (a baseline)
ASSESSMENT_CHANGED = "ASSESSMENT_CHANGED"
_DETAIL_TYPES = {
    CREATED: OPENED,
    "SECURITY_PROBLEM_REOPENED": REOPENED,
    "SECURITY_PROBLEM_RESOLVED": RESOLVED,
    "VULNERABILITY_DEPRECATED": RESOLVED,
}
RISK_LEVELS = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE")
ATTACK_STATES = ("EXPLOITED", "BLOCKED", "ALLOWLISTED")
# Dynatrace ids are numeric or TYPE-HEX; anything else in an id slot is refused.
_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")
_REASON = re.compile(r"[A-Z_]{1,64}")


class UnreadableProblem(ValueError):
    """A problem or attack whose identity cannot be trusted; it is skipped, the poll goes on."""


def safe_id(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise UnreadableProblem("an id is not an identifier")
    return value


def _ms(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53 else None


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    return value[:limit] if isinstance(value, str) else ""


def _score(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0.0 <= value <= 10.0 else None


def _level(value: Any) -> str | None:
    return value if value in RISK_LEVELS else None


@dataclass(frozen=True)
class ProblemState:
    """What the poller last handled of one problem (stored per problem)."""

    last_updated: int = 0  # the problem's lastUpdatedTimestamp when last handled
    event_at: int = 0  # the newest event handled
    event_reasons: tuple[str, ...] = ()  # the reasons handled at ``event_at`` (events may share a ms)
    status: str = ""
    risk_level: str = ""


@dataclass(frozen=True)
class Change:
    detail_type: str
    at: int
    reason: str
    status: str
    snapshot: Mapping[str, Any] = field(default_factory=dict)

    def dedup_key(self, problem_id: str) -> str:
        return f"{problem_id}:{self.at}:{self.reason}"[:MAX_DEDUP_KEY]


def _ordered(events: Iterable[Any]) -> list[tuple[int, str, Mapping[str, Any]]]:
    """Readable events, oldest first; the API lists them newest first, so equal times keep the
    API's order reversed."""
    readable = []
    for raw in events:
        if not isinstance(raw, Mapping):
            continue
        at, reason = _ms(raw.get("timestamp")), raw.get("reason")
        if at is None or not isinstance(reason, str) or not _REASON.fullmatch(reason):
            continue
        snapshot = raw.get("riskAssessmentSnapshot")
        readable.append((at, reason, snapshot if isinstance(snapshot, Mapping) else {}))
    readable.reverse()
    return sorted(readable, key=lambda e: e[0])


def changes(
    events: Iterable[Any], state: ProblemState | None, current: Mapping[str, Any]
) -> tuple[list[Change], ProblemState]:
    """The notifications ``events`` (newest first, as listed) make after ``state``, and the state
    after them. A problem seen for the first time with no opening event among its events still
    opens: at its first-seen time, keyed as its creation would have been."""
    st = state or ProblemState()
    status, level = st.status, st.risk_level
    at_last, reasons = st.event_at, set(st.event_reasons)
    out: list[Change] = []
    for at, reason, snapshot in _ordered(events):
        if at < st.event_at or (
            at == st.event_at and (reason in st.event_reasons or ALL in st.event_reasons)
        ):
            continue
        new_level = _level(snapshot.get("riskLevel")) or level
        detail_type = _DETAIL_TYPES.get(reason)
        if detail_type is not None:
            status = "RESOLVED" if detail_type == RESOLVED else "OPEN"
            out.append(Change(detail_type, at, reason, status, snapshot))
        elif reason == ASSESSMENT_CHANGED and status == "OPEN" and level and new_level != level:
            out.append(Change(RISK_CHANGED, at, reason, status, snapshot))
        level = new_level
        if at != at_last:
            at_last, reasons = at, set()
        reasons.add(reason)
    current_level = _level(_risk_of(current).get("riskLevel")) or ""
    first = _ms(current.get("firstSeenTimestamp"))
    if state is None and not out and _status_of(current) == "OPEN" and first is not None:
        out.append(Change(OPENED, first, CREATED, "OPEN", _risk_of(current)))
        status, level = "OPEN", current_level or level
        at_last, reasons = max(at_last, first), reasons | {CREATED}
    updated = _ms(current.get("lastUpdatedTimestamp")) or st.last_updated
    return out, ProblemState(
        updated, at_last, tuple(sorted(reasons)), status or _status_of(current), level or current_level
    )


def _risk_of(current: Mapping[str, Any]) -> Mapping[str, Any]:
    risk = current.get("riskAssessment")
    return risk if isinstance(risk, Mapping) else {}


def _status_of(current: Mapping[str, Any]) -> str:
    status = current.get("status")
    return status if isinstance(status, str) and status in ("OPEN", "RESOLVED") else ""


def baseline(current: Mapping[str, Any]) -> ProblemState:
    """The state of a problem recorded without notification (the first poll's baseline)."""
    updated = _ms(current.get("lastUpdatedTimestamp")) or 0
    return ProblemState(
        last_updated=updated,
        event_at=updated,
        event_reasons=(ALL,),
        status=_status_of(current),
        risk_level=_level(_risk_of(current).get("riskLevel")) or "",
    )


def _zones(raw: Any) -> list[dict[str, str]]:
    zones = []
    for zone in raw if isinstance(raw, list) else []:
        if (
            isinstance(zone, Mapping)
            and isinstance(zone.get("id"), str | int)
            and not isinstance(zone.get("id"), bool)
        ):
            zones.append({"id": str(zone["id"])[:128], "name": _text(zone.get("name"), 256)})
    return zones[:MAX_LIST]


def _risk(details: Mapping[str, Any], snapshot: Mapping[str, Any]) -> dict[str, Any]:
    current = details.get("riskAssessment")
    current = current if isinstance(current, Mapping) else {}
    risk: dict[str, Any] = {}
    level = _level(snapshot.get("riskLevel")) or _level(current.get("riskLevel"))
    if level:
        risk["riskLevel"] = level
    for name in ("riskScore", "baseRiskScore"):
        score = _score(snapshot.get(name)) if name in snapshot else _score(current.get(name))
        if score is not None:
            risk[name] = score
    for name in ("exposure", "publicExploit", "dataAssets"):
        value = snapshot.get(name, current.get(name))
        if isinstance(value, str):
            risk[name] = value[:64]
    return risk


def problem_detail(
    details: Mapping[str, Any], change: Change, entities: Sequence[Mapping[str, str]]
) -> dict[str, Any]:
    """The canonical ``detail`` of one change of a problem (``details`` from the details call)."""
    problem_id = safe_id(details.get("securityProblemId"))
    cves = details.get("cveIds")
    detail: dict[str, Any] = {
        "securityProblemId": problem_id,
        "displayId": _text(details.get("displayId"), 64),
        "status": change.status,
        "muted": details.get("muted") is True,
        "title": _text(details.get("title")),
        "description": _text(details.get("description"), MAX_DESCRIPTION),
        "url": _text(details.get("url"), 2048),
        "technology": _text(details.get("technology"), 64),
        "vulnerabilityType": _text(details.get("vulnerabilityType"), 64),
        "cveIds": [c[:64] for c in (cves if isinstance(cves, list) else []) if isinstance(c, str)][:MAX_LIST],
        "riskAssessment": _risk(details, change.snapshot),
        "managementZones": _zones(details.get("managementZones")),
        "affectedEntities": [dict(e) for e in entities][:MAX_LIST],
        "lastUpdatedTimestamp": change.at,
        "origin": ORIGIN,
        "dedupKey": change.dedup_key(problem_id),
    }
    first = _ms(details.get("firstSeenTimestamp"))
    if first is not None:
        detail["firstSeenTimestamp"] = first
    return fit(detail, ("description", "affectedEntities", "cveIds"))


def attack_key(attack: Mapping[str, Any]) -> tuple[str, str, int]:
    """(attackId, state, timestamp) of a listed attack, or UnreadableProblem."""
    attack_id = safe_id(attack.get("attackId"))
    state = attack.get("state")
    at = _ms(attack.get("timestamp"))
    if state not in ATTACK_STATES or at is None:
        raise UnreadableProblem("an attack has no known state or timestamp")
    return attack_id, str(state), at


def attack_detail(attack: Mapping[str, Any], environment_url: str) -> dict[str, Any]:
    """The canonical ``detail`` of a ``Security Attack Detected`` event: the attack as listed,
    plus its page, the origin marker and the dedup key."""
    attack_id, state, at = attack_key(attack)
    detail = {k: v for k, v in attack.items() if k not in ("url", "origin", "dedupKey")}
    detail["url"] = f"{environment_url}/ui/security/attack/{attack_id}"
    detail["origin"] = ORIGIN
    detail["dedupKey"] = f"{attack_id}:{at}:ATTACK_{state}"[:MAX_DEDUP_KEY]
    return fit(detail, ("request", "entrypoint", "vulnerability", "attacker", "attackTarget"))


def _size(detail: Mapping[str, Any]) -> int:
    return len(json.dumps(detail, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def fit(detail: dict[str, Any], optional: Sequence[str]) -> dict[str, Any]:
    """``detail`` within what one EventBridge entry may carry: the ``optional`` parts are left
    out in turn (``truncated`` says so) until it fits; one that still does not is refused, so a
    single huge problem or attack never stops the others."""
    if _size(detail) <= MAX_DETAIL_BYTES:
        return detail
    detail = {**detail, "truncated": True}
    for name in optional:
        detail.pop(name, None)
        if _size(detail) <= MAX_DETAIL_BYTES:
            return detail
    raise UnreadableProblem("an event is too large for EventBridge even without its optional parts")


def entity_type(entity_id: str) -> str:
    """The type an entity id names (``PROCESS_GROUP-0A9A...`` -> ``PROCESS_GROUP``), or ``""``."""
    head, sep, _ = entity_id.rpartition("-")
    return head if sep and re.fullmatch(r"[A-Z_]{1,64}", head) else ""
