"""The date formats AWS security services put in their findings (README "Findings from AWS
security services"): Inspector's detail dates are not ISO 8601, and changed form over time."""

from __future__ import annotations

from datetime import UTC, datetime

# Inspector: "Wed Sep 04 16:59:44.356 UTC 2024", "Jan 19, 2023, 10:46:15 PM", and the
# 24-hour form with milliseconds. Dates without a zone are UTC, as their envelope's time shows.
_FORMATS = (
    "%a %b %d %H:%M:%S.%f UTC %Y",
    "%a %b %d %H:%M:%S UTC %Y",
    "%b %d, %Y, %I:%M:%S %p",
    "%b %d, %Y, %H:%M:%S.%f",
    "%b %d, %Y, %H:%M:%S",
)
# Epoch seconds before this are read as seconds, after it as milliseconds (OCSF uses ms).
_MS_THRESHOLD = 100_000_000_000


def parse_date(value: object) -> datetime | None:
    """``value`` as an aware UTC datetime, or None when it is not a date in a known form."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            return _from_epoch(float(value))
        except OverflowError:  # an int too large for a float
            return None
    if not isinstance(value, str) or not value.strip() or len(value) > 64:
        return None
    text = value.strip()
    parsed = _from_iso(text)
    if parsed is None:
        parsed = _from_formats(text)
    return parsed


def _from_epoch(number: float) -> datetime | None:
    seconds = number / 1000 if abs(number) >= _MS_THRESHOLD else number
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _from_iso(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    try:
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:  # year 9999 with a negative offset is past datetime.max in UTC
        return None


def _from_formats(text: str) -> datetime | None:
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None
