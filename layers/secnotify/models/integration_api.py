"""An integration as the config API reads it from a client (the inputs, checked field by field)
and shows it (the views, secrets withheld). Apart from ``integration`` so the dispatcher, which
only loads stored integrations, never builds these models."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
    model_validator,
)

from secnotify.models.common import NotBlank, ServerFields
from secnotify.models.email import StoredEmail
from secnotify.models.email_api import EmailInput
from secnotify.models.integration import (
    HEADER_NAME,
    HEADER_VALUE_FORBIDDEN,
    RESERVED_HEADERS,
    SIGNING_SECRET_PATTERN,
    Integration,
    PresetOrigin,
    ReceiverReference,
    ResolvedRoute,
    parse_time,
)
from secnotify.models.named_secrets import (
    MAX_SECRETS,
    SECRET_NAME,
    SECRET_NAME_PATTERN,
    check_url_secrets,
    secret_value_problem,
)
from secnotify.models.receiver import (
    MAX_PATH_CHARS,
    MAX_POINTER_CHARS,
    RECEIVER_NAME_PATTERN,
    path_problem,
    pointer_problem,
)

# Where a resolved route's path is checked as a URL's path and query.
_PATH_PROBE = "https://origin.invalid"
_RECEIVER_NAME = re.compile(RECEIVER_NAME_PATTERN)


class WebhookHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=500)]
    # repr=False: a secret value must not surface in a debug log of the parsed request.
    value: Annotated[str, Field(max_length=8192)] | None = Field(default=None, repr=False)
    secret: StrictBool = False

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not HEADER_NAME.match(value):
            raise ValueError("header name may contain only RFC 9110 token characters")
        if value.lower() in RESERVED_HEADERS:
            raise ValueError(f"header {value} is set by secnotify and cannot be overridden")
        return value

    @model_validator(mode="after")
    def _content_type_is_public(self) -> WebhookHeader:
        if self.secret and self.name.lower() == "content-type":
            raise ValueError("the Content-Type header cannot be secret")
        return self

    @field_validator("value")
    @classmethod
    def _valid_value(cls, value: str | None) -> str | None:
        if value is not None and HEADER_VALUE_FORBIDDEN.search(value):
            raise ValueError("header value must not contain control characters or line breaks")
        return value


class ResolvedRouteInput(BaseModel):
    """Where a resolved notification goes: ``path`` on the origin of ``webhook.url``, ``payload``
    its template (checked as ``webhook.payload`` is)."""

    model_config = ConfigDict(extra="forbid")

    path: Annotated[str, Field(min_length=1, max_length=MAX_PATH_CHARS)] = Field(
        description="Appended to the scheme, host and port of webhook.url; {Placeholder}s allowed, "
        "their values percent-encoded, e.g. /rest/api/3/issue/{Receiver[issueKey]}/comment"
    )
    payload: Annotated[str, Field(min_length=1)] = Field(description="The resolved notification's template.")

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        problem = path_problem(value)
        if problem is not None:
            raise ValueError(f"path {problem}")
        try:
            check_url_secrets(_PATH_PROBE + value)
        except ValueError as exc:
            raise ValueError(f"path: {exc}") from None
        return value


class ReceiverReferenceInput(BaseModel):
    """What to keep of the receiver's answer, as ``{Receiver[name]}``."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=64, pattern=RECEIVER_NAME_PATTERN)] = Field(
        description="Used as {Receiver[name]}: a letter, then up to 63 letters, digits or underscores."
    )
    pointer: Annotated[str, Field(max_length=MAX_POINTER_CHARS)] = Field(
        description='An RFC 6901 JSON pointer into the answer to a notification, e.g. "/key".'
    )

    @field_validator("name", mode="before")
    @classmethod
    def _valid_name(cls, value: object) -> object:
        if isinstance(value, str) and not _RECEIVER_NAME.match(value):
            raise ValueError("a reference name is a letter, then up to 63 letters, digits or underscores")
        return value

    @field_validator("pointer")
    @classmethod
    def _valid_pointer(cls, value: str) -> str:
        problem = pointer_problem(value)
        if problem is not None:
            raise ValueError(f"pointer {problem}")
        return value


class WebhookInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=1000)]
    acceptAnyCertificate: StrictBool = False
    headers: Annotated[list[WebhookHeader], Field(max_length=100)] = Field(default_factory=list)
    payload: Annotated[str, Field(min_length=1)]
    resolved: ResolvedRouteInput | None = Field(
        default=None, description="A resolved notification goes here instead of url, with this payload."
    )
    receiverReference: ReceiverReferenceInput | None = Field(
        default=None, description="Keep a value of the receiver's answer per problem, as {Receiver[name]}."
    )

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        if HEADER_VALUE_FORBIDDEN.search(value) or " " in value:
            raise ValueError("url must not contain spaces or control characters")
        try:
            parts = urlsplit(check_url_secrets(value))
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError as exc:
            raise ValueError(f"url is not a valid URL: {exc}") from None
        if parts.scheme not in {"http", "https"}:
            raise ValueError("url must start with http:// or https://")
        if not parts.hostname:
            raise ValueError("url must name a host")
        if parts.username is not None or parts.password is not None:  # `https://@host/` too
            raise ValueError("url must not carry credentials; use a secret header instead")
        return value

    @model_validator(mode="after")
    def _content_type_required(self) -> WebhookInput:
        names = [h.name.lower() for h in self.headers]
        if "content-type" not in names:
            raise ValueError("webhook.headers must include a Content-Type header")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"webhook.headers lists {', '.join(duplicates)} more than once")
        return self

    def content_type(self) -> str:
        for header in self.headers:
            if header.name.lower() == "content-type":
                return header.value or ""
        return ""


REMOVE_SIGNING = '{"remove": true}'
MAX_OVERLAP_SECONDS = 604_800  # a week
DEFAULT_OVERLAP_SECONDS = 86_400
_SIGNING_SECRET = re.compile(SIGNING_SECRET_PATTERN)
_STATE_KEYS = frozenset({"set", "createdAt", "previousValidUntil"})


class SigningSecretState(BaseModel):
    """The signing secret as GET shows it; sent back as it is, it changes nothing."""

    model_config = ConfigDict(extra="forbid")

    set: StrictBool = Field(description="Whether deliveries are signed.")
    createdAt: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="When the current secret was set or generated."
    )
    previousValidUntil: Annotated[str, Field(max_length=64)] | None = Field(
        default=None,
        description="After a rotation: until when deliveries also carry the previous secret's signature.",
    )


class SigningSecretRemoval(BaseModel):
    """``{"remove": true}``: deliveries are no longer signed."""

    model_config = ConfigDict(extra="forbid")

    remove: Literal[True]


def _signing_secret_form(value: Any) -> Any:
    """One clear message per wrong form, instead of one per member of the union."""
    if value is None or isinstance(value, SigningSecretState | SigningSecretRemoval):
        return value  # null is refused by the edit, which words it with the alternatives
    if isinstance(value, str):
        if len(value) > 200 or not _SIGNING_SECRET.match(value):
            raise ValueError(
                "a new signing secret is whsec_ and at least 32 base64 characters (or use "
                "generateSigningSecret: true)"
            )
        return value
    if isinstance(value, dict):
        return _signing_secret_object(value)
    raise ValueError(f"must be a whsec_ string (a new secret), {REMOVE_SIGNING}, or the object GET returns")


def _signing_secret_object(value: dict[str, Any]) -> SigningSecretState | SigningSecretRemoval:
    if "remove" in value:
        if value.get("remove") is not True or len(value) != 1:
            raise ValueError(f"to remove the signing secret send exactly {REMOVE_SIGNING}")
        return SigningSecretRemoval(remove=True)
    unknown = sorted(str(k) for k in value if k not in _STATE_KEYS)
    if unknown:
        raise ValueError(
            f"unknown field {unknown[0]}: the object form is the one GET returns "
            f'({{"set", "createdAt", "previousValidUntil"}}), or {REMOVE_SIGNING}'
        )
    if not isinstance(value.get("set"), bool):
        raise ValueError("set: must be true or false, as GET returned it")
    for key in ("createdAt", "previousValidUntil"):
        stamp = value.get(key)
        if stamp is not None and (not isinstance(stamp, str) or len(stamp) > 64):
            raise ValueError(f"{key}: must be a time as GET returned it, or null")
    return SigningSecretState.model_validate(value)


SigningSecretInput = Annotated[
    str | SigningSecretState | SigningSecretRemoval | None, BeforeValidator(_signing_secret_form)
]


class SecretInput(BaseModel):
    """A named secret: with a value it is set; without one (``{"name"}``, or ``{"name", "set": true}``
    as GET shows it) the stored value is kept."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=64, pattern=SECRET_NAME_PATTERN)]
    # repr=False: a secret value must not surface in a debug log of the parsed request.
    value: str | None = Field(default=None, repr=False)
    set: Literal[True] | None = Field(default=None, description="As GET shows it; changes nothing.")

    @field_validator("name", mode="before")
    @classmethod
    def _valid_name(cls, value: object) -> object:
        if isinstance(value, str) and not SECRET_NAME.match(value):
            raise ValueError("a secret name is a letter, then up to 63 letters, digits or underscores")
        return value

    @field_validator("value")
    @classmethod
    def _valid_value(cls, value: str | None) -> str | None:
        problem = secret_value_problem(value) if value is not None else None
        if problem is not None:
            raise ValueError(f"secret value {problem}")
        return value


class PresetOriginShown(BaseModel):
    """``presetOrigin`` as GET shows it: accepted so that GET, edit, PUT works, and ignored."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(max_length=64)]
    version: Annotated[StrictInt, Field(ge=0, le=1_000_000)]


class IntegrationInput(ServerFields):
    """What a client sends to create or replace an integration: an integration as GET returned
    it is one (secret values left out are kept)."""

    model_config = ConfigDict(extra="forbid")

    displayName: Annotated[str, Field(min_length=1, max_length=100), NotBlank]
    enabled: StrictBool = True
    type: Literal["WEBHOOK", "EMAIL"] = "WEBHOOK"
    alertingProfileId: Annotated[str, Field(min_length=1, max_length=64)]
    webhook: WebhookInput | None = Field(default=None, description="WEBHOOK only, and required there.")
    email: EmailInput | None = Field(default=None, description="EMAIL only, and required there.")
    signingSecret: SigningSecretInput = Field(
        default=None,
        repr=False,
        description='A `whsec_` string sets or rotates the secret; `{"remove": true}` removes it; left out, '
        "or the object as GET returned it, keeps it. `null` is refused: it used to remove.",
    )
    generateSigningSecret: StrictBool = Field(
        default=False, description="Generate the secret (on create) or rotate it (on an edit)."
    )
    signingSecretOverlapSeconds: Annotated[StrictInt, Field(ge=0, le=MAX_OVERLAP_SECONDS)] | None = Field(
        default=None,
        description="Beside a new secret that replaces one: how long deliveries also carry the previous "
        f"secret's signature (0-{MAX_OVERLAP_SECONDS}, default {DEFAULT_OVERLAP_SECONDS}).",
    )
    signingSecretValue: Annotated[str, Field(max_length=200)] | None = Field(
        default=None,
        exclude=True,
        repr=False,
        description="As the answer that created or rotated the secret showed it: ignored when it is the "
        "stored secret; to set one, send it as `signingSecret`.",
    )
    secrets: Annotated[list[SecretInput], Field(max_length=MAX_SECRETS)] = Field(
        default_factory=list,
        description="Named write-only values, used as {Secret[name]} in the payload and the URL's "
        "path or query.",
    )
    presetOrigin: PresetOriginShown | None = Field(
        default=None,
        exclude=True,
        description="As GET returned it: ignored. Set once, by the preset that created the integration.",
    )

    @field_validator("secrets")
    @classmethod
    def _unique_secret_names(cls, value: list[SecretInput]) -> list[SecretInput]:
        names = [s.name for s in value]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"secrets lists {', '.join(duplicates)} more than once")
        return value

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> IntegrationInput:
        check_type_fields(self)
        return self


# What only a webhook has: an EMAIL integration sends through SES, with nothing to sign or hide.
_WEBHOOK_ONLY = ("signingSecret", "generateSigningSecret", "signingSecretOverlapSeconds", "secrets")


def check_type_fields(data: IntegrationInput) -> None:
    """A WEBHOOK integration has a ``webhook`` and no ``email``; an EMAIL one the other way round,
    and none of the webhook's secrets."""
    if data.type == "WEBHOOK":
        if data.webhook is None:
            raise ValueError("webhook: required for a WEBHOOK integration")
        if data.email is not None:
            raise ValueError('email: only an EMAIL integration has one; send "type": "EMAIL" without webhook')
        return
    if data.email is None:
        raise ValueError("email: required for an EMAIL integration")
    if data.webhook is not None:
        raise ValueError("webhook: an EMAIL integration has none; leave it out")
    given = [name for name in _WEBHOOK_ONLY if getattr(data, name)]
    if given:
        raise ValueError(f"{given[0]}: WEBHOOK integrations only; an EMAIL integration has no secrets")


class PublicSecret(BaseModel):
    name: str
    set: Literal[True] = True


class PublicHeader(BaseModel):
    name: str
    value: str | None = None
    secret: bool = False


class PublicWebhook(BaseModel):
    url: str
    acceptAnyCertificate: bool
    headers: list[PublicHeader]
    payload: str
    resolved: ResolvedRoute | None = Field(default=None, exclude_if=lambda value: value is None)
    receiverReference: ReceiverReference | None = Field(default=None, exclude_if=lambda value: value is None)


class IntegrationView(BaseModel):
    """An integration as the API shows it: secret values and the signing secret withheld. Sent
    back as it is (PUT), it changes nothing."""

    id: str
    displayName: str
    enabled: bool
    type: Literal["WEBHOOK", "EMAIL"]
    alertingProfileId: str
    webhook: PublicWebhook | None = Field(default=None, exclude_if=lambda value: value is None)
    email: StoredEmail | None = Field(default=None, exclude_if=lambda value: value is None)
    secrets: list[PublicSecret] = Field(default_factory=list)
    signingSecret: SigningSecretState | None = Field(
        default=None, exclude_if=lambda value: value is None, description="WEBHOOK only."
    )
    signingSecretValue: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The signing secret itself: only in the answer that created or rotated it.",
    )
    presetOrigin: PresetOrigin | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="The preset and version this integration was created from (read-only; edits keep it).",
    )
    version: int
    createdAt: str
    updatedAt: str

    @classmethod
    def of(cls, item: Integration, reveal: str | None = None, now: datetime | None = None) -> IntegrationView:
        """``reveal``: a signing secret just created or rotated, shown this once. ``now``: a previous
        secret valid until before then is no longer shown."""
        until = item.previousSigningSecretValidUntil if item.signingSecret is not None else None
        if until is not None and now is not None and not _after(until, now):
            until = None
        webhook = _public_webhook(item)
        return cls(
            id=item.id,
            displayName=item.displayName,
            enabled=item.enabled,
            type=item.type,
            alertingProfileId=item.alertingProfileId,
            webhook=webhook,
            email=item.email,
            secrets=[PublicSecret(name=s.name) for s in item.secrets],
            signingSecret=None
            if webhook is None
            else SigningSecretState(
                set=item.signingSecret is not None,
                createdAt=item.signingSecretCreatedAt if item.signingSecret is not None else None,
                previousValidUntil=until,
            ),
            signingSecretValue=reveal,
            presetOrigin=item.presetOrigin,
            version=item.version,
            createdAt=item.createdAt,
            updatedAt=item.updatedAt,
        )


def _public_webhook(item: Integration) -> PublicWebhook | None:
    if item.webhook is None:
        return None
    headers = [
        PublicHeader(name=h.name, value=None if h.secret else h.value, secret=h.secret)
        for h in item.webhook.headers
    ]
    return PublicWebhook(
        url=item.webhook.url,
        acceptAnyCertificate=item.webhook.acceptAnyCertificate,
        headers=headers,
        payload=item.webhook.payload,
        resolved=item.webhook.resolved,
        receiverReference=item.webhook.receiverReference,
    )


def _after(stamp: str, now: datetime) -> bool:
    moment = parse_time(stamp)
    return moment is not None and moment > now
