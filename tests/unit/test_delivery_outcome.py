"""Outcome classification, the retry ladder and Retry-After parsing (README "Delivery")."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from secnotify.delivery import classify, next_delay, parse_retry_after
from secnotify.settings import DEFAULT_RETRY_LADDER


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (200, None, (True, False)),
        (201, None, (True, False)),
        (204, None, (True, False)),
        (299, None, (True, False)),
        (301, None, (False, False)),
        (302, None, (False, False)),
        (304, None, (False, False)),
        (400, None, (False, False)),
        (401, None, (False, False)),
        (403, None, (False, False)),
        (404, None, (False, False)),
        (410, None, (False, False)),
        (413, None, (False, False)),
        (408, None, (False, True)),
        (425, None, (False, True)),
        (429, None, (False, True)),
        (500, None, (False, True)),
        (502, None, (False, True)),
        (503, None, (False, True)),
        (599, None, (False, True)),
        (None, "timeout", (False, True)),
        (None, "connection", (False, True)),
        (None, "tls", (False, True)),
        (None, "dns", (False, True)),
        (None, "blocked", (False, False)),
        (None, "invalid", (False, False)),
        (None, "something-new", (False, True)),
    ],
)
def test_classify(status: int | None, kind: str | None, expected: tuple[bool, bool]) -> None:
    assert classify(status, kind) == expected


LADDER = (0.0, 5.0, 30.0, 120.0)


@pytest.mark.parametrize(
    ("attempt", "retry_after", "expected"),
    [
        (1, None, 5.0),
        (2, None, 30.0),
        (3, None, 120.0),
        (4, None, None),
        (9, None, None),
        (1, 60.0, 60.0),  # Retry-After lengthens the wait
        (2, 10.0, 30.0),  # ... but never shortens it
        (1, 10_000.0, 600.0),  # ... and is capped
        (1, -5.0, 5.0),
        (1, float("inf"), 5.0),
        (4, 60.0, None),  # an exhausted ladder stays exhausted
    ],
)
def test_next_delay(attempt: int, retry_after: float | None, expected: float | None) -> None:
    assert next_delay(attempt, LADDER, retry_after, 600.0) == expected


def test_default_ladder_has_ten_attempts() -> None:
    delays = [next_delay(n, DEFAULT_RETRY_LADDER, None, 43200.0) for n in range(1, 11)]
    assert delays == [5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200, None]


def test_next_delay_rejects_attempt_zero() -> None:
    with pytest.raises(ValueError):
        next_delay(0, LADDER, None, 600.0)


NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (format_datetime(datetime.fromtimestamp(NOW + 90, tz=UTC), usegmt=True), 90.0),
        ("Tue, 14 Nov 2023 22:13:20 GMT", 0.0),  # exactly now
        ("Tue, 14 Nov 2023 22:14:20 -0000", 60.0),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),  # in the past: retry at once
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("Mon, 99 Foo 2023 25:61:61 GMT", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected
