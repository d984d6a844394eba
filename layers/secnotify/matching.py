"""Which integrations an event reaches (README "Events"), and why one is not reached. Pure: no
I/O, runs once per event.

Zone filter: a profile's ``managementZone`` matches an affected zone whose id or whose name equals
it exactly (case and whitespace included), because ids and names are the platform's own strings.
For NEW_MANAGEMENT_ZONE_AFFECTED only the newly affected zones count.

Attacks (ATTACK_DETECTED) skip the risk-level filter (an attack has no risk assessment); instead
the profile must list the mitigation of the attack's state in ``enabledAttackMitigations``. The
zone filter applies to the attack's management zones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from secnotify.models.common import ATTACK_STATE_MITIGATIONS, EventRiskLevel, TriggerEvent
from secnotify.models.event import SecurityEvent
from secnotify.models.integration import Integration
from secnotify.models.profile import AlertingProfile


def _zone_keys(event: SecurityEvent) -> frozenset[str]:
    zones = (
        event.new_management_zones
        if event.trigger is TriggerEvent.NEW_MANAGEMENT_ZONE_AFFECTED
        else event.management_zones
    )
    return frozenset(key for zone in zones for key in (zone.id, zone.name) if key)


class Reason(StrEnum):
    """Why an event does not reach an integration: the first of these that applies."""

    INTEGRATION_DISABLED = "INTEGRATION_DISABLED"
    PROFILE_DISABLED = "PROFILE_DISABLED"  # also: the profile no longer exists
    RISK_LEVEL = "RISK_LEVEL"
    TRIGGER = "TRIGGER"
    ATTACK_MITIGATION = "ATTACK_MITIGATION"  # an attack whose state the profile does not list
    ZONE = "ZONE"
    MUTED = "MUTED"
    UNCHANGED = "UNCHANGED"  # an AWS finding that did not change: decided by its lifecycle, not here


@dataclass(frozen=True)
class Verdict:
    """No ``reason``: the event reaches the integration. ``message`` says why, for people."""

    reason: Reason | None
    message: str

    @property
    def matched(self) -> bool:
        return self.reason is None


def _listed(values: Iterable[StrEnum]) -> str:
    return ", ".join(v.value for v in values) or "none"


def _profile_reason(
    event: SecurityEvent, profile: AlertingProfile | None, zone_keys: frozenset[str]
) -> Reason | None:
    """The profile's part of the verdict, in the order of ``Reason``: the one rule set that both
    ``select_targets`` and ``explain_match`` apply."""
    if profile is None or not profile.enabled:
        return Reason.PROFILE_DISABLED
    if not event.is_attack and (
        event.risk_level is EventRiskLevel.NONE
        or not any(wanted.value == event.risk_level.value for wanted in profile.enabledRiskLevels)
    ):
        return Reason.RISK_LEVEL
    if event.trigger not in profile.enabledTriggerEvents:
        return Reason.TRIGGER
    if (
        event.is_attack
        and ATTACK_STATE_MITIGATIONS.get(event.attack_state) not in profile.enabledAttackMitigations
    ):
        return Reason.ATTACK_MITIGATION
    if profile.managementZone is not None and profile.managementZone not in zone_keys:
        return Reason.ZONE
    if event.muted:
        return Reason.MUTED
    return None


def _message(
    reason: Reason | None,
    event: SecurityEvent,
    profile: AlertingProfile | None,
    zone_keys: frozenset[str],
    profile_id: str,
) -> str:
    """The sentence a person reads for a verdict of the profile."""
    if profile is None:
        return f"its alerting profile {profile_id} does not exist"
    if reason is Reason.PROFILE_DISABLED:
        return f"alerting profile {profile.name!r} is disabled"
    if reason is Reason.RISK_LEVEL:
        if event.risk_level is EventRiskLevel.NONE:
            return "risk level NONE reaches no profile"
        return (
            f"risk level {event.risk_level.value} is not among the profile's "
            f"{_listed(profile.enabledRiskLevels)}"
        )
    if reason is Reason.TRIGGER:
        triggers = _listed(profile.enabledTriggerEvents)
        return f"trigger {event.trigger.value} is not among the profile's {triggers}"
    if reason is Reason.ATTACK_MITIGATION:
        mitigation = ATTACK_STATE_MITIGATIONS.get(event.attack_state)
        shown = f"{event.attack_state} ({mitigation.value})" if mitigation else repr(event.attack_state)
        return (
            f"attack state {shown} is not among the profile's enabledAttackMitigations "
            f"{_listed(profile.enabledAttackMitigations)}"
        )
    if reason is Reason.ZONE:
        which = (
            "newly affected zones"
            if event.trigger is TriggerEvent.NEW_MANAGEMENT_ZONE_AFFECTED
            else "affected zones"
        )
        shown = ", ".join(sorted(zone_keys)) or "none"
        return f"management zone {profile.managementZone!r} is not among the event's {which} ({shown})"
    if reason is Reason.MUTED:
        return "the security problem is muted"
    return f"alerting profile {profile.name!r} wants it"


def explain_match(
    event: SecurityEvent, integration: Integration, profiles: Mapping[str, AlertingProfile]
) -> Verdict:
    """Whether ``event`` reaches ``integration``, and if not, the first ``Reason`` that applies
    (``UNCHANGED`` aside, which only a finding's lifecycle can tell). ``select_targets`` picks
    exactly the integrations whose verdict has no reason."""
    if not integration.enabled:
        return Verdict(Reason.INTEGRATION_DISABLED, f"integration {integration.displayName!r} is disabled")
    profile_id = integration.alertingProfileId
    profile, zone_keys = profiles.get(profile_id), _zone_keys(event)
    reason = _profile_reason(event, profile, zone_keys)
    return Verdict(reason, _message(reason, event, profile, zone_keys, profile_id))


def profile_matches(event: SecurityEvent, profile: AlertingProfile) -> bool:
    """True when the profile wants this event (the integration's own ``enabled`` aside)."""
    return _profile_reason(event, profile, _zone_keys(event)) is None


@dataclass(frozen=True)
class Match:
    """The integrations an event reaches, and how many it does not, by reason."""

    targets: list[Integration]
    missed: dict[Reason, int]


def match(
    event: SecurityEvent,
    profiles: Mapping[str, AlertingProfile],
    integrations: Iterable[Integration],
) -> Match:
    """The enabled integrations whose existing profile matches, in the order given, and the
    first reason for each of the others."""
    zone_keys = _zone_keys(event)
    # Up to 1000 integrations share at most 200 profiles: decide each profile once.
    verdicts: dict[str, Reason | None] = {}
    targets: list[Integration] = []
    missed: dict[Reason, int] = {}
    for integration in integrations:
        if not integration.enabled:
            reason: Reason | None = Reason.INTEGRATION_DISABLED
        else:
            profile_id = integration.alertingProfileId
            if profile_id in verdicts:
                reason = verdicts[profile_id]
            else:
                reason = verdicts[profile_id] = _profile_reason(event, profiles.get(profile_id), zone_keys)
        if reason is None:
            targets.append(integration)
        else:
            missed[reason] = missed.get(reason, 0) + 1
    return Match(targets, missed)


def select_targets(
    event: SecurityEvent,
    profiles: Mapping[str, AlertingProfile],
    integrations: Iterable[Integration],
) -> list[Integration]:
    """The enabled integrations whose existing profile matches, in the order given."""
    return match(event, profiles, integrations).targets
