"""From a security event to delivered notifications: match, fan out, claim, send, settle."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
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
from secnotify.storage.dynamodb import DynamoStore
from secnotify.storage.queues import MAX_SQS_DELAY_S, Queues

# Claims and stored events outlive the longest retry ladder.
STATE_TTL_S = 3 * 86400


@dataclass
class DispatchResult:
    """What happened, for metrics and logs. Counts per outcome."""

    counts: Counter[str] = field(default_factory=Counter)
    malformed_reason: str | None = None
    event_id: str | None = None


class RetryNotReady(Exception):
    """The retry message arrived while its notification is still in flight; try it later."""


class Dispatcher:
    def __init__(
        self,
        store: DynamoStore,
        queues: Queues,
        notifier: Notifier,
        config: ConfigCache,
        settings: Settings,
    ) -> None:
        self.store = store
        self.queues = queues
        self.notifier = notifier
        self.config = config
        self.settings = settings
        self._pool = ThreadPoolExecutor(max_workers=settings.fanout_concurrency, thread_name_prefix="fanout")

    # ---- EventBridge ---------------------------------------------------------------

    def handle_event(self, raw: Any, remaining_s: float | None = None) -> DispatchResult:
        """Deliver one event. ``remaining_s`` is the invocation's time left: notifications that
        could not finish before it runs out are handed to the retry queue instead of started."""
        result = DispatchResult()
        cutoff = None
        if remaining_s is not None:
            worst = self.settings.connect_timeout_s + self.settings.read_timeout_s + 5
            cutoff = time.monotonic() + remaining_s - worst
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
        configuration = self.config.get()
        targets = select_targets(event, configuration.profiles, configuration.integrations)
        result.counts["matched"] += len(targets)
        if not targets:
            return result
        claims = self.store.get_claims(event.event_id)
        pending = [t for t in targets if t.id not in claims or claims[t.id].status == "IN_FLIGHT"]
        result.counts["already_handled"] += len(targets) - len(pending)
        if not pending:
            return result
        # Kept for retries and redelivery; written before any claim so a retry always finds it.
        self.store.put_event(event.event_id, event.model_dump_json(), STATE_TTL_S)
        for status in self._pool.map(lambda t: self._first_attempt(event, t, cutoff), pending):
            result.counts[status] += 1
        return result

    def _first_attempt(self, event: SecurityEvent, integration: Integration, cutoff: float | None) -> str:
        if cutoff is not None and time.monotonic() > cutoff:
            # Too late in this invocation to finish safely: the retry queue starts it at once.
            message = {
                "eventId": event.event_id,
                "integrationId": integration.id,
                "attempt": 1,
                "notBefore": 0,
            }
            self.queues.schedule_retry(message, 0)
            return "handed_off"
        return self.deliver(event, integration, 1)

    # ---- the retry queue -----------------------------------------------------------

    def handle_retry(self, body: str) -> str:
        """Process one retry-queue message. Raises RetryNotReady to have SQS hand it back later."""
        try:
            message = json.loads(body)
            event_id = str(message["eventId"])
            integration_id = str(message["integrationId"])
            attempt = int(message["attempt"])
            not_before = float(message.get("notBefore", 0))
        except (ValueError, KeyError, TypeError):
            self.queues.dead_letter("retry", "retry message is not valid", body[:200_000])
            return "malformed"
        wait = not_before - time.time()
        if wait > 1:
            # SQS delays stop at 15 minutes; longer rungs of the ladder hop until due.
            self.queues.schedule_retry(message, min(wait, MAX_SQS_DELAY_S))
            return "deferred"
        raw_event = self.store.get_event(event_id)
        integration = self.config.get().integration(integration_id)
        if raw_event is None or integration is None:
            self.config.invalidate()
            integration = integration or self.config.get().integration(integration_id)
        if raw_event is None or integration is None:
            what = "event" if raw_event is None else "integration"
            self.queues.dead_letter("retry", f"{what} no longer exists", body)
            return "dropped"
        event = SecurityEvent.model_validate_json(raw_event)
        status = self.deliver(event, integration, attempt)
        if status == "busy":
            raise RetryNotReady(f"{event_id}/{integration_id} attempt {attempt} is still in flight")
        return status

    # ---- one notification ----------------------------------------------------------

    def deliver(self, event: SecurityEvent, integration: Integration, attempt: int) -> str:
        ttl = STATE_TTL_S
        if not self.store.claim(event.event_id, integration.id, attempt, self.settings.claim_lease_s, ttl):
            return "busy" if attempt > 1 and self._in_flight(event.event_id, integration.id) else "skipped"
        result = self.notifier.attempt(event, integration, attempt)
        outcome, doc = result.outcome, result.record
        delay = None
        if not outcome.delivered and outcome.retryable:
            delay = next_delay(
                attempt, self.settings.retry_ladder_s, outcome.retry_after_s, self.settings.max_retry_after_s
            )
        if outcome.delivered:
            status = "DELIVERED"
        elif delay is not None:
            status = "RETRY_SCHEDULED"
            doc["status"] = "RETRYING"
            doc["nextAttemptAt"] = time.time() + delay
        else:
            status = "FAILED"
            doc["status"] = "FAILED"
        self.notifier.record(doc)
        if delay is not None:
            # Message first, then settle: a crash in between leaves a claim the retry can take over.
            self.queues.schedule_retry(
                {
                    "eventId": event.event_id,
                    "integrationId": integration.id,
                    "attempt": attempt + 1,
                    "notBefore": time.time() + delay,
                },
                min(delay, MAX_SQS_DELAY_S),
            )
        elif status == "FAILED":
            self.queues.dead_letter(
                "notification",
                doc.get("error") or f"HTTP {doc.get('statusCode')}",
                json.dumps(
                    {k: doc[k] for k in ("eventId", "integrationId", "webhookId", "attempt", "deliveryId")}
                ),
            )
        self.store.settle_claim(event.event_id, integration.id, attempt, status)
        return {"DELIVERED": "delivered", "RETRY_SCHEDULED": "retrying", "FAILED": "failed"}[status]

    def _in_flight(self, event_id: str, integration_id: str) -> bool:
        claim = self.store.get_claims(event_id).get(integration_id)
        return claim is not None and claim.status == "IN_FLIGHT"


def _dump_raw(raw: Any) -> str:
    try:
        text = json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(raw)
    # An SQS message holds 256 KB; keep the head of anything larger so the reason survives.
    return text if len(text.encode()) <= 240_000 else text.encode()[:240_000].decode(errors="ignore")
