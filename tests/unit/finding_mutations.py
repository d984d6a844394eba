"""Mutations of AWS finding events for property tests: a parser must parse each mutant or
refuse it with ``MalformedEvent``, and nothing else."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from secnotify.models.finding import FindingSnapshot
from secnotify.sources import MalformedEvent
from secnotify.sources.aws import FindingBatch

HUGE = 1_000_000


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in ``value``, to pick a place to mutate."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += paths(child, (*prefix, index))
    return out


def nested(depth: int) -> Any:
    # Built without recursion: deeper than the interpreter's recursion limit.
    value: Any = {"a": None}
    for _ in range(depth):
        value = [{"n": value}]
    return value


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=50)
    | st.sampled_from(["", "N/A", "\ud800", "CVE-2024-1", "YES", "PARTIAL", "9999-12-31T23:59:59-01:00"]),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=25,
)

replacements = (
    json_values
    | st.integers(min_value=100, max_value=20_000).map(nested)
    | st.sampled_from(["x" * HUGE, "\ud800" * 1000 + "y" * HUGE, ["CVE-2024-0001"] * 5000])
)


def mutate(base: dict[str, Any], path: tuple[Any, ...], value: object, delete: bool) -> dict[str, Any]:
    raw = copy.deepcopy(base)
    target: Any = raw
    for key in path[:-1]:
        target = target[key]
    if delete and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return raw


# How the defensive nets in secnotify/sources word a crash they caught: "finding could not be read:
# unexpected TypeError" (one-finding events), "findings[0]: could not be read (KeyError)"
# (batches), "event could not be read: TypeError" (the problem event). A reader that crashes is
# a bug even when the net keeps the event from failing.
_CATCH_ALL = re.compile(r"unexpected|could not be read \(|could not be read: \w*(Error|Exception)\b")


def assert_not_caught_crash(reason: str) -> None:
    assert not _CATCH_ALL.search(reason), f"a reader crashed: {reason}"


def assert_parses_or_malformed(
    parse: Callable[[Any], list[FindingSnapshot]], raw: Any, *, batch: bool = False
) -> None:
    """The property: a bounded, serialisable snapshot, or a short readable reason. A batch
    parser (``batch``) returns a ``FindingBatch`` of one or more snapshots, none of its skipped
    findings skipped because a reader crashed."""
    try:
        snapshots = parse(raw)
    except MalformedEvent as exc:
        assert exc.reason and len(exc.reason) < (2_000 if batch else 200)
        assert_not_caught_crash(exc.reason)  # refused on purpose, not by the defensive net
        raw_id = raw.get("id") if isinstance(raw, dict) else None
        assert exc.event_id == (raw_id if isinstance(raw_id, str) else None)
        return
    if batch:
        assert isinstance(snapshots, FindingBatch) and len(snapshots) >= 1
        for reason in snapshots.skipped:
            assert reason and len(reason) < 2_000
            assert_not_caught_crash(reason)
    else:
        assert len(snapshots) == 1
    for snapshot in snapshots:
        assert isinstance(snapshot, FindingSnapshot)
        assert snapshot.finding_id and snapshot.updated_at.tzinfo is not None
        assert len(snapshot.title) <= 1_000 and len(snapshot.description) <= 10_000
        assert len(snapshot.entities) <= 1_000 and len(snapshot.tags) <= 1_000
        assert len(snapshot.cve_ids) <= 1_000
        snapshot.model_dump_json()  # storable and sendable: no lone surrogate survived
