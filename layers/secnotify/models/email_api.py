"""An email integration's message as the config API reads it from a client (README "Email").
Apart from ``email`` so the dispatcher, which only loads stored integrations, never builds it."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from secnotify.models.common import NotBlank
from secnotify.models.email import (
    MAX_ADDRESS_CHARS,
    MAX_RECIPIENTS,
    MAX_SUBJECT_TEMPLATE_CHARS,
    StoredEmail,
    address_key,
    address_problem,
)

Address = Annotated[str, Field(min_length=3, max_length=MAX_ADDRESS_CHARS)]
Addresses = Annotated[list[Address], Field(max_length=MAX_RECIPIENTS)]


def _check_addresses(values: list[str]) -> list[str]:
    for index, address in enumerate(values):
        problem = address_problem(address)
        if problem is not None:
            raise ValueError(f"[{index}] {address!r} {problem}")
    return values


class EmailInput(BaseModel):
    """The message of an EMAIL integration: who gets it, and the subject and body templates."""

    model_config = ConfigDict(extra="forbid")

    recipients: Annotated[Addresses, Field(min_length=1)] = Field(
        description=f"To: 1-{MAX_RECIPIENTS} addresses (with Cc and Bcc, {MAX_RECIPIENTS} in all)."
    )
    ccRecipients: Addresses = Field(default_factory=list, description="Cc: addresses.")
    bccRecipients: Addresses = Field(
        default_factory=list, description="Bcc: the message goes to them and never names them."
    )
    subject: Annotated[str, Field(min_length=1, max_length=MAX_SUBJECT_TEMPLATE_CHARS), NotBlank] = Field(
        description="A plain-text template (placeholders, Jinja). Line breaks and control characters in "
        "what it renders are removed, and the result is cut to 250 characters."
    )
    body: Annotated[str, Field(min_length=1), NotBlank] = Field(
        description="An HTML template (placeholders, Jinja), at most MaxPayloadChars characters. Values are "
        "HTML-escaped; the plain-text part of the message is made from what it renders."
    )

    @field_validator("recipients", "ccRecipients", "bccRecipients")
    @classmethod
    def _valid_addresses(cls, value: list[str]) -> list[str]:
        return _check_addresses(value)

    @model_validator(mode="after")
    def _count_and_duplicates(self) -> EmailInput:
        listed = [*self.recipients, *self.ccRecipients, *self.bccRecipients]
        if len(listed) > MAX_RECIPIENTS:
            raise ValueError(
                f"email lists {len(listed)} addresses in recipients, ccRecipients and bccRecipients "
                f"together; at most {MAX_RECIPIENTS}"
            )
        keys = [address_key(a) for a in listed]
        twice = sorted({a for a, k in zip(listed, keys, strict=True) if keys.count(k) > 1}, key=address_key)
        if twice:
            raise ValueError(
                f"email lists {', '.join(twice)} more than once (recipients, ccRecipients and bccRecipients "
                "together; case does not make another address)"
            )
        return self

    def stored(self) -> StoredEmail:
        return StoredEmail.model_validate(self.model_dump())
