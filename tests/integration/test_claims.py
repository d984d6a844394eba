"""Claims are conditional writes: of many workers racing for one attempt, exactly one wins."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from secnotify.models.delivery import NotificationState, Outcome
from secnotify.storage.dynamodb import open_storage


def test_racing_claims_for_one_attempt_have_one_winner(stack: Any) -> None:
    ledger = open_storage(stack.table_name).ledger
    for round_ in range(5):
        event_id = f"race-{round_}"
        ledger.record_outcomes(event_id, [Outcome("int-1", NotificationState.RETRY_SCHEDULED, 2)], ttl_s=60)
        with ThreadPoolExecutor(8) as pool:
            owners = list(pool.map(lambda eid: ledger.claim(eid, "int-1", 2, 60, 60), [event_id] * 16))
        winners = [o for o in owners if o is not None]
        assert len(winners) == 1, owners
        # Only the winner's token settles the attempt.
        loser = "not-the-owner"
        assert not ledger.settle_claim(event_id, "int-1", 2, loser, NotificationState.DELIVERED, 2)
        assert ledger.settle_claim(event_id, "int-1", 2, winners[0], NotificationState.DELIVERED, 2)
        assert ledger.get_claims(event_id)["int-1"].status is NotificationState.DELIVERED
