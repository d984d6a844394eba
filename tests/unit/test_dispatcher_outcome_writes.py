"""The event path writes its outcome batches several at once, on threads of their own, never more
than OUTCOME_WRITE_CONCURRENCY, and every batch before the event is done."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from secnotify.models.delivery import NotificationState, Outcome
from secnotify.service.dispatch import FLUSH_EVERY, Dispatcher
from secnotify.service.dispatch_result import Count
from tests.fakes.dispatcher import PROFILE, Crash, Harness, event, harness
from tests.integration.servers import Receiver

BATCHES = 3
TARGETS = FLUSH_EVERY * BATCHES  # the fake clock never moves: batches are full ones


@pytest.fixture
def h() -> Iterator[Harness]:
    yield from harness()


def _wide(h: Harness, writers: int) -> Dispatcher:
    """TARGETS integrations on one receiver, and a dispatcher with ``writers`` outcome writers."""
    rx = h._stack.enter_context(Receiver())
    for n in range(TARGETS):
        h.config.add_integration(f"i{n:02d}", PROFILE, rx.url(f"/{n}"))
    return h.build(h.settings.replace(outcome_write_concurrency=writers))


class _Watched:
    """Wraps ``record_outcomes``: the first ``meet`` calls wait for one another (a sequential
    writer never gets there), and the most calls at once and their threads are noted."""

    def __init__(self, h: Harness, meet: int) -> None:
        self.real = h.ledger.record_outcomes
        self.meet = threading.Barrier(meet, timeout=10)
        self.lock = threading.Lock()
        self.calls = self.active = self.most = 0
        self.threads: set[str] = set()
        h.ledger.record_outcomes = self  # type: ignore[method-assign]

    def __call__(self, event_id: str, outcomes: list[Outcome], ttl_s: int) -> None:
        with self.lock:
            self.calls += 1
            first = self.calls <= self.meet.parties
            self.active += 1
            self.most = max(self.most, self.active)
            self.threads.add(threading.current_thread().name)
        try:
            if first:
                self.meet.wait()
            self.real(event_id, outcomes, ttl_s)
        finally:
            with self.lock:
                self.active -= 1


def test_outcome_batches_are_written_at_once_up_to_the_bound_and_all_before_the_event_ends(
    h: Harness,
) -> None:
    dispatcher = _wide(h, writers=2)
    watched = _Watched(h, meet=2)
    raw = event()
    try:
        result = dispatcher.handle_event(raw)
    finally:
        dispatcher._pool.shutdown(wait=True)
        dispatcher._writers.shutdown(wait=True)
    assert watched.calls == BATCHES
    assert watched.most == 2  # two at once (the barrier needs it), never three
    assert all(name.startswith("outcomes") for name in watched.threads), watched.threads
    states = h.states(raw["id"])
    assert len(states) == TARGETS == result.counts[Count.DELIVERED]
    assert {s.status for s in states.values()} == {NotificationState.DELIVERED}


def test_a_failed_batch_stops_the_event_only_once_the_other_batches_are_written(h: Harness) -> None:
    dispatcher = _wide(h, writers=2)
    real = h.ledger.record_outcomes
    calls: list[int] = []
    lock = threading.Lock()

    def first_fails(event_id: str, outcomes: list[Outcome], ttl_s: int, **_: Any) -> None:
        with lock:
            calls.append(len(outcomes))
            first = len(calls) == 1
        if first:
            raise Crash("record_outcomes")
        real(event_id, outcomes, ttl_s)

    h.ledger.record_outcomes = first_fails  # type: ignore[method-assign]
    raw = event()
    try:
        with pytest.raises(Crash):
            dispatcher.handle_event(raw)
    finally:
        dispatcher._pool.shutdown(wait=True)
        dispatcher._writers.shutdown(wait=True)
    # The failed batch's notifications have no state (they are sent again, same webhook-id);
    # every other batch's outcomes were written before the error came out.
    assert len(calls) == BATCHES
    assert len(h.states(raw["id"])) == TARGETS - FLUSH_EVERY
