"""Amazon SES v2: the ``MailSender`` port. One ``SendEmail`` with raw content per message.

SES answers are mapped onto the delivery outcome as a webhook's HTTP answers are: throttling,
5xx and network trouble are retried on the ladder; a refusal that will refuse again (the
message, an unverified MAIL FROM domain, a paused or suspended account) is final, with an
error that says what to fix.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from secnotify.delivery.outcome import DeliveryOutcome
from secnotify.service.ports.mail import OutgoingMail
from secnotify.settings import Settings
from secnotify.storage.client import aws_client

# Refusals that say what to fix; every one will refuse the same message again.
_FINAL = {
    "MessageRejected": "SES rejected the message",
    "MailFromDomainNotVerifiedException": "the sender identity's MAIL FROM domain is not verified in SES",
    "SendingPausedException": "sending is paused for this SES account (or its configuration set)",
    "AccountSuspendedException": "this SES account may no longer send email",
    "NotFoundException": "SES does not know a resource the request names",
    "BadRequestException": "SES refused the request as invalid",
    "AccessDeniedException": "the function's role may not send from this identity (ses:SendEmail and "
    "ses:SendRawEmail on it)",
    "AccessDenied": "the function's role may not send from this identity (ses:SendEmail and "
    "ses:SendRawEmail on it)",
}
# Answers for want of capacity or quota: the ladder tries again later.
_RETRYABLE = frozenset(
    {
        "TooManyRequestsException",
        "LimitExceededException",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "ServiceUnavailable",
        "InternalFailure",
    }
)
SANDBOX_HINT = "a new SES account (in the sandbox) sends only to verified addresses"
MAX_ERROR_CHARS = 500


class SesMailSender:
    """Sends through the SES v2 API of the function's region (``AWS_ENDPOINT_URL`` locally)."""

    def __init__(self, settings: Settings, client: Any | None = None) -> None:
        self.settings = settings
        self._client = client
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        # Built on the first mail: a dispatcher that sends no email never pays for the client.
        with self._lock:
            if self._client is None:
                self._client = aws_client(
                    "sesv2",
                    config=Config(
                        connect_timeout=self.settings.connect_timeout_s,
                        read_timeout=self.settings.read_timeout_s,
                        # The retry ladder retries, visibly, in the delivery log.
                        retries={"total_max_attempts": 1, "mode": "standard"},
                        max_pool_connections=self.settings.fanout_concurrency,
                    ),
                )
            return self._client

    def send(self, mail: OutgoingMail) -> DeliveryOutcome:
        destination: dict[str, list[str]] = {"ToAddresses": list(mail.to)}
        if mail.cc:
            destination["CcAddresses"] = list(mail.cc)
        if mail.bcc:
            destination["BccAddresses"] = list(mail.bcc)
        began = time.perf_counter()
        try:
            answer = self.client.send_email(
                FromEmailAddress=mail.sender, Destination=destination, Content={"Raw": {"Data": mail.raw}}
            )
        except ClientError as exc:
            return _refused(exc, _ms(began))
        except ParamValidationError as exc:
            return DeliveryOutcome.failed(
                f"SES request not sent: {exc}"[:MAX_ERROR_CHARS], False, None, _ms(began)
            )
        except BotoCoreError as exc:
            # Connection, timeout, or a fault not foreseen: a notification is not dropped for it.
            return DeliveryOutcome.failed(f"SES not reached: {exc}"[:MAX_ERROR_CHARS], True, None, _ms(began))
        message_id = str(answer.get("MessageId", ""))
        status = answer.get("ResponseMetadata", {}).get("HTTPStatusCode", 200)
        return DeliveryOutcome(
            delivered=True,
            retryable=False,
            status_code=int(status),
            latency_ms=_ms(began),
            error=None,
            response_body=json.dumps({"messageId": message_id}),
            retry_after_s=None,
        )


def classify_ses(code: str, status: int | None) -> bool:
    """Whether an SES error is worth trying again."""
    if code in _FINAL:
        return False
    if code in _RETRYABLE:
        return True
    return status is None or status == 429 or status >= 500


def _refused(exc: ClientError, latency_ms: float) -> DeliveryOutcome:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "")) or "Unknown"
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    retryable = classify_ses(code, status)
    said = str(error.get("Message", "")).strip()
    what = _FINAL.get(code) or ("SES is busy or failing" if retryable else "SES refused the message")
    text = f"{what} ({code}{': ' + said if said else ''})"
    if code == "MessageRejected":
        text += f"; note that {SANDBOX_HINT}"
    return DeliveryOutcome.failed(
        text[:MAX_ERROR_CHARS], retryable, int(status) if status else None, latency_ms
    )


def _ms(began: float) -> float:
    return (time.perf_counter() - began) * 1000.0
