"""From a security event to delivered notifications: match, fan out, send, record.

Exactly-once, as a receiver sees it, rests on two kinds of ledger items (README "Delivery"):

- the stored event carries a lease: whoever holds it fans the event out, so a duplicate
  EventBridge delivery running at the same time waits instead of sending too;
- one state item per (event, integration) says where that notification stands
  (``NotificationState``): DELIVERED, FAILED, RETRY_SCHEDULED for attempt n, IN_FLIGHT
  (attempt n, leased) on the retry path, or CANCELLED (a retry whose integration was disabled
  or deleted meanwhile).

The event path sends only to integrations without a state item, and records outcomes in
batches as sends complete, several batches at once (each keeps the finish step's order; batches
are independent) and all of them before the event is done. Retries (service/retry.py) claim
their attempt with a conditional write. Both write outcomes through one finish step
(service/finish.py), whose docstring argues its order. A crash can at worst resend the
notifications whose outcome was not yet written, with the same webhook-id.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from queue import Empty, SimpleQueue
from typing import Any

from secnotify.matching import match
from secnotify.models.delivery import DeadLetterKind, NotificationState, ResumeMessage
from secnotify.models.event import SecurityEvent
from secnotify.models.integration import Integration
from secnotify.service.attempt import Attempts, Sent
from secnotify.service.clock import SYSTEM_CLOCK, Clock
from secnotify.service.config_cache import ConfigCache
from secnotify.service.dispatch_result import Count, DispatchResult
from secnotify.service.findings import FindingLifecycle
from secnotify.service.finish import Finisher
from secnotify.service.intake import Intake
from secnotify.service.notify import Notifier
from secnotify.service.ports.ledger import DeliveryLedger
from secnotify.service.ports.queues import MAX_DELAY_S, DispatchQueues
from secnotify.service.retry import RetryNotReady, RetryPath
from secnotify.settings import Settings
from secnotify.sources import MalformedEvent

__all__ = ["DispatchResult", "Dispatcher", "RetryNotReady"]

# A child of the functions' Powertools logger: its lines are structured JSON with the request's keys.
logger = logging.getLogger(__name__)

# Outcomes are written when this many have completed, or this long after the last write.
FLUSH_EVERY = 12
FLUSH_INTERVAL_S = 0.25
LEASE_MARGIN_S = 30.0
# An event's states are spread over at most this many partitions, each read with one query.
MAX_CLAIM_SHARDS = 64


class Dispatcher:
    def __init__(
        self,
        ledger: DeliveryLedger,
        queues: DispatchQueues,
        notifier: Notifier,
        config: ConfigCache,
        settings: Settings,
        lifecycle: FindingLifecycle,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.ledger = ledger
        self.queues = queues
        self.notifier = notifier
        self.config = config
        self.settings = settings
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=settings.fanout_concurrency, thread_name_prefix="fanout")
        # Outcomes are written on their own few threads: queued behind sends on the fan-out
        # pool, they would wait for the slowest receivers.
        self._writers = ThreadPoolExecutor(
            max_workers=settings.outcome_write_concurrency, thread_name_prefix="outcomes"
        )
        # A batch's findings are looked up on the fan-out pool: it is idle until they are.
        self.intake = Intake(lifecycle, mapper=self._pool.map)
        self.attempts = Attempts(notifier, settings, clock)
        self.finisher = Finisher(ledger, queues, notifier, clock, settings.state_ttl_s)
        self.retries = RetryPath(
            ledger,
            queues,
            config,
            settings,
            clock,
            self.attempts,
            self.finisher,
            self._fan_out,
        )

    # ---- EventBridge ---------------------------------------------------------------

    def handle_event(self, raw: Any, remaining_s: float | None = None) -> DispatchResult:
        """Deliver what one EventBridge event means: the platform's own event, or each change an
        AWS finding event makes. ``remaining_s`` is the invocation's time left: notifications
        that could not finish before it runs out are handed to the retry queue instead of started."""
        result = DispatchResult()
        result.counts[Count.RECEIVED] += 1
        try:
            reading = self.intake.read(raw, result)
        except MalformedEvent as exc:
            result.event_id = exc.event_id
            result.malformed_reason = exc.reason
            result.counts[Count.MALFORMED_EVENT] += 1
            self.queues.dead_letter(DeadLetterKind.EVENT, exc.reason, _dump_raw(raw))
            return result
        result.event_id = reading.event_id
        if reading.unreadable:
            # The readable findings go on; the event goes to the dead-letter queue for the rest
            # (replaying it is safe: the others' changes are already recorded and sent once).
            result.counts[Count.UNREADABLE_FINDINGS] += len(reading.unreadable)
            result.malformed_reason = "; ".join(reading.unreadable)
            self.queues.dead_letter(DeadLetterKind.EVENT, result.malformed_reason, _dump_raw(raw))
        deadline = None if remaining_s is None else self.clock.monotonic() + remaining_s
        for event in reading.events:
            if event.muted:
                result.counts[Count.MUTED] += 1
                continue
            left = None if deadline is None else deadline - self.clock.monotonic()
            self._fan_out(event, result, left)
        return result

    def handle_retry(self, body: str, remaining_s: float | None = None) -> DispatchResult:
        """Process one retry-queue message. Raises RetryNotReady to have SQS hand it back later."""
        return self.retries.handle(body, remaining_s)

    def _fan_out(self, event: SecurityEvent, result: DispatchResult, remaining_s: float | None) -> None:
        configuration = self.config.get()
        matched = match(event, configuration.profiles, configuration.integrations)
        targets = matched.targets
        result.counts[Count.MATCHED] += len(targets)
        logger.info(
            "event matched",
            extra={
                "event_id": event.event_id,
                "trigger": event.trigger.value,
                "risk_level": event.risk_level.value,
                "matched": len(targets),
                "not_matched": {str(reason): count for reason, count in matched.missed.items()},
            },
        )
        if not targets:
            return
        states = self.ledger.get_claims(event.event_id)
        scheduled = [c for c in states.values() if c.status is NotificationState.RETRY_SCHEDULED]
        self.finisher.requeue(event.event_id, scheduled)
        todo = [t for t in targets if t.id not in states]
        result.counts[Count.ALREADY_HANDLED] += len(targets) - len(todo)
        if not todo:
            return
        lease_s = (remaining_s if remaining_s is not None else self.settings.claim_lease_s) + LEASE_MARGIN_S
        lease = self.ledger.begin_event(
            event.event_id,
            event.model_dump_json(),
            lease_s,
            self.settings.state_ttl_s,
            claim_shards(len(targets), self.settings.claims_per_shard),
        )
        if not lease.acquired:
            # Another invocation is fanning this event out. Look again once its lease ends:
            # if it finished, there is nothing left; if it crashed, we send the rest.
            now = self.clock.wall()
            wait = max(0.0, lease.held_until - now) + 1
            resume = ResumeMessage(eventId=event.event_id, notBefore=now + wait)
            self.queues.schedule_retry(resume.wire(), min(wait, MAX_DELAY_S))
            result.counts[Count.DEFERRED] += len(todo)
            return
        if lease.took_over:
            # What we read before the lease may be stale: the previous holder may have got on.
            states = self.ledger.get_claims(event.event_id)
            todo = [t for t in todo if t.id not in states]
        self._send_all(event, todo, result, remaining_s)

    def _send_all(
        self, event: SecurityEvent, todo: list[Integration], result: DispatchResult, remaining_s: float | None
    ) -> None:
        cutoff = None
        if remaining_s is not None:
            worst = self.settings.worst_send_s
            cutoff = self.clock.monotonic() + remaining_s - worst
        stop = threading.Event()
        done = self._start_sends(event, todo, cutoff, stop)
        writes: list[Future[None]] = []
        batch: list[Sent] = []
        flushed = self.clock.monotonic()
        try:
            for _ in range(len(todo)):
                sent = done.get()
                if isinstance(sent, BaseException):
                    raise sent
                result.counts[sent.count_as] += 1
                batch.append(sent)
                if len(batch) >= FLUSH_EVERY or self.clock.monotonic() - flushed > FLUSH_INTERVAL_S:
                    writes.append(self._writers.submit(self.finisher.finish_batch, event.event_id, batch))
                    batch, flushed = [], self.clock.monotonic()
            if batch:
                writes.append(self._writers.submit(self.finisher.finish_batch, event.event_id, batch))
        finally:
            stop.set()  # after a failure, nothing more is sent: what was not is sent by the retry
            # Every batch handed over is written (or has failed) before the event is done.
            wait(writes)
        for write in writes:
            write.result()  # the first failed batch's error, once the others are written

    def _start_sends(
        self, event: SecurityEvent, todo: list[Integration], cutoff: float | None, stop: threading.Event
    ) -> SimpleQueue[Sent | BaseException]:
        """Send to ``todo`` on the fan-out pool; each outcome (or error) arrives on the queue.

        A few long-lived drains over one queue, not a future per notification: at a 1,000-way
        fan-out the futures' locks and wake-ups were a tenth of the dispatcher's CPU."""
        targets: SimpleQueue[Integration] = SimpleQueue()
        for integration in todo:
            targets.put(integration)
        done: SimpleQueue[Sent | BaseException] = SimpleQueue()

        def drain() -> None:
            while not stop.is_set():
                try:
                    integration = targets.get_nowait()
                except Empty:
                    return
                try:
                    done.put(self._first_attempt(event, integration, cutoff))
                except BaseException as exc:  # raised again on the event's thread
                    done.put(exc)

        for _ in range(min(len(todo), self.settings.fanout_concurrency)):
            self._pool.submit(drain)
        return done

    def _first_attempt(self, event: SecurityEvent, integration: Integration, cutoff: float | None) -> Sent:
        if cutoff is not None and self.clock.monotonic() > cutoff:
            return self.attempts.handed_off(integration.id)
        return self.attempts.send(event, integration, 1)


def claim_shards(targets: int, per_shard: int) -> int:
    """Over how many partitions an event to ``targets`` integrations spreads its states: at most
    ``per_shard`` states each (README "Scale, on paper"), one for all but large fan-outs."""
    return max(1, min(MAX_CLAIM_SHARDS, -(-targets // per_shard)))


def _dump_raw(raw: Any) -> str:
    try:
        # ASCII: a lone surrogate in a hostile event must not stop it reaching the queue.
        text = json.dumps(raw, ensure_ascii=True, default=str)
    except (TypeError, ValueError, RecursionError):
        text = repr(raw)
    # An SQS message holds 256 KB; keep the head of anything larger so the reason survives.
    return text if len(text.encode()) <= 240_000 else text.encode()[:240_000].decode(errors="ignore")
