"""Integrations: a webhook bound to an alerting profile (README "The REST API")."""

from __future__ import annotations

import contextlib
import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from secnotify.models.common import NotBlank

# RFC 9110 token characters: what a header name may contain.
HEADER_NAME = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Control characters and line breaks (tab allowed): never valid in a header value.
HEADER_VALUE_FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")

# Headers we set ourselves or that would let a template steer the connection.
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "te",
        "trailer",
        "proxy-authorization",
        "proxy-connection",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "webhook-test",
    }
)

SIGNING_SECRET_PATTERN = r"^whsec_[A-Za-z0-9+/]{32,}={0,2}$"  # noqa: S105 - a pattern, not a secret

# All header names and values together, in UTF-8: keeps the sealed item far below DynamoDB's
# 400 KB, and the configuration the dispatcher loads small.
MAX_HEADER_BYTES = 16_384
_DEFAULT_PORTS = {"http": 80, "https": 443}


def url_origin(url: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a webhook URL: the host IDNA-encoded and lower-cased, the port
    explicit. Two URLs with the same origin reach the same server, whatever their paths."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")  # a trailing dot names the same host, as delivery reads it
    # Not a valid name: compared as written, so it never equals a valid one.
    with contextlib.suppress(UnicodeError):
        host = host.encode("idna").decode("ascii")
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, host.lower(), port if port is not None else _DEFAULT_PORTS.get(scheme, 0)


def show_origin(origin: tuple[str, str, int]) -> str:
    scheme, host, port = origin
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def header_bytes(headers: list[StoredHeader]) -> int:
    return sum(len(h.name.encode("utf-8")) + len(h.value.encode("utf-8", "surrogatepass")) for h in headers)


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


class WebhookInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=1000)]
    acceptAnyCertificate: StrictBool = False
    headers: Annotated[list[WebhookHeader], Field(max_length=100)] = Field(default_factory=list)
    payload: Annotated[str, Field(min_length=1)]

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        if HEADER_VALUE_FORBIDDEN.search(value) or " " in value:
            raise ValueError("url must not contain spaces or control characters")
        try:
            parts = urlsplit(value)
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


class IntegrationInput(BaseModel):
    """What a client sends to create or replace an integration."""

    model_config = ConfigDict(extra="forbid")

    displayName: Annotated[str, Field(min_length=1, max_length=100), NotBlank]
    enabled: StrictBool = True
    type: Literal["WEBHOOK"] = "WEBHOOK"
    alertingProfileId: Annotated[str, Field(min_length=1, max_length=64)]
    webhook: WebhookInput
    signingSecret: Annotated[str, Field(pattern=SIGNING_SECRET_PATTERN, max_length=200)] | None = Field(
        default=None, repr=False
    )
    generateSigningSecret: StrictBool = False


class StoredHeader(BaseModel):
    name: str
    value: str = Field(repr=False)
    secret: bool = False


class StoredWebhook(BaseModel):
    url: str
    acceptAnyCertificate: bool = False
    headers: list[StoredHeader] = Field(default_factory=list)
    payload: str

    def content_type(self) -> str:
        for header in self.headers:
            if header.name.lower() == "content-type":
                return header.value
        return ""


class Integration(BaseModel):
    """An integration as stored, secrets included. Never returned by the API as is."""

    id: str
    displayName: str
    enabled: bool = True
    type: Literal["WEBHOOK"] = "WEBHOOK"
    alertingProfileId: str
    webhook: StoredWebhook
    signingSecret: str | None = Field(default=None, repr=False)
    version: int
    createdAt: str
    updatedAt: str


class PublicHeader(BaseModel):
    name: str
    value: str | None = None
    secret: bool = False


class PublicWebhook(BaseModel):
    url: str
    acceptAnyCertificate: bool
    headers: list[PublicHeader]
    payload: str


class IntegrationView(BaseModel):
    """An integration as the API shows it: secret values and the signing secret withheld."""

    id: str
    displayName: str
    enabled: bool
    type: Literal["WEBHOOK"]
    alertingProfileId: str
    webhook: PublicWebhook
    hasSigningSecret: bool
    signingSecret: str | None = Field(
        default=None, description="Present only in the response that created or rotated it."
    )
    version: int
    createdAt: str
    updatedAt: str

    @classmethod
    def of(cls, item: Integration, reveal_signing_secret: bool = False) -> IntegrationView:
        headers = [
            PublicHeader(name=h.name, value=None if h.secret else h.value, secret=h.secret)
            for h in item.webhook.headers
        ]
        return cls(
            id=item.id,
            displayName=item.displayName,
            enabled=item.enabled,
            type=item.type,
            alertingProfileId=item.alertingProfileId,
            webhook=PublicWebhook(
                url=item.webhook.url,
                acceptAnyCertificate=item.webhook.acceptAnyCertificate,
                headers=headers,
                payload=item.webhook.payload,
            ),
            hasSigningSecret=item.signingSecret is not None,
            signingSecret=item.signingSecret if reveal_signing_secret else None,
            version=item.version,
            createdAt=item.createdAt,
            updatedAt=item.updatedAt,
        )
