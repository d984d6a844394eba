"""The EMAIL integration's channel (README "Email"): its templates rendered for an event, one
MIME message built, and handed to the mail port, with what the delivery log records of it.

The body template is HTML. Its values are escaped the way templating escapes for a content
type: the body compiles as XHTML, whose XML rules (``& < > " '`` as entities, characters XML
cannot hold as U+FFFD) are exactly what HTML text and attribute values need. The subject
compiles as plain text and is made one clean line (``delivery.mail.clean_subject``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from secnotify.delivery.mail import TEST_SUBJECT_PREFIX, Rendered, build_message, clean_subject, encodable
from secnotify.delivery.outcome import DeliveryOutcome
from secnotify.models.email import StoredEmail
from secnotify.models.event import SecurityEvent
from secnotify.models.integration import Integration
from secnotify.service.clock import SYSTEM_CLOCK, Clock
from secnotify.service.ports.mail import MailSender, OutgoingMail
from secnotify.settings import Settings
from secnotify.templating import RenderLimits, TemplateCache, TemplateError, render_preview

BODY_CONTENT_TYPE = "application/xhtml+xml"  # escapes values as HTML needs (see the docstring)
SUBJECT_CONTENT_TYPE = "text/plain"
# What the preview and the delivery log call the body.
SHOWN_CONTENT_TYPE = "text/html; charset=utf-8"
EMAIL_OFF = (
    "email is off: the stack's EmailSenderIdentity parameter is empty; set it to a verified SES "
    "identity (an address or a domain) to send email"
)


@dataclass(frozen=True)
class EmailSent:
    """One attempt's outcome, and what the delivery log keeps of the message."""

    outcome: DeliveryOutcome
    recipients: int
    body: bytes | None = None  # the rendered HTML, once the templates rendered
    subject: str | None = None
    mime_bytes: int | None = None

    def record_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"emailRecipients": self.recipients}
        if self.subject is not None:
            fields["emailSubject"] = self.subject
        if self.mime_bytes is not None:
            fields["emailMimeBytes"] = self.mime_bytes
        return fields


class EmailChannel:
    def __init__(
        self,
        settings: Settings,
        mail: MailSender | None,
        templates: TemplateCache,
        limits: RenderLimits,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.settings = settings
        self.mail = mail
        self.templates = templates
        self.limits = limits
        self.clock = clock

    def render(self, event: SecurityEvent, email: StoredEmail, test: bool = False) -> Rendered:
        """Subject and body for ``event``; raises TemplateError."""
        subject = self.templates.get(email.subject, SUBJECT_CONTENT_TYPE, self.limits).render(event)
        body = self.templates.get(email.body, BODY_CONTENT_TYPE, self.limits).render(event)
        return Rendered(clean_subject((TEST_SUBJECT_PREFIX if test else "") + subject), body)

    def send(
        self, event: SecurityEvent, integration: Integration, msg_id: str, test_marker: str | None
    ) -> EmailSent:
        email = integration.email
        if email is None:
            return EmailSent(
                DeliveryOutcome.failed(f"integration {integration.id} has no email to send", False), 0
            )
        count = len(email.addresses())
        sender = self.settings.email_from
        if sender is None or self.mail is None:
            return EmailSent(DeliveryOutcome.failed(EMAIL_OFF, False), count)
        try:
            rendered = self.render(event, email, test=test_marker is not None)
        except TemplateError as exc:
            # The template's fault is final; a missing renderer is not.
            outcome = DeliveryOutcome.failed(f"template error: {exc.message}", exc.retryable)
            return EmailSent(outcome, count)
        try:
            raw = build_message(
                sender=sender,
                to=email.recipients,
                cc=email.ccRecipients,
                rendered=rendered,
                message_id=msg_id,
                timestamp=self.clock.wall(),
                test_marker=test_marker,
            )
        except ValueError as exc:
            # Saved addresses are checked; one written around the API is refused here, never sent.
            return EmailSent(DeliveryOutcome.failed(f"the message could not be built: {exc}", False), count)
        mail = OutgoingMail(
            sender=sender,
            to=tuple(email.recipients),
            cc=tuple(email.ccRecipients),
            bcc=tuple(email.bccRecipients),
            raw=raw,
        )
        outcome = self.mail.send(mail)
        body = encodable(rendered.html).encode("utf-8")
        return EmailSent(outcome, count, body=body, subject=rendered.subject, mime_bytes=len(raw))


@dataclass(frozen=True)
class EmailPreview:
    subject: str
    body: str
    errors: list[tuple[str, TemplateError]]  # (field, error)


def preview_email(subject: str, body: str, event: SecurityEvent | None, limits: RenderLimits) -> EmailPreview:
    """Subject and body as they would be sent (``event`` None: the sample event), and every
    problem of either template, each with its field; nothing is sent."""
    # No receiver references: an email gets no answer to keep one from.
    rendered_subject, subject_errors = render_preview(subject, SUBJECT_CONTENT_TYPE, event, limits, None, ())
    rendered_body, body_errors = render_preview(body, BODY_CONTENT_TYPE, event, limits, None, ())
    errors = [("email.subject", e) for e in subject_errors] + [("email.body", e) for e in body_errors]
    return EmailPreview(clean_subject(rendered_subject), rendered_body, errors)


def shown_message(preview: EmailPreview, email: StoredEmail) -> str:
    """A rendered email as explain shows it: who gets it, its subject, then the HTML body."""
    lines = [f"To: {', '.join(email.recipients)}"]
    if email.ccRecipients:
        lines.append(f"Cc: {', '.join(email.ccRecipients)}")
    if email.bccRecipients:
        lines.append(f"Bcc: {', '.join(email.bccRecipients)}")
    lines.append(f"Subject: {preview.subject}")
    return "\n".join(lines) + "\n\n" + preview.body
