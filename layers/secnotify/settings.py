"""The one place that reads the process environment.

Every tunable lives here with its default, so the SAM template, the local runner and the
tests configure the code the same way: through environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_RETRY_LADDER = (0, 5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


def _bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    return raw in {"1", "true", "yes", "on"}


def _list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    table_name: str = "secnotify"
    retry_queue_url: str = ""
    dead_letter_queue_url: str = ""
    kms_key_id: str = ""
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 10.0
    retry_ladder_s: tuple[float, ...] = DEFAULT_RETRY_LADDER
    max_retry_after_s: float = 43200.0
    ssrf_guard_enabled: bool = True
    ssrf_allow_cidrs: tuple[str, ...] = ()
    max_payload_chars: int = 5000
    max_profiles: int = 200
    max_integrations: int = 1000
    fanout_concurrency: int = 64
    config_cache_ttl_s: float = 15.0
    delivery_record_ttl_days: int = 30
    claim_lease_s: float = 60.0
    max_request_body_bytes: int = 262144
    render_max_output_bytes: int = 1_048_576
    render_timeout_s: float = 1.0


def load_settings() -> Settings:
    ladder = _list("RETRY_LADDER_SECONDS")
    return Settings(
        table_name=os.environ.get("TABLE_NAME", "secnotify"),
        retry_queue_url=os.environ.get("RETRY_QUEUE_URL", ""),
        dead_letter_queue_url=os.environ.get("DEAD_LETTER_QUEUE_URL", ""),
        kms_key_id=os.environ.get("KMS_KEY_ID", ""),
        connect_timeout_s=_float("CONNECT_TIMEOUT_SECONDS", 5.0),
        read_timeout_s=_float("READ_TIMEOUT_SECONDS", 10.0),
        retry_ladder_s=tuple(float(x) for x in ladder) if ladder else DEFAULT_RETRY_LADDER,
        max_retry_after_s=_float("MAX_RETRY_AFTER_SECONDS", 43200.0),
        ssrf_guard_enabled=_bool("SSRF_GUARD_ENABLED", True),
        ssrf_allow_cidrs=_list("SSRF_ALLOW_CIDRS"),
        max_payload_chars=_int("MAX_PAYLOAD_CHARS", 5000),
        max_profiles=_int("MAX_PROFILES", 200),
        max_integrations=_int("MAX_INTEGRATIONS", 1000),
        fanout_concurrency=max(1, _int("FANOUT_CONCURRENCY", 64)),
        config_cache_ttl_s=_float("CONFIG_CACHE_TTL_SECONDS", 15.0),
        delivery_record_ttl_days=_int("DELIVERY_RECORD_TTL_DAYS", 30),
        claim_lease_s=_float("CLAIM_LEASE_SECONDS", 60.0),
        max_request_body_bytes=_int("MAX_REQUEST_BODY_BYTES", 262144),
        render_max_output_bytes=_int("RENDER_MAX_OUTPUT_BYTES", 1_048_576),
        render_timeout_s=_float("RENDER_TIMEOUT_SECONDS", 1.0),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process; tests call ``get_settings.cache_clear()`` after changing env."""
    return load_settings()
