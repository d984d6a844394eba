"""What email delivery needs from the outside world: one raw MIME message handed to a mail
service. Amazon SES v2 implements it (storage/mail.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from secnotify.delivery.outcome import DeliveryOutcome


@dataclass(frozen=True)
class OutgoingMail:
    """A message ready to send: ``raw`` is the whole MIME message (its To and Cc headers name
    ``to`` and ``cc``); ``bcc`` are destinations only, named nowhere in it."""

    sender: str
    to: tuple[str, ...]
    raw: bytes = field(repr=False)
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()

    @property
    def destinations(self) -> int:
        return len(self.to) + len(self.cc) + len(self.bcc)


class MailSender(Protocol):
    def send(self, mail: OutgoingMail) -> DeliveryOutcome:
        """Hand ``mail`` over once. Never raises for the service's refusals or the network: the
        outcome says whether it went, and whether trying again can help (throttling, 5xx,
        network) or not (a rejected message, an unverified or paused sender)."""
