"""Amazon Inspector source: events that cannot be understood, hostile sizes and values, and
property tests over mutated documented samples."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secnotify.sources import MalformedEvent
from secnotify.sources.inspector import parse_inspector
from tests.unit.aws_samples import INSPECTOR_SAMPLES as SAMPLES
from tests.unit.aws_samples import inspector_event as sample
from tests.unit.aws_samples import one_inspector as parse_one
from tests.unit.finding_mutations import (
    assert_parses_or_malformed,
    json_values,
    mutate,
    nested,
    paths,
    replacements,
)


@pytest.mark.parametrize("status", [None, "OPEN", 3, ""])
def test_a_missing_or_unknown_status_is_malformed(status: object) -> None:
    raw = sample()
    if status is None:
        del raw["detail"]["status"]
    else:
        raw["detail"]["status"] = status
    with pytest.raises(MalformedEvent, match=r"^detail\.status is not ACTIVE, SUPPRESSED or CLOSED$") as info:
        parse_inspector(raw)
    assert info.value.event_id == raw["id"]


def test_no_readable_date_anywhere_is_malformed() -> None:
    raw = sample()
    raw["detail"]["updatedAt"] = "soon"
    raw["time"] = "later"
    with pytest.raises(MalformedEvent, match="time is missing or not a date"):
        parse_inspector(raw)


@pytest.mark.parametrize("region", ["N/A", "evil.example/#", "eu-central-1.evil.example"])
def test_no_console_url_without_a_real_region(region: str) -> None:
    raw = sample()
    raw["detail"]["findingArn"] = f"arn:aws:inspector2:{region}:123456789012:finding/abc"
    raw["region"] = region
    snapshot = parse_one(raw)
    assert (snapshot.region, snapshot.console_url) == (region, "")


def test_hostile_sizes_are_capped() -> None:
    raw = sample()
    detail = raw["detail"]
    detail.update(title="t" * 2_000_000, description="\n" + "d" * 2_000_000)
    detail["resources"] = [{"id": f"i-{n}", "type": "AWS_EC2_INSTANCE"} for n in range(5000)]
    detail["resources"][0]["tags"] = {f"k{n}": "v" for n in range(5000)}
    detail["packageVulnerabilityDetails"]["relatedVulnerabilities"] = [
        f"CVE-2024-{n:05d}" for n in range(5000)
    ]
    snapshot = parse_one(raw)
    assert (len(snapshot.title), len(snapshot.description)) == (1_000, 10_000)
    assert (len(snapshot.entities), len(snapshot.tags)) == (1_000, 1_000)
    assert len(snapshot.cve_ids) == 1_000


def test_lone_surrogates_are_replaced_not_kept() -> None:
    raw = sample()
    raw["detail"]["title"] = "snapd \ud800 flaw"
    snapshot = parse_one(raw)
    assert snapshot.title == "snapd \ufffd flaw"
    snapshot.model_dump_json()


def test_deep_nesting_is_not_walked() -> None:
    raw = sample()
    raw["detail"]["resources"] = nested(100_000)
    raw["detail"]["networkReachabilityDetails"] = nested(100_000)
    assert parse_one(raw).entities == ()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda raw: raw.pop("detail"), "detail is missing or not a JSON object"),
        (lambda raw: raw.update(detail=[raw["detail"]]), "detail is missing or not a JSON object"),
        (
            lambda raw: raw.update({"detail-type": "Inspector2 Coverage"}),
            "detail-type is not 'Inspector2 Finding'",
        ),
        (lambda raw: raw["detail"].pop("findingArn"), "detail.findingArn is missing or not a string"),
        (lambda raw: raw["detail"].update(findingArn=" "), "detail.findingArn is missing or not a string"),
        (lambda raw: raw["detail"].update(findingArn="a" * 3000), "detail.findingArn is longer than 2048"),
    ],
)
def test_events_that_cannot_be_understood_are_malformed(change: Any, reason: str) -> None:
    raw = sample()
    change(raw)
    with pytest.raises(MalformedEvent) as info:
        parse_inspector(raw)
    assert info.value.reason.startswith(reason)
    assert info.value.event_id == "4d621919-f1f4-4201-a0e2-37e4e330ff51"


@pytest.mark.parametrize("raw", [None, [], "{}", 7])
def test_a_non_object_event_is_malformed(raw: Any) -> None:
    with pytest.raises(MalformedEvent, match="event must be a JSON object") as info:
        parse_inspector(raw)
    assert info.value.event_id is None


BASES = [(name, path) for name in SAMPLES for path in paths(sample(name))]


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(BASES), replacements, st.booleans())
def test_mutated_samples_parse_or_are_malformed(
    base: tuple[str, tuple[Any, ...]], value: object, delete: bool
) -> None:
    name, path = base
    assert_parses_or_malformed(parse_inspector, mutate(sample(name), path, value, delete))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_arbitrary_json_parses_or_is_malformed(raw: object) -> None:
    assert_parses_or_malformed(parse_inspector, raw)
