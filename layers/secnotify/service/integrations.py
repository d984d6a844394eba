"""Integration use cases: CRUD with write-only secrets, preview, test-send, delivery log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from secnotify.delivery import generate_secret
from secnotify.models.event import SecurityEvent, sample_event
from secnotify.models.integration import (
    MAX_HEADER_BYTES,
    Integration,
    IntegrationInput,
    IntegrationView,
    StoredHeader,
    StoredWebhook,
    header_bytes,
    show_origin,
    url_origin,
)
from secnotify.service.common import check_if_match, new_id, now_iso
from secnotify.service.errors import BadRequest, Conflict, NotFoundError, PreconditionFailed
from secnotify.service.notify import Notifier
from secnotify.service.secret_fields import open_integration, seal_integration
from secnotify.settings import Settings
from secnotify.sources import MalformedEvent, parse_eventbridge
from secnotify.storage.dynamodb import INTEGRATION, DynamoStore, StoredItem
from secnotify.storage.errors import ItemTooLarge, LimitExceeded, NotFound, ProfileMissing, VersionConflict
from secnotify.storage.secrets import SecretBox
from secnotify.templating import RenderLimits, render_preview, validate_template


@dataclass(frozen=True)
class Saved:
    view: IntegrationView
    version: int


@dataclass(frozen=True)
class _Edit:
    """What an input makes of an integration's secret-bearing parts, checks passed."""

    webhook: StoredWebhook
    signing_secret: str | None
    reveal: str | None  # a signing secret just created or rotated, shown this once


class IntegrationService:
    def __init__(
        self, store: DynamoStore, settings: Settings, secrets: SecretBox, notifier: Notifier | None = None
    ) -> None:
        self.store = store
        self.settings = settings
        self.secrets = secrets
        self._notifier = notifier
        self._limits = RenderLimits.from_settings(settings)

    @property
    def notifier(self) -> Notifier:
        # Built on first use: CRUD requests never pay for the HTTP pool.
        if self._notifier is None:
            self._notifier = Notifier(self.store, self.settings)
        return self._notifier

    # ---- CRUD -----------------------------------------------------------------------

    def create(self, data: IntegrationInput) -> IntegrationView:
        edit = self._apply(data, current=None)
        now = now_iso()
        item_id = new_id()
        doc = self._doc(data, edit, now, now)
        try:
            stored = self.store.create_integration(
                item_id, seal_integration(doc, item_id, self.secrets), self.settings.max_integrations
            )
        except (LimitExceeded, VersionConflict) as exc:
            raise Conflict(str(exc)) from None
        except ProfileMissing as exc:
            raise BadRequest(str(exc), field="alertingProfileId") from None
        except ItemTooLarge as exc:
            raise _too_large(exc) from None
        return _view(stored, reveal=edit.reveal)

    def get_stored(self, integration_id: str) -> Integration:
        try:
            return self._integration(self.store.get_config_item(INTEGRATION, integration_id))
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None

    def get(self, integration_id: str) -> IntegrationView:
        try:
            return _view(self.store.get_config_item(INTEGRATION, integration_id))
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None

    def page(self, limit: int, token: str | None) -> tuple[list[IntegrationView], str | None]:
        page = self.store.list_config_items(INTEGRATION, limit, token)
        return [_view(i) for i in page.items], page.next_token

    def replace(self, integration_id: str, data: IntegrationInput, if_match: str | None) -> IntegrationView:
        current = self.get_stored(integration_id)
        check_if_match(if_match, current.version, f"integration {integration_id}")
        return self._save_edit(current, data)

    def _save_edit(self, current: Integration, data: IntegrationInput) -> IntegrationView:
        """Store ``data`` as the next version of ``current``. Every way of editing an integration
        (a PUT today, a PATCH merged into a full input tomorrow) ends here, so the checks of
        ``_apply`` (kept secrets stay at their origin, header and template rules) always hold."""
        edit = self._apply(data, current)
        doc = self._doc(data, edit, current.createdAt, now_iso())
        try:
            stored = self.store.replace_integration(
                current.id,
                seal_integration(doc, current.id, self.secrets),
                current.version,
                current.alertingProfileId,
            )
        except VersionConflict as exc:
            raise PreconditionFailed(str(exc)) from None
        except ProfileMissing as exc:
            raise BadRequest(str(exc), field="alertingProfileId") from None
        except ItemTooLarge as exc:
            raise _too_large(exc) from None
        return _view(stored, reveal=edit.reveal)

    def delete(self, integration_id: str) -> None:
        try:
            self.store.delete_integration(integration_id)
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None
        except VersionConflict as exc:
            raise Conflict(str(exc)) from None

    # ---- preview and test-send ----------------------------------------------------

    def preview(
        self, integration_id: str | None, draft: IntegrationInput | None, event: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Render without sending. A draft gets every check a save would make (as an edit of
        ``integration_id`` when both are given), reported in ``errors`` rather than refused."""
        errors: list[dict[str, Any]] = []
        if draft is not None:
            # Refused outright, as on save: it bounds the work a preview does.
            self._check_payload_length(draft.webhook.payload)
            current = self.get_stored(integration_id) if integration_id is not None else None
            try:
                self._apply(draft, current)
            except BadRequest as exc:
                errors = list(exc.details.get("errors") or [_bad_request_view(exc)])
            payload, content_type = draft.webhook.payload, draft.webhook.content_type()
        elif integration_id is not None:
            stored = self.get_stored(integration_id)
            payload, content_type = stored.webhook.payload, stored.webhook.content_type()
        else:
            raise BadRequest("give either integrationId or integration", field="integrationId")
        body, render_errors = render_preview(payload, content_type, self._event(event), self._limits)
        for error in map(_error_view, render_errors):
            if error not in errors:
                errors.append(error)
        return {"contentType": content_type, "body": body, "valid": not errors, "errors": errors}

    def test_send(self, integration_id: str, event: dict[str, Any] | None) -> dict[str, Any]:
        integration = self.get_stored(integration_id)
        # A test never stands in for a real event: its own id, so it cannot touch that event's
        # stored copy or lease, and a fresh webhook-id, so receivers that dedup still take it.
        security_event = self._event(event).model_copy(update={"event_id": f"test-{uuid.uuid4()}"})
        msg_id = f"msg_test_{uuid.uuid4().hex}"
        marker = "true" if event is None else "custom-event"
        result = self.notifier.attempt(
            security_event, integration, attempt=1, kind="test", msg_id=msg_id, test_marker=marker
        )
        self.store.put_event(security_event.event_id, security_event.model_dump_json(), self._record_ttl)
        self.notifier.record(result.record)
        return _outcome_view(result.record, result.outcome.delivered, integration)

    # ---- delivery log -------------------------------------------------------------

    def deliveries(
        self, integration_id: str, limit: int, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        self.get_stored(integration_id)
        return self.store.list_deliveries(integration_id, limit, token)

    def redeliver(self, integration_id: str, delivery_id: str) -> dict[str, Any]:
        integration = self.get_stored(integration_id)
        try:
            original = self.store.get_delivery(integration_id, delivery_id)
        except NotFound as exc:
            raise NotFoundError(str(exc)) from None
        raw = self.store.get_event(original["eventId"])
        if raw is None:
            raise Conflict(f"the event of delivery {delivery_id} is no longer kept; it cannot be redelivered")
        event = SecurityEvent.model_validate_json(raw)
        result = self.notifier.attempt(
            event,
            integration,
            attempt=int(original.get("attempt", 1)),
            kind="redelivery",
            msg_id=original.get("webhookId"),
            # A real notification again carries no marker; a test sent again is still a test.
            test_marker=original.get("testMarker"),
        )
        result.record["redeliveryOf"] = delivery_id
        self.notifier.record(result.record)
        return _outcome_view(result.record, result.outcome.delivered, integration)

    # ---- helpers ------------------------------------------------------------------

    def _integration(self, item: StoredItem) -> Integration:
        doc = open_integration(item.doc, item.id, self.secrets)
        return Integration.model_validate({**doc, "id": item.id, "version": item.version})

    @property
    def _record_ttl(self) -> int:
        return self.settings.delivery_record_ttl_days * 86400

    def _event(self, raw: dict[str, Any] | None) -> SecurityEvent:
        if raw is None:
            return sample_event()
        if "detail" not in raw:
            raw = {
                "version": "0",
                "id": str(uuid.uuid4()),
                "detail-type": "Security Problem Opened",
                "source": "secnotify",
                "account": "000000000000",
                "time": now_iso(),
                "region": "us-east-1",
                "resources": [],
                "detail": raw,
            }
        try:
            return parse_eventbridge(raw)
        except MalformedEvent as exc:
            raise BadRequest(f"event: {exc.reason}", field="event") from None

    def _apply(self, data: IntegrationInput, current: Integration | None) -> _Edit:
        """The one place an input becomes what is stored: on create (``current`` None) and on
        every edit. A secret left out is kept from ``current``, but only at the same origin:
        a kept value must never follow the URL to another server, and neither may a kept
        signing secret (it would sign forgeries for the real receiver)."""
        self._check_payload_length(data.webhook.payload)
        previous = current.webhook if current is not None else None
        kept_values = {h.name.lower(): h for h in (previous.headers if previous else []) if h.secret}
        headers: list[StoredHeader] = []
        kept: list[tuple[str, str]] = []  # (what, field) of every secret carried over
        for index, header in enumerate(data.webhook.headers):
            value = header.value
            if value is None:
                old = kept_values.get(header.name.lower())
                if not header.secret or old is None:
                    raise BadRequest(
                        f"webhook.headers[{index}].value: required for header {header.name}"
                        + (" (only an existing secret header may omit it)" if header.secret else ""),
                        field=f"webhook.headers[{index}].value",
                    )
                value = old.value
                kept.append((f"header {header.name}", f"webhook.headers[{index}].value"))
            headers.append(StoredHeader(name=header.name, value=value, secret=header.secret))

        secret, reveal = None, None
        if data.signingSecret is not None:
            secret = reveal = data.signingSecret
        elif data.generateSigningSecret:
            secret = reveal = generate_secret()
        elif current is not None and "signingSecret" not in data.model_fields_set:
            secret = current.signingSecret  # an explicit null removes signing
            if secret is not None:
                kept.append(("signingSecret", "signingSecret"))

        if current is not None and kept:
            before, after = url_origin(current.webhook.url), url_origin(data.webhook.url)
            if before != after:
                names = ", ".join(what for what, _ in kept)
                hint = "supply each again (signingSecret: a new value, generateSigningSecret, or null)"
                raise BadRequest(
                    f"webhook.url: the origin changes from {show_origin(before)} to "
                    f"{show_origin(after)}, so kept secrets cannot follow; {hint}: {names}",
                    field="webhook.url",
                    errors=[
                        {"field": field, "message": f"{what}: must be supplied again for a new origin"}
                        for what, field in kept
                    ],
                )

        size = header_bytes(headers)
        if size > MAX_HEADER_BYTES:
            raise BadRequest(
                f"webhook.headers: the header names and values take {size:,} bytes in UTF-8; "
                f"the cap is {MAX_HEADER_BYTES:,} bytes",
                field="webhook.headers",
            )
        content_type = next((h.value for h in headers if h.name.lower() == "content-type"), "")
        if not content_type.strip():
            raise BadRequest(
                "webhook.headers: the Content-Type header needs a value", field="webhook.headers"
            )
        errors = validate_template(data.webhook.payload, content_type, limits=self._limits)
        if errors:
            first = errors[0]
            raise BadRequest(
                f"webhook.payload: {first.message}",
                field="webhook.payload",
                errors=[_error_view(e) for e in errors],
            )
        webhook = StoredWebhook(
            url=data.webhook.url,
            acceptAnyCertificate=data.webhook.acceptAnyCertificate,
            headers=headers,
            payload=data.webhook.payload,
        )
        return _Edit(webhook, secret, reveal)

    def _check_payload_length(self, payload: str) -> None:
        limit = self.settings.max_payload_chars
        if len(payload) > limit:
            raise BadRequest(f"webhook.payload: must be at most {limit} characters", field="webhook.payload")

    @staticmethod
    def _doc(data: IntegrationInput, edit: _Edit, created: str, updated: str) -> dict[str, Any]:
        return {
            "displayName": data.displayName,
            "enabled": data.enabled,
            "type": data.type,
            "alertingProfileId": data.alertingProfileId,
            "webhook": edit.webhook.model_dump(mode="json"),
            "signingSecret": edit.signing_secret,
            "createdAt": created,
            "updatedAt": updated,
        }


def _view(item: StoredItem, reveal: str | None = None) -> IntegrationView:
    """The API's view, built without opening the sealed secrets it never shows; ``reveal`` is a
    signing secret just created or rotated, shown this once."""
    integration = Integration.model_validate({**item.doc, "id": item.id, "version": item.version})
    if reveal is not None:
        integration = integration.model_copy(update={"signingSecret": reveal})
    return IntegrationView.of(integration, reveal_signing_secret=reveal is not None)


def _too_large(exc: ItemTooLarge) -> BadRequest:
    return BadRequest(f"integration: {exc}", field="webhook")


def _bad_request_view(exc: BadRequest) -> dict[str, Any]:
    view: dict[str, Any] = {"message": exc.message}
    if exc.details.get("field"):
        view["field"] = exc.details["field"]
    return view


def _error_view(error: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"message": error.message}
    if getattr(error, "line", None) is not None:
        view["line"] = error.line
        view["column"] = error.column
    unknown = getattr(error, "unknown", ())
    if unknown:
        view["unknownPlaceholders"] = list(unknown)
    return view


def _outcome_view(record: dict[str, Any], delivered: bool, integration: Integration) -> dict[str, Any]:
    return {
        "delivered": delivered,
        "statusCode": record.get("statusCode"),
        "latencyMs": record.get("latencyMs"),
        "error": record.get("error"),
        "responseBody": record.get("responseBody") or "",
        "deliveryId": record["deliveryId"],
        "integrationEnabled": integration.enabled,
    }
