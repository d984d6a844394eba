"""A dispatcher on in-memory ports and a fake clock, sending for real to local receivers."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from secnotify.models.delivery import Claim, DeadLetterKind
from secnotify.service.dispatch import Dispatcher, DispatchResult
from secnotify.service.notify import webhook_id
from secnotify.service.wiring import build_dispatcher
from secnotify.settings import Settings
from tests.fakes.clock import FakeClock
from tests.fakes.config import InMemoryConfig
from tests.fakes.findings import InMemoryFindingStates
from tests.fakes.ledger import InMemoryLedger
from tests.fakes.mail import InMemoryMail
from tests.fakes.queues import InMemoryQueues
from tests.fakes.receivers import InMemoryReceiverReferences
from tests.fakes.secrets import InMemorySecrets
from tests.integration.servers import Receiver, Reply

PROFILE = "profile-all"
_OPENED = Path(__file__).resolve().parents[2] / "events" / "eventbridge" / "opened.json"


class Crash(Exception):
    """A worker dying at this point: the step did not happen."""


def crash_once(target: Any, method: str) -> None:
    """The next call of ``target.method`` raises Crash without doing anything; later calls work."""
    real = getattr(target, method)
    fired = threading.Event()

    def once(*args: Any, **kwargs: Any) -> Any:
        if not fired.is_set():
            fired.set()
            raise Crash(method)
        return real(*args, **kwargs)

    setattr(target, method, once)


def event(event_id: str | None = None) -> dict[str, Any]:
    """The sample "opened" EventBridge event under a fresh id: every harness integration matches it."""
    raw: dict[str, Any] = json.loads(_OPENED.read_text(encoding="utf-8"))
    return {**raw, "id": event_id or str(uuid.uuid4())}


@dataclass
class Harness:
    ladder: tuple[float, ...] = (0.0, 5.0, 30.0)
    clock: FakeClock = field(default_factory=FakeClock)

    def __post_init__(self) -> None:
        self.ledger = InMemoryLedger(self.clock.wall)
        self.log = self.ledger.log
        self.queues = InMemoryQueues(self.clock.wall)
        self.findings = InMemoryFindingStates()
        self.mail = InMemoryMail()
        self.references = InMemoryReceiverReferences(self.clock.wall)
        self.config = InMemoryConfig()
        self.config.add_profile(PROFILE)
        self.settings = Settings(
            kms_key_id="unused",
            connect_timeout_s=2.0,
            read_timeout_s=2.0,
            retry_ladder_s=self.ladder,
            ssrf_allow_cidrs=("127.0.0.0/8",),
            fanout_concurrency=4,
            config_cache_ttl_s=3600.0,
            claim_lease_s=60.0,
            retry_queue_url="https://sqs.us-east-1.amazonaws.com/000000000000/in-memory-retry",
            dead_letter_queue_url="https://sqs.us-east-1.amazonaws.com/000000000000/in-memory-dlq",
            email_sender_identity="example.com",
        )
        self.dispatcher = self.build(self.settings)
        self.receivers: dict[str, Receiver] = {}
        self._stack = ExitStack()

    def build(self, settings: Settings) -> Dispatcher:
        """The production wiring over this harness's ports, every port given: nothing here opens
        DynamoDB or SQS."""
        return build_dispatcher(
            settings,
            ledger=self.ledger,
            deliveries=self.log,
            config=self.config,
            secrets=InMemorySecrets(),
            queues=self.queues,
            findings=self.findings,
            references=self.references,
            clock=self.clock.clock(),
            mail=self.mail,
        )

    def integration(self, name: str, *replies: Reply, default: Reply | None = None) -> Receiver:
        rx = self._stack.enter_context(Receiver(default=default or Reply()))
        rx.reply(*replies)
        self.config.add_integration(name, PROFILE, rx.url("/"))
        self.receivers[name] = rx
        return rx

    def email_integration(self, name: str, **email: Any) -> None:
        """An EMAIL integration: its mail goes to ``self.mail``, which answers as told."""
        doc = {
            "recipients": ["secops@example.org"],
            "subject": "[{Severity}] {SecurityProblemId}: {Title}",
            "body": "<p>{Title}</p>",
            **email,
        }
        self.config.add_integration(name, PROFILE, "", type="EMAIL", webhook=None, email=doc)

    def close(self) -> None:
        self._stack.close()
        self.dispatcher._pool.shutdown(wait=True)

    def handle(self, raw: dict[str, Any]) -> DispatchResult:
        return self.dispatcher.handle_event(raw)

    def drain(self, advance_s: float = 0.0) -> list[DispatchResult]:
        """Move the clock on, then handle every retry message now due, until none is."""
        self.clock.advance(advance_s)
        results = []
        while due := self.queues.take_due():
            results += [self.dispatcher.handle_retry(q.body) for q in due]
        return results

    def states(self, event_id: str) -> dict[str, Claim]:
        return self.ledger.get_claims(event_id)

    def sent(self, name: str) -> list[str]:
        """The webhook-ids a receiver got, in order."""
        return [r.header("webhook-id") or "" for r in self.receivers[name].requests]

    def records(self, name: str) -> list[tuple[int, str]]:
        """(attempt, status) of an integration's delivery records, oldest first."""
        return sorted((r.attempt, r.status) for r in self.log.all() if r.integrationId == name)

    def dead(self, kind: DeadLetterKind) -> list[dict[str, Any]]:
        return [json.loads(d.body) for d in self.queues.dead if d.kind == kind]


def harness(ladder: tuple[float, ...] = (0.0, 5.0, 30.0)) -> Iterator[Harness]:
    h = Harness(ladder)
    try:
        yield h
    finally:
        h.close()


def once_each(h: Harness, event_id: str, *names: str) -> bool:
    """Each named receiver got exactly one request, with the notification's webhook-id."""
    return all(h.sent(n) == [webhook_id(event_id, n)] for n in names)
