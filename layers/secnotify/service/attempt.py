"""One attempt at one notification, as the dispatcher sees it: sent (or not), and what follows."""

from __future__ import annotations

from dataclasses import dataclass

from secnotify.delivery import next_delay
from secnotify.models.delivery import AttemptStatus, DeliveryRecord, NotificationState
from secnotify.models.event import SecurityEvent
from secnotify.models.integration import Integration
from secnotify.service.clock import Clock
from secnotify.service.dispatch_result import Count
from secnotify.service.notify import Notifier
from secnotify.settings import Settings

_COUNT = {
    NotificationState.DELIVERED: Count.DELIVERED,
    NotificationState.RETRY_SCHEDULED: Count.RETRYING,
    NotificationState.FAILED: Count.FAILED,
    NotificationState.CANCELLED: Count.CANCELLED,
}


@dataclass(frozen=True)
class Sent:
    """One attempt's result, before it is recorded."""

    integration_id: str
    status: NotificationState  # the state it leaves the notification in
    attempt: int  # the attempt the state item names: the next one when RETRY_SCHEDULED
    delay_s: float = 0.0
    record: DeliveryRecord | None = None
    handed_off: bool = False
    not_before: float = 0.0

    @property
    def count_as(self) -> Count:
        return Count.HANDED_OFF if self.handed_off else _COUNT[self.status]


class Attempts:
    """Makes one attempt and decides where the notification stands after it."""

    def __init__(self, notifier: Notifier, settings: Settings, clock: Clock) -> None:
        self.notifier = notifier
        self.settings = settings
        self.clock = clock

    def send(self, event: SecurityEvent, integration: Integration, attempt: int) -> Sent:
        result = self.notifier.attempt(event, integration, attempt)
        outcome, record = result.outcome, result.record
        if outcome.delivered:
            return Sent(integration.id, NotificationState.DELIVERED, attempt, record=record)
        delay = None
        if outcome.retryable:
            delay = next_delay(
                attempt, self.settings.retry_ladder_s, outcome.retry_after_s, self.settings.max_retry_after_s
            )
        if delay is None:
            record = record.model_copy(update={"status": AttemptStatus.FAILED})
            return Sent(integration.id, NotificationState.FAILED, attempt, record=record)
        not_before = self.clock.wall() + delay
        record = record.model_copy(update={"status": AttemptStatus.RETRYING, "nextAttemptAt": not_before})
        return Sent(
            integration.id,
            NotificationState.RETRY_SCHEDULED,
            attempt + 1,
            delay_s=delay,
            record=record,
            not_before=not_before,
        )

    def handed_off(self, integration_id: str) -> Sent:
        """A first attempt not started, too late in this invocation: the retry queue starts it at once."""
        return Sent(
            integration_id,
            NotificationState.RETRY_SCHEDULED,
            attempt=1,
            handed_off=True,
            not_before=self.clock.wall(),
        )

    def cancelled(self, event: SecurityEvent, integration_id: str, attempt: int, why: str) -> Sent:
        """A retry nobody wants any more: neither a failure nor a dead letter."""
        record = self.notifier.skipped_record(event, integration_id, attempt, why)
        return Sent(integration_id, NotificationState.CANCELLED, attempt, record=record)
