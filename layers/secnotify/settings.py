"""The one place that reads the process environment.

Every tunable lives here with its default, so the SAM template, the local runner and the
tests configure the code the same way: through environment variables.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from functools import lru_cache

DEFAULT_RETRY_LADDER = (0, 5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200)


class ConfigurationError(ValueError):
    """An environment variable holds a value the code cannot run with; the message names both."""


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    try:
        return int(raw) if raw else default
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number") from None


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None


def _list(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def _cidrs(name: str) -> tuple[str, ...]:
    cidrs = _list(name)
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"{name}: {cidr!r} is not an IPv4 or IPv6 CIDR (expected e.g. 10.1.0.0/16 or fd00::/8)"
            ) from None
    return cidrs


def _ports(name: str) -> tuple[int, ...]:
    ports: list[int] = []
    for part in _list(name):
        if not (part.isascii() and part.isdigit() and 1 <= int(part) <= 65535):
            raise ConfigurationError(f"{name}: {part!r} is not a TCP port (1-65535)")
        ports.append(int(part))
    return tuple(ports)


def _required(name: str, why: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"{name} is empty: {why}")
    return value


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
    ssrf_allow_cidrs: tuple[str, ...] = ()
    # Ports of this machine's own services (the local stack's endpoint and API) that no webhook
    # may reach even where loopback is allowed; empty in AWS.
    ssrf_deny_ports: tuple[int, ...] = ()
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
    """Settings from the environment; raises ``ConfigurationError`` naming any unusable value, so
    a misconfigured function fails at its first wiring with that message."""
    ladder = _list("RETRY_LADDER_SECONDS")
    try:
        retry_ladder = tuple(float(x) for x in ladder) if ladder else DEFAULT_RETRY_LADDER
    except ValueError:
        raise ConfigurationError(
            f"RETRY_LADDER_SECONDS={','.join(ladder)!r} is not a list of numbers"
        ) from None
    return Settings(
        table_name=os.environ.get("TABLE_NAME", "secnotify"),
        retry_queue_url=os.environ.get("RETRY_QUEUE_URL", ""),
        dead_letter_queue_url=os.environ.get("DEAD_LETTER_QUEUE_URL", ""),
        kms_key_id=_required(
            "KMS_KEY_ID", "secret header values and signing secrets are sealed with this KMS key"
        ),
        connect_timeout_s=_float("CONNECT_TIMEOUT_SECONDS", 5.0),
        read_timeout_s=_float("READ_TIMEOUT_SECONDS", 10.0),
        retry_ladder_s=retry_ladder,
        max_retry_after_s=_float("MAX_RETRY_AFTER_SECONDS", 43200.0),
        ssrf_allow_cidrs=_cidrs("SSRF_ALLOW_CIDRS"),
        ssrf_deny_ports=_ports("SSRF_DENY_PORTS"),
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


def sandboxed_process_environment() -> dict[str, str]:
    """The environment for a process that runs templates: what Python needs, no credentials or
    configuration (AWS keys, the KMS key id, queue URLs)."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED", "LD_LIBRARY_PATH")
    return {name: value for name, value in os.environ.items() if name in keep}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process; tests call ``get_settings.cache_clear()`` after changing env."""
    return load_settings()
