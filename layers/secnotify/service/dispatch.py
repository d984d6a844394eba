"""From a security event to delivered notifications: match, fan out, send, record.

Exactly-once, as a receiver sees it, rests on two kinds of DynamoDB items:

- the stored event carries a lease: whoever holds it fans the event out, so a duplicate
  EventBridge delivery running at the same time waits instead of sending too;
- one state item per (event, integration) says where that notification stands: DELIVERED,
  FAILED, RETRY_SCHEDULED for attempt n, IN_FLIGHT (attempt n, leased) on the retry path, or
  CANCELLED (a retry whose integration was disabled or deleted meanwhile).

The event path sends only to integrations without a state item, and records outcomes in
batches as sends complete. Retries claim their attempt with a conditional write. State is
written before a retry message is queued; a message that finds its notification scheduled
for a later attempt re-queues that attempt, so a crash between the two loses nothing. A
crash can at worst resend the notifications whose outcome was not yet written, with the
same webhook-id.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

from secnotify.delivery import next_delay
from secnotify.matching import select_targets
from secnotify.models.event import SecurityEvent
from secnotify.models.integration import Integration
from secnotify.service.config_cache import ConfigCache
from secnotify.service.notify import Notifier
from secnotify.settings import Settings
from secnotify.sources import MalformedEvent, parse_eventbridge
from secnotify.storage.ledger import Claim, DynamoLedger, Outcome
from secnotify.storage.queues import MAX_SQS_DELAY_S, Queues

# Outcomes are written when this many have completed, or this long after the last write.
FLUSH_EVERY = 12
FLUSH_INTERVAL_S = 0.25
LEASE_MARGIN_S = 30.0

_COUNT = {
    "DELIVERED": "delivered",
    "RETRY_SCHEDULED": "retrying",
    "FAILED": "failed",
    "CANCELLED": "cancelled",
}


@dataclass
class DispatchResult:
    """What happened, for metrics and logs. Counts per outcome."""

    counts: Counter[str] = field(default_factory=Counter)
    malformed_reason: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class Sent:
    """One attempt's result, before it is recorded."""

    integration_id: str
    status: str  # DELIVERED, RETRY_SCHEDULED, FAILED, or CANCELLED (a retry no longer wanted)
    attempt: int  # the attempt the state item names: the next one when RETRY_SCHEDULED
    delay_s: float = 0.0
    record: dict[str, Any] | None = None
    handed_off: bool = False
    not_before: float = 0.0

    @property
    def count_as(self) -> str:
        return "handed_off" if self.handed_off else _COUNT[self.status]


class RetryNotReady(Exception):
    """The retry message arrived while its notification is still in flight; try it later."""


class Dispatcher:
    def __init__(
        self,
        ledger: DynamoLedger,
        queues: Queues,
        notifier: Notifier,
        config: ConfigCache,
        settings: Settings,
    ) -> None:
        self.store = ledger
        self.queues = queues
        self.notifier = notifier
        self.config = config
        self.settings = settings
        self._pool = ThreadPoolExecutor(max_workers=settings.fanout_concurrency, thread_name_prefix="fanout")
        # State items and stored events outlive the longest possible retry chain, with a day to spare.
        ladder = settings.retry_ladder_s
        self.state_ttl_s = int(sum(ladder) + len(ladder) * settings.max_retry_after_s) + 86400

    # ---- EventBridge ---------------------------------------------------------------

    def handle_event(self, raw: Any, remaining_s: float | None = None) -> DispatchResult:
        """Deliver one event. ``remaining_s`` is the invocation's time left: notifications that
        could not finish before it runs out are handed to the retry queue instead of started."""
        result = DispatchResult()
        try:
            event = parse_eventbridge(raw)
        except MalformedEvent as exc:
            result.event_id = exc.event_id
            result.malformed_reason = exc.reason
            result.counts["malformed"] += 1
            self.queues.dead_letter("event", exc.reason, _dump_raw(raw))
            return result
        result.event_id = event.event_id
        if event.muted:
            result.counts["muted"] += 1
            return result
        self._fan_out(event, result, remaining_s)
        return result

    def _fan_out(self, event: SecurityEvent, result: DispatchResult, remaining_s: float | None) -> None:
        configuration = self.config.get()
        targets = select_targets(event, configuration.profiles, configuration.integrations)
        result.counts["matched"] += len(targets)
        if not targets:
            return
        states = self.store.get_claims(event.event_id)
        self._requeue_scheduled(event.event_id, [c for c in states.values() if c.status == "RETRY_SCHEDULED"])
        todo = [t for t in targets if t.id not in states]
        result.counts["already_handled"] += len(targets) - len(todo)
        if not todo:
            return
        lease_s = (remaining_s if remaining_s is not None else self.settings.claim_lease_s) + LEASE_MARGIN_S
        lease = self.store.begin_event(event.event_id, event.model_dump_json(), lease_s, self.state_ttl_s)
        if not lease.acquired:
            # Another invocation is fanning this event out. Look again once its lease ends:
            # if it finished, there is nothing left; if it crashed, we send the rest.
            wait = max(0.0, lease.held_until - time.time()) + 1
            self.queues.schedule_retry(
                {"kind": "resume", "eventId": event.event_id, "notBefore": time.time() + wait},
                min(wait, MAX_SQS_DELAY_S),
            )
            result.counts["deferred"] += len(todo)
            return
        if lease.took_over:
            # What we read before the lease may be stale: the previous holder may have got on.
            states = self.store.get_claims(event.event_id)
            todo = [t for t in todo if t.id not in states]
        cutoff = None
        if remaining_s is not None:
            worst = self.settings.connect_timeout_s + self.settings.read_timeout_s + 5
            cutoff = time.monotonic() + remaining_s - worst
        futures = [self._pool.submit(self._first_attempt, event, t, cutoff) for t in todo]
        batch: list[Sent] = []
        flushed = time.monotonic()
        for future in as_completed(futures):
            sent = future.result()
            result.counts[sent.count_as] += 1
            batch.append(sent)
            if len(batch) >= FLUSH_EVERY or time.monotonic() - flushed > FLUSH_INTERVAL_S:
                self._commit(event.event_id, batch)
                batch, flushed = [], time.monotonic()
        if batch:
            self._commit(event.event_id, batch)

    def _first_attempt(self, event: SecurityEvent, integration: Integration, cutoff: float | None) -> Sent:
        if cutoff is not None and time.monotonic() > cutoff:
            # Too late in this invocation to finish safely: the retry queue starts it at once.
            return Sent(integration.id, "RETRY_SCHEDULED", attempt=1, handed_off=True, not_before=time.time())
        return self._send(event, integration, 1)

    def _commit(self, event_id: str, batch: list[Sent]) -> None:
        # Dead letters first: a crash after them repeats the attempt (and perhaps the dead
        # letter), rather than leaving a FAILED record that no alarm ever saw.
        for sent in batch:
            if sent.status == "FAILED":
                self._dead_letter(sent)
        # State before retry messages: a message always finds its attempt scheduled. A crash in
        # between is healed by the next look at this event (_requeue_scheduled).
        ttl = self.settings.delivery_record_ttl_days * 86400
        outcomes = [
            Outcome(s.integration_id, s.status, s.attempt, s.record, ttl, s.not_before) for s in batch
        ]
        self.store.record_outcomes(event_id, outcomes, self.state_ttl_s)
        retries = [
            (self._retry_message(event_id, s.integration_id, s.attempt, s.not_before), s.delay_s)
            for s in batch
            if s.status == "RETRY_SCHEDULED"
        ]
        if retries:
            self.queues.schedule_retries(retries)

    def _requeue_scheduled(self, event_id: str, scheduled: list[Claim]) -> None:
        """Queue (again) the message of each scheduled attempt; duplicates are harmless, as only
        one of them can claim the attempt."""
        if scheduled:
            now = time.time()
            self.queues.schedule_retries(
                [
                    (
                        self._retry_message(event_id, c.integration_id, c.attempt, c.not_before),
                        min(max(0.0, c.not_before - now), MAX_SQS_DELAY_S),
                    )
                    for c in scheduled
                ]
            )

    @staticmethod
    def _retry_message(event_id: str, integration_id: str, attempt: int, not_before: float) -> dict[str, Any]:
        return {
            "eventId": event_id,
            "integrationId": integration_id,
            "attempt": attempt,
            "notBefore": not_before,
        }

    # ---- the retry queue -----------------------------------------------------------

    def handle_retry(self, body: str, remaining_s: float | None = None) -> str:
        """Process one retry-queue message. Raises RetryNotReady to have SQS hand it back later."""
        try:
            message = json.loads(body)
            kind = str(message.get("kind", "attempt"))
            event_id = str(message["eventId"])
            integration_id = str(message.get("integrationId", ""))
            attempt = int(message.get("attempt", 0))
            not_before = float(message.get("notBefore", 0))
            if kind not in {"attempt", "resume"} or (
                kind == "attempt" and (not integration_id or attempt < 1)
            ):
                raise ValueError(kind)
        except (ValueError, KeyError, TypeError, AttributeError):
            self.queues.dead_letter("retry", "retry message is not valid", body[:200_000])
            return "malformed"
        wait = not_before - time.time()
        if wait > 1:
            # SQS delays stop at 15 minutes; longer rungs of the ladder hop until due.
            self.queues.schedule_retry(message, min(wait, MAX_SQS_DELAY_S))
            return "deferred"
        worst = self.settings.connect_timeout_s + self.settings.read_timeout_s + 5
        if kind == "attempt" and remaining_s is not None and remaining_s < worst:
            # This invocation could time out mid-send and take the whole batch back with it.
            self.queues.schedule_retry(message, 0)
            return "deferred"
        raw_event = self.store.get_event(event_id)
        if raw_event is None:
            self.queues.dead_letter("retry", "event no longer exists", body)
            return "dropped"
        event = SecurityEvent.model_validate_json(raw_event)
        if kind == "resume":
            result = DispatchResult(event_id=event_id)
            self._fan_out(event, result, remaining_s)
            return "resumed"
        return self._retry(event, integration_id, self.config.integration_now(integration_id), attempt)

    def _retry(
        self, event: SecurityEvent, integration_id: str, integration: Integration | None, attempt: int
    ) -> str:
        owner = self.store.claim(
            event.event_id, integration_id, attempt, self.settings.claim_lease_s, self.state_ttl_s
        )
        if owner is None:
            state = self.store.get_claims(event.event_id).get(integration_id)
            if state is not None and state.status == "IN_FLIGHT" and state.attempt in (attempt - 1, attempt):
                raise RetryNotReady(f"{event.event_id}/{integration_id} attempt {state.attempt} is in flight")
            if state is not None and state.status == "RETRY_SCHEDULED" and state.attempt > attempt:
                self._requeue_scheduled(event.event_id, [state])
            return "skipped"
        # A retry nobody wants any more is cancelled: neither a failure nor a dead letter.
        if integration is None:
            sent = self._cancelled(event, integration_id, attempt, "integration deleted")
        elif not self._still_wanted(integration):
            sent = self._cancelled(event, integration_id, attempt, "integration or profile disabled")
        else:
            sent = self._send(event, integration, attempt)
        if sent.record is not None:
            self.notifier.record(sent.record)
        if sent.status == "FAILED":
            self._dead_letter(sent)
        settled = self.store.settle_claim(
            event.event_id, integration_id, attempt, owner, sent.status, sent.attempt, sent.not_before
        )
        if not settled:
            return "superseded"  # our lease ran out and another worker owns this attempt now
        if sent.status == "RETRY_SCHEDULED":
            message = self._retry_message(event.event_id, integration_id, sent.attempt, sent.not_before)
            self.queues.schedule_retry(message, min(sent.delay_s, MAX_SQS_DELAY_S))
        return sent.count_as

    def _still_wanted(self, integration: Integration) -> bool:
        profile = self.config.get().profiles.get(integration.alertingProfileId)
        return integration.enabled and profile is not None and profile.enabled

    def _cancelled(self, event: SecurityEvent, integration_id: str, attempt: int, why: str) -> Sent:
        record = self.notifier.skipped_record(event, integration_id, attempt, why)
        return Sent(integration_id, "CANCELLED", attempt, record=record)

    # ---- one attempt ---------------------------------------------------------------

    def _send(self, event: SecurityEvent, integration: Integration, attempt: int) -> Sent:
        result = self.notifier.attempt(event, integration, attempt)
        outcome, doc = result.outcome, result.record
        if outcome.delivered:
            return Sent(integration.id, "DELIVERED", attempt, record=doc)
        delay = None
        if outcome.retryable:
            delay = next_delay(
                attempt, self.settings.retry_ladder_s, outcome.retry_after_s, self.settings.max_retry_after_s
            )
        if delay is None:
            doc["status"] = "FAILED"
            return Sent(integration.id, "FAILED", attempt, record=doc)
        doc["status"] = "RETRYING"
        doc["nextAttemptAt"] = time.time() + delay
        return Sent(
            integration.id,
            "RETRY_SCHEDULED",
            attempt + 1,
            delay_s=delay,
            record=doc,
            not_before=time.time() + delay,
        )

    def _dead_letter(self, sent: Sent) -> None:
        doc = sent.record or {}
        keys = ("eventId", "integrationId", "webhookId", "attempt", "deliveryId")
        self.queues.dead_letter(
            "notification",
            doc.get("error") or f"HTTP {doc.get('statusCode')}",
            json.dumps({k: doc.get(k) for k in keys}),
        )


def _dump_raw(raw: Any) -> str:
    try:
        # ASCII: a lone surrogate in a hostile event must not stop it reaching the queue.
        text = json.dumps(raw, ensure_ascii=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(raw)
    # An SQS message holds 256 KB; keep the head of anything larger so the reason survives.
    return text if len(text.encode()) <= 240_000 else text.encode()[:240_000].decode(errors="ignore")
