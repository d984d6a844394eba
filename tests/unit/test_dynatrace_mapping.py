"""Dynatrace security-problem events and attacks into canonical secnotify events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from secnotify.sources.dynatrace.mapping import (
    ATTACK_DETAIL_TYPE,
    Change,
    ProblemState,
    UnreadableProblem,
    attack_detail,
    baseline,
    changes,
    entity_type,
    problem_detail,
)
from secnotify.sources.eventbridge import parse_eventbridge

EXAMPLES = Path(__file__).resolve().parents[2] / "local" / "dynatrace_examples"


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def ev(at: int, reason: str, level: str = "HIGH", score: float = 8.0) -> dict[str, Any]:
    return {
        "timestamp": at,
        "reason": reason,
        "riskAssessmentSnapshot": {"riskLevel": level, "riskScore": score},
    }


def newest_first(*events: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(events, key=lambda e: -e["timestamp"])


CURRENT = {"securityProblemId": "1", "status": "OPEN", "firstSeenTimestamp": 100, "lastUpdatedTimestamp": 500}


def kinds(found: list[Change]) -> list[tuple[str, int, str]]:
    return [(c.detail_type, c.at, c.status) for c in found]


def test_the_documented_events_resolve_and_reopen_twice_and_same_level_assessments_say_nothing() -> None:
    events = example("securityProblem-events.example.json")["events"]
    state = ProblemState(last_updated=1, event_at=1, status="OPEN", risk_level="MEDIUM")
    found, after = changes(events, state, example("securityProblem-details.example.json"))
    assert kinds(found) == [
        ("Security Problem Resolved", 1726495086473, "RESOLVED"),
        ("Security Problem Reopened", 1726495992217, "OPEN"),
        ("Security Problem Resolved", 1726496886335, "RESOLVED"),
        ("Security Problem Reopened", 1726497793191, "OPEN"),
    ]
    assert found[0].dedup_key("7412525767433554374") == (
        "7412525767433554374:1726495086473:SECURITY_PROBLEM_RESOLVED"
    )
    assert (after.event_at, after.status, after.risk_level) == (1726497793191, "OPEN", "MEDIUM")


def test_each_reason_maps_as_the_issue_lists() -> None:
    events = newest_first(
        ev(100, "SECURITY_PROBLEM_CREATED", "HIGH"),
        ev(200, "ASSESSMENT_CHANGED", "CRITICAL", 9.8),  # a new level: Risk Level Changed
        ev(250, "ASSESSMENT_CHANGED", "CRITICAL", 9.9),  # same level: nothing
        ev(300, "SECURITY_PROBLEM_MUTED", "CRITICAL"),
        ev(310, "SECURITY_PROBLEM_UNMUTED", "CRITICAL"),
        ev(320, "VULNERABILITY_ID_CHANGED", "CRITICAL"),
        ev(400, "SECURITY_PROBLEM_RESOLVED", "CRITICAL"),
        ev(450, "ASSESSMENT_CHANGED", "LOW", 2.0),  # while resolved: nothing
        ev(500, "SECURITY_PROBLEM_REOPENED", "LOW", 2.0),
        ev(600, "VULNERABILITY_DEPRECATED", "LOW", 2.0),
    )
    found, after = changes(events, None, CURRENT)
    assert kinds(found) == [
        ("Security Problem Opened", 100, "OPEN"),
        ("Security Problem Risk Level Changed", 200, "OPEN"),
        ("Security Problem Resolved", 400, "RESOLVED"),
        ("Security Problem Reopened", 500, "OPEN"),
        ("Security Problem Resolved", 600, "RESOLVED"),
    ]
    assert [c.reason for c in found] == [
        "SECURITY_PROBLEM_CREATED",
        "ASSESSMENT_CHANGED",
        "SECURITY_PROBLEM_RESOLVED",
        "SECURITY_PROBLEM_REOPENED",
        "VULNERABILITY_DEPRECATED",
    ]
    assert (after.status, after.risk_level, after.event_at) == ("RESOLVED", "LOW", 600)


def test_events_already_handled_are_not_repeated_but_a_new_reason_in_the_same_millisecond_is() -> None:
    events = newest_first(
        ev(100, "SECURITY_PROBLEM_CREATED"),
        ev(200, "SECURITY_PROBLEM_RESOLVED"),
        ev(200, "ASSESSMENT_CHANGED"),
    )
    not_yet_resolved = [e for e in events if e["reason"] != "SECURITY_PROBLEM_RESOLVED"]
    first, state = changes(not_yet_resolved, None, CURRENT)
    assert [c.detail_type for c in first] == ["Security Problem Opened"]
    assert (state.event_at, state.event_reasons) == (200, ("ASSESSMENT_CHANGED",))
    again, state = changes(events, state, CURRENT)
    assert kinds(again) == [("Security Problem Resolved", 200, "RESOLVED")]
    assert changes(events, state, CURRENT)[0] == []


def test_a_baseline_takes_nothing_of_the_past_as_new() -> None:
    current = {**CURRENT, "riskAssessment": {"riskLevel": "HIGH"}}
    state = baseline(current)
    events = newest_first(ev(100, "SECURITY_PROBLEM_CREATED"), ev(500, "ASSESSMENT_CHANGED", "CRITICAL"))
    assert changes(events, state, current)[0] == []
    later = [ev(501, "SECURITY_PROBLEM_RESOLVED"), *events]
    assert kinds(changes(later, state, current)[0]) == [("Security Problem Resolved", 501, "RESOLVED")]


def test_a_new_open_problem_without_its_creation_event_still_opens_once_at_its_first_sighting() -> None:
    found, state = changes([], None, {**CURRENT, "riskAssessment": {"riskLevel": "LOW"}})
    assert kinds(found) == [("Security Problem Opened", 100, "OPEN")]
    assert found[0].dedup_key("1") == "1:100:SECURITY_PROBLEM_CREATED"
    assert changes([ev(100, "SECURITY_PROBLEM_CREATED")], state, CURRENT)[0] == []


def test_malformed_events_are_skipped_and_the_rest_still_count() -> None:
    events: list[Any] = [
        "text",
        {"timestamp": "100", "reason": "SECURITY_PROBLEM_RESOLVED"},
        {"timestamp": 150, "reason": "resolved; DROP TABLE"},
        {"timestamp": True, "reason": "SECURITY_PROBLEM_RESOLVED"},
        ev(100, "SECURITY_PROBLEM_CREATED"),
    ]
    assert kinds(changes(events, None, CURRENT)[0]) == [("Security Problem Opened", 100, "OPEN")]


def envelope(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "5f1c2a3e-0000-4000-8000-00000000dt01",
        "detail-type": detail_type,
        "source": "secnotify",
        "account": "123456789012",
        "time": "2026-01-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_a_change_of_the_documented_problem_is_an_event_the_dispatcher_reads_as_the_same_problem() -> None:
    details = example("securityProblem-details.example.json")
    change = Change(
        "Security Problem Risk Level Changed",
        1727156677302,
        "ASSESSMENT_CHANGED",
        "OPEN",
        {"riskLevel": "HIGH", "riskScore": 7.5, "baseRiskScore": 5.3},
    )
    entities = [{"id": "PROCESS_GROUP-0A9A52EA262BC039", "name": "backend", "type": "PROCESS_GROUP"}]
    detail = problem_detail(details, change, entities)
    assert detail["origin"] == "dynatrace"
    assert detail["dedupKey"] == "7412525767433554374:1727156677302:ASSESSMENT_CHANGED"
    event = parse_eventbridge(envelope("Security Problem Risk Level Changed", detail))
    assert event.security_problem_id == "7412525767433554374"  # the platform's own id, unprefixed
    assert (event.display_id, event.status, event.risk_level.value) == ("S-4073", "OPEN", "HIGH")
    assert (event.risk_score, event.base_risk_score) == (7.5, 5.3)
    assert event.url == details["url"] and event.cve_ids == ("CVE-2022-3517",)
    assert [(e.id, e.name) for e in event.affected_entities] == [
        ("PROCESS_GROUP-0A9A52EA262BC039", "backend")
    ]
    assert event.last_updated_timestamp == 1727156677302


def test_hostile_values_from_the_api_are_left_out_rather_than_breaking_the_event() -> None:
    details = {
        "securityProblemId": "42",
        "displayId": ["S-1"],
        "title": "<script>x</script>" * 1000,
        "muted": "false",
        "riskAssessment": {"riskLevel": "EXTREME", "riskScore": "9.9", "baseRiskScore": 11.0, "exposure": 5},
        "managementZones": [{"id": True}, {"id": 7, "name": "prod"}, "zone"],
        "cveIds": ["CVE-1", 2, None],
        "firstSeenTimestamp": -5,
    }
    detail = problem_detail(
        details, Change("Security Problem Opened", 9, "SECURITY_PROBLEM_CREATED", "OPEN"), []
    )
    event = parse_eventbridge(envelope("Security Problem Opened", detail))
    assert event.muted is False and event.display_id == ""
    assert len(event.title) == 4000
    assert event.risk_score is None and event.base_risk_score is None
    assert [(z.id, z.name) for z in event.management_zones] == [("7", "prod")]
    assert event.cve_ids == ("CVE-1",) and event.first_seen_timestamp is None


@pytest.mark.parametrize("bad", ["../../x", "", "a b", None, True, "x" * 200, {"id": 1}])
def test_a_problem_whose_id_is_not_an_identifier_is_refused(bad: Any) -> None:
    with pytest.raises(UnreadableProblem):
        problem_detail(
            {"securityProblemId": bad},
            Change("Security Problem Opened", 1, "SECURITY_PROBLEM_CREATED", "OPEN"),
            [],
        )


def test_an_attack_keeps_its_documented_shape_and_gains_its_page_origin_and_key() -> None:
    attack = {
        **example("attack-details.model.json"),
        "attackId": "7226758392016000000",
        "state": "EXPLOITED",
        "timestamp": 1767268800000,
        "url": "https://evil.example/",
        "dedupKey": "forged",
    }
    detail = attack_detail(attack, "https://abc123.live.dynatrace.com")
    assert detail["url"] == "https://abc123.live.dynatrace.com/ui/security/attack/7226758392016000000"
    assert (detail["origin"], detail["dedupKey"]) == (
        "dynatrace",
        "7226758392016000000:1767268800000:ATTACK_EXPLOITED",
    )
    assert (
        detail["attackType"] == "COMMAND_INJECTION"
        and detail["affectedEntities"]["processGroup"]["id"] == "string"
    )
    assert ATTACK_DETAIL_TYPE == "Security Attack Detected"


@pytest.mark.parametrize(
    "change",
    [{"attackId": "../x"}, {"state": "PWNED"}, {"state": None}, {"timestamp": "1"}, {"timestamp": None}],
)
def test_an_attack_without_an_id_a_known_state_and_a_time_is_refused(change: dict[str, Any]) -> None:
    attack = {"attackId": "1", "state": "BLOCKED", "timestamp": 1, **change}
    with pytest.raises(UnreadableProblem):
        attack_detail(attack, "https://abc123.live.dynatrace.com")


def test_entity_types_come_from_their_ids() -> None:
    assert entity_type("PROCESS_GROUP-0A9A52EA262BC039") == "PROCESS_GROUP"
    assert entity_type("SERVICE-1125C375A187D27A") == "SERVICE"
    assert entity_type("12345") == "" and entity_type("lower-case") == ""


def test_an_event_too_large_for_eventbridge_leaves_out_its_optional_parts_and_says_so() -> None:
    wide = "\U0001f512" * 256  # four bytes each, as long as a name may be
    entities = [{"id": f"HOST-{n:04d}", "name": wide, "type": "HOST"} for n in range(100)]
    zones = [{"id": n, "name": wide} for n in range(40)]
    details = {
        "securityProblemId": "42",
        "title": wide * 20,
        "description": wide * 40,
        "managementZones": zones,
    }
    change = Change("Security Problem Opened", 9, "SECURITY_PROBLEM_CREATED", "OPEN")
    detail = problem_detail(details, change, entities)
    assert (
        detail["truncated"] is True and "description" not in detail and len(detail["affectedEntities"]) == 100
    )
    assert len(json.dumps(detail, ensure_ascii=False).encode()) < 200_000
    event = parse_eventbridge(envelope("Security Problem Opened", detail))
    assert len(event.management_zones) == 40  # matching still sees every zone
    small = problem_detail({**details, "description": "short"}, change, entities[:3])
    assert "truncated" not in small and small["description"] == "short"


def test_an_attack_too_large_drops_its_request_first_and_one_that_cannot_fit_is_refused() -> None:
    attack = {"attackId": "1", "state": "BLOCKED", "timestamp": 5, "displayName": "SQL injection"}
    huge = {**attack, "request": {"headers": ["x" * 1000] * 300}, "entrypoint": {"name": "main"}}
    detail = attack_detail(huge, "https://abc12345.live.dynatrace.com")
    assert (
        detail["truncated"] is True and "request" not in detail and detail["entrypoint"] == {"name": "main"}
    )
    with pytest.raises(UnreadableProblem, match="too large"):
        attack_detail({**attack, "displayName": "x" * 300_000}, "https://abc12345.live.dynatrace.com")


@pytest.mark.parametrize("oversized", [False, True], ids=["whole", "truncated"])
def test_an_attack_the_poller_puts_is_one_the_dispatcher_reads_as_that_attack(oversized: bool) -> None:
    attack = {
        **example("attack-details.model.json"),
        "attackId": "7226758392016000000",
        "displayId": "A-1234",
        "state": "BLOCKED",
        "timestamp": 1767268800000,
    }
    if oversized:  # a request too big for one EventBridge entry: the poller drops it and says so
        attack["request"] = {"path": "/" + "a" * 300_000}
    detail = attack_detail(attack, "https://abc123.live.dynatrace.com")
    assert detail.get("truncated", False) is oversized
    event = parse_eventbridge(envelope(ATTACK_DETAIL_TYPE, detail))
    assert event.is_attack
    assert (event.attack_display_id, event.attack_state) == ("A-1234", "BLOCKED")
    assert event.attack_url == "https://abc123.live.dynatrace.com/ui/security/attack/7226758392016000000"
    again = parse_eventbridge({**envelope(ATTACK_DETAIL_TYPE, detail), "id": "another-envelope-id"})
    assert again.event_id == event.event_id  # one attack state, one event, whichever copy arrives
