"""What every DeliveryLedger must do, as checks on a (ledger, clock) pair.

Checks marked ``conditional`` exercise a conditional write: a ledger that skips its conditions
must fail them (tests/contract/test_ledger_contract.py shows it does).

Each check runs on an event begun with one shard and with several (``Subject.shards``); ``other``
is a second ledger on the same store, as another process has it, which knows nothing yet.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from secnotify.errors import InvalidToken
from secnotify.models.delivery import AttemptStatus, DeliveryRecord, NotificationState, Outcome, RecordKind
from secnotify.service.ports.ledger import DeliveryLedger, DeliveryLog
from tests.contract.checks import Contract
from tests.fakes.clock import FakeClock

S = NotificationState
TTL = 3600


@dataclass(frozen=True)
class Subject:
    ledger: DeliveryLedger
    log: DeliveryLog
    clock: FakeClock
    event_id: str
    shards: int
    other: DeliveryLedger


LEDGER: Contract[Subject] = Contract()
check = LEDGER.check


def _record(event_id: str, integration_id: str, n: int = 1) -> DeliveryRecord:
    return DeliveryRecord(
        deliveryId=f"{1_800_000_000_000 + n:013d}-{integration_id}",
        integrationId=integration_id,
        eventId=event_id,
        webhookId="msg_x",
        kind=RecordKind.EVENT,
        attempt=n,
        status=AttemptStatus.RETRYING,
        statusCode=503,
        latencyMs=1.5,
        createdAt=datetime(2027, 1, 1, tzinfo=UTC).isoformat(),
        nextAttemptAt=1.0,
    )


def _open(s: Subject) -> None:
    """Begin the event with the subject's shards, as the event path does before any state."""
    assert s.ledger.begin_event(s.event_id, '{"a":1}', lease_s=30, ttl_s=TTL, shards=s.shards).acquired


def _schedule(s: Subject, integration_id: str, attempt: int) -> None:
    s.ledger.record_outcomes(s.event_id, [Outcome(integration_id, S.RETRY_SCHEDULED, attempt)], TTL)


@check(conditional=True)
def a_running_lease_keeps_others_out_until_it_ends(s: Subject) -> None:
    first = s.ledger.begin_event(s.event_id, '{"a":1}', lease_s=30, ttl_s=TTL, shards=s.shards)
    assert first.acquired and not first.took_over
    s.clock.advance(10)
    second = s.ledger.begin_event(s.event_id, '{"a":1}', lease_s=30, ttl_s=TTL, shards=s.shards)
    assert not second.acquired
    assert abs(second.held_until - (s.clock.wall() + 20)) < 0.01
    s.clock.advance(21)
    third = s.ledger.begin_event(s.event_id, '{"a":1}', lease_s=30, ttl_s=TTL, shards=s.shards)
    assert third.acquired and third.took_over


@check(conditional=False)
def a_kept_event_without_a_lease_is_begun_fresh(s: Subject) -> None:
    assert s.ledger.get_event(s.event_id) is None
    s.ledger.put_event(s.event_id, '{"kept":true}', ttl_s=TTL)
    assert s.ledger.get_event(s.event_id) == '{"kept":true}'
    lease = s.ledger.begin_event(s.event_id, '{"kept":true}', lease_s=30, ttl_s=TTL, shards=s.shards)
    assert lease.acquired and not lease.took_over


@check(conditional=True)
def only_a_scheduled_attempt_can_be_claimed(s: Subject) -> None:
    _open(s)
    assert s.ledger.claim(s.event_id, "nothing-scheduled", 1, 60, TTL) is None
    _schedule(s, "i", 2)
    assert s.ledger.claim(s.event_id, "i", 1, 60, TTL) is None
    assert s.ledger.claim(s.event_id, "i", 3, 60, TTL) is None
    owner = s.ledger.claim(s.event_id, "i", 2, 60, TTL)
    assert owner is not None
    claim = s.ledger.get_claims(s.event_id)["i"]
    assert (claim.status, claim.attempt) == (S.IN_FLIGHT, 2)
    assert abs(claim.lease_until - (s.clock.wall() + 60)) < 0.01


@check(conditional=True)
def an_attempt_in_flight_is_claimed_again_only_once_its_lease_ran_out(s: Subject) -> None:
    _open(s)
    _schedule(s, "i", 2)
    first = s.ledger.claim(s.event_id, "i", 2, 60, TTL)
    assert first is not None
    s.clock.advance(59)
    assert s.ledger.claim(s.event_id, "i", 2, 60, TTL) is None
    s.clock.advance(2)
    second = s.ledger.claim(s.event_id, "i", 2, 60, TTL)
    assert second is not None and second != first
    # The first worker's late outcome loses; the one that took over settles.
    assert not s.ledger.settle_claim(s.event_id, "i", 2, first, S.FAILED, 2)
    assert s.ledger.settle_claim(s.event_id, "i", 2, second, S.DELIVERED, 2)
    assert s.ledger.get_claims(s.event_id)["i"].status is S.DELIVERED


@check(conditional=True)
def only_the_owner_settles_and_only_once(s: Subject) -> None:
    _open(s)
    _schedule(s, "i", 1)
    owner = s.ledger.claim(s.event_id, "i", 1, 60, TTL)
    assert owner is not None
    assert not s.ledger.settle_claim(s.event_id, "i", 1, "someone-else", S.DELIVERED, 1)
    assert not s.ledger.settle_claim(s.event_id, "i", 2, owner, S.DELIVERED, 2)
    assert s.ledger.settle_claim(s.event_id, "i", 1, owner, S.RETRY_SCHEDULED, 2, not_before=123.5)
    claim = s.ledger.get_claims(s.event_id)["i"]
    assert (claim.status, claim.attempt, claim.not_before) == (S.RETRY_SCHEDULED, 2, 123.5)
    assert not s.ledger.settle_claim(s.event_id, "i", 1, owner, S.DELIVERED, 1)


@check(conditional=True)
def settled_states_cannot_be_claimed(s: Subject) -> None:
    _open(s)
    for state in (S.DELIVERED, S.FAILED, S.CANCELLED):
        s.ledger.record_outcomes(s.event_id, [Outcome(f"i-{state}", state, 1)], TTL)
        assert s.ledger.claim(s.event_id, f"i-{state}", 1, 60, TTL) is None, state


@check(conditional=True)
def of_many_racing_claims_exactly_one_wins(s: Subject) -> None:
    _open(s)
    _schedule(s, "i", 2)
    with ThreadPoolExecutor(8) as pool:
        owners = list(pool.map(lambda _: s.ledger.claim(s.event_id, "i", 2, 60, TTL), range(16)))
    assert len([o for o in owners if o is not None]) == 1


@check(conditional=False)
def outcomes_are_written_whatever_stands_and_with_their_records(s: Subject) -> None:
    _open(s)
    _schedule(s, "i", 1)
    assert s.ledger.claim(s.event_id, "i", 1, 60, TTL) is not None
    record = _record(s.event_id, "i")
    outcomes = [
        Outcome("i", S.DELIVERED, 1, record, TTL),
        Outcome("j", S.RETRY_SCHEDULED, 2, None, TTL, 99.25),
    ]
    s.ledger.record_outcomes(s.event_id, outcomes, TTL)
    claims = s.ledger.get_claims(s.event_id)
    assert (claims["i"].status, claims["i"].attempt) == (S.DELIVERED, 1)
    assert (claims["j"].status, claims["j"].attempt, claims["j"].not_before) == (S.RETRY_SCHEDULED, 2, 99.25)
    assert s.log.get_delivery("i", record.deliveryId).stored() == record.stored()


@check(conditional=False)
def the_log_reads_records_back_as_written_newest_first(s: Subject) -> None:
    older, newer = _record(s.event_id, "i", 1), _record(s.event_id, "i", 2).marked("true")
    s.log.put_delivery(older, TTL)
    s.log.put_delivery(newer, TTL)
    read = s.log.get_delivery("i", newer.deliveryId)
    assert isinstance(read, DeliveryRecord) and read == newer and read.test_marker == "true"
    page, _token = s.log.list_deliveries("i", 10, None)
    assert page == [newer, older]


@check(conditional=True)
def a_kept_event_keeps_a_running_lease(s: Subject) -> None:
    _open(s)
    s.ledger.put_event(s.event_id, '{"kept":true}', ttl_s=TTL)
    assert s.ledger.get_event(s.event_id) == '{"kept":true}'
    assert not s.other.begin_event(s.event_id, '{"a":1}', lease_s=30, ttl_s=TTL, shards=s.shards).acquired


WIDE = 300  # more states than one shard of a large fan-out holds


def _wide(s: Subject) -> dict[str, tuple[S, int, float]]:
    """WIDE outcomes, written in batches as the event path does: what each should read back."""
    statuses = (S.DELIVERED, S.FAILED, S.RETRY_SCHEDULED, S.CANCELLED)
    want = {f"int-{n:03d}": (statuses[n % 4], 1 + n % 3, float(n)) for n in range(WIDE)}
    outcomes = [Outcome(iid, st, attempt, None, TTL, nb) for iid, (st, attempt, nb) in want.items()]
    for start in range(0, WIDE, 12):
        s.ledger.record_outcomes(s.event_id, outcomes[start : start + 12], TTL)
    return want


def _read(ledger: DeliveryLedger, event_id: str) -> dict[str, tuple[S, int, float]]:
    return {iid: (c.status, c.attempt, c.not_before) for iid, c in ledger.get_claims(event_id).items()}


@check(conditional=False)
def every_state_of_a_wide_event_is_read_back_by_every_process(s: Subject) -> None:
    _open(s)
    want = _wide(s)
    assert _read(s.ledger, s.event_id) == want
    assert _read(s.other, s.event_id) == want


@check(conditional=True)
def another_process_claims_and_settles_a_wide_events_states(s: Subject) -> None:
    _open(s)
    ids = [f"int-{n:02d}" for n in range(40)]
    s.ledger.record_outcomes(s.event_id, [Outcome(i, S.RETRY_SCHEDULED, 2) for i in ids], TTL)
    assert s.other.get_event(s.event_id) == '{"a":1}'  # as the retry path reads it first
    owners = {i: s.other.claim(s.event_id, i, 2, 60, TTL) for i in ids}
    assert None not in owners.values()
    assert all(s.ledger.claim(s.event_id, i, 2, 60, TTL) is None for i in ids)
    for i, owner in owners.items():
        assert owner is not None and s.other.settle_claim(s.event_id, i, 2, owner, S.DELIVERED, 2)
    assert {c.status for c in s.ledger.get_claims(s.event_id).values()} == {S.DELIVERED}
    assert len(s.ledger.get_claims(s.event_id)) == len(ids)


@check(conditional=False)
def the_call_that_creates_an_event_fixes_its_shards_for_good(s: Subject) -> None:
    _open(s)
    want = _wide(s)
    s.clock.advance(31)
    # Taken over by processes that would have chosen otherwise (the configuration changed):
    # the states stay where the first call put them, for the old process and the new ones.
    for shards in (1, 7):
        assert s.other.begin_event(s.event_id, '{"a":1}', lease_s=30, ttl_s=TTL, shards=shards).acquired
        late = [f"late-{shards}-{n}" for n in range(20)]
        s.other.record_outcomes(s.event_id, [Outcome(i, S.DELIVERED, 1) for i in late], TTL)
        want.update({i: (S.DELIVERED, 1, 0.0) for i in late})
        assert _read(s.ledger, s.event_id) == want
        assert _read(s.other, s.event_id) == want
        s.clock.advance(31)


def _with_body(record: DeliveryRecord, text: str) -> DeliveryRecord:
    return record.with_request(text.encode(), lambda t: t.replace("s3cret", "***"), 6)


@check(conditional=False)
def a_record_keeps_the_request_body_it_was_written_with(s: Subject) -> None:
    text = '{"text": "ünïcödé s3cret ' + "x" * 5000 + '"}'
    first = _with_body(_record(s.event_id, "b", 1), text)
    retry = _record(s.event_id, "b", 2).with_request(text.encode(), None)
    s.log.put_delivery(first, TTL)
    s.ledger.record_outcomes(s.event_id, [Outcome("b", S.RETRY_SCHEDULED, 3, retry, TTL)], TTL)
    read = s.log.get_delivery("b", first.deliveryId)
    assert read == first and read.requestBody == text.replace("s3cret", "***")
    assert read.requestBodyTruncated is False and read.requestBodyBytes == len(text.encode())
    again = s.log.get_delivery("b", retry.deliveryId)
    assert again.requestBody is None and again.requestBodySha256 == first.requestBodySha256
    page, _ = s.log.list_deliveries("b", 10, None)
    assert page == [again, read]


def _pages(fetch: Callable[[str | None], tuple[list[DeliveryRecord], str | None]]) -> list[DeliveryRecord]:
    out: list[DeliveryRecord] = []
    token: str | None = None
    for _ in range(100):
        page, token = fetch(token)
        out += page
        if token is None:
            return out
    raise AssertionError("the listing never ended")


@check(conditional=False)
def an_events_records_list_across_integrations_page_by_page(s: Subject) -> None:
    ids = [f"{s.event_id}-int-{n}" for n in range(9)]
    written: list[DeliveryRecord] = []
    for n, iid in enumerate(ids):
        first = _record(s.event_id, iid, 1)
        second = _record(s.event_id, iid, 2).model_copy(update={"status": AttemptStatus.FAILED})
        if n % 2:
            s.log.put_delivery(first, TTL)
        else:
            s.ledger.record_outcomes(s.event_id, [Outcome(iid, S.RETRY_SCHEDULED, 2, first, TTL)], TTL)
        s.log.put_delivery(second, TTL)
        written += [first, second]
    s.log.put_delivery(_record("another-event", ids[0], 7), TTL)
    for limit in (1, 4, 100):
        listed = _pages(lambda token, n=limit: s.log.list_event_deliveries(s.event_id, n, token))
        assert sorted(r.deliveryId + r.integrationId for r in listed) == sorted(
            r.deliveryId + r.integrationId for r in written
        ), limit
        # Grouped by integration, each one's attempts oldest first.
        order = [(r.integrationId, r.attempt) for r in listed]
        for iid in ids:
            at = order.index((iid, 1))
            assert order[at + 1] == (iid, 2), limit
    assert s.log.list_event_deliveries("no-such-event", 10, None) == ([], None)


@check(conditional=False)
def an_integrations_records_filter_by_status_and_by_event(s: Subject) -> None:
    iid = f"{s.event_id}-f"
    statuses = [AttemptStatus.RETRYING, AttemptStatus.FAILED, AttemptStatus.SUCCEEDED]
    records = []
    for n in range(12):
        event_id = s.event_id if n % 3 else f"{s.event_id}-other"
        # An answer that quotes another status must not make the record look like one.
        record = _record(event_id, iid, n + 1).model_copy(
            update={
                "status": statuses[n % 3],
                "responseBody": '{"status":"FAILED"}',
                "error": '"status":"FAILED"',
            }
        )
        s.log.put_delivery(record, TTL)
        records.append(record)
    newest_first = records[::-1]
    for limit in (1, 5, 50):
        failed = _pages(lambda t, n=limit: s.log.list_deliveries(iid, n, t, status=AttemptStatus.FAILED))
        assert failed == [r for r in newest_first if r.status is AttemptStatus.FAILED], limit
        of_event = _pages(lambda t, n=limit: s.log.list_deliveries(iid, n, t, event_id=s.event_id))
        assert of_event == [r for r in newest_first if r.eventId == s.event_id], limit
        both = _pages(
            lambda t, n=limit: s.log.list_deliveries(
                iid, n, t, status=AttemptStatus.SUCCEEDED, event_id=s.event_id
            )
        )
        assert both == [
            r for r in newest_first if r.eventId == s.event_id and r.status is AttemptStatus.SUCCEEDED
        ], limit


@check(conditional=False)
def a_page_token_is_good_only_for_the_listing_that_issued_it(s: Subject) -> None:
    iid = f"{s.event_id}-t"
    for n in range(3):
        s.log.put_delivery(_record(s.event_id, iid, n + 1), TTL)
        s.log.put_delivery(_record(s.event_id, f"{iid}-2", n + 1), TTL)
    _, by_event = s.log.list_event_deliveries(s.event_id, 1, None)
    _, by_filter = s.log.list_deliveries(iid, 1, None, event_id=s.event_id)
    assert by_event is not None and by_filter is not None
    refused = [
        lambda: s.log.list_event_deliveries("another-event", 1, by_event),
        lambda: s.log.list_deliveries(iid, 1, by_event, event_id=s.event_id),
        lambda: s.log.list_deliveries(iid, 1, by_filter, event_id="another-event"),
        lambda: s.log.list_deliveries(f"{iid}-2", 1, by_filter, event_id=s.event_id),
        lambda: s.log.list_event_deliveries(s.event_id, 1, by_filter + "x"),
    ]
    for n, call in enumerate(refused):
        try:
            call()
        except InvalidToken:
            continue
        raise AssertionError(f"token {n} was taken by a listing that did not issue it")
