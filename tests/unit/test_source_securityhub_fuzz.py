"""Security Hub sources under fuzzing: any mutation of a documented sample (a key deleted, a value
replaced by another JSON type, deep nesting, a huge string) parses or is malformed with a reason,
and no finding is lost to a reader that crashed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secnotify.models.finding import FindingSnapshot
from secnotify.sources.eventbridge import MalformedEvent
from secnotify.sources.securityhub_asff import parse_securityhub_asff
from secnotify.sources.securityhub_ocsf import parse_securityhub_ocsf
from tests.unit.aws_samples import asff_event, guardduty_asff, inspector_asff, ocsf_event
from tests.unit.finding_mutations import (
    assert_not_caught_crash,
    assert_parses_or_malformed,
    json_values,
    mutate,
    nested,
    paths,
    replacements,
)

Parser = Callable[[Any], list[FindingSnapshot]]

# Values the Security Hub readers look for (states, prefixes, number edges) on top of the shared ones.
hostile_values = replacements | st.sampled_from(
    ["[SAMPLE]", "ARCHIVED", "SUPPRESSED", "arn:aws:guardduty:x", 10**400, -1, 1e308, 2**63, 0]
)

SAMPLES: dict[str, tuple[dict[str, Any], Parser]] = {
    "asff-control": (asff_event(), parse_securityhub_asff),
    "asff-inspector": (asff_event(inspector_asff()), parse_securityhub_asff),
    "asff-guardduty": (asff_event(guardduty_asff()), parse_securityhub_asff),
    "ocsf-guardduty": (ocsf_event(), parse_securityhub_ocsf),
}
CASES = [(name, p) for name, (event, _) in SAMPLES.items() for p in paths(event)]


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.sampled_from(CASES), hostile_values, st.booleans())
def test_mutated_sample_parses_or_is_malformed(
    case: tuple[str, tuple[Any, ...]], value: Any, delete: bool
) -> None:
    name, path = case
    event, parser = SAMPLES[name]
    assert_parses_or_malformed(parser, mutate(event, path, value, delete), batch=True)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_arbitrary_json_only_raises_malformed(raw: Any) -> None:
    assert_parses_or_malformed(parse_securityhub_asff, raw, batch=True)
    assert_parses_or_malformed(parse_securityhub_ocsf, raw, batch=True)


@pytest.mark.parametrize("parser", [parse_securityhub_asff, parse_securityhub_ocsf])
def test_deeply_nested_findings_are_malformed_not_a_crash(parser: Parser) -> None:
    event = asff_event() if parser is parse_securityhub_asff else ocsf_event()
    event["detail"]["findings"] = [nested(100_000)]
    with pytest.raises(MalformedEvent) as info:
        parser(event)
    assert_not_caught_crash(info.value.reason)
