"""Integration use cases: CRUD with write-only secrets, preview, test-send, delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from secnotify.models.common import TriggerEvent
from secnotify.models.delivery import AttemptStatus, DeliveryRecord, RecordKind
from secnotify.models.event import SecurityEvent, sample_event
from secnotify.models.integration import Integration, PresetOrigin
from secnotify.models.integration_api import REMOVE_SIGNING, IntegrationInput, IntegrationView
from secnotify.service.clock import SYSTEM_CLOCK
from secnotify.service.common import (
    as_eventbridge,
    check_if_match,
    check_server_fields,
    new_id,
    now_iso,
    validated,
)
from secnotify.service.email_channel import SHOWN_CONTENT_TYPE, preview_email
from secnotify.service.email_edits import refuse_type_change, refuse_when_email_off
from secnotify.service.errors import BadRequest, Conflict
from secnotify.service.integration_edits import (
    apply_input,
    check_payload_length,
    error_view,
    masked_secrets,
    payloads,
    stored_doc,
)
from secnotify.service.merge_patch import merge_patch
from secnotify.service.notify import Notifier
from secnotify.service.ports.config import ConfigKind, ConfigRepository, StoredItem
from secnotify.service.ports.ledger import DeliveryLogReader, EventArchive
from secnotify.service.ports.secrets import SecretSealer
from secnotify.service.secret_fields import seal_integration, stored_integration
from secnotify.settings import Settings
from secnotify.sources import MalformedEvent, parse_eventbridge
from secnotify.templating import RenderLimits, render_preview


@dataclass
class IntegrationService:
    config: ConfigRepository
    events: EventArchive
    deliveries_log: DeliveryLogReader
    settings: Settings
    secrets: SecretSealer
    make_notifier: Callable[[], Notifier]
    _notifier: Notifier | None = field(default=None, init=False)

    @cached_property
    def render_limits(self) -> RenderLimits:
        return RenderLimits.from_settings(self.settings)

    @property
    def notifier(self) -> Notifier:
        # Built on first use: CRUD requests never pay for the HTTP pool.
        if self._notifier is None:
            self._notifier = self.make_notifier()
        return self._notifier

    # ---- CRUD -----------------------------------------------------------------------

    def create(self, data: IntegrationInput, origin: PresetOrigin | None = None) -> IntegrationView:
        """``origin``: the preset ``data`` was built from, kept as ``presetOrigin``."""
        refuse_when_email_off(data, self.settings)
        edit = apply_input(data, None, self.settings.max_payload_chars, self.render_limits)
        now = now_iso()
        item_id = new_id()
        doc = stored_doc(data, edit, now, now)
        if origin is not None:
            doc["presetOrigin"] = origin.model_dump()
        stored = self.config.create_integration(
            item_id, seal_integration(doc, item_id, self.secrets), self.settings.max_integrations
        )
        return _view(stored, reveal=edit.reveal)

    def get_stored(self, integration_id: str) -> Integration:
        return stored_integration(
            self.config.get_config_item(ConfigKind.INTEGRATION, integration_id), self.secrets
        )

    def get(self, integration_id: str) -> IntegrationView:
        return _view(self.config.get_config_item(ConfigKind.INTEGRATION, integration_id))

    def page(self, limit: int, token: str | None) -> tuple[list[IntegrationView], str | None]:
        page = self.config.list_config_items(ConfigKind.INTEGRATION, limit, token)
        return [_view(i) for i in page.items], page.next_token

    def replace(self, integration_id: str, data: IntegrationInput, if_match: str | None) -> IntegrationView:
        current = self.get_stored(integration_id)
        check_server_fields(data, current.id, current.version, if_match, f"integration {integration_id}")
        return self._save_edit(current, data)

    def patch(self, integration_id: str, patch: dict[str, Any], if_match: str | None) -> IntegrationView:
        """A JSON Merge Patch (RFC 7396) of the integration as GET shows it, then saved as a PUT of
        the result would be. ``signingSecret`` is a value, not a document: replaced whole."""
        current = self.get_stored(integration_id)
        what = f"integration {integration_id}"
        check_if_match(if_match, current.version, what)
        if "signingSecret" in patch and patch["signingSecret"] is None:
            raise BadRequest(
                f"signingSecret: null would leave the secret as it is; send {REMOVE_SIGNING} to remove it",
                field="signingSecret",
            )
        if "type" in patch:  # before the merge is validated as the other type's fields
            refuse_type_change(current.type, patch["type"])
        shown = _view_of(current).model_dump(mode="json")
        if "signingSecret" in patch:
            shown.pop("signingSecret")
        data = validated(IntegrationInput, merge_patch(shown, patch))
        check_server_fields(data, current.id, current.version, if_match, what)
        return self._save_edit(current, data)

    def _save_edit(self, current: Integration, data: IntegrationInput) -> IntegrationView:
        """Store ``data`` as the next version of ``current``. Every way of editing an integration
        (a PUT, a PATCH merged into a full input) ends here, so the checks of ``apply_input``
        (kept secrets stay at their origin, header and template rules) always hold."""
        edit = apply_input(data, current, self.settings.max_payload_chars, self.render_limits)
        doc = stored_doc(data, edit, current.createdAt, now_iso())
        if current.presetOrigin is not None:  # read-only: no edit sets or clears it
            doc["presetOrigin"] = current.presetOrigin.model_dump()
        stored = self.config.replace_integration(
            current.id,
            seal_integration(doc, current.id, self.secrets),
            current.version,
            current.alertingProfileId,
        )
        return _view(stored, reveal=edit.reveal)

    def delete(self, integration_id: str) -> None:
        self.config.delete_integration(integration_id)

    # ---- preview and test-send ----------------------------------------------------

    def preview(
        self, integration_id: str | None, draft: IntegrationInput | None, event: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Render without sending. A draft gets every check a save would make (as an edit of
        ``integration_id`` when both are given), reported in ``errors`` rather than refused."""
        errors: list[dict[str, Any]] = []
        stored = self.get_stored(integration_id) if draft is None and integration_id is not None else None
        if (draft is not None and draft.webhook is None) or (stored is not None and stored.webhook is None):
            return self._email_preview(integration_id, draft, stored, event)
        security_event = self._event(event)
        resolves = security_event.trigger is TriggerEvent.SECURITY_PROBLEM_RESOLVED
        if draft is not None and draft.webhook is not None:
            # Refused outright, as on save: it bounds the work a preview does.
            for where, draft_payload in payloads(draft):
                check_payload_length(draft_payload, self.settings.max_payload_chars, where)
            current = self.get_stored(integration_id) if integration_id is not None else None
            # The render below checks the template; against the sample event it is the save's check.
            limits = self.render_limits if event is not None or draft.webhook.resolved is not None else None
            try:
                apply_input(draft, current, self.settings.max_payload_chars, limits)
            except BadRequest as exc:
                errors = list(exc.details.get("errors") or [_bad_request_view(exc)])
            route = draft.webhook.resolved if resolves else None
            payload = route.payload if route is not None else draft.webhook.payload
            content_type = draft.webhook.content_type()
            names = [s.name for s in draft.secrets]
        elif stored is not None and stored.webhook is not None:
            payload = stored.webhook.payload_for(security_event.trigger)
            content_type = stored.webhook.content_type()
            names = [s.name for s in stored.secrets]
        else:
            raise BadRequest("give either integrationId or integration", field="integrationId")
        # Every secret shows as the mask, every receiver reference as its sample: a preview never
        # holds a value, however the template uses it.
        body, render_errors = render_preview(
            payload, content_type, security_event, self.render_limits, masked_secrets(names)
        )
        for error in map(error_view, render_errors):
            if error not in errors:
                errors.append(error)
        return {"contentType": content_type, "body": body, "valid": not errors, "errors": errors}

    def _email_preview(
        self,
        integration_id: str | None,
        draft: IntegrationInput | None,
        stored: Integration | None,
        event: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """An EMAIL integration's subject and HTML body, rendered as they would be sent."""
        errors: list[dict[str, Any]] = []
        email = stored.email if stored is not None else None
        if draft is not None:
            current = self.get_stored(integration_id) if integration_id is not None else None
            # As for a webhook: the render below is the save's check, unless an event is supplied.
            limits = self.render_limits if event is not None else None
            try:
                if current is None:
                    refuse_when_email_off(draft, self.settings)
                apply_input(draft, current, self.settings.max_payload_chars, limits)
            except BadRequest as exc:
                errors = list(exc.details.get("errors") or [_bad_request_view(exc)])
            email = draft.email.stored() if draft.email is not None else None
        if email is None:  # refused by the input's own checks before it gets here
            raise BadRequest("email: required for an EMAIL integration", field="email")
        shown = preview_email(email.subject, email.body, self._event(event), self.render_limits)
        for field_name, problem in shown.errors:
            error = {**error_view(problem), "field": field_name}
            if error not in errors:
                errors.append(error)
        return {
            "contentType": SHOWN_CONTENT_TYPE,
            "subject": shown.subject,
            "body": shown.body,
            "valid": not errors,
            "errors": errors,
        }

    def test_send(self, integration_id: str, event: dict[str, Any] | None) -> dict[str, Any]:
        integration = self.get_stored(integration_id)
        # A test never stands in for a real event: its own id, so it cannot touch that event's
        # stored copy or lease, and a fresh webhook-id, so receivers that dedup still take it.
        security_event = self._event(event).model_copy(update={"event_id": f"test-{uuid.uuid4()}"})
        msg_id = f"msg_test_{uuid.uuid4().hex}"
        marker = "true" if event is None else "custom-event"
        result = self.notifier.attempt(
            security_event, integration, attempt=1, kind=RecordKind.TEST, msg_id=msg_id, test_marker=marker
        )
        self.events.put_event(
            security_event.event_id, security_event.model_dump_json(), self.notifier.record_ttl_s
        )
        self.notifier.record(result.record)
        return _outcome_view(result.record, result.outcome.delivered, integration)

    # ---- delivery log -------------------------------------------------------------

    def deliveries(
        self,
        integration_id: str,
        limit: int,
        token: str | None,
        status: AttemptStatus | None = None,
        event_id: str | None = None,
    ) -> tuple[list[DeliveryRecord], str | None]:
        self.get_stored(integration_id)
        return self.deliveries_log.list_deliveries(integration_id, limit, token, status, event_id)

    def delivery(self, integration_id: str, delivery_id: str) -> DeliveryRecord:
        self.get_stored(integration_id)
        return self.deliveries_log.get_delivery(integration_id, delivery_id)

    def redeliver(self, integration_id: str, delivery_id: str) -> dict[str, Any]:
        integration = self.get_stored(integration_id)
        original = self.deliveries_log.get_delivery(integration_id, delivery_id)
        raw = self.events.get_event(original.eventId)
        if raw is None:
            raise Conflict(f"the event of delivery {delivery_id} is no longer kept; it cannot be redelivered")
        event = SecurityEvent.model_validate_json(raw)
        result = self.notifier.attempt(
            event,
            integration,
            attempt=original.attempt,
            kind=RecordKind.REDELIVERY,
            msg_id=original.webhookId,
            # A real notification again carries no marker; a test sent again is still a test.
            test_marker=original.test_marker,
            redelivery_of=delivery_id,
        )
        self.notifier.record(result.record)
        return _outcome_view(result.record, result.outcome.delivered, integration)

    # ---- helpers ------------------------------------------------------------------

    def _event(self, raw: dict[str, Any] | None) -> SecurityEvent:
        if raw is None:
            return sample_event()
        try:
            return parse_eventbridge(as_eventbridge(raw))
        except MalformedEvent as exc:
            raise BadRequest(f"event: {exc.reason}", field="event") from None


def _view(item: StoredItem, reveal: str | None = None) -> IntegrationView:
    """The API's view, built without opening the sealed secrets it never shows; ``reveal`` is a
    signing secret just created or rotated, shown this once."""
    return _view_of(item.as_model(Integration), reveal)


def _view_of(integration: Integration, reveal: str | None = None) -> IntegrationView:
    return IntegrationView.of(integration, reveal, now=datetime.fromtimestamp(SYSTEM_CLOCK.wall(), UTC))


def _bad_request_view(exc: BadRequest) -> dict[str, Any]:
    view: dict[str, Any] = {"message": exc.message}
    if exc.details.get("field"):
        view["field"] = exc.details["field"]
    return view


def _outcome_view(record: DeliveryRecord, delivered: bool, integration: Integration) -> dict[str, Any]:
    return {
        "delivered": delivered,
        "statusCode": record.statusCode,
        "latencyMs": record.latencyMs,
        "error": record.error,
        "responseBody": record.responseBody or "",
        "deliveryId": record.deliveryId,
        "integrationEnabled": integration.enabled,
    }
