"""Why an event does not reach an integration (``explain_match``), checked against
``select_targets`` over many generated events and configurations: the two must agree exactly, and
the reason must be the first that applies, re-stated here in plain Python."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from secnotify.matching import Reason, explain_match, match, select_targets
from secnotify.models.common import (
    ATTACK_STATE_MITIGATIONS,
    AttackMitigation,
    EventRiskLevel,
    RiskLevel,
    TriggerEvent,
)
from secnotify.models.event import ManagementZone, SecurityEvent
from secnotify.models.integration import Integration, StoredWebhook
from secnotify.models.profile import AlertingProfile

ZONE_POOL = [("111", "prod"), ("222", "eu-west"), ("333", "staging"), ("", "nameless")]
FILTERS = [None, "111", "prod", "222", "eu-west", "333", "999", "PROD", "nameless"]

zones = st.lists(st.sampled_from(ZONE_POOL), max_size=3, unique=True).map(
    lambda zs: tuple(ManagementZone(id=i, name=n) for i, n in zs)
)


@st.composite
def events(draw: st.DrawFn) -> SecurityEvent:
    trigger = draw(st.sampled_from(list(TriggerEvent)))
    return SecurityEvent(
        event_id="ev",
        event_time=datetime(2027, 1, 1, tzinfo=UTC),
        detail_type="x",
        trigger=trigger,
        risk_level=draw(st.sampled_from(list(EventRiskLevel))),
        muted=draw(st.booleans()),
        management_zones=draw(zones),
        new_management_zones=draw(zones),
        attack_state=draw(st.sampled_from(sorted(ATTACK_STATE_MITIGATIONS)))
        if trigger is TriggerEvent.ATTACK_DETECTED
        else "",
    )


@st.composite
def profiles(draw: st.DrawFn, pid: str) -> AlertingProfile:
    triggers = draw(st.lists(st.sampled_from(list(TriggerEvent)), min_size=1, unique=True))
    # A profile listing ATTACK_DETECTED names at least one mitigation; one without may name some.
    wants_attacks = TriggerEvent.ATTACK_DETECTED in triggers
    mitigations = st.lists(st.sampled_from(list(AttackMitigation)), min_size=int(wants_attacks), unique=True)
    return AlertingProfile(
        id=pid,
        name=f"profile {pid}",
        enabled=draw(st.booleans()),
        enabledRiskLevels=draw(st.lists(st.sampled_from(list(RiskLevel)), min_size=1, unique=True)),
        enabledTriggerEvents=triggers,
        enabledAttackMitigations=draw(mitigations),
        managementZone=draw(st.sampled_from(FILTERS)),
        version=1,
        createdAt="2027-01-01T00:00:00Z",
        updatedAt="2027-01-01T00:00:00Z",
    )


@st.composite
def configurations(draw: st.DrawFn) -> tuple[dict[str, AlertingProfile], list[Integration]]:
    count = draw(st.integers(1, 6))
    by_id = {f"p{n}": draw(profiles(f"p{n}")) for n in range(count)}
    # "gone" names a profile that does not exist (deleted under a stale configuration).
    refs = st.sampled_from([*by_id, "gone"])
    integrations = [
        Integration(
            id=f"i{n}",
            displayName=f"integration {n}",
            enabled=draw(st.booleans()),
            alertingProfileId=draw(refs),
            webhook=StoredWebhook(url="https://example.com/", payload="{}"),
            version=1,
            createdAt="2027-01-01T00:00:00Z",
            updatedAt="2027-01-01T00:00:00Z",
        )
        for n in range(draw(st.integers(0, 12)))
    ]
    return by_id, integrations


def first_reason(
    event: SecurityEvent, integration: Integration, by_id: dict[str, AlertingProfile]
) -> Reason | None:
    """The rules, written out apart from the implementation."""
    if not integration.enabled:
        return Reason.INTEGRATION_DISABLED
    profile = by_id.get(integration.alertingProfileId)
    if profile is None or not profile.enabled:
        return Reason.PROFILE_DISABLED
    attack = event.trigger is TriggerEvent.ATTACK_DETECTED
    if not attack and event.risk_level.value not in {r.value for r in profile.enabledRiskLevels}:
        return Reason.RISK_LEVEL  # NONE is in no profile's list; attacks have no risk level to filter
    if event.trigger not in profile.enabledTriggerEvents:
        return Reason.TRIGGER
    if attack and ATTACK_STATE_MITIGATIONS[event.attack_state] not in profile.enabledAttackMitigations:
        return Reason.ATTACK_MITIGATION
    looked_at = (
        event.new_management_zones
        if event.trigger is TriggerEvent.NEW_MANAGEMENT_ZONE_AFFECTED
        else event.management_zones
    )
    keys = {k for z in looked_at for k in (z.id, z.name) if k}
    if profile.managementZone is not None and profile.managementZone not in keys:
        return Reason.ZONE
    if event.muted:
        return Reason.MUTED
    return None


@settings(max_examples=600, deadline=None)
@given(event=events(), config=configurations())
def test_select_targets_picks_exactly_the_integrations_without_a_reason(
    event: SecurityEvent, config: tuple[dict[str, AlertingProfile], list[Integration]]
) -> None:
    by_id, integrations = config
    verdicts = {i.id: explain_match(event, i, by_id) for i in integrations}
    assert [t.id for t in select_targets(event, by_id, integrations)] == [
        i.id for i in integrations if verdicts[i.id].reason is None
    ]
    # The dispatcher's per-event summary counts the same reasons.
    assert match(event, by_id, integrations).missed == Counter(
        v.reason for v in verdicts.values() if v.reason
    )
    for integration in integrations:
        verdict = verdicts[integration.id]
        assert verdict.reason is first_reason(event, integration, by_id), integration
        assert verdict.matched is (verdict.reason is None) and verdict.message


def test_every_reason_a_matcher_can_give_is_reached_with_its_message() -> None:
    """Each reason once, with the sentence a person reads."""
    profile = AlertingProfile(
        id="p",
        name="prod",
        enabledRiskLevels=[RiskLevel.CRITICAL, RiskLevel.HIGH],
        enabledTriggerEvents=[TriggerEvent.SECURITY_PROBLEM_OPENED],
        managementZone="prod",
        version=1,
        createdAt="x",
        updatedAt="x",
    )
    base = SecurityEvent(
        event_id="ev",
        event_time=datetime(2027, 1, 1, tzinfo=UTC),
        detail_type="x",
        trigger=TriggerEvent.SECURITY_PROBLEM_OPENED,
        risk_level=EventRiskLevel.HIGH,
        management_zones=(ManagementZone(id="111", name="prod"),),
    )
    hook = Integration(
        id="i",
        displayName="hook",
        alertingProfileId="p",
        webhook=StoredWebhook(url="https://example.com/", payload="{}"),
        version=1,
        createdAt="x",
        updatedAt="x",
    )
    profiles = {"p": profile}
    # An attack has risk level NONE, which no profile takes; attacks skip that filter.
    attack = base.model_copy(
        update={
            "trigger": TriggerEvent.ATTACK_DETECTED,
            "risk_level": EventRiskLevel.NONE,
            "attack_state": "EXPLOITED",
        }
    )
    attack_profile = profile.model_copy(
        update={
            "enabledTriggerEvents": [TriggerEvent.ATTACK_DETECTED],
            "enabledAttackMitigations": [AttackMitigation.BLOCKED_WITH_EXCEPTION],
        }
    )
    cases = [
        (
            base,
            hook.model_copy(update={"enabled": False}),
            profiles,
            "INTEGRATION_DISABLED",
            "'hook' is disabled",
        ),
        (
            base,
            hook,
            {"p": profile.model_copy(update={"enabled": False})},
            "PROFILE_DISABLED",
            "'prod' is disabled",
        ),
        (base, hook, {}, "PROFILE_DISABLED", "profile p does not exist"),
        (
            base.model_copy(update={"risk_level": EventRiskLevel.MEDIUM}),
            hook,
            profiles,
            "RISK_LEVEL",
            "risk level MEDIUM is not among the profile's CRITICAL, HIGH",
        ),
        (
            base.model_copy(update={"trigger": TriggerEvent.SECURITY_PROBLEM_RESOLVED}),
            hook,
            profiles,
            "TRIGGER",
            "trigger SECURITY_PROBLEM_RESOLVED is not among the profile's SECURITY_PROBLEM_OPENED",
        ),
        (
            base.model_copy(update={"management_zones": (ManagementZone(id="222", name="eu"),)}),
            hook,
            profiles,
            "ZONE",
            "management zone 'prod' is not among the event's affected zones (222, eu)",
        ),
        (base.model_copy(update={"muted": True}), hook, profiles, "MUTED", "muted"),
        (
            attack,
            hook,
            {"p": attack_profile},
            "ATTACK_MITIGATION",
            "attack state EXPLOITED (NONE_BLOCKING_DISABLED) is not among the profile's "
            "enabledAttackMitigations BLOCKED_WITH_EXCEPTION",
        ),
        (
            attack,
            hook,
            profiles,
            "TRIGGER",
            "trigger ATTACK_DETECTED is not among the profile's SECURITY_PROBLEM_OPENED",
        ),
        (
            attack.model_copy(update={"management_zones": ()}),
            hook,
            {"p": attack_profile.model_copy(update={"enabledAttackMitigations": list(AttackMitigation)})},
            "ZONE",
            "management zone 'prod' is not among the event's affected zones (none)",
        ),
    ]
    for event, integration, by_id, reason, words in cases:
        verdict = explain_match(event, integration, by_id)
        assert verdict.reason == reason and words in verdict.message, (reason, verdict)
    assert explain_match(base, hook, profiles).reason is None
    wanted = {
        "p": attack_profile.model_copy(
            update={"enabledAttackMitigations": [AttackMitigation.NONE_BLOCKING_DISABLED]}
        )
    }
    assert explain_match(attack, hook, wanted).reason is None
    assert {reason for _, _, _, reason, _ in cases} == {r.value for r in Reason} - {"UNCHANGED"}
