"""What an integration input becomes when stored: secrets kept or replaced, and every check a
save makes (kept secrets stay at their origin, header caps, the payload template)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from secnotify.delivery import generate_secret
from secnotify.models.email import StoredEmail
from secnotify.models.integration import (
    MAX_HEADER_BYTES,
    Integration,
    ReceiverReference,
    ResolvedRoute,
    StoredHeader,
    StoredSecret,
    StoredWebhook,
    header_bytes,
    show_origin,
    url_origin,
)
from secnotify.models.integration_api import (
    DEFAULT_OVERLAP_SECONDS,
    REMOVE_SIGNING,
    IntegrationInput,
    SecretInput,
    SigningSecretRemoval,
    SigningSecretState,
    WebhookHeader,
)
from secnotify.models.named_secrets import SECRET_MASK, url_secret_names
from secnotify.service.clock import SYSTEM_CLOCK, Clock
from secnotify.service.common import error_view
from secnotify.service.email_edits import checked_email
from secnotify.service.errors import BadRequest
from secnotify.templating import RenderLimits, TemplateError, validate_template
from secnotify.templating.path import compile_path
from secnotify.templating.placeholders import unknown_receiver_error

Kept = list[tuple[str, str]]  # (what, field) of every secret carried over from the stored version


@dataclass(frozen=True)
class Signing:
    """The signing secret to store, and the one a rotation replaced while its signature is still sent."""

    secret: str | None = None
    created_at: str | None = None
    previous: str | None = None
    previous_until: str | None = None

    def fields(self) -> dict[str, Any]:
        """The stored fields; those added with rotation only when set, so an item without them
        keeps the shape earlier versions wrote."""
        extra = {
            "signingSecretCreatedAt": self.created_at,
            "previousSigningSecret": self.previous,
            "previousSigningSecretValidUntil": self.previous_until,
        }
        return {"signingSecret": self.secret, **{k: v for k, v in extra.items() if v is not None}}


@dataclass(frozen=True)
class Edit:
    """What an input makes of an integration's secret-bearing parts, checks passed."""

    webhook: StoredWebhook | None  # None for EMAIL
    signing: Signing
    reveal: str | None  # a signing secret just created or rotated, shown this once
    secrets: tuple[StoredSecret, ...] = ()
    email: StoredEmail | None = None


def apply_input(
    data: IntegrationInput,
    current: Integration | None,
    max_payload_chars: int,
    limits: RenderLimits | None,
    clock: Clock = SYSTEM_CLOCK,
) -> Edit:
    """The one place an input becomes what is stored: on create (``current`` None) and on
    every edit. A secret left out is kept from ``current``, but only at the same origin:
    a kept value must never follow the URL to another server, and neither may a kept
    signing secret (it would sign forgeries for the real receiver). ``limits`` None: the caller
    renders the template against the sample event itself (a preview), so it is not done twice."""
    if data.webhook is None or (current is not None and current.webhook is None):
        # An email integration (or an edit from one type to the other, refused there).
        return Edit(None, Signing(), None, email=checked_email(data, current, max_payload_chars, limits))
    before = current.webhook if current is not None else None
    check_payload_length(data.webhook.payload, max_payload_chars)
    if data.webhook.resolved is not None:
        check_payload_length(data.webhook.resolved.payload, max_payload_chars, "webhook.resolved.payload")
    headers, kept = _headers(data.webhook.headers, current)
    moved = before is not None and url_origin(before.url) != url_origin(data.webhook.url)
    signing, reveal, kept_secret = _signing_secret(data, current, moved, clock)
    kept += kept_secret
    secrets, kept_named = _secrets(data.secrets, current)
    kept += kept_named
    if before is not None and kept:
        _check_origin(before.url, data.webhook.url, kept)
    content_type = _check_headers(headers)
    _check_url_secrets(data.webhook.url, secrets)
    masks = masked_secrets(s.name for s in secrets)
    declared = receiver_names(data)
    for where, payload in payloads(data):
        errors = []
        if limits:
            errors = validate_template(
                payload, content_type, limits=limits, secrets=masks, receiver_names=declared
            )
        if errors:
            views = [error_view(e) for e in errors]
            if where != "webhook.payload":  # which of the templates, where it is not the main one
                views = [{**view, "field": where} for view in views]
            raise BadRequest(f"{where}: {errors[0].message}", field=where, errors=views)
    if data.webhook.resolved is not None:
        _check_resolved_path(data.webhook.resolved.path, secrets, declared)
    webhook = StoredWebhook(
        url=data.webhook.url,
        acceptAnyCertificate=data.webhook.acceptAnyCertificate,
        headers=headers,
        payload=data.webhook.payload,
        resolved=_stored(ResolvedRoute, data.webhook.resolved),
        receiverReference=_stored(ReceiverReference, data.webhook.receiverReference),
    )
    return Edit(webhook, signing, reveal, tuple(secrets))


def payloads(data: IntegrationInput) -> list[tuple[str, str]]:
    """Every payload template of an input, with where it is (none for EMAIL: its templates are
    the email's subject and body)."""
    if data.webhook is None:
        return []
    found = [("webhook.payload", data.webhook.payload)]
    if data.webhook.resolved is not None:
        found.append(("webhook.resolved.payload", data.webhook.resolved.payload))
    return found


def receiver_names(data: IntegrationInput) -> tuple[str, ...]:
    """The receiver references an input keeps: what its templates may use as {Receiver[name]}."""
    declared = data.webhook.receiverReference if data.webhook is not None else None
    return (declared.name,) if declared is not None else ()


_Route = TypeVar("_Route", ResolvedRoute, ReceiverReference)


def _stored(model: type[_Route], given: BaseModel | None) -> _Route | None:
    return model.model_validate(given.model_dump()) if given is not None else None


def _check_resolved_path(path: str, secrets: list[StoredSecret], declared: tuple[str, ...]) -> None:
    """The path's placeholders: each known, each secret held, each reference kept."""
    where = "webhook.resolved.path"
    try:
        compiled = compile_path(path)
    except TemplateError as exc:
        raise BadRequest(f"{where}: {exc.message}", field=where, errors=[error_view(exc)]) from None
    held = {s.name for s in secrets}
    unknown = sorted(compiled.secret_names - held)
    if unknown:
        raise BadRequest(
            f"{where}: unknown secret{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the integration's secrets: {', '.join(sorted(held)) or 'none'}",
            field=where,
        )
    missing = sorted(compiled.receiver_names.difference(declared))
    if missing:
        error = unknown_receiver_error(missing, declared, path)
        raise BadRequest(f"{where}: {error.message}", field=where)


def stored_doc(data: IntegrationInput, edit: Edit, created: str, updated: str) -> dict[str, Any]:
    """The stored document of an integration, before its secrets are sealed."""
    doc = {
        "displayName": data.displayName,
        "enabled": data.enabled,
        "type": data.type,
        "alertingProfileId": data.alertingProfileId,
        **_channel(edit),
        **edit.signing.fields(),
        "createdAt": created,
        "updatedAt": updated,
    }
    if edit.secrets:  # absent when none: the item an integration without them had before
        doc["secrets"] = [s.model_dump() for s in edit.secrets]
    return doc


def _channel(edit: Edit) -> dict[str, Any]:
    """Where an integration sends: its webhook, or its email."""
    if edit.email is not None:
        return {"email": edit.email.model_dump(mode="json")}
    return {"webhook": edit.webhook.stored() if edit.webhook is not None else None}


def check_payload_length(payload: str, limit: int, where: str = "webhook.payload") -> None:
    if len(payload) > limit:
        raise BadRequest(f"{where}: must be at most {limit} characters", field=where)


def _headers(given: list[WebhookHeader], current: Integration | None) -> tuple[list[StoredHeader], Kept]:
    """The headers to store; a secret header given without a value keeps its stored value."""
    stored = current.webhook.headers if current is not None and current.webhook is not None else []
    kept_values = {h.name.lower(): h for h in stored if h.secret}
    headers: list[StoredHeader] = []
    kept: Kept = []
    for index, header in enumerate(given):
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
    return headers, kept


def _signing_secret(
    data: IntegrationInput, current: Integration | None, moved: bool, clock: Clock
) -> tuple[Signing, str | None, Kept]:
    """The signing secret to store, the one to show once (new or rotated), and whether it is kept.

    A rotation keeps the replaced secret signing too, for ``signingSecretOverlapSeconds``, so
    receivers can switch at their pace; never to a new origin, which never knew it."""
    stored = current.signingSecret if current is not None else None
    new = _new_signing_secret(data, stored)
    now = clock.wall()
    if new is not None:
        overlap = data.signingSecretOverlapSeconds
        overlap = DEFAULT_OVERLAP_SECONDS if overlap is None else overlap
        if stored is None or overlap == 0 or moved:
            return Signing(secret=new, created_at=_iso(now)), new, []
        return Signing(new, _iso(now), previous=stored, previous_until=_iso(now + overlap)), new, []
    given = data.signingSecret
    if isinstance(given, SigningSecretRemoval):
        return Signing(), None, []
    if isinstance(given, SigningSecretState) and given.set != (stored is not None):
        raise BadRequest(
            f'signingSecret: {{"set": false}} keeps the stored secret; to remove it send {REMOVE_SIGNING}'
            if stored is not None
            else "signingSecret: there is no signing secret to keep; send a whsec_ value or "
            "generateSigningSecret: true",
            field="signingSecret",
        )
    if current is None or stored is None:
        return Signing(), None, []
    # Kept (left out, the object form, or the stored value itself), with a previous secret
    # still signing, but only until its time.
    until = current.previous_signing_until()
    keep_previous = until is not None and until > now and not moved
    signing = Signing(
        secret=stored,
        created_at=current.signingSecretCreatedAt,
        previous=current.previousSigningSecret if keep_previous else None,
        previous_until=current.previousSigningSecretValidUntil if keep_previous else None,
    )
    # The stored value sent again is supplied, not kept: it may go to a new origin.
    return signing, None, [] if given == stored else [("signingSecret", "signingSecret")]


def _new_signing_secret(data: IntegrationInput, stored: str | None) -> str | None:
    """A secret that replaces ``stored`` (or is the first), or None; refuses the forms that are errors."""
    given = data.signingSecret
    if "signingSecret" in data.model_fields_set and given is None:
        raise BadRequest(
            f"signingSecret: null no longer removes the signing secret; send {REMOVE_SIGNING} to "
            "remove it, or leave the field out (or send it as GET showed it) to keep it",
            field="signingSecret",
        )
    _check_shown_value(data, stored)
    if isinstance(given, str) and data.generateSigningSecret:
        raise BadRequest(
            "signingSecret: give either a signingSecret or generateSigningSecret: true, not both",
            field="signingSecret",
        )
    new = given if isinstance(given, str) else (generate_secret() if data.generateSigningSecret else None)
    if new == stored:
        new = None  # the stored value sent again changes nothing
    if new is None and data.signingSecretOverlapSeconds is not None:
        raise BadRequest(
            "signingSecretOverlapSeconds: goes only beside a new signing secret (a whsec_ value other "
            "than the stored one, or generateSigningSecret: true)",
            field="signingSecretOverlapSeconds",
        )
    return new


def _check_shown_value(data: IntegrationInput, stored: str | None) -> None:
    """``signingSecretValue`` is what an answer showed: sent back, it must be the stored secret."""
    shown = data.signingSecretValue
    if shown is not None and shown != stored:
        raise BadRequest(
            "signingSecretValue: is shown by the server once and is not the stored signing secret; "
            "to set or rotate the secret, send the whsec_ value as signingSecret",
            field="signingSecretValue",
        )


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def masked_secrets(names: Iterable[str]) -> dict[str, str]:
    """Each secret name with the mask for its value: what a preview or a save's check renders, so
    neither ever holds a value."""
    return dict.fromkeys(names, SECRET_MASK)


def _secrets(given: list[SecretInput], current: Integration | None) -> tuple[list[StoredSecret], Kept]:
    """The named secrets to store; one given without a value keeps its stored value."""
    stored = {s.name: s.value for s in current.secrets} if current is not None else {}
    secrets: list[StoredSecret] = []
    kept: Kept = []
    for index, secret in enumerate(given):
        value = secret.value
        if value is None:
            old = stored.get(secret.name)
            if old is None:
                raise BadRequest(
                    f"secrets[{index}].value: required for secret {secret.name} "
                    "(only a secret already stored may omit it)",
                    field=f"secrets[{index}].value",
                )
            value = old
            kept.append((f"secret {secret.name}", f"secrets[{index}].value"))
        secrets.append(StoredSecret(name=secret.name, value=value))
    return secrets, kept


def _check_url_secrets(url: str, secrets: list[StoredSecret]) -> None:
    names = {s.name for s in secrets}
    unknown = [n for n in url_secret_names(url) if n not in names]
    if unknown:
        held = ", ".join(sorted(names)) or "none"
        raise BadRequest(
            f"webhook.url: unknown secret{'s' if len(unknown) > 1 else ''} "
            f"{', '.join(unknown)}; the integration's secrets: {held}",
            field="webhook.url",
        )


def _check_origin(before_url: str, after_url: str, kept: Kept) -> None:
    before, after = url_origin(before_url), url_origin(after_url)
    if before == after:
        return
    names = ", ".join(what for what, _ in kept)
    hint = f"supply each again (signingSecret: a new value, generateSigningSecret, or {REMOVE_SIGNING})"
    raise BadRequest(
        f"webhook.url: the origin changes from {show_origin(before)} to "
        f"{show_origin(after)}, so kept secrets cannot follow; {hint}: {names}",
        field="webhook.url",
        errors=[
            {"field": field, "message": f"{what}: must be supplied again for a new origin"}
            for what, field in kept
        ],
    )


def _check_headers(headers: list[StoredHeader]) -> str:
    """Refuse headers over the byte cap or without a Content-Type value; that value otherwise."""
    size = header_bytes(headers)
    if size > MAX_HEADER_BYTES:
        raise BadRequest(
            f"webhook.headers: the header names and values take {size:,} bytes in UTF-8; "
            f"the cap is {MAX_HEADER_BYTES:,} bytes",
            field="webhook.headers",
        )
    content_type = next((h.value for h in headers if h.name.lower() == "content-type"), "")
    if not content_type.strip():
        raise BadRequest("webhook.headers: the Content-Type header needs a value", field="webhook.headers")
    return content_type
