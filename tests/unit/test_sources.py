"""EventBridge source: sample events, malformed events, derived risk, and fuzzed input."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secnotify.models.common import EventRiskLevel, TriggerEvent
from secnotify.models.event import ManagementZone, SecurityEvent
from secnotify.models.integration_api import IntegrationInput
from secnotify.models.profile import AlertingProfileInput
from secnotify.sources import SOURCE_DETAIL_TYPES, MalformedEvent, parse_eventbridge
from secnotify.sources.eventbridge import DetailType, dedup_event_id
from tests.unit.finding_mutations import json_values, mutate, paths

EVENTS = Path(__file__).resolve().parents[2] / "events"
EB = EVENTS / "eventbridge"

OPENED = TriggerEvent.SECURITY_PROBLEM_OPENED
RESOLVED = TriggerEvent.SECURITY_PROBLEM_RESOLVED
ZONE = TriggerEvent.NEW_MANAGEMENT_ZONE_AFFECTED
ATTACK = TriggerEvent.ATTACK_DETECTED

# file -> (trigger, risk level, status, muted)
EXPECTED_SAMPLES = {
    "opened.json": (OPENED, EventRiskLevel.CRITICAL, "OPEN", False),
    "reopened.json": (OPENED, EventRiskLevel.CRITICAL, "OPEN", False),
    "resolved.json": (RESOLVED, EventRiskLevel.CRITICAL, "RESOLVED", False),
    "zone-added.json": (ZONE, EventRiskLevel.CRITICAL, "OPEN", False),
    "muted.json": (OPENED, EventRiskLevel.CRITICAL, "OPEN", True),
    "derived-risk.json": (OPENED, EventRiskLevel.HIGH, "OPEN", False),
    "hostile.json": (OPENED, EventRiskLevel.HIGH, "OPEN", False),
    # Attacks carry no risk assessment and no problem status (tests/unit/test_source_attacks.py).
    "attack-exploited.json": (ATTACK, EventRiskLevel.NONE, "", False),
    "attack-blocked.json": (ATTACK, EventRiskLevel.NONE, "", False),
    "attack-allowlisted.json": (ATTACK, EventRiskLevel.NONE, "", False),
    "attack-hostile.json": (ATTACK, EventRiskLevel.NONE, "", False),
}

# file -> text the reason must contain (the field at fault)
EXPECTED_MALFORMED = {
    "detail-not-object.json": "detail:",
    "detail-is-array.json": "detail:",
    "missing-detail.json": "detail: Field required",
    "unknown-detail-type.json": "detail-type:",
    "wrong-types.json": "detail.riskAssessment.riskScore: Input should be a valid number",
    "risk-score-out-of-range.json": (
        "detail.riskAssessment.riskScore: Input should be less than or equal to 10"
    ),
    "unknown-risk-level.json": "detail.riskAssessment.riskLevel:",
    "missing-id.json": "id: Field required",
    "attack-missing-state.json": "detail.state: Field required",
    "attack-unknown-state.json": "detail.state: Input should be 'EXPLOITED', 'BLOCKED' or 'ALLOWLISTED'",
    "attack-missing-id.json": "detail.attackId: Field required",
    "attack-wrong-types.json": "detail.timestamp: Input should be a valid integer",
    "dedup-key-too-long.json": "detail.dedupKey: String should have at most 512 characters",
}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def opened() -> dict[str, Any]:
    return load(EB / "opened.json")


def test_sample_files_are_the_expected_set() -> None:
    assert {p.name for p in EB.glob("*.json")} == set(EXPECTED_SAMPLES)
    assert {p.name for p in (EB / "malformed").glob("*.json")} == set(EXPECTED_MALFORMED)


@pytest.mark.parametrize("name", sorted(EXPECTED_SAMPLES))
def test_sample_parses(name: str) -> None:
    raw = load(EB / name)
    event = parse_eventbridge(raw)
    trigger, level, status, muted = EXPECTED_SAMPLES[name]
    assert isinstance(event, SecurityEvent)
    assert (event.trigger, event.risk_level, event.status, event.muted) == (trigger, level, status, muted)
    key = raw["detail"].get("dedupKey")
    assert event.event_id == (dedup_event_id(key) if key else raw["id"])
    assert event.detail_type == raw["detail-type"]
    assert event.event_time == datetime.fromisoformat(raw["time"].replace("Z", "+00:00"))
    assert raw["source"] == "secnotify"
    assert isinstance(raw["resources"], list) and raw["account"] and raw["region"] and raw["version"] == "0"


def test_every_field_is_mapped() -> None:
    raw = opened()
    detail = raw["detail"]
    risk = detail["riskAssessment"]
    event = parse_eventbridge(raw)
    assert event.security_problem_id == detail["securityProblemId"]
    assert event.display_id == detail["displayId"]
    assert event.title == detail["title"]
    assert event.description == detail["description"]
    assert event.url == detail["url"]
    assert event.technology == detail["technology"]
    assert event.vulnerability_type == detail["vulnerabilityType"]
    assert event.cve_ids == tuple(detail["cveIds"])
    assert event.risk_score == risk["riskScore"]
    assert event.base_risk_score == risk["baseRiskScore"]
    assert (event.exposure, event.public_exploit, event.data_assets) == (
        risk["exposure"],
        risk["publicExploit"],
        risk["dataAssets"],
    )
    assert [z.model_dump() for z in event.management_zones] == detail["managementZones"]
    assert [e.model_dump() for e in event.affected_entities] == detail["affectedEntities"]
    assert [t.model_dump(exclude_none=True) for t in event.tags] == detail["tags"]
    assert event.tags[1].value is None
    assert event.first_seen_timestamp == detail["firstSeenTimestamp"]
    assert event.last_updated_timestamp == detail["lastUpdatedTimestamp"]
    assert event.event_time == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_zone_added_keeps_new_zones_apart() -> None:
    event = parse_eventbridge(load(EB / "zone-added.json"))
    assert event.new_management_zones == (ManagementZone(id="123", name="production"),)
    assert {z.name for z in event.management_zones} == {"staging", "production"}


def test_hostile_strings_are_kept_exactly() -> None:
    raw = load(EB / "hostile.json")
    event = parse_eventbridge(raw)
    detail = raw["detail"]
    assert event.title == detail["title"]
    assert event.description == detail["description"]
    assert event.display_id == detail["displayId"]
    assert len(event.description.encode()) >= 2048
    for needle in ("\u2028", "\u2029", "\x01", "\x1b", '"', "\\", "\n", "</script>", "{{7*7}}", "{Title}"):
        assert needle in event.description
    assert "{% raw %}" in event.title
    assert event.tags[0].value == 'team "a"\n\\'
    assert event.management_zones[1].name == 'zone "\u03b1" \\ \u2713'


def test_leading_and_trailing_whitespace_kept() -> None:
    raw = opened()
    raw["detail"]["title"] = "  padded\t\n"
    assert parse_eventbridge(raw).title == "  padded\t\n"


def test_huge_description_parses() -> None:
    raw = opened()
    raw["detail"]["description"] = 'x"\\\n' * 50_000
    assert parse_eventbridge(raw).description == raw["detail"]["description"]


def test_unknown_fields_are_ignored_and_optional_fields_default() -> None:
    raw = opened()
    raw["detail"] = {"futureField": {"nested": [1, 2]}, "riskAssessment": {"riskScore": 5, "newScore": 1}}
    raw["extraTopLevel"] = True
    event = parse_eventbridge(raw)
    assert event.risk_level is EventRiskLevel.MEDIUM
    assert (event.title, event.cve_ids, event.management_zones, event.muted) == ("", (), (), False)
    assert event.status == "OPEN"


@pytest.mark.parametrize("detail_type", sorted(SOURCE_DETAIL_TYPES))
def test_status_defaults_from_detail_type(detail_type: str) -> None:
    raw = opened()
    raw["detail-type"] = detail_type
    del raw["detail"]["status"]
    event = parse_eventbridge(raw)
    assert event.trigger is SOURCE_DETAIL_TYPES[detail_type]
    assert event.status == ("RESOLVED" if detail_type == "Security Problem Resolved" else "OPEN")


def test_the_envelope_model_accepts_exactly_the_mapped_detail_types() -> None:
    assert set(get_args(DetailType)) == set(SOURCE_DETAIL_TYPES)


def test_detail_type_mapping() -> None:
    assert dict(SOURCE_DETAIL_TYPES) == {
        "Security Problem Opened": OPENED,
        "Security Problem Reopened": OPENED,
        "Security Problem Resolved": RESOLVED,
        "Security Problem Management Zone Added": ZONE,
        "Security Problem Risk Level Changed": TriggerEvent.RISK_LEVEL_CHANGED,
    }


def test_numeric_ids_become_text() -> None:
    raw = opened()
    raw["detail"]["securityProblemId"] = 42
    raw["detail"]["managementZones"] = [{"id": 123, "name": "production"}]
    event = parse_eventbridge(raw)
    assert event.security_problem_id == "42"
    assert event.management_zones[0].id == "123"


@pytest.mark.parametrize("name", sorted(EXPECTED_MALFORMED))
def test_malformed_sample(name: str) -> None:
    raw = load(EB / "malformed" / name)
    with pytest.raises(MalformedEvent) as info:
        parse_eventbridge(raw)
    assert EXPECTED_MALFORMED[name] in info.value.reason
    assert info.value.event_id == raw.get("id")
    assert str(info.value) == info.value.reason


def test_wrong_types_names_every_field() -> None:
    with pytest.raises(MalformedEvent) as info:
        parse_eventbridge(load(EB / "malformed" / "wrong-types.json"))
    assert "detail.muted:" in info.value.reason
    assert "detail.cveIds:" in info.value.reason


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("detail", "title"), 42, "detail.title"),
        (("detail", "muted"), "false", "detail.muted"),
        (("detail", "status"), "CLOSED", "detail.status"),
        (("detail", "riskAssessment"), [], "detail.riskAssessment"),
        (("detail", "riskAssessment", "riskScore"), True, "detail.riskAssessment.riskScore"),
        (("detail", "riskAssessment", "riskScore"), -0.1, "detail.riskAssessment.riskScore"),
        (("detail", "riskAssessment", "riskScore"), float("nan"), "detail.riskAssessment.riskScore"),
        (("detail", "riskAssessment", "baseRiskScore"), 10.5, "detail.riskAssessment.baseRiskScore"),
        (("detail", "managementZones"), [{"id": [], "name": "x"}], "detail.managementZones[0].id"),
        (("detail", "tags"), [{"value": "no key"}], "detail.tags[0].key"),
        (("detail", "firstSeenTimestamp"), "yesterday", "detail.firstSeenTimestamp"),
        (("time",), "not a time", "time"),
    ],
)
def test_wrong_value_names_field(path: tuple[str, ...], value: object, field: str) -> None:
    raw = opened()
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(MalformedEvent) as info:
        parse_eventbridge(raw)
    assert info.value.reason.startswith(f"{field}: ")
    assert info.value.event_id == raw["id"]


def test_reason_never_echoes_input() -> None:
    raw = opened()
    raw["detail"]["title"] = {"secret": "hunter2-do-not-log"}
    with pytest.raises(MalformedEvent) as info:
        parse_eventbridge(raw)
    assert "hunter2" not in info.value.reason


@pytest.mark.parametrize("raw", [None, [], [{}], "{}", b"{}", 7, 1.5, True, "x" * 1_000_000])
def test_non_object_input(raw: object) -> None:
    with pytest.raises(MalformedEvent) as info:
        parse_eventbridge(raw)
    assert info.value.reason.startswith("event must be a JSON object")
    assert info.value.event_id is None


def test_non_string_id_is_not_reported() -> None:
    raw = opened()
    raw["id"] = 5
    with pytest.raises(MalformedEvent) as info:
        parse_eventbridge(raw)
    assert info.value.event_id is None
    assert "id:" in info.value.reason


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (None, EventRiskLevel.NONE),
        (0, EventRiskLevel.NONE),
        (0.0, EventRiskLevel.NONE),
        (0.1, EventRiskLevel.LOW),
        (3.9, EventRiskLevel.LOW),
        (4.0, EventRiskLevel.MEDIUM),
        (6.9, EventRiskLevel.MEDIUM),
        (7.0, EventRiskLevel.HIGH),
        (8.9, EventRiskLevel.HIGH),
        (9.0, EventRiskLevel.CRITICAL),
        (10.0, EventRiskLevel.CRITICAL),
        (10, EventRiskLevel.CRITICAL),
    ],
)
@pytest.mark.parametrize("level_field", ["absent", "null"])
def test_derived_risk_boundaries(score: float | None, level: EventRiskLevel, level_field: str) -> None:
    raw = opened()
    risk = raw["detail"]["riskAssessment"]
    if level_field == "absent":
        del risk["riskLevel"]
    else:
        risk["riskLevel"] = None
    if score is None:
        del risk["riskScore"]
    else:
        risk["riskScore"] = score
    assert parse_eventbridge(raw).risk_level is level


def test_explicit_risk_level_wins_over_score() -> None:
    raw = opened()
    raw["detail"]["riskAssessment"].update(riskLevel="LOW", riskScore=9.5)
    assert parse_eventbridge(raw).risk_level is EventRiskLevel.LOW


def test_api_samples_are_valid_bodies() -> None:
    profile = AlertingProfileInput.model_validate(load(EVENTS / "api" / "profile.json"))
    assert profile.managementZone == "production"
    slack = IntegrationInput.model_validate(load(EVENTS / "api" / "integration-slack.json"))
    assert slack.webhook.content_type() == "application/json"
    assert slack.webhook.url == "http://127.0.0.1:8080/hooks/slack"
    assert slack.alertingProfileId == "REPLACE_WITH_PROFILE_ID"
    assert slack.webhook.payload.startswith('{\n  "text": "Notification for *{SecurityProblemId}*')
    assert slack.webhook.payload.endswith("(triggered by 'all risk levels' rule).\"\n}")
    xml = IntegrationInput.model_validate(load(EVENTS / "api" / "integration-xml.json"))
    assert xml.webhook.content_type() == "application/xml"
    assert xml.webhook.payload.startswith("<?xml")


def test_opened_sample_matches_api_profile() -> None:
    # The local demo posts profile.json and sends these samples; they must line up.
    profile = load(EVENTS / "api" / "profile.json")
    for name in ("opened.json", "reopened.json", "resolved.json", "derived-risk.json", "hostile.json"):
        event = parse_eventbridge(load(EB / name))
        assert event.risk_level.value in profile["enabledRiskLevels"]
        assert profile["managementZone"] in {z.name for z in event.management_zones}


# --- fuzzing -------------------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_only_raises_malformed(raw: object) -> None:
    try:
        parse_eventbridge(raw)
    except MalformedEvent as exc:
        assert exc.reason


BASE = opened()
BASE_PATHS = paths(BASE)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(BASE_PATHS), json_values, st.booleans())
def test_mutated_event_parses_or_is_malformed(path: tuple[Any, ...], value: object, delete: bool) -> None:
    raw = mutate(BASE, path, value, delete)
    try:
        event = parse_eventbridge(raw)
    except MalformedEvent as exc:
        assert exc.reason
        assert exc.event_id == (raw["id"] if isinstance(raw.get("id"), str) else None)
    else:
        assert isinstance(event, SecurityEvent)
