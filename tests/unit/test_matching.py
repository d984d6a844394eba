"""Matching (README "Events"): every combination checked against rules re-stated here in plain Python."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

from secnotify.matching import profile_matches, select_targets
from secnotify.models.common import TriggerEvent
from secnotify.models.event import SecurityEvent
from secnotify.models.integration import Integration, StoredHeader, StoredWebhook
from secnotify.models.profile import AlertingProfile
from secnotify.sources import parse_eventbridge

EB = Path(__file__).resolve().parents[2] / "events" / "eventbridge"

DETAIL_TYPES = {
    "SECURITY_PROBLEM_OPENED": "Security Problem Opened",
    "SECURITY_PROBLEM_RESOLVED": "Security Problem Resolved",
    "NEW_MANAGEMENT_ZONE_AFFECTED": "Security Problem Management Zone Added",
}
LEVELS = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "NONE"]
# A score inside each level's band, for events whose level is derived.
SCORE_FOR = {"CRITICAL": 9.5, "HIGH": 7.0, "MEDIUM": 4.0, "LOW": 0.1, "NONE": 0.0}
OLD_ZONE = {"id": "111", "name": "prod"}
NEW_ZONE = {"id": "222", "name": "eu-west"}
# Profile zone filters: none, id or name of an old or a new zone, a stranger, a case mismatch.
PROFILE_ZONES = [None, "111", "prod", "222", "eu-west", "999", "PROD"]
RISK_SETS = [("CRITICAL", "HIGH", "MEDIUM", "LOW"), ("CRITICAL", "HIGH"), ("LOW",), ("MEDIUM",)]
TRIGGER_SETS = [
    ("SECURITY_PROBLEM_OPENED",),
    ("SECURITY_PROBLEM_RESOLVED", "NEW_MANAGEMENT_ZONE_AFFECTED"),
    ("SECURITY_PROBLEM_OPENED", "SECURITY_PROBLEM_RESOLVED", "NEW_MANAGEMENT_ZONE_AFFECTED"),
]


def make_event(trigger: str, level: str, muted: bool, derived: bool, *, zones: bool = True) -> SecurityEvent:
    raw = json.loads((EB / "opened.json").read_text(encoding="utf-8"))
    raw["detail-type"] = DETAIL_TYPES[trigger]
    detail = raw["detail"]
    detail["muted"] = muted
    detail["managementZones"] = [OLD_ZONE] if zones else []
    detail["newManagementZones"] = [NEW_ZONE] if zones else []
    risk = detail["riskAssessment"]
    if derived:
        del risk["riskLevel"]
        risk["riskScore"] = SCORE_FOR[level]
    else:
        risk["riskLevel"] = level
    return parse_eventbridge(raw)


def make_profile(
    pid: str, risks: tuple[str, ...], triggers: tuple[str, ...], zone: str | None, enabled: bool
) -> AlertingProfile:
    return AlertingProfile.model_validate(
        {
            "id": pid,
            "name": f"profile {pid}",
            "enabled": enabled,
            "enabledRiskLevels": list(risks),
            "enabledTriggerEvents": list(triggers),
            "managementZone": zone,
            "version": 1,
            "createdAt": "2026-01-01T00:00:00Z",
            "updatedAt": "2026-01-01T00:00:00Z",
        }
    )


def make_integration(iid: str, profile_id: str, enabled: bool = True) -> Integration:
    return Integration(
        id=iid,
        displayName=f"integration {iid}",
        enabled=enabled,
        alertingProfileId=profile_id,
        webhook=StoredWebhook(
            url="http://127.0.0.1:8080/hooks/x",
            headers=[StoredHeader(name="Content-Type", value="application/json")],
            payload="{}",
        ),
        version=1,
        createdAt="2026-01-01T00:00:00Z",
        updatedAt="2026-01-01T00:00:00Z",
    )


def expected(
    *,
    trigger: str,
    level: str,
    muted: bool,
    risks: tuple[str, ...],
    triggers: tuple[str, ...],
    zone: str | None,
    profile_enabled: bool,
    integration_enabled: bool,
    event_zones: bool = True,
) -> bool:
    """The matching rules, written out independently of the implementation."""
    if not integration_enabled or not profile_enabled or muted:
        return False
    if level == "NONE" or level not in risks:
        return False
    if trigger not in triggers:
        return False
    if zone is None:
        return True
    if not event_zones:
        return False
    looked_at = NEW_ZONE if trigger == "NEW_MANAGEMENT_ZONE_AFFECTED" else OLD_ZONE
    return zone in (looked_at["id"], looked_at["name"])


def test_matrix() -> None:
    events: dict[tuple[Any, ...], SecurityEvent] = {}
    cases = 0
    positives = 0
    for trigger, level, muted, derived in itertools.product(
        DETAIL_TYPES, LEVELS, (False, True), (False, True)
    ):
        events[(trigger, level, muted, derived)] = make_event(trigger, level, muted, derived)

    profiles: dict[tuple[Any, ...], AlertingProfile] = {}
    for n, (risks, triggers, zone, enabled) in enumerate(
        itertools.product(RISK_SETS, TRIGGER_SETS, PROFILE_ZONES, (True, False))
    ):
        profiles[(risks, triggers, zone, enabled)] = make_profile(f"p{n}", risks, triggers, zone, enabled)
    by_id = {p.id: p for p in profiles.values()}

    # One integration per profile and enabled flag, so select_targets sees the whole population at once.
    integrations: list[Integration] = []
    keys_of: dict[str, tuple[Any, ...]] = {}
    for n, (key, integration_enabled) in enumerate(itertools.product(profiles, (True, False))):
        integration = make_integration(f"i{n}", profiles[key].id, integration_enabled)
        integrations.append(integration)
        keys_of[integration.id] = (*key, integration_enabled)

    for (trigger, level, muted, derived), event in events.items():
        assert event.risk_level.value == level, (trigger, level, derived)
        assert event.trigger.value == trigger
        want_ids: list[str] = []
        for integration in integrations:
            risks, triggers, zone, profile_enabled, integration_enabled = keys_of[integration.id]
            want = expected(
                trigger=trigger,
                level=level,
                muted=muted,
                risks=risks,
                triggers=triggers,
                zone=zone,
                profile_enabled=profile_enabled,
                integration_enabled=integration_enabled,
            )
            if want:
                want_ids.append(integration.id)
            if integration_enabled:
                profile = by_id[integration.alertingProfileId]
                got = profile_matches(event, profile)
                assert got is want, (trigger, level, muted, derived, risks, triggers, zone, profile_enabled)
            cases += 1
        got_ids = [i.id for i in select_targets(event, by_id, integrations)]
        assert got_ids == want_ids, (trigger, level, muted, derived)
        positives += len(want_ids)

    assert cases == 3 * 5 * 2 * 2 * len(RISK_SETS) * len(TRIGGER_SETS) * len(PROFILE_ZONES) * 2 * 2
    # The matrix must exercise both outcomes in bulk, or it proves little.
    assert positives > 200
    assert cases - positives > 5000


def test_zone_filter_on_event_without_zones() -> None:
    for trigger, zone in itertools.product(DETAIL_TYPES, PROFILE_ZONES):
        event = make_event(trigger, "HIGH", False, False, zones=False)
        profile = make_profile("p", ("HIGH",), tuple(DETAIL_TYPES), zone, True)
        want = expected(
            trigger=trigger,
            level="HIGH",
            muted=False,
            risks=("HIGH",),
            triggers=tuple(DETAIL_TYPES),
            zone=zone,
            profile_enabled=True,
            integration_enabled=True,
            event_zones=False,
        )
        assert profile_matches(event, profile) is want, (trigger, zone)


def test_zone_added_ignores_old_zones_and_opened_ignores_new_ones() -> None:
    zone_added = make_event("NEW_MANAGEMENT_ZONE_AFFECTED", "CRITICAL", False, False)
    opened = make_event("SECURITY_PROBLEM_OPENED", "CRITICAL", False, False)
    all_triggers = tuple(DETAIL_TYPES)
    assert not profile_matches(zone_added, make_profile("a", ("CRITICAL",), all_triggers, "prod", True))
    assert profile_matches(zone_added, make_profile("b", ("CRITICAL",), all_triggers, "eu-west", True))
    assert profile_matches(opened, make_profile("c", ("CRITICAL",), all_triggers, "prod", True))
    assert not profile_matches(opened, make_profile("d", ("CRITICAL",), all_triggers, "222", True))


def test_zone_id_of_one_zone_and_name_of_another() -> None:
    raw = json.loads((EB / "opened.json").read_text(encoding="utf-8"))
    raw["detail"]["managementZones"] = [
        {"id": "1", "name": "a"},
        {"id": "2", "name": "b"},
        {"id": "", "name": ""},
    ]
    event = parse_eventbridge(raw)
    for zone, want in [("1", True), ("b", True), ("2", True), ("a", True), ("c", False), (" a", False)]:
        assert (
            profile_matches(event, make_profile("p", ("CRITICAL",), ("SECURITY_PROBLEM_OPENED",), zone, True))
            is want
        )


def test_missing_profile_and_order() -> None:
    event = make_event("SECURITY_PROBLEM_OPENED", "HIGH", False, False)
    profile = make_profile("p1", ("HIGH",), ("SECURITY_PROBLEM_OPENED",), None, True)
    integrations = [
        make_integration("z", "p1"),
        make_integration("orphan", "gone"),
        make_integration("a", "p1"),
        make_integration("off", "p1", enabled=False),
        make_integration("m", "p1"),
    ]
    assert [i.id for i in select_targets(event, {"p1": profile}, integrations)] == ["z", "a", "m"]
    assert select_targets(event, {}, integrations) == []
    assert select_targets(event, {"p1": profile}, iter(integrations))[0].id == "z"


def test_sample_events_against_api_profile() -> None:
    profile_body = json.loads((EB.parent / "api" / "profile.json").read_text(encoding="utf-8"))
    profile = AlertingProfile.model_validate(
        {**profile_body, "id": "p", "version": 1, "createdAt": "x", "updatedAt": "x"}
    )
    want = {
        "opened.json": True,
        "reopened.json": True,
        "resolved.json": True,
        "zone-added.json": True,
        "muted.json": False,
        "derived-risk.json": True,
        "hostile.json": True,
    }
    for name, match in want.items():
        event = parse_eventbridge(json.loads((EB / name).read_text(encoding="utf-8")))
        assert profile_matches(event, profile) is match, name
    assert TriggerEvent.NEW_MANAGEMENT_ZONE_AFFECTED in profile.enabledTriggerEvents
