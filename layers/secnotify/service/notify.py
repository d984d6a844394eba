"""One attempt at one notification: render, sign, send, record. Shared by the dispatcher,
test-send and redeliver, so they all take exactly the same path (and the same SSRF guard)."""

from __future__ import annotations

import hashlib
import json
import logging
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
from secnotify.models.common import TriggerEvent
from secnotify.models.delivery import AttemptStatus, DeliveryRecord, RecordKind
from secnotify.models.event import SecurityEvent
from secnotify.models.integration import Integration
from secnotify.models.receiver import reference_in
from secnotify.service.clock import SYSTEM_CLOCK, Clock
from secnotify.service.email_channel import EmailChannel
from secnotify.service.ports.ledger import DeliveryLog
from secnotify.service.ports.mail import MailSender
from secnotify.service.ports.receivers import ReceiverReferences, StoredReference
from secnotify.settings import Settings
from secnotify.templating import TEMPLATES, RenderLimits, TemplateCache, TemplateError
from secnotify.templating.errors import MissingReceiverReference
from secnotify.templating.path import CompiledPath, compile_path, resolved_url
from secnotify.templating.placeholders import RECEIVER_SAMPLE

logger = logging.getLogger(__name__)


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
        references: ReceiverReferences | None = None,
        mail: MailSender | None = None,
    ) -> None:
        self.deliveries = deliveries
        # Where receiver references are kept; without it none is kept, and one a template uses
        # is always missing.
        self.references = references
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
        webhook = integration.webhook
        route = webhook.route_for(event.trigger)
        # A test, sent again too, never stands for a real problem: it uses the sample, keeps nothing.
        is_test = kind is RecordKind.TEST or test_marker is not None
        try:
            compiled = self.templates.get(
                webhook.payload_for(event.trigger), webhook.content_type(), self.render_limits
            )
            path = compile_path(route.path) if route is not None else None
            receiver = self._receiver_values(event, integration, is_test, compiled.receiver_names, path)
            secrets = {s.name: s.value for s in integration.secrets} if compiled.secret_names else None
            body = compiled.render(event, secrets, receiver).encode("utf-8")
            url = resolved_url(webhook.url, path.render(event, receiver)) if path is not None else webhook.url
        except MissingReceiverReference as exc:
            # Not the template's fault: the answer that carries the reference may yet arrive.
            outcome = DeliveryOutcome.failed(exc.message, retryable=True)
        except ReferenceUnavailable as exc:
            outcome = DeliveryOutcome.failed(str(exc), retryable=True)
        except TemplateError as exc:
            # The template's fault is final; a missing renderer is not. A render error may quote
            # a value the template computed from a secret.
            outcome = DeliveryOutcome.failed(
                f"template error: {state.masker.mask(exc.message)}", exc.retryable
            )
        else:
            request = WebhookRequest(
                url=url,
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
        record = self._outcome_record(
            event, integration.id, attempt, kind, msg_id, test_marker, outcome, redelivery_of
        )
        # A resolve uses the reference; an attack never resolves, so it has none to keep.
        resolves = event.trigger is TriggerEvent.SECURITY_PROBLEM_RESOLVED
        if outcome.delivered and not resolves and not is_test and not event.is_attack:
            note = self._keep_reference(event, integration, outcome.answer, state)
            if note is not None:
                record = record.model_copy(update={"error": note})
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
        record = self._outcome_record(
            event, integration.id, attempt, kind, msg_id, test_marker, outcome, redelivery_of
        ).model_copy(update=sent.record_fields())
        if sent.body is not None:
            # Kept as a webhook's body is: once per notification. An email holds no secret.
            keep = attempt == 1 or kind is not RecordKind.EVENT
            record = record.with_request(sent.body, str if keep else None)
        return Attempt(outcome, record)

    def _outcome_record(
        self,
        event: SecurityEvent,
        integration_id: str,
        attempt: int,
        kind: RecordKind,
        msg_id: str,
        test_marker: str | None,
        outcome: DeliveryOutcome,
        redelivery_of: str | None,
    ) -> DeliveryRecord:
        """The record of an attempt made, webhook or email, with its outcome."""
        # Only the dispatcher retries; a test or a redelivery that failed has failed.
        retrying = outcome.retryable and kind is RecordKind.EVENT
        status = (
            AttemptStatus.SUCCEEDED
            if outcome.delivered
            else (AttemptStatus.RETRYING if retrying else AttemptStatus.FAILED)
        )
        record = self._record(event, integration_id, attempt, kind, msg_id, status).marked(test_marker)
        return record.model_copy(
            update={
                "statusCode": outcome.status_code,
                "latencyMs": round(outcome.latency_ms, 1),
                "error": outcome.error,
                "responseBody": outcome.response_body or "",
                "redeliveryOf": redelivery_of,
            }
        )

    def _receiver_values(
        self,
        event: SecurityEvent,
        integration: Integration,
        is_test: bool,
        template_names: frozenset[str],
        path: CompiledPath | None,
    ) -> dict[str, str] | None:
        """The receiver references a notification uses, by name: the one kept for its problem, or
        the sample for a test. None when it uses none."""
        names = template_names | (path.receiver_names if path is not None else frozenset())
        if not names:
            return None
        if is_test:
            return dict.fromkeys(names, RECEIVER_SAMPLE)
        problem = problem_key(event)
        if self.references is None or not problem:
            return {}
        try:
            kept = self.references.get(problem, integration.id)
        except Exception as exc:  # storage trouble is passing: the ladder tries again
            why = f"receiver reference could not be read ({type(exc).__name__})"
            raise ReferenceUnavailable(why) from None
        return {kept.name: kept.value} if kept is not None and kept.name in names else {}

    def _keep_reference(
        self, event: SecurityEvent, integration: Integration, answer: str, state: SendState
    ) -> str | None:
        """After a 2xx of a notification that does not resolve, keep the reference the integration
        declares from the receiver's answer. The notification is delivered whatever happens here;
        what prevented keeping it is returned, for the record's ``error``."""
        declared = integration.webhook.receiverReference if integration.webhook is not None else None
        if declared is None:
            return None
        why = "receiver reference not kept: "
        problem = problem_key(event)
        if self.references is None or not problem:
            return why + "the event names no problem" if not problem else None
        try:
            doc = json.loads(answer, parse_float=str, parse_int=str, parse_constant=_not_json)
        except (ValueError, RecursionError):
            return why + "the answer is not JSON"
        value, problem_text = reference_in(doc, declared.pointer)
        if value is None:
            return why + problem_text
        if state.masker.mask(value) != value:
            return why + "the value holds one of the integration's secrets"
        kept = StoredReference(declared.name, value, event.event_time.timestamp())
        try:
            stored = self.references.put(problem, integration.id, kept)
        except Exception as exc:  # the notification went out: never retried for this
            logger.warning("receiver reference not kept for %s: %s", integration.id, type(exc).__name__)
            return why + f"storage error ({type(exc).__name__})"
        return None if stored else why + "one from a later event is kept"

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


class ReferenceUnavailable(Exception):
    """The store of receiver references did not answer."""


def problem_key(event: SecurityEvent) -> str:
    """The problem a receiver reference belongs to: its id, else its display id."""
    return event.security_problem_id or event.display_id


def _not_json(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")
