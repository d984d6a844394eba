"""Integrations: a webhook, or an email, bound to an alerting profile (README "The REST API")."""

from __future__ import annotations

import contextlib
import re
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field

from secnotify.models.common import TriggerEvent
from secnotify.models.email import StoredEmail

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


def parse_time(stamp: str) -> datetime | None:
    """A stored ISO 8601 time (``…Z``); None when unreadable or without a zone."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def show_origin(origin: tuple[str, str, int]) -> str:
    scheme, host, port = origin
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


def header_bytes(headers: list[StoredHeader]) -> int:
    return sum(len(h.name.encode("utf-8")) + len(h.value.encode("utf-8", "surrogatepass")) for h in headers)


class StoredHeader(BaseModel):
    name: str
    value: str = Field(repr=False)
    secret: bool = False


class ResolvedRoute(BaseModel):
    """Where a resolved notification goes instead: ``path`` (placeholders allowed) on the origin
    of ``webhook.url``, with its own ``payload`` template (README "Resolving at another URL")."""

    path: str
    payload: str


class ReceiverReference(BaseModel):
    """What to keep of a receiver's answer to a notification (the JSON value at ``pointer``, an
    RFC 6901 pointer), rendered as ``{Receiver[name]}`` in later notifications of that problem."""

    name: str
    pointer: str


# Stored only when set, so an integration without them keeps the item it had before.
_WEBHOOK_OPTIONAL = ("resolved", "receiverReference")


class StoredWebhook(BaseModel):
    url: str
    acceptAnyCertificate: bool = False
    headers: list[StoredHeader] = Field(default_factory=list)
    payload: str
    resolved: ResolvedRoute | None = None
    receiverReference: ReceiverReference | None = None

    def content_type(self) -> str:
        for header in self.headers:
            if header.name.lower() == "content-type":
                return header.value
        return ""

    def route_for(self, trigger: str) -> ResolvedRoute | None:
        """The resolved route a notification of ``trigger`` takes, or None for ``url`` and ``payload``."""
        return self.resolved if trigger == TriggerEvent.SECURITY_PROBLEM_RESOLVED else None

    def payload_for(self, trigger: str) -> str:
        route = self.route_for(trigger)
        return route.payload if route is not None else self.payload

    def stored(self) -> dict[str, Any]:
        """The document as stored: the optional routes only when set."""
        unset = {name for name in _WEBHOOK_OPTIONAL if getattr(self, name) is None}
        return self.model_dump(mode="json", exclude=unset)


class StoredSecret(BaseModel):
    """A named write-only value, used as ``{Secret[name]}`` in the payload or the URL."""

    name: str
    value: str = Field(repr=False)


class PresetOrigin(BaseModel):
    """The preset (and its version) an integration was created from; no edit changes it."""

    name: str
    version: int


class Integration(BaseModel):
    """An integration as stored, secrets included. Never returned by the API as is."""

    id: str
    displayName: str
    enabled: bool = True
    type: Literal["WEBHOOK", "EMAIL"] = "WEBHOOK"
    alertingProfileId: str
    webhook: StoredWebhook | None = None  # None for EMAIL
    email: StoredEmail | None = None  # EMAIL only
    secrets: list[StoredSecret] = Field(default_factory=list)
    signingSecret: str | None = Field(default=None, repr=False)
    signingSecretCreatedAt: str | None = None
    # The secret a rotation replaced: deliveries carry its signature too until this time passes.
    previousSigningSecret: str | None = Field(default=None, repr=False)
    previousSigningSecretValidUntil: str | None = None
    presetOrigin: PresetOrigin | None = None
    version: int
    createdAt: str
    updatedAt: str

    def previous_signing_until(self) -> float | None:
        """Until when (unix seconds) deliveries also carry the previous secret's signature."""
        if self.previousSigningSecret is None or self.previousSigningSecretValidUntil is None:
            return None
        moment = parse_time(self.previousSigningSecretValidUntil)
        return moment.timestamp() if moment is not None else None

    def secret_values(self) -> list[str]:
        """Every value that must never be shown: secret headers, named secrets, signing secrets."""
        values = [h.value for h in self.webhook.headers if h.secret] if self.webhook is not None else []
        values += [s.value for s in self.secrets]
        values += [v for v in (self.signingSecret, self.previousSigningSecret) if v]
        return [v for v in values if v]
