"""Why / why not: what the dispatcher would do with an event, integration by integration, without
sending anything or writing any state; and every notification one event produced.

An event of the platform's own is matched as it is. An AWS finding event is read snapshot by
snapshot: each one's stored state is read (never written) and ``decide`` says whether it would
be a transition (then the event the dispatcher would send, under the same id) or nothing
(``UNCHANGED``). A batch explains each of its findings, so every item names its event and its
finding.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from secnotify.delivery.redact import masker_for
from secnotify.matching import Reason, Verdict, explain_match
from secnotify.models.common import EventRiskLevel
from secnotify.models.delivery import Claim, DeliveryRecord
from secnotify.models.event import SecurityEvent
from secnotify.models.finding import FindingSnapshot, FindingState, FindingStatus, FindingTransition
from secnotify.models.integration import Integration
from secnotify.service.clock import SYSTEM_CLOCK, Clock
from secnotify.service.common import as_eventbridge
from secnotify.service.config_cache import load_configuration
from secnotify.service.email_channel import preview_email, shown_message
from secnotify.service.errors import BadRequest
from secnotify.service.findings import FindingLifecycle
from secnotify.service.integration_edits import masked_secrets
from secnotify.service.ports.config import ConfigReader
from secnotify.service.ports.findings import FindingStateStore
from secnotify.service.ports.ledger import DeliveryLogReader
from secnotify.service.ports.secrets import SecretSealer
from secnotify.settings import Settings
from secnotify.sources import MalformedEvent, parse_eventbridge, parse_findings
from secnotify.sources.findings import security_event
from secnotify.templating import RenderLimits, render_preview

# One answer holds at most this many (event, integration) items: a Lambda answer is at most 6 MB.
MAX_ITEMS = 10_000
# Rendered previews in one answer, in all; past it a matched item's preview is left out (null).
PREVIEW_BUDGET = 2 * 1024 * 1024


class ClaimReader(Protocol):
    """The part of the delivery ledger explain reads: where each notification of an event stands."""

    def get_claims(self, event_id: str) -> dict[str, Claim]: ...


@dataclass(frozen=True)
class Candidate:
    """One event the input makes, or would make: ``unchanged`` says why a finding makes none
    (its event is then the one it would make had it changed, for the other reasons)."""

    event: SecurityEvent
    event_id: str | None
    finding_id: str | None
    transition: FindingTransition | None
    unchanged: str | None = None
    note: str | None = None


@dataclass
class ExplainService:
    config: ConfigReader
    findings: FindingStateStore  # read only: ``get``
    ledger: ClaimReader
    secrets: SecretSealer
    deliveries_log: DeliveryLogReader
    settings: Settings
    clock: Clock = SYSTEM_CLOCK

    def explain(self, raw: dict[str, Any], integration_id: str | None = None) -> dict[str, Any]:
        candidates, skipped = self._candidates(raw)
        configuration = load_configuration(self.config, self.secrets)
        integrations = configuration.integrations
        if integration_id is not None:
            integrations = [i for i in integrations if i.id == integration_id]
            if not integrations:
                raise BadRequest(f"no integration with id {integration_id}", field="integrationId")
        if len(candidates) * len(integrations) > MAX_ITEMS:
            raise BadRequest(
                f"{len(candidates)} findings x {len(integrations)} integrations is more than "
                f"{MAX_ITEMS} answers: name one integration with integrationId",
                field="integrationId",
            )
        limits = RenderLimits.from_settings(self.settings)
        budget = PREVIEW_BUDGET
        items: list[dict[str, Any]] = []
        for candidate in candidates:
            # The dispatcher sends a notification once: one with a state is handled already.
            handled = self.ledger.get_claims(candidate.event_id) if candidate.event_id else {}
            for integration in integrations:
                verdict = explain_match(candidate.event, integration, configuration.profiles)
                if verdict.matched and candidate.unchanged is not None:
                    verdict = Verdict(Reason.UNCHANGED, candidate.unchanged)
                elif verdict.matched and integration.id in handled:
                    claim = handled[integration.id]
                    verdict = Verdict(
                        Reason.UNCHANGED,
                        f"event {candidate.event_id} was handled already: its notification is "
                        f"{claim.status.value} (attempt {claim.attempt}); a copy is not sent again",
                    )
                preview = None
                if verdict.matched and budget > 0:
                    preview = _preview(candidate.event, integration, limits)
                    budget -= len(preview)
                items.append(
                    {
                        "eventId": candidate.event_id,
                        "findingId": candidate.finding_id,
                        "integrationId": integration.id,
                        "displayName": integration.displayName,
                        "matched": verdict.matched,
                        "reason": verdict.reason,
                        "message": verdict.message,
                        "preview": preview,
                    }
                )
        events = [
            {
                "eventId": c.event_id,
                "findingId": c.finding_id,
                "trigger": c.event.trigger,
                "transition": c.transition,
                "riskLevel": c.event.risk_level,
                "unchanged": c.unchanged,
                "note": c.note,
            }
            for c in candidates
        ]
        return {"events": events, "items": items, "skipped": list(skipped)}

    def event_deliveries(
        self, event_id: str, limit: int, token: str | None
    ) -> tuple[list[DeliveryRecord], str | None]:
        return self.deliveries_log.list_event_deliveries(event_id, limit, token)

    # ---- reading the event -------------------------------------------------------------

    def _candidates(self, raw: dict[str, Any]) -> tuple[list[Candidate], tuple[str, ...]]:
        raw = as_eventbridge(raw)
        try:
            snapshots = parse_findings(raw)
            if snapshots is None:
                event = parse_eventbridge(raw)
                return [_platform_candidate(event)], ()
        except MalformedEvent as exc:
            raise BadRequest(f"event: {exc.reason}", field="event") from None
        lifecycle = FindingLifecycle(self.findings, self.clock, self.settings.source_baseline_hours)
        candidates = [self._finding(snapshot, lifecycle) for snapshot in snapshots]
        return candidates, snapshots.skipped

    def _finding(self, snapshot: FindingSnapshot, lifecycle: FindingLifecycle) -> Candidate:
        """What the dispatcher's lifecycle step would make of ``snapshot``, decided on the state
        as stored now, without writing it."""
        previous, seen = lifecycle.foresee(snapshot)
        if seen is not None:
            transition = seen.transition
            note = None
            if seen.replay:
                note = (
                    f"a copy of the finding's last change ({transition.value}): sent only to "
                    "integrations that did not get it yet"
                )
            event = security_event(snapshot, transition, seen.event_id, seen.risk_level)
            return Candidate(event, seen.event_id, snapshot.finding_id, transition, note=note)
        # No event: match the one it would make had it changed, so that a filter that would
        # stop it anyway (and mutes, risk level NONE) is named before "unchanged".
        would = (
            FindingTransition.RESOLVED
            if snapshot.status is FindingStatus.RESOLVED
            else FindingTransition.OPENED
        )
        event = security_event(snapshot, would, "", snapshot.risk_level)
        event = event.model_copy(update={"muted": snapshot.status is FindingStatus.MUTED})
        return Candidate(event, None, snapshot.finding_id, None, unchanged=_why_unchanged(previous, snapshot))


def _why_unchanged(previous: FindingState | None, snapshot: FindingSnapshot) -> str:
    finding = f"finding {snapshot.display_id}"
    if previous is None:
        if snapshot.status is FindingStatus.RESOLVED:
            return f"{finding} is resolved, and receivers never heard it was open"
        if snapshot.risk_level is EventRiskLevel.NONE:
            return f"{finding} has risk level NONE: it opens when its level rises"
        return f"{finding} was created before the baseline: it is recorded without a notification"
    if snapshot.updated_at.timestamp() < previous.updated_at:
        return f"{finding}: this snapshot is older than the one already seen"
    if snapshot.status is FindingStatus.RESOLVED:
        return f"{finding} is resolved, and receivers were not told it is open"
    if previous.baselined:
        return (
            f"{finding} was recorded without a notification (before the baseline) and has not changed since"
        )
    return (
        f"{finding} is {snapshot.status.value} at risk level {snapshot.risk_level.value}, "
        "as receivers were last told: nothing is sent"
    )


def _preview(event: SecurityEvent, integration: Integration, limits: RenderLimits) -> str:
    """The body as the dispatcher would render it, any secret value masked; an email's
    recipients and subject before its HTML body."""
    webhook = integration.webhook
    if webhook is None:
        email = integration.email
        if email is None:
            return ""
        return shown_message(preview_email(email.subject, email.body, event, limits), email)
    # Named secrets render as the mask, as in a preview: the value never enters the body.
    masks = masked_secrets(s.name for s in integration.secrets)
    payload = webhook.payload_for(event.trigger)  # a resolved notification may have its own
    body, _problems = render_preview(payload, webhook.content_type(), event, limits, masks)
    return masker_for(integration.secret_values(), None).mask(body)


def _platform_candidate(event: SecurityEvent) -> Candidate:
    """An event of the platform's own (a problem or an attack), as the dispatcher takes it."""
    note = None
    key = event.extra.get("dedupKey")
    if key is not None:
        note = (
            f"event id {event.event_id} comes from detail.dedupKey {key!r}: every copy with that key, "
            "whatever its envelope id, is this one event and is sent once"
        )
    return Candidate(
        event, event.event_id, event.security_problem_id or event.attack_id or None, None, note=note
    )
