"""The one place that reads the process environment.

Every tunable lives here with its default and its accepted range, so the SAM template, the
local runner and the tests configure the code the same way: through environment variables.
An empty variable counts as unset. A value out of range stops the function at its first
wiring with a message that names the variable and the value (README "Deploy").
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from secnotify.models.email import identity_problem, sender_address

DEFAULT_RETRY_LADDER = (0, 5, 30, 120, 600, 1800, 3600, 10800, 21600, 43200)
# No wait inside a function can outlast its invocation (Lambda's longest is 15 minutes).
LAMBDA_MAX_S = 900.0
WEEK_S = 7 * 86400.0
MAX_LADDER_STEPS = 100


class ConfigurationError(ValueError):
    """An environment variable holds a value the code cannot run with; the message names both."""


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


def _cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        raise ValueError("is not an IPv4 or IPv6 CIDR (expected e.g. 10.1.0.0/16 or fd00::/8)") from None
    return value


_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")


def _table_name(value: str) -> str:
    if not _TABLE_NAME.fullmatch(value):
        raise ValueError("is not a DynamoDB table name (3-255 letters, digits, '_', '-' or '.')")
    return value


def _queue_url(value: str) -> str:
    if value and not re.fullmatch(r"https?://[^\s/]+/\S*", value):
        raise ValueError("is not an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)")
    return value


def _email_identity(value: str) -> str:
    problem = identity_problem(value) if value else None
    if problem is not None:
        raise ValueError(f"{problem}: it names the verified SES identity mail is sent from")
    return value


_DYNATRACE_URL = re.compile(r"https?://[A-Za-z0-9.:\[\]-]+(/e/[A-Za-z0-9-]+)?/?")
_SECRET_ID = re.compile(r"[A-Za-z0-9/_+=.@:-]{1,2048}")
_BUS_NAME = re.compile(r"[A-Za-z0-9._/:-]{1,1600}")
_SOURCE_NAME = re.compile(r"[\x21-\x7e]{1,256}")


def _dynatrace_url(value: str) -> str:
    if value and not _DYNATRACE_URL.fullmatch(value):
        raise ValueError("is not a Dynatrace environment URL (https://<host>[/e/<environment>])")
    return value


def _pattern(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value and not pattern.fullmatch(value):
            raise ValueError(f"is not {what}")
        return value

    return AfterValidator(check)


CommaList = BeforeValidator(_comma_list)
Cidr = Annotated[str, AfterValidator(_cidr)]
Port = Annotated[int, Field(ge=1, le=65535)]
LadderStep = Annotated[float, Field(ge=0, le=WEEK_S)]
QueueUrl = Annotated[str, AfterValidator(_queue_url)]

# Why each value that may be empty in the model must not be where it is required.
_REQUIRED_BECAUSE = {
    "kms_key_id": "secret header values and signing secrets are sealed with this KMS key",
    "retry_queue_url": "the dispatcher schedules every retry on this queue",
    "dead_letter_queue_url": "the dispatcher sends what it gives up on to this queue",
    "dynatrace_environment_url": "the Dynatrace poller reads this environment",
    "dynatrace_token_secret_arn": "the Dynatrace poller reads its API token from this secret",
}


class Settings(BaseModel):
    """Validated settings; the aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid", allow_inf_nan=False)

    table_name: Annotated[str, AfterValidator(_table_name)] = Field("secnotify", alias="TABLE_NAME")
    retry_queue_url: QueueUrl = Field("", alias="RETRY_QUEUE_URL")
    dead_letter_queue_url: QueueUrl = Field("", alias="DEAD_LETTER_QUEUE_URL")
    kms_key_id: str = Field("", alias="KMS_KEY_ID")  # required by load_settings
    connect_timeout_s: float = Field(5.0, alias="CONNECT_TIMEOUT_SECONDS", gt=0, le=LAMBDA_MAX_S)
    read_timeout_s: float = Field(10.0, alias="READ_TIMEOUT_SECONDS", gt=0, le=LAMBDA_MAX_S)
    retry_ladder_s: Annotated[tuple[LadderStep, ...], CommaList] = Field(
        DEFAULT_RETRY_LADDER, alias="RETRY_LADDER_SECONDS", min_length=1, max_length=MAX_LADDER_STEPS
    )
    max_retry_after_s: float = Field(43200.0, alias="MAX_RETRY_AFTER_SECONDS", ge=0, le=WEEK_S)
    ssrf_allow_cidrs: Annotated[tuple[Cidr, ...], CommaList] = Field((), alias="SSRF_ALLOW_CIDRS")
    # Ports of this machine's own services (the local stack's endpoint and API) that no webhook
    # may reach even where loopback is allowed; empty in AWS.
    ssrf_deny_ports: Annotated[tuple[Port, ...], CommaList] = Field((), alias="SSRF_DENY_PORTS")
    # Webhook hosts whose keep-alive pools are kept between events (least recently used go first).
    http_pool_hosts: int = Field(1000, alias="HTTP_POOL_HOSTS", ge=1, le=100_000)
    max_payload_chars: int = Field(5000, alias="MAX_PAYLOAD_CHARS", ge=1, le=1_000_000)
    max_profiles: int = Field(200, alias="MAX_PROFILES", ge=1, le=1_000_000)
    max_integrations: int = Field(1000, alias="MAX_INTEGRATIONS", ge=1, le=1_000_000)
    fanout_concurrency: int = Field(64, alias="FANOUT_CONCURRENCY", ge=1, le=1024)
    config_cache_ttl_s: float = Field(15.0, alias="CONFIG_CACHE_TTL_SECONDS", ge=0, le=86400)
    # Past the TTL the cached configuration is served while one thread reloads it, up to this age;
    # older, events wait for the load. At or below the TTL every reload is waited for.
    config_max_age_s: float = Field(60.0, alias="CONFIG_MAX_AGE_SECONDS", ge=0, le=86400)
    delivery_record_ttl_days: int = Field(30, alias="DELIVERY_RECORD_TTL_DAYS", ge=1, le=3650)
    claim_lease_s: float = Field(60.0, alias="CLAIM_LEASE_SECONDS", gt=0, le=LAMBDA_MAX_S)
    # Outcome batches of one event written at once, each on its own thread beside the fan-out.
    outcome_write_concurrency: int = Field(6, alias="OUTCOME_WRITE_CONCURRENCY", ge=1, le=64)
    # Notification states per DynamoDB partition key in one event: larger fan-outs get more keys.
    claims_per_shard: int = Field(250, alias="CLAIMS_PER_SHARD", ge=1, le=1000)
    # API Gateway refuses bodies over 10 MB before we see them.
    max_request_body_bytes: int = Field(262144, alias="MAX_REQUEST_BODY_BYTES", ge=1, le=10 * 1024 * 1024)
    render_max_output_bytes: int = Field(
        1_048_576, alias="RENDER_MAX_OUTPUT_BYTES", ge=1, le=16 * 1024 * 1024
    )
    render_timeout_s: float = Field(1.0, alias="RENDER_TIMEOUT_SECONDS", gt=0, le=30)
    # AWS findings created longer ago than this are recorded without a notification on first
    # sight (an install into a busy account skips the catch-up); 0 notifies every one.
    source_baseline_hours: float = Field(0.0, alias="SOURCE_BASELINE_HOURS", ge=0, le=24 * 3650)
    # The verified SES identity (an address, or a domain sent from as secnotify@<domain>) that
    # EMAIL integrations send from; empty turns email off.
    email_sender_identity: Annotated[str, AfterValidator(_email_identity)] = Field(
        "", alias="EMAIL_SENDER_IDENTITY"
    )

    # Dynatrace ingest (README "Dynatrace ingest"): the environment polled, the Secrets Manager
    # secret holding its API token, and what one poll may spend.
    dynatrace_environment_url: Annotated[str, AfterValidator(_dynatrace_url)] = Field(
        "", alias="DYNATRACE_ENVIRONMENT_URL"
    )
    dynatrace_token_secret_arn: Annotated[
        str, _pattern(_SECRET_ID, "a Secrets Manager secret ARN or name")
    ] = Field("", alias="DYNATRACE_TOKEN_SECRET_ARN")
    # Plain http to a loopback host (the local fake); never set in AWS.
    dynatrace_allow_loopback_http: bool = Field(False, alias="DYNATRACE_ALLOW_LOOPBACK_HTTP")
    dynatrace_request_budget: int = Field(500, alias="DYNATRACE_REQUEST_BUDGET", ge=1, le=100_000)
    dynatrace_page_size: int = Field(500, alias="DYNATRACE_PAGE_SIZE", ge=1, le=500)
    # Where the poller puts its canonical events: the bus and source the dispatcher's rule matches.
    event_bus_name: Annotated[str, _pattern(_BUS_NAME, "an EventBridge event bus name or ARN")] = Field(
        "default", alias="EVENT_BUS_NAME"
    )
    event_source_name: Annotated[str, _pattern(_SOURCE_NAME, "an EventBridge source (no spaces)")] = Field(
        "secnotify", alias="EVENT_SOURCE_NAME"
    )

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from variables named by the aliases; empty ones keep their default."""
        raw = {
            field.alias: environ[field.alias].strip()
            for field in cls.model_fields.values()
            if field.alias and environ.get(field.alias, "").strip()
        }
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            raise ConfigurationError(_explain(exc, raw)) from None

    def replace(self, **changes: Any) -> Settings:
        """A copy with ``changes`` (by attribute name), validated like the environment."""
        try:
            return type(self).model_validate({**self.model_dump(), **changes})
        except ValidationError as exc:
            raise ConfigurationError(_explain(exc, {})) from None

    def require(self, *names: str) -> Settings:
        """These settings, or ConfigurationError naming each of ``names`` that is empty."""
        missing = [
            f"{env_name(name)} is empty: {_REQUIRED_BECAUSE.get(name, 'it is required here')}"
            for name in names
            if not getattr(self, name)
        ]
        if missing:
            raise ConfigurationError("; ".join(missing))
        return self

    @property
    def worst_send_s(self) -> float:
        """The longest one attempt can take: connect, read, and a margin to sign and record it."""
        return self.connect_timeout_s + self.read_timeout_s + 5

    @property
    def state_ttl_s(self) -> int:
        """How long state items and stored events are kept: past the longest retry chain, plus a day."""
        ladder = self.retry_ladder_s
        return int(sum(ladder) + len(ladder) * self.max_retry_after_s) + 86400

    @property
    def email_from(self) -> str | None:
        """The From address of every email, or None when email is off."""
        return sender_address(self.email_sender_identity) if self.email_sender_identity else None

    @property
    def render_worker_environment(self) -> dict[str, str]:
        """The environment a template render process starts with (no credentials)."""
        return sandboxed_process_environment()

    def for_dynatrace(self) -> Settings:
        """The Dynatrace poller cannot run without its environment and its token."""
        return self.require("dynatrace_environment_url", "dynatrace_token_secret_arn")

    def for_dispatcher(self) -> Settings:
        """The dispatcher cannot retry or give up without its queues."""
        return self.require("retry_queue_url", "dead_letter_queue_url")


def env_name(name: str) -> str:
    """The environment variable behind a settings attribute (or the name itself)."""
    field = Settings.model_fields.get(name)
    return field.alias if field is not None and field.alias else name


_REASONS = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "int_type": "is not a whole number",
    "float_parsing": "is not a number",
    "float_type": "is not a number",
    "finite_number": "is not a finite number",
    "string_type": "is not text",
    "tuple_type": "is not a comma-separated list",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "too_short": "lists too few values (at least {min_length})",
    "too_long": "lists too many values (at most {max_length})",
    "extra_forbidden": "is not a setting",
    "bool_parsing": "is not true or false",
}


def _reason(error: Mapping[str, Any]) -> str:
    ctx = error.get("ctx") or {}
    if error["type"] == "value_error":
        return str(ctx.get("error", "is not valid"))
    template = _REASONS.get(error["type"], "is not valid")
    return template.format(
        **{key: f"{value:g}" if isinstance(value, float) else value for key, value in ctx.items()}
    )


def _explain(exc: ValidationError, raw: Mapping[str, str]) -> str:
    """One line per bad value, ``NAME: 'value' reason``, with nothing of pydantic's wording."""
    errors = exc.errors(include_url=False)
    # a bad item also makes its list look short: name the item only
    bad_items = {error["loc"][0] for error in errors if len(error["loc"]) > 1}
    lines = []
    for error in errors:
        loc = error["loc"]
        if error["type"] == "too_short" and loc and loc[0] in bad_items:
            continue
        name = env_name(str(loc[0])) if loc else "settings"
        # a list item names the item; a whole value names what the environment held
        value = error["input"] if len(loc) > 1 or name not in raw else raw[name]
        lines.append(f"{name}: {value!r} {_reason(error)}")
    return "; ".join(lines)


def load_settings() -> Settings:
    """Settings from the environment; raises ``ConfigurationError`` naming any unusable value, so
    a misconfigured function fails at its first wiring with that message."""
    return Settings.from_environment(os.environ).require("kms_key_id")


def sandboxed_process_environment() -> dict[str, str]:
    """The environment for a process that runs templates: what Python needs, no credentials or
    configuration (AWS keys, the KMS key id, queue URLs)."""
    keep = ("PATH", "LANG", "LC_ALL", "TZ", "PYTHONHASHSEED", "LD_LIBRARY_PATH")
    return {name: value for name, value in os.environ.items() if name in keep}


# Powertools' reading of a boolean variable (aws_lambda_powertools.shared.functions.strtobool).
_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})
_FALSE = frozenset({"0", "n", "no", "f", "false", "off"})


def tracing_enabled() -> bool:
    """Whether the handlers trace with X-Ray: ``POWERTOOLS_TRACE_DISABLED``, which the template
    sets from its ``Tracing`` parameter, read as Powertools reads it. Decided at import, before
    any settings: the Tracer imports the X-Ray SDK, which an untraced cold start does not need."""
    value = os.environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() or "false"
    if value not in _TRUE | _FALSE:
        raise ConfigurationError(f"POWERTOOLS_TRACE_DISABLED: {value!r} is not true or false")
    return value in _FALSE


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings for this process; tests call ``get_settings.cache_clear()`` after changing env."""
    return load_settings()
