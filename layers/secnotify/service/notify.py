"""One attempt at one notification: render, sign, send, record. Shared by the dispatcher,
test-send and redeliver, so they all take exactly the same path (and the same SSRF guard)."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from secnotify.delivery import (
    DeliveryOutcome,
    SendState,
    SendStateCache,
    WebhookRequest,
    WebhookSender,
    prepare_send,
)
from secnotify.models.delivery import AttemptStatus, DeliveryRecord, RecordKind
from secnotify.models.event import SecurityEvent
from secnotify.models.integration import Integration
from secnotify.service.clock import SYSTEM_CLOCK, Clock
from secnotify.service.email_channel import EmailChannel
from secnotify.service.ports.ledger import DeliveryLog
from secnotify.service.ports.mail import MailSender
from secnotify.settings import Settings
from secnotify.templating import TEMPLATES, RenderLimits, TemplateCache, TemplateError


def webhook_id(event_id: str, integration_id: str) -> str:
    """Stable per event x integration, so every retry carries the same ``webhook-id``."""
    digest = hashlib.sha256(f"{event_id}\x00{integration_id}".encode()).hexdigest()[:32]
    return f"msg_{digest}"


def delivery_id(now: float) -> str:
    """Sorts by creation time (``now``, unix seconds), so the log reads newest first with a
    reverse query."""
    return f"{int(now * 1000):013d}-{uuid.uuid4().hex[:12]}"


def send_state(integration: Integration) -> SendState:
    """What every send of this version of the integration shares (headers, signing keys, masker,
    the named secrets its URL may use). A previous signing key's end is a time, compared with each
    request's timestamp when sent."""
    webhook = integration.webhook
    if webhook is None:
        raise ValueError(f"integration {integration.id} is not a webhook")
    return prepare_send(
        tuple((h.name, h.value) for h in webhook.headers),
        integration.signingSecret,
        frozenset(h.name.lower() for h in webhook.headers if h.secret),
        previous_signing_secret=integration.previousSigningSecret,
        previous_signing_until=integration.previous_signing_until(),
        url_secrets={s.name: s.value for s in integration.secrets},
    )


@dataclass(frozen=True)
class Attempt:
    outcome: DeliveryOutcome
    record: DeliveryRecord


class Notifier:
    def __init__(
        self,
        deliveries: DeliveryLog,
        settings: Settings,
        sender: WebhookSender | None = None,
        templates: TemplateCache | None = None,
        clock: Clock = SYSTEM_CLOCK,
        mail: MailSender | None = None,
    ) -> None:
        self.deliveries = deliveries
        self.settings = settings
        self.sender = sender or WebhookSender(settings)
        self.templates = templates if templates is not None else TEMPLATES
        self.render_limits = RenderLimits.from_settings(settings)
        self.clock = clock
        # How long a delivery record is kept: also the stored event of a test-send.
        self.record_ttl_s = settings.delivery_record_ttl_days * 86400
        # Every live integration's send state, by id; every edit bumps the version it is kept for.
        self.send_states = SendStateCache(settings.max_integrations)
        self.emails = EmailChannel(settings, mail, self.templates, self.render_limits, clock)

    def attempt(
        self,
        event: SecurityEvent,
        integration: Integration,
        attempt: int,
        kind: RecordKind = RecordKind.EVENT,
        msg_id: str | None = None,
        test_marker: str | None = None,
        redelivery_of: str | None = None,
    ) -> Attempt:
        """Send once; the caller decides the final status, then calls ``record``.

        ``test_marker`` is the ``webhook-test`` header of a test send (``true``, or
        ``custom-event`` when the caller supplied the event); real notifications carry none.
        """
        msg_id = msg_id or webhook_id(event.event_id, integration.id)
        if integration.webhook is None:
            return self._email_attempt(event, integration, attempt, kind, msg_id, test_marker, redelivery_of)
        state = self.send_states.get(integration.id, integration.version, lambda: send_state(integration))
        sent: tuple[bytes, SendState] | None = None
        try:
            webhook = integration.webhook
            compiled = self.templates.get(webhook.payload, webhook.content_type(), self.render_limits)
            secrets = {s.name: s.value for s in integration.secrets} if compiled.secret_names else None
            body = compiled.render(event, secrets).encode("utf-8")
        except TemplateError as exc:
            outcome = DeliveryOutcome(
                delivered=False,
                retryable=exc.retryable,  # the template's fault is final; a missing renderer is not
                status_code=None,
                latency_ms=0.0,
                # A render error may quote a value the template computed from a secret.
                error=f"template error: {state.masker.mask(exc.message)}",
                response_body="",
                retry_after_s=None,
            )
        else:
            request = WebhookRequest(
                url=integration.webhook.url,
                headers=state.headers,
                body=body,
                accept_any_certificate=integration.webhook.acceptAnyCertificate,
                webhook_id=msg_id,
                timestamp=int(self.clock.wall()),
                signing_secret=integration.signingSecret,
                secret_header_names=state.secret_header_names,
                test_marker=test_marker,
                state=state,
            )
            outcome = self.sender.send(request)
            sent = body, state
        # Only the dispatcher retries; a test or a redelivery that failed has failed.
        retrying = outcome.retryable and kind is RecordKind.EVENT
        status = (
            AttemptStatus.SUCCEEDED
            if outcome.delivered
            else (AttemptStatus.RETRYING if retrying else AttemptStatus.FAILED)
        )
        record = self._record(event, integration.id, attempt, kind, msg_id, status).marked(test_marker)
        record = record.model_copy(
            update={
                "statusCode": outcome.status_code,
                "latencyMs": round(outcome.latency_ms, 1),
                "error": outcome.error,
                "responseBody": outcome.response_body or "",
                "redeliveryOf": redelivery_of,
            }
        )
        if sent is not None:
            # The body once per notification. A retry sends the same event again (the same bytes
            # unless the integration was edited meanwhile: every record's digest tells).
            body, state = sent
            keep = attempt == 1 or kind is not RecordKind.EVENT
            record = record.with_request(body, state.masker.mask if keep else None, state.masker.longest)
        return Attempt(outcome, record)

    def _email_attempt(
        self,
        event: SecurityEvent,
        integration: Integration,
        attempt: int,
        kind: RecordKind,
        msg_id: str,
        test_marker: str | None,
        redelivery_of: str | None,
    ) -> Attempt:
        """An EMAIL integration's attempt: sent by the email channel, recorded as a webhook's is."""
        sent = self.emails.send(event, integration, msg_id, test_marker)
        outcome = sent.outcome
        retrying = outcome.retryable and kind is RecordKind.EVENT
        status = (
            AttemptStatus.SUCCEEDED
            if outcome.delivered
            else (AttemptStatus.RETRYING if retrying else AttemptStatus.FAILED)
        )
        record = self._record(event, integration.id, attempt, kind, msg_id, status).marked(test_marker)
        record = record.model_copy(
            update={
                "statusCode": outcome.status_code,
                "latencyMs": round(outcome.latency_ms, 1),
                "error": outcome.error,
                "responseBody": outcome.response_body or "",
                "redeliveryOf": redelivery_of,
                **sent.record_fields(),
            }
        )
        if sent.body is not None:
            # Kept as a webhook's body is: once per notification. An email holds no secret.
            keep = attempt == 1 or kind is not RecordKind.EVENT
            record = record.with_request(sent.body, str if keep else None)
        return Attempt(outcome, record)

    def skipped_record(
        self, event: SecurityEvent, integration_id: str, attempt: int, why: str
    ) -> DeliveryRecord:
        """The record of an attempt not made, because the integration was disabled or deleted meanwhile."""
        msg_id = webhook_id(event.event_id, integration_id)
        record = self._record(
            event, integration_id, attempt, RecordKind.EVENT, msg_id, AttemptStatus.CANCELLED
        )
        return record.model_copy(update={"error": f"not sent: {why}"})

    def record(self, record: DeliveryRecord) -> None:
        self.deliveries.put_delivery(record, self.record_ttl_s)

    def _record(
        self,
        event: SecurityEvent,
        integration_id: str,
        attempt: int,
        kind: RecordKind,
        msg_id: str,
        status: AttemptStatus,
    ) -> DeliveryRecord:
        return DeliveryRecord(
            deliveryId=delivery_id(self.clock.wall()),
            integrationId=integration_id,
            eventId=event.event_id,
            webhookId=msg_id,
            kind=kind,
            attempt=attempt,
            status=status,
            latencyMs=0.0,
            createdAt=self.clock.iso(),
            trigger=event.trigger.value,
            securityProblemId=event.display_id,
        )
