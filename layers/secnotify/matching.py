"""Which integrations an event reaches (README "Events"). Pure: no I/O, runs once per event.

Zone filter: a profile's ``managementZone`` matches an affected zone whose id or whose name equals
it exactly (case and whitespace included), because ids and names are the platform's own strings.
For NEW_MANAGEMENT_ZONE_AFFECTED only the newly affected zones count.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
