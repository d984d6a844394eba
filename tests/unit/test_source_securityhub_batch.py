"""Security Hub sources, both formats' shared rules on the ASFF parser: batches with unreadable
findings, malformed envelopes, missing fields, dates, caps and hostile values."""

from __future__ import annotations

from typing import Any

import pytest

from secnotify.models.common import EventRiskLevel
from secnotify.models.finding import FindingSource, FindingStatus
from secnotify.sources.eventbridge import MalformedEvent
from secnotify.sources.securityhub_asff import parse_securityhub_asff
from tests.unit.aws_samples import (
    asff_event,
    asff_finding,
    guardduty_asff,
    inspector_asff,
    one_asff,
    utc,
)

# --- batches, missing fields, dates --------------------------------------------------------------


def test_several_findings_each_become_a_snapshot() -> None:
    snapshots = parse_securityhub_asff(asff_event(asff_finding(), inspector_asff(), guardduty_asff()))
    assert [s.source for s in snapshots] == [
        FindingSource.SECURITY_HUB,
        FindingSource.INSPECTOR,
        FindingSource.GUARDDUTY,
    ]
    assert snapshots.skipped == ()  # type: ignore[attr-defined]


def test_unreadable_finding_is_skipped_with_its_reason() -> None:
    snapshots = parse_securityhub_asff(asff_event("nope", {"Id": 7}, asff_finding()))
    assert [s.display_id for s in snapshots] == ["SHB-EXAMPLE11111"]
    assert snapshots.skipped == (  # type: ignore[attr-defined]
        "findings[0]: not a JSON object",
        "findings[1]: Id is missing or not a string",
    )


def test_no_readable_finding_is_malformed_with_the_reasons() -> None:
    secret = "SECRET-" + "x" * 3000
    with pytest.raises(MalformedEvent) as caught:
        parse_securityhub_asff(asff_event({"Title": "t"}, {"Id": secret}))
    assert caught.value.reason == (
        "no readable finding: findings[0]: Id is missing or not a string; "
        "findings[1]: Id is longer than 2048 characters"
    )
    assert caught.value.event_id == "8e5622f9-d81c-4d81-612a-9319e7ee2506"
    assert "SECRET" not in caught.value.reason


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda e: e.update({"detail-type": "Security Hub Findings - Custom Action"}), "detail-type is not"),
        (lambda e: e.update(detail=[]), "detail is missing or not a JSON object"),
        (lambda e: e.pop("detail"), "detail is missing or not a JSON object"),
        (lambda e: e["detail"].update(findings=[]), "detail.findings must be a non-empty list"),
        (lambda e: e["detail"].update(findings={"Id": "x"}), "detail.findings must be a non-empty list"),
    ],
)
def test_malformed_envelopes(mutate: Any, reason: str) -> None:
    event = asff_event()
    mutate(event)
    with pytest.raises(MalformedEvent, match=reason):
        parse_securityhub_asff(event)


@pytest.mark.parametrize("raw", [None, [], "{}", 3])
def test_non_object_event_is_malformed(raw: Any) -> None:
    with pytest.raises(MalformedEvent, match="event must be a JSON object"):
        parse_securityhub_asff(raw)


def test_minimal_finding_takes_every_default() -> None:
    [s] = parse_securityhub_asff(asff_event({"Id": "finding-1"}))
    assert (s.source, s.display_id, s.status) == (
        FindingSource.SECURITY_HUB,
        "SHB-finding-1",
        FindingStatus.ACTIVE,
    )
    # No UpdatedAt: the envelope's time; no account or region in the finding: the envelope's.
    assert s.updated_at == utc("2021-09-28T16:10:10")
    assert (s.created_at, s.title, s.risk_level, s.risk_score) == (None, "", EventRiskLevel.NONE, None)
    assert (s.account_id, s.account_name, s.region) == ("123456789012", "123456789012", "us-east-2")
    assert (s.entities, s.tags, s.cve_ids, s.finding_type, s.technology) == ((), (), (), "", "")


def test_no_update_time_anywhere_skips_the_finding() -> None:
    with pytest.raises(MalformedEvent, match="no update time"):
        parse_securityhub_asff(asff_event({"Id": "finding-1", "UpdatedAt": "yesterday"}, time=None))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-09-30T12:14:00.206Z", "2020-09-30T12:14:00.206"),
        ("2020-08-22T09:15:57Z", "2020-08-22T09:15:57"),
        ("2017-11-01T21:31:05.542+0000", "2017-11-01T21:31:05.542"),
        ("2020-08-22T11:15:57+02:00", "2020-08-22T09:15:57"),
        ("not a date", "2021-09-28T16:10:10"),  # unreadable: the envelope's time
    ],
)
def test_asff_dates(value: str, expected: str) -> None:
    finding = asff_finding()
    finding["UpdatedAt"] = value
    finding["FirstObservedAt"] = value
    s = one_asff(finding)
    assert s.updated_at == utc(expected)
    assert s.created_at == (utc(expected) if value != "not a date" else utc("2020-08-06T02:18:23.076"))


# --- caps and hostile values ---------------------------------------------------------------------


def test_strings_and_lists_are_capped() -> None:
    finding = asff_finding()
    finding["Title"] = "t" * 50_000
    finding["Description"] = "d" * 50_000
    finding["Resources"] = [{"Id": f"r-{i}", "Tags": {f"k{i}": "v"}} for i in range(5_000)]
    finding["Vulnerabilities"] = [{"Id": f"CVE-2024-{i}"} for i in range(5_000)]
    s = one_asff(finding)
    assert (len(s.title), len(s.description)) == (1_000, 10_000)
    assert (len(s.entities), len(s.tags), len(s.cve_ids)) == (1_000, 1_000, 1_000)


def test_lone_surrogate_in_text_is_replaced_and_in_id_is_refused() -> None:
    finding = asff_finding()
    finding["Title"] = "bad \ud800 title"
    s = one_asff(finding)
    assert s.title == "bad \ufffd title"
    s.model_dump_json()
    with pytest.raises(MalformedEvent, match="Id is not valid Unicode"):
        parse_securityhub_asff(asff_event({"Id": "a\udfffb"}))


@pytest.mark.parametrize("region", ["cn-north-1", "us-gov-west-1", "evil.example/x?", "", "us-east-1.evil"])
def test_no_console_link_outside_the_commercial_partition(region: str) -> None:
    finding = asff_finding()
    finding["Region"] = region
    event = asff_event(finding)
    event["region"] = region
    [s] = parse_securityhub_asff(event)
    assert s.console_url == ""
