"""The checks a save makes of an EMAIL integration (README "Email"): its type stays what it was,
email is on in this stack, the body fits MaxPayloadChars, and both templates render the sample
event, as a webhook's payload must."""

from __future__ import annotations

from typing import Any

from secnotify.models.email import StoredEmail
from secnotify.models.integration import Integration
from secnotify.models.integration_api import IntegrationInput
from secnotify.service.common import error_view
from secnotify.service.email_channel import EMAIL_OFF, preview_email
from secnotify.service.errors import BadRequest
from secnotify.settings import Settings
from secnotify.templating import RenderLimits


def refuse_type_change(current: str, wanted: Any) -> None:
    """An integration keeps its type: its stored fields (webhook or email) belong to it."""
    if wanted != current:
        raise BadRequest(
            f"type: an integration stays {current}; create a new {wanted} integration instead",
            field="type",
        )


def checked_email(
    data: IntegrationInput, current: Integration | None, max_payload_chars: int, limits: RenderLimits | None
) -> StoredEmail:
    """The email to store, every check passed. ``limits`` None: the caller renders the
    templates itself (a preview), so it is not done twice."""
    if current is not None:
        refuse_type_change(current.type, data.type)
    email = data.email
    if email is None:
        raise BadRequest("email: required for an EMAIL integration", field="email")
    if len(email.body) > max_payload_chars:
        raise BadRequest(f"email.body: must be at most {max_payload_chars} characters", field="email.body")
    if limits is not None:
        problems = preview_email(email.subject, email.body, None, limits).errors
        if problems:
            field, first = problems[0]
            raise BadRequest(
                f"{field}: {first.message}",
                field=field,
                errors=[{**error_view(e), "field": f} for f, e in problems],
            )
    return email.stored()


def refuse_when_email_off(data: IntegrationInput, settings: Settings) -> None:
    """A new EMAIL integration needs the stack's sender identity (EmailSenderIdentity)."""
    if data.type == "EMAIL" and settings.email_from is None:
        raise BadRequest(EMAIL_OFF, field="type")
