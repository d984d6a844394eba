"""Receiver references (README "Resolving at another URL"): the value a receiver returned for a
problem (Jira's issue key from the create answer), kept per (problem, integration) for the later
notifications of that problem that name it as ``{Receiver[name]}``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredReference:
    """A reference as kept: its name (the integration's ``receiverReference.name`` when it was
    taken), its value, and the time of the event whose answer it came from."""

    name: str
    value: str
    event_time: float


class ReceiverReferences(Protocol):
    def get(self, problem_id: str, integration_id: str) -> StoredReference | None:
        """The reference kept for the problem and the integration, read consistently; None when
        there is none (never stored, or expired)."""

    def put(self, problem_id: str, integration_id: str, reference: StoredReference) -> bool:
        """Keep ``reference`` in place of any other for the problem and the integration, unless the
        one kept came from a later event (a late retry of an older notification loses); False
        when it was not kept. One item per pair, which expires 400 days after this write."""
