"""The mail port in memory: keeps every message handed to it and answers with scripted outcomes
(the SES adapter's own mapping of SES's answers is tested against moto and a real HTTP server)."""

from __future__ import annotations

import threading
from collections import deque

from secnotify.delivery.outcome import DeliveryOutcome
from secnotify.service.ports.mail import OutgoingMail

SENT = DeliveryOutcome(
    delivered=True,
    retryable=False,
    status_code=200,
    latency_ms=1.0,
    error=None,
    response_body='{"messageId": "in-memory"}',
    retry_after_s=None,
)


def refused(error: str, retryable: bool, status: int = 400) -> DeliveryOutcome:
    return DeliveryOutcome(
        delivered=False,
        retryable=retryable,
        status_code=status,
        latency_ms=1.0,
        error=error,
        response_body="",
        retry_after_s=None,
    )


class InMemoryMail:
    def __init__(self) -> None:
        self.sent: list[OutgoingMail] = []
        self._answers: deque[DeliveryOutcome] = deque()
        self._lock = threading.Lock()

    def answer(self, *outcomes: DeliveryOutcome) -> None:
        """The next sends get these outcomes, in order; then every send succeeds."""
        self._answers.extend(outcomes)

    def send(self, mail: OutgoingMail) -> DeliveryOutcome:
        with self._lock:
            self.sent.append(mail)
            return self._answers.popleft() if self._answers else SENT
