"""Email integrations (README "Email"): the stored fields, and the rules on addresses and sizes
that the API, the settings and delivery share.

Field names are the platform's: ``recipients``, ``ccRecipients``, ``bccRecipients``,
``subject``, ``body``. The body is an HTML template, the subject a plain-text one.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

# Addresses in all three lists together, as the platform allows.
MAX_RECIPIENTS = 20
# The subject template, in characters; the rendered subject is cut to SUBJECT_MAX_CHARS.
MAX_SUBJECT_TEMPLATE_CHARS = 1000
SUBJECT_MAX_CHARS = 250
# RFC 5321: 64 for the local part, 254 for the whole path a server takes.
MAX_ADDRESS_CHARS = 254
_MAX_LOCAL_CHARS = 64

# The practical subset of RFC 5322's dot-atom that mail providers accept: no quotes, comments,
# spaces, angle brackets, commas or line breaks (nothing that could start another header or
# recipient), and no `*` or `?`, which an IAM resource ARN built from the sender would read as
# wildcards. Domains are LDH labels with an alphabetic (or punycode) top level.
_LOCAL = r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
DOMAIN_PATTERN = rf"(?:{_LABEL}\.)+(?:[A-Za-z]{{2,63}}|xn--[A-Za-z0-9-]{{1,59}})"
ADDRESS_PATTERN = rf"{_LOCAL}@{DOMAIN_PATTERN}"
_ADDRESS = re.compile(ADDRESS_PATTERN)
_DOMAIN = re.compile(DOMAIN_PATTERN)
# The sender identity: a verified address, or a verified domain (sent from secnotify@<domain>).
IDENTITY_PATTERN = rf"^(?:{ADDRESS_PATTERN}|{DOMAIN_PATTERN})$"
SENDER_LOCAL_PART = "secnotify"
SENDER_NAME = "secnotify"


def address_problem(address: str) -> str | None:
    """Why ``address`` is not an address we send to (or from), or None."""
    if len(address) > MAX_ADDRESS_CHARS:
        return f"is longer than {MAX_ADDRESS_CHARS} characters"
    if not _ADDRESS.fullmatch(address):
        return (
            "is not an email address (local@domain.tld; letters, digits and . _ % + - before the @, "
            "no display name, quotes, spaces or line breaks)"
        )
    if len(address.partition("@")[0]) > _MAX_LOCAL_CHARS:
        return f"has more than {_MAX_LOCAL_CHARS} characters before the @"
    return None


def identity_problem(identity: str) -> str | None:
    """Why ``identity`` is not an SES identity we can send from, or None."""
    if "@" in identity:
        return address_problem(identity)
    if len(identity) > MAX_ADDRESS_CHARS or not _DOMAIN.fullmatch(identity):
        return "is neither an email address nor a domain name (e.g. alerts@example.com or example.com)"
    return None


def sender_address(identity: str) -> str:
    """The From address for a verified identity: the address itself, or secnotify@ a domain."""
    return identity if "@" in identity else f"{SENDER_LOCAL_PART}@{identity}"


def address_key(address: str) -> str:
    """Two addresses that reach the same mailbox in practice compare equal."""
    return address.lower()


class StoredEmail(BaseModel):
    """An email integration's message, as stored and as the API shows it (nothing in it is secret)."""

    recipients: list[str] = Field(description="To: at least one address.")
    ccRecipients: list[str] = Field(default_factory=list, description="Cc: addresses.")
    bccRecipients: list[str] = Field(
        default_factory=list, description="Bcc: sent to, never named in the message."
    )
    subject: str = Field(description="Plain-text template; line breaks and control characters are removed.")
    body: str = Field(description="HTML template: placeholder values are HTML-escaped.")

    def addresses(self) -> list[str]:
        return [*self.recipients, *self.ccRecipients, *self.bccRecipients]
