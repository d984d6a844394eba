"""How many partitions an event's notification states are spread over, as the event path picks it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from secnotify.service.dispatch import MAX_CLAIM_SHARDS, claim_shards
from tests.fakes.dispatcher import PROFILE, Harness, event, harness
from tests.integration.servers import Receiver


@pytest.mark.parametrize(
    ("targets", "shards"),
    [(0, 1), (1, 1), (250, 1), (251, 2), (1000, 4), (1001, 5), (10**6, MAX_CLAIM_SHARDS)],
)
def test_small_fan_outs_keep_one_partition_and_large_ones_hold_at_most_250_states_each(
    targets: int, shards: int
) -> None:
    assert claim_shards(targets, 250) == shards


@pytest.fixture
def h() -> Iterator[Harness]:
    yield from harness()


def test_the_event_path_begins_an_event_with_the_shards_its_matched_targets_need(h: Harness) -> None:
    rx = h._stack.enter_context(Receiver())
    for n in range(36):
        h.config.add_integration(f"i{n:02d}", PROFILE, rx.url(f"/{n}"))
    dispatcher = h.build(h.settings.replace(claims_per_shard=10))
    raw = event()
    try:
        dispatcher.handle_event(raw)
    finally:
        dispatcher._pool.shutdown(wait=True)
    assert h.ledger.shards[raw["id"]] == 4
    assert len(h.states(raw["id"])) == 36
