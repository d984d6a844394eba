"""A worker can die between any two steps of the dispatcher. Whatever was not written is done
again when EventBridge or SQS hands the work back; nothing is lost, and a notification is sent
again only when the crash came before its outcome was written (then with the same webhook-id,
which receivers dedup on). Nothing sleeps: the fake clock moves past leases and delays."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from secnotify.models.delivery import DeadLetterKind, NotificationState
from secnotify.service.dispatch_result import Count
from secnotify.service.notify import webhook_id
from secnotify.service.retry import RetryNotReady
from tests.fakes.dispatcher import Crash, Harness, crash_once, event, harness, once_each
from tests.integration.servers import Reply

S = NotificationState
LEASE_S = 60 + 30  # the claim lease plus the margin an event without a deadline gets


@pytest.fixture
def h() -> Iterator[Harness]:
    yield from harness()


def three(h: Harness) -> None:
    h.integration("ok")
    h.integration("flaky", Reply(status=503))
    h.integration("bad", default=Reply(status=400))


def settled_as_expected(h: Harness, event_id: str) -> None:
    states = h.states(event_id)
    assert {k: (v.status, v.attempt) for k, v in states.items()} == {
        "ok": (S.DELIVERED, 1),
        "flaky": (S.RETRY_SCHEDULED, 2),
        "bad": (S.FAILED, 1),
    }
    assert [q.message["integrationId"] for q in h.queues.retries] == ["flaky"]
    # No FAILED state without its dead letter.
    assert {d["integrationId"] for d in h.dead(DeadLetterKind.NOTIFICATION)} == {"bad"}


def handle_again(h: Harness, raw: dict) -> None:
    """EventBridge delivers the event again; the crashed worker's lease ends; the resume runs."""
    h.handle(raw)
    h.drain(advance_s=LEASE_S + 1)


def test_crash_before_the_lease_sends_everything_once_on_redelivery(h: Harness) -> None:
    three(h)
    raw = event()
    crash_once(h.ledger, "begin_event")
    with pytest.raises(Crash):
        h.handle(raw)
    h.handle(raw)
    assert once_each(h, raw["id"], "ok", "flaky", "bad")
    settled_as_expected(h, raw["id"])


@pytest.mark.parametrize("step", ["dead_letter", "record_outcomes"])
def test_crash_after_the_sends_before_their_outcomes_resends_with_the_same_webhook_id(
    h: Harness, step: str
) -> None:
    three(h)
    raw = event()
    crash_once(h.queues if step == "dead_letter" else h.ledger, step)
    with pytest.raises(Crash):
        h.handle(raw)
    assert h.states(raw["id"]) == {}
    handle_again(h, raw)
    for name in ("ok", "flaky", "bad"):
        assert h.sent(name) == [webhook_id(raw["id"], name)] * 2, name
    # The flaky receiver answered the resend: its retry is already done.
    states = h.states(raw["id"])
    assert (states["ok"].status, states["flaky"].status, states["bad"].status) == (
        S.DELIVERED,
        S.DELIVERED,
        S.FAILED,
    )
    assert {d["integrationId"] for d in h.dead(DeadLetterKind.NOTIFICATION)} == {"bad"}


def test_crash_after_the_states_before_the_retry_messages_loses_no_retry(h: Harness) -> None:
    three(h)
    raw = event()
    crash_once(h.queues, "schedule_retries")
    with pytest.raises(Crash):
        h.handle(raw)
    assert h.queues.retries == []
    h.handle(raw)  # the redelivered event finds the scheduled attempt and queues its message
    assert once_each(h, raw["id"], "ok", "flaky", "bad")
    settled_as_expected(h, raw["id"])
    (result,) = h.drain(advance_s=5)
    assert result.counts[Count.DELIVERED] == 1 and len(h.sent("flaky")) == 2


def first_retry(h: Harness) -> tuple[dict, str]:
    h.integration("flaky", Reply(status=503), Reply(status=503))
    raw = event()
    h.handle(raw)
    (message,) = h.queues.retries
    h.queues.retries.clear()
    h.clock.advance(5)
    return raw, message.body


def test_retry_crash_before_the_claim_sends_once_when_the_message_returns(h: Harness) -> None:
    raw, body = first_retry(h)
    crash_once(h.ledger, "claim")
    with pytest.raises(Crash):
        h.dispatcher.handle_retry(body)
    assert h.dispatcher.handle_retry(body).counts[Count.RETRYING] == 1
    assert len(h.sent("flaky")) == 2
    assert (h.states(raw["id"])["flaky"].status, h.states(raw["id"])["flaky"].attempt) == (
        S.RETRY_SCHEDULED,
        3,
    )


@pytest.mark.parametrize("step", ["put_delivery", "settle_claim"])
def test_retry_crash_after_the_send_waits_for_the_lease_then_resends_once(h: Harness, step: str) -> None:
    raw, body = first_retry(h)
    crash_once(h.log if step == "put_delivery" else h.ledger, step)
    with pytest.raises(Crash):
        h.dispatcher.handle_retry(body)
    # SQS hands the message back while the dead worker's claim still runs: not yet.
    with pytest.raises(RetryNotReady):
        h.dispatcher.handle_retry(body)
    h.clock.advance(61)
    # Attempt 2 is made again (the receiver answers 200 this time) and settled once.
    assert h.dispatcher.handle_retry(body).counts[Count.DELIVERED] == 1
    assert h.sent("flaky") == [webhook_id(raw["id"], "flaky")] * 3
    state = h.states(raw["id"])["flaky"]
    assert (state.status, state.attempt) == (S.DELIVERED, 2)
    assert h.queues.retries == []


def test_retry_crash_after_the_settle_requeues_from_the_stale_message(h: Harness) -> None:
    _raw, body = first_retry(h)
    crash_once(h.queues, "schedule_retries")
    with pytest.raises(Crash):
        h.dispatcher.handle_retry(body)
    assert h.queues.retries == [] and len(h.sent("flaky")) == 2
    # The message for attempt 2 comes back: attempt 3 is scheduled, so it re-queues that.
    assert h.dispatcher.handle_retry(body).counts[Count.SKIPPED] == 1
    assert len(h.sent("flaky")) == 2
    (result,) = h.drain(advance_s=30)
    assert result.counts[Count.DELIVERED] == 1 and len(h.sent("flaky")) == 3


def test_a_superseded_worker_does_not_overwrite_the_one_that_took_over(h: Harness) -> None:
    raw, body = first_retry(h)
    # A first worker claims attempt 2, stalls past its lease; a second one takes over and settles.
    slow = h.ledger.claim(raw["id"], "flaky", 2, lease_s=60, ttl_s=60)
    assert slow is not None
    h.clock.advance(61)
    assert h.dispatcher.handle_retry(body).counts[Count.RETRYING] == 1
    assert not h.ledger.settle_claim(raw["id"], "flaky", 2, slow, S.DELIVERED, 2)
    assert h.states(raw["id"])["flaky"].attempt == 3


def test_a_superseded_worker_that_gives_up_leaves_a_spurious_dead_letter(h: Harness) -> None:
    h.integration("flaky", Reply(status=503), Reply(status=400))  # attempt 2 fails for good
    raw = event()
    h.handle(raw)
    (message,) = h.queues.retries
    h.queues.retries.clear()
    h.clock.advance(5)
    taken_over: list[str | None] = []
    settle = h.ledger.settle_claim

    def stalled_then_settle(*args, **kwargs):
        # Our worker stalled past its lease mid-send: another one claimed attempt 2 meanwhile.
        h.clock.advance(61)
        taken_over.append(h.ledger.claim(raw["id"], "flaky", 2, lease_s=60, ttl_s=60))
        return settle(*args, **kwargs)

    h.ledger.settle_claim = stalled_then_settle  # type: ignore[method-assign]
    assert h.dispatcher.handle_retry(message.body).counts[Count.SUPERSEDED] == 1
    (other,) = taken_over
    assert other is not None
    # The dead letter was written before the settle failed: spurious, as the other worker still
    # holds the attempt and may deliver it (finish.py says why this side is the safe one).
    assert [d["integrationId"] for d in h.dead(DeadLetterKind.NOTIFICATION)] == ["flaky"]
    state = h.states(raw["id"])["flaky"]
    assert (state.status, state.attempt) == (S.IN_FLIGHT, 2)
    assert settle(raw["id"], "flaky", 2, other, S.DELIVERED, 2)  # the other worker delivered
    assert h.queues.retries == []


def test_a_send_that_raises_fails_the_event_and_stops_the_fan_out_then_redelivery_reaches_everyone(
    h: Harness,
) -> None:
    names = [f"hook-{i:02d}" for i in range(40)]
    for name in names:
        h.integration(name)
    raw = event()
    crash_once(h.dispatcher.attempts, "send")
    with pytest.raises(Crash):
        h.handle(raw)
    # Once every fan-out thread is free (each waits for the others at the barrier), nothing is
    # left running: the drains stopped taking integrations when the event failed, so at most
    # the ones already in flight on the 4 threads went out.
    barrier = threading.Barrier(4)
    for done in [h.dispatcher._pool.submit(barrier.wait, 10) for _ in range(4)]:
        done.result()
    reached = [n for n in names if h.sent(n)]
    assert len(reached) < len(names) - 4
    assert h.states(raw["id"]) == {}
    handle_again(h, raw)
    assert {n: h.states(raw["id"])[n].status for n in names} == dict.fromkeys(names, S.DELIVERED)
    for name in names:
        assert set(h.sent(name)) == {webhook_id(raw["id"], name)}, name
