"""The date forms AWS security services use in findings, and what is not a date."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secnotify.sources.dates import parse_date


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Inspector's current samples (Java Date.toString with milliseconds)
        ("Wed Sep 04 16:59:44.356 UTC 2024", datetime(2024, 9, 4, 16, 59, 44, 356000, tzinfo=UTC)),
        # Inspector's and ECR's older samples, 12-hour clock, no zone: UTC
        ("Jan 19, 2023, 10:46:15 PM", datetime(2023, 1, 19, 22, 46, 15, tzinfo=UTC)),
        ("Dec 3, 2021, 6:02:30 PM", datetime(2021, 12, 3, 18, 2, 30, tzinfo=UTC)),
        ("Oct 16, 2019, 12:00:00 AM", datetime(2019, 10, 16, 0, 0, 0, tzinfo=UTC)),
        ("Mar 31, 2023, 19:48:33.000", datetime(2023, 3, 31, 19, 48, 33, tzinfo=UTC)),
        # ISO 8601: Z, offsets with and without a colon, micro- and milliseconds
        ("2026-06-12T01:30:00.000Z", datetime(2026, 6, 12, 1, 30, tzinfo=UTC)),
        ("2023-01-20T22:51:35.665501Z", datetime(2023, 1, 20, 22, 51, 35, 665501, tzinfo=UTC)),
        ("2017-11-01T21:31:05.542+0000", datetime(2017, 11, 1, 21, 31, 5, 542000, tzinfo=UTC)),
        ("2024-01-01T02:00:00+02:00", datetime(2024, 1, 1, 0, 0, tzinfo=UTC)),
    ],
)
def test_documented_forms_are_read_as_utc(text: str, expected: datetime) -> None:
    assert parse_date(text) == expected


def test_epoch_milliseconds_and_seconds() -> None:
    # OCSF times are epoch milliseconds
    assert parse_date(1700000000000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert parse_date(1700000000) == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        "",
        "   ",
        "yesterday",
        "2024-13-45",
        [],
        {},
        "x" * 100,
        10**30,
        10**400,
        "9999-12-31T23:59:59-01:00",
    ],
)
def test_anything_else_is_not_a_date(value: object) -> None:
    assert parse_date(value) is None


@given(st.one_of(st.text(max_size=80), st.integers(), st.floats(), st.none(), st.booleans()))
def test_never_raises(value: object) -> None:
    result = parse_date(value)
    assert result is None or result.tzinfo is not None
