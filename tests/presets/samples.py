"""Every event the dispatcher understands, as the presets must render it: each problem sample of
events/eventbridge (hostile.json included) under every detail-type, each attack sample
(attack-*.json, attack-hostile.json included) as it is, each AWS finding sample
(events/aws and the documented fixtures, through the source adapters) under every transition,
and events made to sit on the receivers' limits (long text, many entities, odd links)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from secnotify.models.common import EventRiskLevel, TriggerEvent
from secnotify.models.event import (
    AffectedEntity,
    ManagementZone,
    SecurityEvent,
    sample_attack_event,
    sample_event,
)
from secnotify.models.finding import FindingTransition
from secnotify.sources import MalformedEvent, parse_eventbridge, parse_findings
from secnotify.sources.attacks import ATTACK_DETAIL_TYPE
from secnotify.sources.eventbridge import SOURCE_DETAIL_TYPES
from secnotify.sources.findings import security_event

ROOT = Path(__file__).resolve().parents[2]
EVENTBRIDGE = sorted((ROOT / "events" / "eventbridge").glob("*.json"))
AWS = sorted(
    [*(ROOT / "events" / "aws").glob("*.json"), *(ROOT / "tests" / "fixtures" / "aws").glob("*.json")]
)


def _eventbridge(path: Path) -> list[SecurityEvent]:
    """The sample under each detail-type the platform sends: every trigger."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    if raw["detail-type"] == ATTACK_DETAIL_TYPE:
        return [parse_eventbridge(raw)]
    out = []
    for detail_type in SOURCE_DETAIL_TYPES:
        event = copy.deepcopy(raw)
        event["detail-type"] = detail_type
        event["id"] = f"{raw['id']}-{detail_type}"
        if detail_type.endswith("Zone Added"):
            event["detail"].setdefault("newManagementZones", [{"id": "9", "name": "new zone"}])
        if detail_type.endswith("Resolved"):
            event["detail"]["status"] = "RESOLVED"
        out.append(parse_eventbridge(event))
    return out


def _aws(path: Path) -> list[SecurityEvent]:
    """Each finding of the sample through each transition its lifecycle can notify."""
    try:
        batch = parse_findings(json.loads(path.read_text(encoding="utf-8")))
    except MalformedEvent:
        return []
    if batch is None:  # a bare finding or detail, not an event
        return []
    level = EventRiskLevel.HIGH
    return [
        security_event(
            snapshot, transition, f"{snapshot.finding_id}#{transition}", snapshot.risk_level or level
        )
        for snapshot in batch
        for transition in FindingTransition
    ]


def _edge_events() -> list[tuple[str, SecurityEvent]]:
    base = sample_event()
    amp_title = "a" * 2990 + "&<>&<>" + "z" * 100  # an escape lands on Slack's cut
    entities = tuple(
        AffectedEntity(id=f"HOST-{i}", name=f"host-{i} <@U{i}> & more", type="HOST") for i in range(1200)
    )
    cases: dict[str, dict[str, Any]] = {
        "long text": {
            "title": amp_title,
            "description": ("Line & <b>bold</b> [link](https://evil.example) " * 2000).strip(),
            "cve_ids": tuple(f"CVE-2024-{i:05d}" for i in range(600)),
            "management_zones": tuple(ManagementZone(id=str(i), name=f"zone {i} & co") for i in range(300)),
        },
        "many entities": {"affected_entities": entities},
        "worst bytes": {
            "title": "\u0001😀" * 3000,
            "description": "\u0002" * 20000,
            "affected_entities": tuple(
                AffectedEntity(id="\u0003" * 300, name="😀\u0004" * 300, type="\u0005" * 200)
                for _ in range(100)
            ),
            "management_zones": (ManagementZone(id="1", name="\u0006" * 5000),),
            "cve_ids": ("\u0007" * 3000,),
        },
        "empty": {
            "title": "",
            "description": "",
            "display_id": "",
            "url": "",
            "affected_entities": (),
            "management_zones": (),
            "cve_ids": (),
            "risk_score": None,
            "base_risk_score": None,
            "risk_level": EventRiskLevel.NONE,
            "last_updated_timestamp": None,
        },
        "mention and link injection": {
            "title": "<!channel> <@U123> <https://evil.example|click> [x](https://evil.example)",
            "url": "https://evil.example/a|b>c",
        },
        "script url": {"url": "javascript:alert(1)"},
        "url with spaces": {"url": "https://example.com/a b"},
        "very long url": {"url": "https://example.com/" + "p" * 5000},
    }
    out = []
    for name, changes in cases.items():
        for detail_type, trigger in SOURCE_DETAIL_TYPES.items():
            event = base.model_copy(
                update={
                    **changes,
                    "event_id": f"edge-{name}-{detail_type}",
                    "event_time": datetime(2026, 5, 1, tzinfo=UTC),
                    "detail_type": detail_type,
                    "trigger": trigger,
                    "status": "RESOLVED" if trigger is TriggerEvent.SECURITY_PROBLEM_RESOLVED else "OPEN",
                }
            )
            out.append((f"edge: {name}", event))
    return out + _attack_edges()


def _attack_edges() -> list[tuple[str, SecurityEvent]]:
    base = sample_attack_event()
    cases: dict[str, dict[str, Any]] = {
        "long text": {
            "title": "a" * 2990 + "&<>&<>" + "z" * 100,
            "entry_point": ("f(<b>x</b>) & [link](https://evil.example) " * 500).strip(),
            "vulnerability_name": "v & <i>" * 1000,
            "management_zones": tuple(ManagementZone(id=str(i), name=f"zone {i} & co") for i in range(300)),
        },
        "worst bytes": {
            "title": "\u0001😀" * 3000,
            "attack_type": "\u0002" * 2000,
            "entry_point": "\u0003" * 20000,
            "attack_display_id": "😀\u0004" * 300,
            "attack_id": "\u0005" * 600,
        },
        "only id and state": {
            "title": "",
            "technology": "",
            "attack_display_id": "",
            "attack_type": "",
            "attack_url": "",
            "entry_point": "",
            "vulnerability_name": "",
            "process_group_id": "",
            "affected_entities": (),
            "management_zones": (),
        },
        "mention and link injection": {
            "title": "<!channel> <@U123> <https://evil.example|click> [x](https://evil.example)",
            "attack_url": "https://evil.example/a|b>c",
        },
        "script url": {"attack_url": "javascript:alert(1)"},
        "very long url": {"attack_url": "https://example.com/" + "p" * 5000},
    }
    out = []
    for name, changes in cases.items():
        for state in ("EXPLOITED", "BLOCKED", "ALLOWLISTED"):
            event = base.model_copy(
                update={**changes, "event_id": f"edge-attack-{name}-{state}", "attack_state": state}
            )
            out.append((f"edge: attack {name}", event))
    return out


def groups() -> Iterator[tuple[str, list[SecurityEvent]]]:
    """``(name, events)`` for each sample file and each kind of edge event."""
    for path in EVENTBRIDGE:
        yield f"eventbridge/{path.name}", _eventbridge(path)
    for path in AWS:
        events = _aws(path)
        if events:
            yield f"{path.parent.name}/{path.name}", events
    edges: dict[str, list[SecurityEvent]] = {}
    for name, event in _edge_events():
        edges.setdefault(name, []).append(event)
    yield from edges.items()


GROUPS: dict[str, list[SecurityEvent]] = dict(groups())
