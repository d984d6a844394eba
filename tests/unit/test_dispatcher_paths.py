"""The dispatcher's event and retry paths on in-memory ports and a fake clock, sending for real
to local receivers: leases, stale and early messages, the ladder, resumes, counts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from secnotify.models.delivery import DeadLetterKind, NotificationState, Outcome
from secnotify.service.dispatch_result import Count
from secnotify.service.notify import webhook_id
from secnotify.service.retry import RetryNotReady
from secnotify.sources import parse_eventbridge
from tests.contract.ledger_checks import _record
from tests.fakes.dispatcher import Harness, event, harness, once_each
from tests.integration.servers import Reply

S = NotificationState


@pytest.fixture
def h() -> Iterator[Harness]:
    yield from harness()


def test_one_event_sends_once_to_each_and_records_each_outcome(h: Harness) -> None:
    h.integration("ok")
    h.integration("flaky", default=Reply(status=503))
    h.integration("bad", default=Reply(status=400))
    raw = event()
    result = h.handle(raw)
    assert (result.counts[Count.DELIVERED], result.counts[Count.RETRYING], result.counts[Count.FAILED]) == (
        1,
        1,
        1,
    )
    assert once_each(h, raw["id"], "ok", "flaky", "bad")
    states = h.states(raw["id"])
    assert (states["ok"].status, states["flaky"].status, states["bad"].status) == (
        S.DELIVERED,
        S.RETRY_SCHEDULED,
        S.FAILED,
    )
    assert states["flaky"].attempt == 2 and states["flaky"].not_before == h.clock.wall() + 5
    assert [d["integrationId"] for d in h.dead(DeadLetterKind.NOTIFICATION)] == ["bad"]
    (retry,) = h.queues.retries
    assert retry.message == {
        "eventId": raw["id"],
        "integrationId": "flaky",
        "attempt": 2,
        "notBefore": h.clock.wall() + 5,
    }
    assert h.records("flaky") == [(1, "RETRYING")] and h.records("bad") == [(1, "FAILED")]


def test_a_duplicate_event_sends_nothing_again(h: Harness) -> None:
    h.integration("ok")
    raw = event()
    h.handle(raw)
    again = h.handle(raw)
    assert again.counts[Count.ALREADY_HANDLED] == 1 and again.counts[Count.DELIVERED] == 0
    assert once_each(h, raw["id"], "ok")


def test_a_duplicate_during_the_lease_defers_to_when_it_ends_then_sends_only_the_rest(h: Harness) -> None:
    h.integration("a")
    h.integration("b")
    raw = event()
    # Another worker holds the lease (for 90 s) and has delivered to "a" so far.
    stored = parse_eventbridge(raw).model_dump_json()
    assert h.ledger.begin_event(raw["id"], stored, lease_s=90, ttl_s=60).acquired
    h.ledger.record_outcomes(raw["id"], [Outcome("a", S.DELIVERED, 1)], ttl_s=60)
    deferred = h.handle(raw)
    assert deferred.counts[Count.DEFERRED] == 1 and deferred.counts[Count.ALREADY_HANDLED] == 1
    assert h.sent("a") == [] and h.sent("b") == []
    (resume,) = h.queues.retries
    assert resume.message == {"kind": "resume", "eventId": raw["id"], "notBefore": h.clock.wall() + 91}
    assert h.drain(advance_s=60) == []  # not due yet
    (resumed,) = h.drain(advance_s=31)
    assert resumed.counts[Count.RESUMED] == 1 and resumed.counts[Count.DELIVERED] == 1
    assert h.sent("a") == [] and once_each(h, raw["id"], "b")


def test_a_retry_is_sent_when_due_with_the_same_webhook_id(h: Harness) -> None:
    h.integration("flaky", Reply(status=503))
    raw = event()
    h.handle(raw)
    assert h.drain(advance_s=4) == []
    (result,) = h.drain(advance_s=1)
    assert result.counts[Count.DELIVERED] == 1
    assert h.sent("flaky") == [webhook_id(raw["id"], "flaky")] * 2
    assert h.states(raw["id"])["flaky"].status is S.DELIVERED
    assert h.records("flaky") == [(1, "RETRYING"), (2, "SUCCEEDED")]


def test_a_message_due_later_than_sqs_can_wait_hops_until_due() -> None:
    h = Harness(ladder=(0.0, 3600.0))
    try:
        h.integration("flaky", Reply(status=503))
        raw = event()
        h.handle(raw)
        (hop,) = h.drain(advance_s=3600 - 1000)  # the first message is due in 900 s, not yet its attempt
        assert hop.counts[Count.DEFERRED] == 1 and len(h.sent("flaky")) == 1
        (queued,) = h.queues.retries
        assert queued.due_at == h.clock.wall() + 900  # SQS's longest delay
        (sent,) = h.drain(advance_s=1000)
        assert sent.counts[Count.DELIVERED] == 1 and len(h.sent("flaky")) == 2
    finally:
        h.close()


def test_the_ladder_ends_failed_in_the_dead_letter_queue() -> None:
    h = Harness(ladder=(0.0, 5.0, 5.0))
    try:
        h.integration("down", default=Reply(status=503))
        raw = event()
        assert h.handle(raw).counts[Count.RETRYING] == 1
        assert h.drain(advance_s=5)[0].counts[Count.RETRYING] == 1
        assert h.drain(advance_s=5)[0].counts[Count.FAILED] == 1
        assert h.drain(advance_s=3600) == [] and h.queues.retries == []
        assert h.sent("down") == [webhook_id(raw["id"], "down")] * 3
        state = h.states(raw["id"])["down"]
        assert (state.status, state.attempt) == (S.FAILED, 3)
        assert h.records("down") == [(1, "RETRYING"), (2, "RETRYING"), (3, "FAILED")]
        (dead,) = h.dead(DeadLetterKind.NOTIFICATION)
        assert dead["attempt"] == 3 and dead["webhookId"] == webhook_id(raw["id"], "down")
    finally:
        h.close()


def test_a_stale_message_sends_nothing_and_requeues_the_attempt_it_finds(h: Harness) -> None:
    h.integration("flaky", Reply(status=503), Reply(status=503))
    raw = event()
    h.handle(raw)
    (first,) = h.queues.retries
    h.drain(advance_s=5)  # attempt 2 fails too: attempt 3 is scheduled for 30 s later
    h.queues.take_due()
    h.queues.retries.clear()  # as if the message for attempt 3 was lost
    stale = h.dispatcher.handle_retry(first.body)  # attempt 2's message, delivered again
    assert stale.counts[Count.SKIPPED] == 1
    assert len(h.sent("flaky")) == 2
    (requeued,) = h.queues.retries
    assert requeued.message["attempt"] == 3
    (done,) = h.drain(advance_s=30)
    assert done.counts[Count.DELIVERED] == 1 and len(h.sent("flaky")) == 3


def test_an_attempt_in_flight_hands_its_message_back_then_it_is_taken_over(h: Harness) -> None:
    h.integration("flaky", Reply(status=503))
    raw = event()
    h.handle(raw)
    (message,) = h.queues.retries
    h.queues.retries.clear()
    h.clock.advance(5)
    # A worker claimed attempt 2 and died mid-send.
    assert h.ledger.claim(raw["id"], "flaky", 2, lease_s=60, ttl_s=60) is not None
    with pytest.raises(RetryNotReady):
        h.dispatcher.handle_retry(message.body)
    h.clock.advance(61)
    taken = h.dispatcher.handle_retry(message.body)
    assert taken.counts[Count.DELIVERED] == 1
    assert h.states(raw["id"])["flaky"].status is S.DELIVERED


@pytest.mark.parametrize("how", ["deleted", "disabled"])
def test_a_retry_no_longer_wanted_is_cancelled(h: Harness, how: str) -> None:
    h.integration("gone", Reply(status=503))
    raw = event()
    h.handle(raw)
    if how == "deleted":
        h.config.delete_integration("gone")
    else:
        h.config.update_integration("gone", enabled=False)
    (result,) = h.drain(advance_s=5)
    assert result.counts[Count.CANCELLED] == 1 and result.counts[Count.FAILED] == 0
    assert len(h.sent("gone")) == 1 and h.queues.dead == []
    state = h.states(raw["id"])["gone"]
    assert (state.status, state.attempt) == (S.CANCELLED, 2)
    assert h.records("gone") == [(1, "RETRYING"), (2, "CANCELLED")]


def test_a_malformed_retry_message_is_counted_as_such_and_dead_lettered(h: Harness) -> None:
    result = h.dispatcher.handle_retry('{"kind": "attempt", "eventId": "e"}')
    assert result.counts == {Count.MALFORMED_RETRY: 1}
    assert [(d.kind, d.reason) for d in h.queues.dead] == [("retry", "retry message is not valid")]


def test_a_retry_for_an_event_no_longer_kept_is_dropped(h: Harness) -> None:
    body = '{"eventId":"gone","integrationId":"i","attempt":2,"notBefore":0}'
    assert h.dispatcher.handle_retry(body).counts == {Count.DROPPED: 1}
    assert [(d.kind, d.body) for d in h.queues.dead] == [("retry", body)]


def test_an_outcome_takes_a_state_not_a_string_and_a_record_with_its_ttl() -> None:
    with pytest.raises(TypeError, match="NotificationState"):
        Outcome("a", "DELIVERED", 1)  # type: ignore[arg-type]
    record = _record("e", "a")
    with pytest.raises(ValueError, match="time to live"):
        Outcome("a", S.DELIVERED, 1, record)
    assert Outcome("a", S.DELIVERED, 1, record, 60).record_ttl_s == 60
