"""Security Hub sources under fuzzing: any mutation of a documented sample (a key deleted, a value
replaced by another JSON type, deep nesting, a huge string) parses or is malformed with a reason."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secnotify.models.finding import FindingSnapshot
from secnotify.sources.eventbridge import MalformedEvent
from secnotify.sources.securityhub_asff import parse_securityhub_asff
from secnotify.sources.securityhub_ocsf import parse_securityhub_ocsf
from tests.unit.securityhub_samples import asff_event, guardduty_asff, inspector_asff, ocsf_event

Parser = Callable[[Any], list[FindingSnapshot]]


def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
hostile_values = (
    json_values
    | st.integers(min_value=100_000, max_value=2_000_000).map(lambda n: "x" * n)
    | st.integers(min_value=500, max_value=5_000).map(_deep)
    | st.sampled_from(["\ud800", "CVE-2024-1", "[SAMPLE]", "ARCHIVED", "SUPPRESSED", "arn:aws:guardduty:x"])
    | st.sampled_from([10**400, -1, 1e308, 2**63, 0])
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            out += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            out += _paths(child, (*prefix, index))
    return out


SAMPLES: dict[str, tuple[dict[str, Any], Parser]] = {
    "asff-control": (asff_event(), parse_securityhub_asff),
    "asff-inspector": (asff_event(inspector_asff()), parse_securityhub_asff),
    "asff-guardduty": (asff_event(guardduty_asff()), parse_securityhub_asff),
    "ocsf-guardduty": (ocsf_event(), parse_securityhub_ocsf),
}
CASES = [(name, p) for name, (event, _) in SAMPLES.items() for p in _paths(event)]


def _check(parser: Parser, raw: Any) -> None:
    try:
        snapshots = parser(raw)
    except MalformedEvent as exc:
        assert exc.reason
        assert len(exc.reason) < 2_000
    else:
        assert snapshots and all(isinstance(s, FindingSnapshot) for s in snapshots)
        for s in snapshots:
            assert len(s.title) <= 1_000 and len(s.description) <= 10_000
            s.model_dump_json()  # storable and sendable: valid Unicode throughout


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CASES), hostile_values, st.booleans())
def test_mutated_sample_parses_or_is_malformed(
    case: tuple[str, tuple[Any, ...]], value: Any, delete: bool
) -> None:
    name, path = case
    event, parser = SAMPLES[name]
    raw = copy.deepcopy(event)
    target = raw
    for key in path[:-1]:
        target = target[key]
    if delete and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = value
    _check(parser, raw)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_only_raises_malformed(raw: Any) -> None:
    _check(parse_securityhub_asff, raw)
    _check(parse_securityhub_ocsf, raw)


@pytest.mark.parametrize("parser", [parse_securityhub_asff, parse_securityhub_ocsf])
def test_deeply_nested_findings_are_malformed_not_a_crash(parser: Parser) -> None:
    event = asff_event() if parser is parse_securityhub_asff else ocsf_event()
    event["detail"]["findings"] = [_deep(100_000)]
    with pytest.raises(MalformedEvent):
        parser(event)
