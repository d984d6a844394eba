"""Configuration as code: the document ``GET /config/export`` writes and ``POST /config/apply``
reads (README "Configuration as code"), and the plan an apply answers with.

Objects are named, never numbered: a profile by its ``name``, an integration by its
``displayName``, an integration's profile by that profile's name. Every secret slot holds a
reference, ``${SECNOTIFY_<INTEGRATION>_<HEADER|SECRET|SIGNING>_<NAME>}``, that the command line
fills from the environment or a file; a slot still holding one on apply keeps the stored value.
A reference is only a name for the command line to fill: apply reads its shape, never its parts.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from secnotify.models.common import NotBlank
from secnotify.models.email_api import EmailInput
from secnotify.models.integration_api import WebhookInput
from secnotify.models.profile import AlertingProfileInput

API_VERSION = "secnotify/v1"
CONFIG_APPLY_ROUTE = "/config/apply"
# The largest document exported or applied: far above the API's other bodies (about 8,000
# integrations of 370 bytes, 590 with 5,000-character templates), and twice it still below
# Lambda's 6 MB for a request or an answer (API Gateway escapes the body into the event once more).
MAX_DOCUMENT_BYTES = 3 * 1024 * 1024
DOCUMENT_KIND = "Configuration"
# A slot that still names a variable: what the command line leaves when it has no value for it.
REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
# The signing secret is one per integration: its reference's NAME is fixed.
SIGNING_NAME = "SECRET"

# What a newcomer copies from Swagger: one profile, one integration with a secret header and a
# signing secret, as an export writes them.
EXAMPLE: dict[str, Any] = {
    "apiVersion": API_VERSION,
    "kind": DOCUMENT_KIND,
    "profiles": [{"name": "Production", "enabledRiskLevels": ["CRITICAL", "HIGH"]}],
    "integrations": [
        {
            "displayName": "Slack",
            "alertingProfile": "Production",
            "webhook": {
                "url": "https://hooks.example.com/services/T000/B000",
                "headers": [
                    {"name": "Content-Type", "value": "application/json"},
                    {
                        "name": "Authorization",
                        "value": "${SECNOTIFY_SLACK_HEADER_AUTHORIZATION}",
                        "secret": True,
                    },
                ],
                "payload": '{"text": "{Title}"}',
            },
            "signingSecret": "${SECNOTIFY_SLACK_SIGNING_SECRET}",
        }
    ],
}


class SecretSlot(StrEnum):
    HEADER = "HEADER"
    SECRET = "SECRET"  # noqa: S105 - a slot's kind, not a secret
    SIGNING = "SIGNING"


def _token(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", text.upper())


def integration_tokens(names: Iterable[str]) -> dict[str, str]:
    """The ``<INTEGRATION>`` part of each integration's references. Names are unique, tokens may
    not be ("Slack prod", "Slack-prod"): an integration whose token another shares gets ``_`` and
    the first 6 hex digits (upper-cased) of the SHA-256 of its exact name appended, so it depends
    on that name alone and never on the order of the stack; a token nobody shares stays plain."""
    tokens = {name: _token(name) for name in names}
    while True:  # again if a suffixed token is another's plain one: each name is suffixed once
        shared = Counter(tokens.values())
        clashing = [n for n, t in tokens.items() if shared[t] > 1 and t == _token(n)]
        if not clashing:
            return tokens
        for name in clashing:
            tokens[name] = f"{_token(name)}_{_name_digest(name)}"


def _name_digest(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:6].upper()


def reference(
    integration: str, slot: SecretSlot, name: str = SIGNING_NAME, tokens: Mapping[str, str] | None = None
) -> str:
    """The reference an export writes in a secret slot: names upper-cased, every run of
    characters outside ``[A-Z0-9]`` one ``_``; the integration's part from ``tokens``
    (``integration_tokens`` of the stack's integrations) when given."""
    token = tokens.get(integration) if tokens is not None else None
    return f"${{SECNOTIFY_{token or _token(integration)}_{slot.value}_{_token(name)}}}"


def is_reference(value: str | None) -> bool:
    """A slot the command line could not fill: ``None`` too (``value: null``, as GET shows it)."""
    return value is None or REFERENCE.match(value) is not None


# What the server keeps about an object; a document names objects and holds none of these.
SERVER_FIELDS = frozenset({"id", "version", "createdAt", "updatedAt"})


class DocProfile(AlertingProfileInput):
    """An alerting profile as the document holds it: a profile's input, without server fields."""

    @model_validator(mode="after")
    def _no_server_fields(self) -> DocProfile:
        given = sorted(self.model_fields_set & SERVER_FIELDS)
        if given:
            raise ValueError(
                f"{', '.join(given)}: a document names its objects; server fields have no place in it"
            )
        return self


class DocSecret(BaseModel):
    """A named secret: its value, or the reference that stands for it."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=64)]
    value: Annotated[str, Field(max_length=4096)] | None = Field(default=None, repr=False)


class DocIntegration(BaseModel):
    """An integration as the document holds it: named, bound to a profile by name."""

    model_config = ConfigDict(extra="forbid")

    displayName: Annotated[str, Field(min_length=1, max_length=100), NotBlank]
    enabled: StrictBool = True
    type: Literal["WEBHOOK", "EMAIL"] = "WEBHOOK"
    alertingProfile: Annotated[str, Field(min_length=1, max_length=100)] = Field(
        description="The `name` of the alerting profile it uses."
    )
    webhook: WebhookInput | None = Field(default=None, description="WEBHOOK only, and required there.")
    email: EmailInput | None = Field(default=None, description="EMAIL only, and required there.")
    secrets: Annotated[list[DocSecret], Field(max_length=20)] = Field(default_factory=list)
    signingSecret: Annotated[str, Field(max_length=200)] | None = Field(
        default=None,
        repr=False,
        description="A `whsec_` value or its reference; absent: the integration signs nothing.",
    )

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> DocIntegration:
        if self.type == "WEBHOOK":
            if self.webhook is None or self.email is not None:
                raise ValueError("a WEBHOOK integration has a webhook and no email")
        elif self.email is None or self.webhook is not None or self.secrets or self.signingSecret:
            raise ValueError("an EMAIL integration has an email, and no webhook, secrets or signingSecret")
        return self


class ConfigDocument(BaseModel):
    """Every alerting profile and integration of a stack, sorted by name."""

    model_config = ConfigDict(extra="forbid")

    apiVersion: Literal["secnotify/v1"]
    kind: Literal["Configuration"]
    profiles: list[DocProfile] = Field(default_factory=list)
    integrations: list[DocIntegration] = Field(default_factory=list)


class PlanAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"


class PlanItem(BaseModel):
    kind: Literal["profile", "integration"]
    name: str
    action: PlanAction
    changes: list[str] = Field(
        default_factory=list,
        description="The fields that differ (an update) or are given (a create), as paths: "
        "webhook.headers[1].value. Never a value.",
    )


class ApplyResult(BaseModel):
    """The plan, in the order it is (or would be) carried out."""

    items: list[PlanItem]
    applied: bool = Field(description="Every write of the plan was made: false on a dry run.")
    pending: int = Field(
        default=0,
        description="Writes of the plan not made: all of them on a dry run; after an apply, those "
        "left when the request ran short of time (send the same document again to finish).",
    )
