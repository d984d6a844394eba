"""The retry queue's messages: a later attempt at one notification, or a fan-out to resume."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from secnotify.models.delivery import (
    AttemptMessage,
    DeadLetterKind,
    MalformedRetryMessage,
    NotificationState,
    ResumeMessage,
    parse_retry_message,
)
from secnotify.models.event import SecurityEvent
from secnotify.models.integration import Integration
from secnotify.service.attempt import Attempts, Sent
from secnotify.service.clock import Clock
from secnotify.service.config_cache import ConfigCache
from secnotify.service.dispatch_result import Count, DispatchResult
from secnotify.service.finish import Finisher
from secnotify.service.ports.ledger import DeliveryLedger
from secnotify.service.ports.queues import MAX_DELAY_S, DispatchQueues
from secnotify.settings import Settings

FanOut = Callable[[SecurityEvent, DispatchResult, float | None], None]


class RetryNotReady(Exception):
    """The retry message arrived while its notification is still in flight; try it later."""


@dataclass
class RetryPath:
    """One retry-queue message at a time: an attempt to make, or an event to look at again."""

    ledger: DeliveryLedger
    queues: DispatchQueues
    config: ConfigCache
    settings: Settings
    clock: Clock
    attempts: Attempts
    finisher: Finisher
    fan_out: FanOut

    def handle(self, body: str, remaining_s: float | None) -> DispatchResult:
        result = DispatchResult()
        try:
            message = parse_retry_message(body)
        except MalformedRetryMessage:
            result.malformed_reason = "retry message is not valid"
            result.counts[Count.MALFORMED_RETRY] += 1
            self.queues.dead_letter(DeadLetterKind.RETRY, result.malformed_reason, body[:200_000])
            return result
        result.event_id = message.eventId
        if self._deferred(message, remaining_s):
            result.counts[Count.DEFERRED] += 1
            return result
        raw_event = self.ledger.get_event(message.eventId)
        if raw_event is None:
            self.queues.dead_letter(DeadLetterKind.RETRY, "event no longer exists", body)
            result.counts[Count.DROPPED] += 1
            return result
        event = SecurityEvent.model_validate_json(raw_event)
        if isinstance(message, ResumeMessage):
            result.counts[Count.RESUMED] += 1
            self.fan_out(event, result, remaining_s)
            return result
        result.counts[self._retry(event, message)] += 1
        return result

    def _deferred(self, message: AttemptMessage | ResumeMessage, remaining_s: float | None) -> bool:
        """Send the message again for later, when it is not due or this invocation is short of time."""
        wait = message.notBefore - self.clock.wall()
        if wait > 1:
            # SQS delays stop at 15 minutes; longer rungs of the ladder hop until due.
            self.queues.schedule_retry(message.wire(), min(wait, MAX_DELAY_S))
            return True
        worst = self.settings.worst_send_s
        if isinstance(message, AttemptMessage) and remaining_s is not None and remaining_s < worst:
            # This invocation could time out mid-send and take the whole batch back with it.
            self.queues.schedule_retry(message.wire(), 0)
            return True
        return False

    def _retry(self, event: SecurityEvent, message: AttemptMessage) -> Count:
        event_id, integration_id, attempt = event.event_id, message.integrationId, message.attempt
        owner = self.ledger.claim(
            event_id, integration_id, attempt, self.settings.claim_lease_s, self.settings.state_ttl_s
        )
        if owner is None:
            self._not_claimed(event_id, integration_id, attempt)
            return Count.SKIPPED
        sent = self._attempt(event, integration_id, attempt)
        if not self.finisher.finish_claimed(event_id, sent, attempt, owner):
            return Count.SUPERSEDED
        return sent.count_as

    def _not_claimed(self, event_id: str, integration_id: str, attempt: int) -> None:
        state = self.ledger.get_claims(event_id).get(integration_id)
        if state is None:
            return
        if state.status is NotificationState.IN_FLIGHT and state.attempt in (attempt - 1, attempt):
            raise RetryNotReady(f"{event_id}/{integration_id} attempt {state.attempt} is in flight")
        if state.status is NotificationState.RETRY_SCHEDULED and state.attempt > attempt:
            # A stale message: its attempt was made, and the next one's message may be lost.
            self.finisher.requeue(event_id, [state])

    def _attempt(self, event: SecurityEvent, integration_id: str, attempt: int) -> Sent:
        # Read only once the attempt is ours: a duplicate or stale message costs no read.
        integration = self.config.integration_now(integration_id)
        if integration is None:
            return self.attempts.cancelled(event, integration_id, attempt, "integration deleted")
        if not self._still_wanted(integration):
            return self.attempts.cancelled(event, integration_id, attempt, "integration or profile disabled")
        return self.attempts.send(event, integration, attempt)

    def _still_wanted(self, integration: Integration) -> bool:
        profile = self.config.get().profiles.get(integration.alertingProfileId)
        return integration.enabled and profile is not None and profile.enabled
