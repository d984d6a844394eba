"""What a delivery attempt's result means, and when to try again (README "Delivery")."""

from __future__ import annotations

import email.utils
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC

# Error kinds the sender reports; classify() maps them to retry decisions.
ERROR_TIMEOUT = "timeout"
ERROR_CONNECTION = "connection"
ERROR_TLS = "tls"
ERROR_DNS = "dns"
ERROR_PROTOCOL = "protocol"
ERROR_BLOCKED = "blocked"
ERROR_INVALID = "invalid"

# Problems with the request itself: sending it again cannot help.
_PERMANENT_KINDS = frozenset({ERROR_BLOCKED, ERROR_INVALID})
_RETRYABLE_STATUSES = frozenset({408, 425, 429})
_DELTA_SECONDS = re.compile(r"^\d+(\.\d+)?$")


@dataclass(frozen=True)
class DeliveryOutcome:
    delivered: bool
    retryable: bool
    status_code: int | None
    latency_ms: float
    error: str | None
    response_body: str
    retry_after_s: float | None
    # The answer of a delivered request as read (up to 64 KB), unmasked: for the receiver
    # reference it may carry, never recorded or logged.
    answer: str = field(default="", repr=False)

    @classmethod
    def failed(
        cls, error: str, retryable: bool, status_code: int | None = None, latency_ms: float = 0.0
    ) -> DeliveryOutcome:
        """A notification that was not delivered: never sent, or refused without a webhook answer."""
        return cls(
            delivered=False,
            retryable=retryable,
            status_code=status_code,
            latency_ms=latency_ms,
            error=error,
            response_body="",
            retry_after_s=None,
        )


def classify(status_code: int | None, error_kind: str | None) -> tuple[bool, bool]:
    """``(delivered, retryable)`` for an HTTP status or an error kind.

    An error kind wins over a status. Unknown error kinds are retried: a transient fault we did
    not foresee should not drop a security notification.
    """
    if error_kind is not None:
        return False, error_kind not in _PERMANENT_KINDS
    if status_code is None:
        return False, True
    if 200 <= status_code < 300:
        return True, False
    if status_code in _RETRYABLE_STATUSES or 500 <= status_code < 600:
        return False, True
    return False, False


def next_delay(
    attempt: int,
    ladder: Sequence[float],
    retry_after_s: float | None,
    max_retry_after_s: float,
) -> float | None:
    """Seconds to wait before the attempt after ``attempt`` (1-based), or ``None`` when out of attempts.

    ``ladder[i]`` is the delay before attempt ``i + 1``, so ``ladder[0]`` (normally 0) is the first
    send. A ``Retry-After`` can lengthen the wait, up to ``max_retry_after_s``, never shorten it.
    """
    if attempt < 1:
        raise ValueError("attempt is 1-based")
    if attempt >= len(ladder):
        return None
    delay = max(0.0, float(ladder[attempt]))
    if retry_after_s is not None and math.isfinite(retry_after_s):
        delay = max(delay, min(max(0.0, retry_after_s), max_retry_after_s))
    return delay


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds from ``now`` (unix time) that a ``Retry-After`` value asks for; ``None`` if unusable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _DELTA_SECONDS.match(text):
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        # "-0000" yields a zone-less date; RFC 9110 dates are GMT, so read it as UTC.
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
