"""The one way an attempt's outcome is written, on the event path and on the retry path."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from secnotify.models.delivery import AttemptMessage, Claim, DeadLetterKind, NotificationState, Outcome
from secnotify.service.attempt import Sent
from secnotify.service.clock import Clock
from secnotify.service.notify import Notifier
from secnotify.service.ports.ledger import DeliveryLedger
from secnotify.service.ports.queues import MAX_DELAY_S, DispatchQueues

# A child of the functions' Powertools logger: its lines are structured JSON with the request's keys.
logger = logging.getLogger(__name__)

_DEAD_LETTER_KEYS = ("eventId", "integrationId", "webhookId", "attempt", "deliveryId")


@dataclass
class Finisher:
    """Writes outcomes in one order, on both paths:

    1. **dead letters** of the notifications given up;
    2. **records and states**: on the event path one batch, unconditional, as only the holder of
       the event's lease writes it; on the retry path the record, then a conditional settle that
       only the owner of the claim can make;
    3. **retry messages** for the attempts now scheduled.

    Why this order is safe, a crash being possible between any two steps:

    - A dead letter before its FAILED state: a crash after it leaves the notification without
      a state (event path) or in flight (retry path), so it is attempted again and may be dead
      lettered twice; never is a FAILED state left that no alarm and no operator saw.
    - On the retry path that dead letter comes before a settle that can fail: when our claim's
      lease ran out mid-send and another worker took the attempt over, we dead letter a
      notification that the other worker may yet deliver. Such a dead letter is spurious (the
      state is the other worker's outcome). It is the side to err on: the other order, settle
      then dead letter, turns a crash in between into a FAILED state nobody is told of, where
      this one costs at worst an alarm that fires once too often.
    - A record before its state: a crash in between repeats the attempt (one extra record, the
      same webhook-id), never a state whose attempt is missing from the log. A settle that fails
      (our lease ran out and another worker took the attempt) leaves a true record of an attempt
      made; the other worker's outcome is the state.
    - States before retry messages: a message always finds its attempt scheduled. A crash in
      between leaves a scheduled attempt without a message; the next look at the event
      (a duplicate, a resume) or the stale message of the attempt before re-queues it
      (``requeue``), and a claim lets only one of the copies through.
    """

    ledger: DeliveryLedger
    queues: DispatchQueues
    notifier: Notifier
    clock: Clock
    state_ttl_s: int

    def finish_batch(self, event_id: str, batch: Sequence[Sent]) -> None:
        """The event path: the lease holder's outcomes, states and records in batches. Several
        batches of one event may be finished at once on different threads: each keeps the order
        above, and none depends on another, as each holds notifications of its own."""

        record_ttl_s = self.notifier.record_ttl_s

        def write(sents: Sequence[Sent]) -> Sequence[Sent]:
            outcomes = [
                Outcome(s.integration_id, s.status, s.attempt, s.record, record_ttl_s, s.not_before)
                for s in sents
            ]
            self.ledger.record_outcomes(event_id, outcomes, self.state_ttl_s)
            return sents

        self._finish(event_id, batch, write)

    def finish_claimed(self, event_id: str, sent: Sent, attempt: int, owner: str) -> bool:
        """The retry path: one claimed attempt, settled only while ``owner`` still holds it."""

        def write(sents: Sequence[Sent]) -> Sequence[Sent]:
            if sent.record is not None:
                self.notifier.record(sent.record)
            settled = self.ledger.settle_claim(
                event_id, sent.integration_id, attempt, owner, sent.status, sent.attempt, sent.not_before
            )
            return sents if settled else ()

        return bool(self._finish(event_id, [sent], write))

    def _finish(
        self, event_id: str, batch: Sequence[Sent], write: Callable[[Sequence[Sent]], Sequence[Sent]]
    ) -> Sequence[Sent]:
        for sent in batch:
            if sent.status is NotificationState.FAILED:
                self._dead_letter(sent)
        written = write(batch)
        for sent in written:
            _log(event_id, sent)
        retries = [
            (
                retry_message(event_id, s.integration_id, s.attempt, s.not_before).wire(),
                min(s.delay_s, MAX_DELAY_S),
            )
            for s in written
            if s.status is NotificationState.RETRY_SCHEDULED
        ]
        if retries:
            self.queues.schedule_retries(retries)
        return written

    def requeue(self, event_id: str, scheduled: Sequence[Claim]) -> None:
        """Queue (again) the message of each scheduled attempt; duplicates are harmless, as only
        one of them can claim the attempt."""
        if not scheduled:
            return
        now = self.clock.wall()
        self.queues.schedule_retries(
            [
                (
                    retry_message(event_id, c.integration_id, c.attempt, c.not_before).wire(),
                    min(max(0.0, c.not_before - now), MAX_DELAY_S),
                )
                for c in scheduled
            ]
        )

    def _dead_letter(self, sent: Sent) -> None:
        doc = sent.record.stored() if sent.record is not None else {}
        self.queues.dead_letter(
            DeadLetterKind.NOTIFICATION,
            doc.get("error") or f"HTTP {doc.get('statusCode')}",
            json.dumps({k: doc.get(k) for k in _DEAD_LETTER_KEYS}),
        )


def _log(event_id: str, sent: Sent) -> None:
    """One line per notification, as recorded: never a secret (the error text is masked, and
    neither the body nor the answer is logged)."""
    record = sent.record
    logger.info(
        "notification",
        extra={
            "event_id": event_id,
            "integration_id": sent.integration_id,
            "outcome": "HANDED_OFF" if sent.handed_off else sent.status.value,
            "status_code": record.statusCode if record is not None else None,
            "attempt": record.attempt if record is not None else sent.attempt,
            "latency_ms": record.latencyMs if record is not None else None,
            "webhook_id": record.webhookId if record is not None else None,
            "delivery_id": record.deliveryId if record is not None else None,
            "error": record.error if record is not None else None,
        },
    )


def retry_message(event_id: str, integration_id: str, attempt: int, not_before: float) -> AttemptMessage:
    return AttemptMessage(
        eventId=event_id, integrationId=integration_id, attempt=attempt, notBefore=not_before
    )
