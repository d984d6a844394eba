"""Attacks (``Security Attack Detected``): parsing, the dedupKey rule, the profile field and matching."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from secnotify.matching import Reason, explain_match, select_targets
from secnotify.models.common import AttackMitigation, EventRiskLevel, TriggerEvent
from secnotify.models.event import AffectedEntity, ManagementZone, SecurityEvent
from secnotify.models.integration import Integration, StoredWebhook
from secnotify.models.profile import AlertingProfile, AlertingProfileInput
from secnotify.service.findings import tracked_state
from secnotify.sources import MalformedEvent, parse_eventbridge
from secnotify.sources.eventbridge import dedup_event_id

EB = Path(__file__).resolve().parents[2] / "events" / "eventbridge"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EB / name).read_text(encoding="utf-8"))
    return data


# ---- parsing ---------------------------------------------------------------------------------


def test_every_attack_field_is_mapped() -> None:
    raw = load("attack-exploited.json")
    detail = raw["detail"]
    event = parse_eventbridge(raw)
    assert (event.trigger, event.detail_type) == (TriggerEvent.ATTACK_DETECTED, "Security Attack Detected")
    assert event.attack_id == detail["attackId"] == "ATTACK-7C2E5F9A1B3D4E6F"
    assert event.attack_display_id == "A-4321"
    assert event.attack_type == "SQL_INJECTION"
    assert event.attack_state == "EXPLOITED"
    assert event.attack_url == detail["url"]
    assert event.entry_point == "com.example.orders.OrderController.search(String)"
    assert event.vulnerability_name == "SQL injection in OrderRepository.find"
    assert event.process_group_id == "PROCESS_GROUP-1A2B"
    assert event.title == detail["displayName"]
    assert event.technology == "JAVA"
    assert event.management_zones == (ManagementZone(id="123", name="production"),)
    assert event.affected_entities == (
        AffectedEntity(id="PROCESS_GROUP-1A2B", name="orders-service", type="PROCESS_GROUP"),
        AffectedEntity(
            id="PROCESS_GROUP_INSTANCE-3C4D", name="orders-service-1", type="PROCESS_GROUP_INSTANCE"
        ),
    )
    assert event.first_seen_timestamp == event.last_updated_timestamp == detail["timestamp"]
    # Not a problem: no problem id, no status, no risk.
    assert (event.security_problem_id, event.display_id, event.status, event.url) == ("", "", "", "")
    assert (event.risk_level, event.risk_score, event.muted) == (EventRiskLevel.NONE, None, False)
    assert event.extra["origin"] == "dynatrace"


def test_only_attack_id_and_state_are_required() -> None:
    event = parse_eventbridge(load("attack-allowlisted.json"))
    assert (event.attack_id, event.attack_state, event.event_id) == (
        "ATTACK-A110",
        "ALLOWLISTED",
        load("attack-allowlisted.json")["id"],
    )
    assert (event.title, event.attack_type, event.entry_point, event.process_group_id) == ("", "", "", "")
    assert (event.affected_entities, event.management_zones) == ((), ())


def test_entry_point_falls_back_to_the_code_location() -> None:
    raw = load("attack-exploited.json")
    del raw["detail"]["entrypoint"]["entrypointFunction"]
    assert parse_eventbridge(raw).entry_point == "com.example.orders.OrderRepository.find(String)"


def test_hostile_attack_strings_are_kept_exactly() -> None:
    raw = load("attack-hostile.json")
    detail = raw["detail"]
    event = parse_eventbridge(raw)
    assert event.title == detail["displayName"]
    assert event.attack_type == detail["attackType"]
    assert event.entry_point == detail["entrypoint"]["entrypointFunction"]["displayName"]
    assert event.attack_url == detail["url"]
    assert event.vulnerability_name == detail["vulnerability"]["displayName"]
    assert event.process_group_id == 'PROCESS_GROUP-"1"'
    assert event.attack_id == 'ATTACK-"1"\\<x>'


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"state": "exploited"}, "detail.state:"),
        ({"state": None}, "detail.state:"),
        ({"attackId": ""}, "detail.attackId:"),
        ({"attackId": None}, "detail.attackId:"),
        ({"affectedEntities": []}, "detail.affectedEntities:"),
        ({"entrypoint": "main()"}, "detail.entrypoint:"),
        ({"timestamp": 1.5}, "detail.timestamp:"),
        ({"managementZones": [{"id": [1]}]}, "detail.managementZones[0].id:"),
    ],
)
def test_a_malformed_attack_names_its_field(change: dict[str, Any], words: str) -> None:
    raw = load("attack-blocked.json")
    raw["detail"].update(change)
    with pytest.raises(MalformedEvent) as info:
        parse_eventbridge(raw)
    assert words in info.value.reason
    assert info.value.event_id == raw["id"]


def test_an_unsendable_attack_is_reported_under_its_envelope_id() -> None:
    raw = load("attack-exploited.json")  # it has a dedupKey
    raw["detail"]["displayName"] = "lone \ud800 surrogate"
    with pytest.raises(MalformedEvent) as info:
        parse_eventbridge(raw)
    assert "surrogate" in info.value.reason and info.value.event_id == raw["id"]


def test_an_attack_leaves_no_problem_state() -> None:
    # The finding-state table tracks problems; an attack has no problem id to keep one under.
    assert tracked_state(parse_eventbridge(load("attack-exploited.json"))) is None


# ---- dedupKey ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["attack-exploited.json", "opened.json"])
def test_copies_with_one_dedup_key_are_one_event(name: str) -> None:
    first = load(name)
    first["detail"]["dedupKey"] = "11497873967941161718:1767268800000:SECURITY_PROBLEM_CREATED"
    second = copy.deepcopy(first)
    second["id"] = "another-envelope-id"
    second["time"] = "2026-01-01T12:09:00Z"
    a, b = parse_eventbridge(first), parse_eventbridge(second)
    assert a.event_id == b.event_id == dedup_event_id(first["detail"]["dedupKey"])
    assert a.event_id not in (first["id"], second["id"])
    assert (a.extra["envelopeId"], b.extra["envelopeId"]) == (first["id"], "another-envelope-id")
    third = copy.deepcopy(first)
    third["detail"]["dedupKey"] = "11497873967941161718:1767268800001:SECURITY_PROBLEM_CREATED"
    assert parse_eventbridge(third).event_id != a.event_id


def test_without_a_dedup_key_the_envelope_id_is_the_event_id() -> None:
    raw = load("attack-exploited.json")
    del raw["detail"]["dedupKey"]
    assert parse_eventbridge(raw).event_id == raw["id"]
    raw["detail"]["dedupKey"] = None
    assert parse_eventbridge(raw).event_id == raw["id"]


def test_dedup_keys_of_512_characters_are_taken() -> None:
    raw = load("opened.json")
    raw["detail"]["dedupKey"] = "k" * 512
    assert parse_eventbridge(raw).event_id == dedup_event_id("k" * 512)


@pytest.mark.parametrize(
    "key", ["", "k" * 513, 12345, ["a"], "caf\u00e9:1:SECURITY_PROBLEM_CREATED", "a\nb", "\ud800"]
)
@pytest.mark.parametrize("name", ["attack-blocked.json", "opened.json"])
def test_a_bad_dedup_key_makes_the_event_malformed(key: object, name: str) -> None:
    # Silently falling back to the envelope id would send every copy again.
    raw = load(name)
    raw["detail"]["dedupKey"] = key
    with pytest.raises(MalformedEvent) as info:
        parse_eventbridge(raw)
    assert "detail.dedupKey:" in info.value.reason


# ---- the profile field -------------------------------------------------------------------------


def test_profiles_take_no_attacks_unless_they_say_so() -> None:
    profile = AlertingProfileInput.model_validate({"name": "p"})
    assert profile.enabledAttackMitigations == []
    assert "enabledAttackMitigations" in profile.model_dump()


def test_attack_trigger_needs_a_mitigation() -> None:
    with pytest.raises(ValidationError) as info:
        AlertingProfileInput.model_validate({"name": "p", "enabledTriggerEvents": ["ATTACK_DETECTED"]})
    assert "enabledAttackMitigations is empty" in str(info.value)
    ok = AlertingProfileInput.model_validate(
        {
            "name": "p",
            "enabledTriggerEvents": ["ATTACK_DETECTED"],
            "enabledAttackMitigations": [
                "NONE_BLOCKING_DISABLED",
                "BLOCKED_WITH_EXCEPTION",
                "NONE_ALLOWLISTED",
            ],
        }
    )
    assert ok.enabledAttackMitigations == list(AttackMitigation)


@pytest.mark.parametrize(
    ("mitigations", "words"),
    [
        (["EXPLOITED"], "enabledAttackMitigations"),
        (["NONE_ALLOWLISTED", "NONE_ALLOWLISTED"], "lists NONE_ALLOWLISTED twice"),
        ("NONE_ALLOWLISTED", "enabledAttackMitigations"),
    ],
)
def test_bad_mitigations_are_refused(mitigations: object, words: str) -> None:
    with pytest.raises(ValidationError) as info:
        AlertingProfileInput.model_validate(
            {
                "name": "p",
                "enabledTriggerEvents": ["ATTACK_DETECTED"],
                "enabledAttackMitigations": mitigations,
            }
        )
    assert words in str(info.value)


# ---- matching ----------------------------------------------------------------------------------


def _profile(pid: str, **fields: Any) -> AlertingProfile:
    return AlertingProfile.model_validate(
        {"id": pid, "name": pid, "version": 1, "createdAt": "x", "updatedAt": "x", **fields}
    )


def _hook(iid: str, profile_id: str) -> Integration:
    return Integration(
        id=iid,
        displayName=iid,
        alertingProfileId=profile_id,
        webhook=StoredWebhook(url="https://example.com/", payload="{}"),
        version=1,
        createdAt="x",
        updatedAt="x",
    )


ATTACKS = {
    "EXPLOITED": "attack-exploited.json",
    "BLOCKED": "attack-blocked.json",
    "ALLOWLISTED": "attack-allowlisted.json",
}


@pytest.mark.parametrize(
    ("mitigation", "state"),
    [
        (AttackMitigation.NONE_BLOCKING_DISABLED, "EXPLOITED"),
        (AttackMitigation.BLOCKED_WITH_EXCEPTION, "BLOCKED"),
        (AttackMitigation.NONE_ALLOWLISTED, "ALLOWLISTED"),
    ],
)
def test_each_mitigation_takes_its_state_only(mitigation: AttackMitigation, state: str) -> None:
    # Only LOW risk: attacks skip the risk-level filter.
    profiles = {
        "p": _profile(
            "p",
            enabledRiskLevels=["LOW"],
            enabledTriggerEvents=["ATTACK_DETECTED"],
            enabledAttackMitigations=[mitigation],
        )
    }
    hook = _hook("i", "p")
    for other, name in ATTACKS.items():
        event = parse_eventbridge(load(name))
        verdict = explain_match(event, hook, profiles)
        assert (verdict.reason is None) is (other == state), (other, verdict)
        if other != state:
            assert verdict.reason is Reason.ATTACK_MITIGATION


def test_existing_profiles_take_no_attack_and_attack_profiles_no_problem() -> None:
    everything = [t.value for t in TriggerEvent if t is not TriggerEvent.ATTACK_DETECTED]
    profiles = {
        "old": _profile("old", enabledTriggerEvents=everything),
        "attacks": _profile(
            "attacks",
            enabledTriggerEvents=["ATTACK_DETECTED"],
            enabledAttackMitigations=list(AttackMitigation),
        ),
    }
    hooks = [_hook("old", "old"), _hook("attacks", "attacks")]
    for name in ATTACKS.values():
        assert [i.id for i in select_targets(parse_eventbridge(load(name)), profiles, hooks)] == ["attacks"]
    assert [i.id for i in select_targets(parse_eventbridge(load("opened.json")), profiles, hooks)] == ["old"]
    verdict = explain_match(parse_eventbridge(load("attack-exploited.json")), hooks[0], profiles)
    assert verdict.reason is Reason.TRIGGER


def test_the_zone_filter_looks_at_the_attacks_zones() -> None:
    fields = {"enabledTriggerEvents": ["ATTACK_DETECTED"], "enabledAttackMitigations": list(AttackMitigation)}
    profiles = {
        "by-name": _profile("by-name", managementZone="production", **fields),
        "by-id": _profile("by-id", managementZone="123", **fields),
        "staging": _profile("staging", managementZone="staging", **fields),
    }
    hooks = [_hook(pid, pid) for pid in profiles]
    exploited = parse_eventbridge(load("attack-exploited.json"))  # zone 123 "production"
    assert [i.id for i in select_targets(exploited, profiles, hooks)] == ["by-name", "by-id"]
    verdict = explain_match(exploited, hooks[2], profiles)
    assert verdict.reason is Reason.ZONE and "(123, production)" in verdict.message
    blocked = parse_eventbridge(load("attack-blocked.json"))  # zone 456 "staging"
    assert [i.id for i in select_targets(blocked, profiles, hooks)] == ["staging"]


# ---- stored before attacks existed -------------------------------------------------------------

# A profile's and an event's stored documents exactly as the version before attacks wrote them (from
# tests/wire/fixtures as captured then; those are captured anew with the attack fields).
STORED = Path(__file__).resolve().parents[1] / "fixtures" / "before-attacks"


def test_a_profile_stored_before_attacks_loads_and_takes_no_attack() -> None:
    stored = AlertingProfile.model_validate(
        {**json.loads((STORED / "profile-doc.json").read_text(encoding="utf-8")), "id": "p", "version": 1}
    )
    assert stored.enabledAttackMitigations == []
    attack = parse_eventbridge(load("attack-exploited.json"))
    assert explain_match(attack, _hook("i", "p"), {"p": stored}).reason is Reason.TRIGGER


def test_an_event_stored_before_attacks_loads_as_a_problem() -> None:
    event = SecurityEvent.model_validate_json((STORED / "event-doc.json").read_text(encoding="utf-8"))
    assert event.trigger is TriggerEvent.SECURITY_PROBLEM_RESOLVED and not event.is_attack
    assert (event.attack_id, event.attack_state, event.process_group_id) == ("", "", "")
