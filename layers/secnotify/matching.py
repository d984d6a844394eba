"""Which integrations an event reaches (README "Events"), and why one is not reached. Pure: no
I/O, runs once per event.

Zone filter: a profile's ``managementZone`` matches an affected zone whose id or whose name equals
it exactly (case and whitespace included), because ids and names are the platform's own strings.
For NEW_MANAGEMENT_ZONE_AFFECTED only the newly affected zones count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from secnotify.models.common import EventRiskLevel, TriggerEvent
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


def _profile_verdict(
    event: SecurityEvent, profile: AlertingProfile | None, zone_keys: frozenset[str], profile_id: str
) -> Verdict:
    """The profile's part of the verdict, in the order of ``Reason``."""
    if profile is None:
        return Verdict(Reason.PROFILE_DISABLED, f"its alerting profile {profile_id} does not exist")
    if not profile.enabled:
        return Verdict(Reason.PROFILE_DISABLED, f"alerting profile {profile.name!r} is disabled")
    level = event.risk_level.value
    if event.risk_level is EventRiskLevel.NONE:
        return Verdict(Reason.RISK_LEVEL, "risk level NONE reaches no profile")
    if not any(wanted.value == level for wanted in profile.enabledRiskLevels):
        return Verdict(
            Reason.RISK_LEVEL,
            f"risk level {level} is not among the profile's {_listed(profile.enabledRiskLevels)}",
        )
    if event.trigger not in profile.enabledTriggerEvents:
        return Verdict(
            Reason.TRIGGER,
            f"trigger {event.trigger.value} is not among the profile's "
            f"{_listed(profile.enabledTriggerEvents)}",
        )
    if profile.managementZone is not None and profile.managementZone not in zone_keys:
        which = (
            "newly affected zones"
            if event.trigger is TriggerEvent.NEW_MANAGEMENT_ZONE_AFFECTED
            else "affected zones"
        )
        shown = ", ".join(sorted(zone_keys)) or "none"
        return Verdict(
            Reason.ZONE,
            f"management zone {profile.managementZone!r} is not among the event's {which} ({shown})",
        )
    if event.muted:
        return Verdict(Reason.MUTED, "the security problem is muted")
    return Verdict(None, f"alerting profile {profile.name!r} wants it")


def explain_match(
    event: SecurityEvent, integration: Integration, profiles: Mapping[str, AlertingProfile]
) -> Verdict:
    """Whether ``event`` reaches ``integration``, and if not, the first ``Reason`` that applies
    (``UNCHANGED`` aside, which only a finding's lifecycle can tell). ``select_targets`` picks
    exactly the integrations whose verdict has no reason."""
    if not integration.enabled:
        return Verdict(Reason.INTEGRATION_DISABLED, f"integration {integration.displayName!r} is disabled")
    profile_id = integration.alertingProfileId
    return _profile_verdict(event, profiles.get(profile_id), _zone_keys(event), profile_id)


def _matches(event: SecurityEvent, profile: AlertingProfile, zone_keys: frozenset[str]) -> bool:
    if not profile.enabled or event.muted or event.risk_level is EventRiskLevel.NONE:
        return False
    if not any(level.value == event.risk_level.value for level in profile.enabledRiskLevels):
        return False
    if event.trigger not in profile.enabledTriggerEvents:
        return False
    return profile.managementZone is None or profile.managementZone in zone_keys


def profile_matches(event: SecurityEvent, profile: AlertingProfile) -> bool:
    """True when the profile wants this event (the integration's own ``enabled`` aside)."""
    return _matches(event, profile, _zone_keys(event))


def select_targets(
    event: SecurityEvent,
    profiles: Mapping[str, AlertingProfile],
    integrations: Iterable[Integration],
) -> list[Integration]:
    """The enabled integrations whose existing profile matches, in the order given."""
    if event.muted or event.risk_level is EventRiskLevel.NONE:
        return []
    zone_keys = _zone_keys(event)
    # Up to 1000 integrations share at most 200 profiles: decide each profile once.
    verdicts: dict[str, bool] = {}
    targets: list[Integration] = []
    for integration in integrations:
        if not integration.enabled:
            continue
        profile_id = integration.alertingProfileId
        verdict = verdicts.get(profile_id)
        if verdict is None:
            profile = profiles.get(profile_id)
            verdict = profile is not None and _matches(event, profile, zone_keys)
            verdicts[profile_id] = verdict
        if verdict:
            targets.append(integration)
    return targets
