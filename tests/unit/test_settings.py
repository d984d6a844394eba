"""Settings refuse values the code cannot run with, at load time, naming the variable and the value."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.cfn import load_template, resources_of_type
from local.lambda_runtime import LocalContext, sqs_event
from secnotify.service import wiring
from secnotify.settings import ConfigurationError, Settings, load_settings
from secnotify.storage.secrets import SecretBox, UnsealedSecret
from tests.unit.template_env import traced_environment

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def fresh_wiring() -> Iterator[None]:
    wiring.reset()
    yield
    wiring.reset()


@pytest.mark.parametrize("value", ["10.0.0.0/33", "10.1.0.0/16,not-a-cidr", "::1/129", "10.0.0.0/8;"])
def test_bad_ssrf_allow_cidrs_are_refused_naming_the_variable_and_value(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("SSRF_ALLOW_CIDRS", value)
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    message = str(refused.value)
    assert "SSRF_ALLOW_CIDRS" in message
    bad = next(part for part in value.split(",") if part not in ("10.1.0.0/16",))
    assert bad in message


def test_good_ssrf_allow_cidrs_load(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSRF_ALLOW_CIDRS", " 10.1.0.0/16 , fd00::/8,10.1.2.3/16")
    assert load_settings().ssrf_allow_cidrs == ("10.1.0.0/16", "fd00::/8", "10.1.2.3/16")


def test_functions_fail_at_wiring_with_the_configuration_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSRF_ALLOW_CIDRS", "10.0.0.0/33")
    for build in (wiring.dispatcher, wiring.api_services):
        with pytest.raises(ConfigurationError, match=r"SSRF_ALLOW_CIDRS: '10\.0\.0\.0/33' is not"):
            build()


def test_dispatcher_handler_stops_with_the_configuration_message(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.dispatcher.app import lambda_handler

    monkeypatch.setenv("SSRF_ALLOW_CIDRS", "10.0.0.0/33")
    event = {"id": "e-1", "source": "secnotify", "detail-type": "Security Problem Opened", "detail": {}}
    with pytest.raises(ConfigurationError, match="SSRF_ALLOW_CIDRS"):
        lambda_handler(event, LocalContext())


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_kms_key_id_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("KMS_KEY_ID", value)
    with pytest.raises(ConfigurationError, match="KMS_KEY_ID is empty"):
        load_settings()
    monkeypatch.delenv("KMS_KEY_ID")
    with pytest.raises(ConfigurationError, match="KMS_KEY_ID is empty"):
        load_settings()


def test_secret_box_has_no_plaintext_mode() -> None:
    with pytest.raises(ValueError, match="KMS"):
        SecretBox("table", "")
    box = SecretBox("table", "alias/some-key")
    # A value that was never sealed is refused like a tampered one, not passed through.
    with pytest.raises(UnsealedSecret):
        box.open("Bearer plain-text-token", "integration-1|header:authorization")


@pytest.mark.parametrize(("value", "ports"), [("", ()), ("4566", (4566,)), (" 4566, 3000 ", (4566, 3000))])
def test_ssrf_deny_ports_load(monkeypatch: pytest.MonkeyPatch, value: str, ports: tuple[int, ...]) -> None:
    monkeypatch.setenv("SSRF_DENY_PORTS", value)
    assert load_settings().ssrf_deny_ports == ports


@pytest.mark.parametrize("value", ["0", "65536", "http", "4566:1", "-1", "٤٥"])
def test_bad_ssrf_deny_ports_are_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("SSRF_DENY_PORTS", value)
    with pytest.raises(ConfigurationError, match="SSRF_DENY_PORTS"):
        load_settings()


@pytest.mark.parametrize(
    ("name", "value"),
    [("FANOUT_CONCURRENCY", "many"), ("READ_TIMEOUT_SECONDS", "ten"), ("RETRY_LADDER_SECONDS", "0,5,x")],
)
def test_unparsable_numbers_name_their_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        load_settings()


# ---- every variable, validated by the model -------------------------------------------------

# One unusable value per variable; the message must name the variable and this value.
BAD = {
    "TABLE_NAME": "my table",
    "RETRY_QUEUE_URL": "retry-queue",
    "DEAD_LETTER_QUEUE_URL": "ftp://example.com/dlq",
    "KMS_KEY_ID": " ",
    "CONNECT_TIMEOUT_SECONDS": "0",
    "READ_TIMEOUT_SECONDS": "nan",
    "RETRY_LADDER_SECONDS": "0,5,-1",
    "MAX_RETRY_AFTER_SECONDS": "-5",
    "SSRF_ALLOW_CIDRS": "10.0.0.0/33",
    "SSRF_DENY_PORTS": "70000",
    "HTTP_POOL_HOSTS": "0",
    "MAX_PAYLOAD_CHARS": "0",
    "MAX_PROFILES": "1.5",
    "MAX_INTEGRATIONS": "-1",
    "FANOUT_CONCURRENCY": "0",
    "CONFIG_CACHE_TTL_SECONDS": "-1",
    "CONFIG_MAX_AGE_SECONDS": "-1",
    "DELIVERY_RECORD_TTL_DAYS": "0",
    "CLAIM_LEASE_SECONDS": "0",
    "OUTCOME_WRITE_CONCURRENCY": "0",
    "CLAIMS_PER_SHARD": "1001",
    "MAX_REQUEST_BODY_BYTES": "20000000",
    "RENDER_MAX_OUTPUT_BYTES": "0",
    "RENDER_TIMEOUT_SECONDS": "inf",
    "SOURCE_BASELINE_HOURS": "-1",
    "EMAIL_SENDER_IDENTITY": "Alerts <alerts@example.com>",
    "DYNATRACE_ENVIRONMENT_URL": "ftp://abc.live.dynatrace.com",
    "DYNATRACE_TOKEN_SECRET_ARN": "my token secret",
    "DYNATRACE_ALLOW_LOOPBACK_HTTP": "maybe",
    "DYNATRACE_REQUEST_BUDGET": "0",
    "DYNATRACE_PAGE_SIZE": "501",
    "EVENT_BUS_NAME": "my bus",
    "EVENT_SOURCE_NAME": "my source",
}
PYDANTIC_WORDS = ("pydantic", "validation error", "Input should", "input_value", "type=", "errors.pydantic")


def test_every_variable_has_a_bad_value_here() -> None:
    assert set(BAD) == {field.alias for field in Settings.model_fields.values()}


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_value_names_its_variable_and_value(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setenv(name, BAD[name])
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    message = str(refused.value)
    assert message.startswith(f"{name}")
    bad_part = BAD[name].split(",")[-1].strip()
    assert bad_part in message
    assert not any(word in message for word in PYDANTIC_WORDS), message


def test_several_bad_values_are_all_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FANOUT_CONCURRENCY", "0")
    monkeypatch.setenv("SSRF_DENY_PORTS", "22,0,x")
    with pytest.raises(ConfigurationError) as refused:
        load_settings()
    assert str(refused.value) == (
        "SSRF_DENY_PORTS: '0' must be at least 1; SSRF_DENY_PORTS: 'x' is not a whole number; "
        "FANOUT_CONCURRENCY: '0' must be at least 1"
    )


@pytest.mark.parametrize(
    ("name", "accepted", "refused"),
    [
        ("CONNECT_TIMEOUT_SECONDS", ["0.001", "900"], ["0", "-1", "900.5"]),
        ("READ_TIMEOUT_SECONDS", ["0.3", "60"], ["0", "1e6", "inf"]),
        ("CLAIM_LEASE_SECONDS", ["2", "900"], ["0", "901"]),
        ("RENDER_TIMEOUT_SECONDS", ["0.05", "30"], ["0", "31"]),
        ("SOURCE_BASELINE_HOURS", ["0", "0.5", "87600"], ["-0.1", "87601", "a day"]),
        ("CONFIG_CACHE_TTL_SECONDS", ["0", "86400"], ["-0.5", "86401"]),
        ("MAX_RETRY_AFTER_SECONDS", ["0", "604800"], ["-1", "604801"]),
        ("RETRY_LADDER_SECONDS", ["0", "0,0,0", " 0 , 5 ,60", ",".join(["1"] * 100)], [",", "5,-1", "1e9"]),
        ("RETRY_LADDER_SECONDS", ["0.2,0.5"], [",".join(["1"] * 101), "5;30"]),
        ("SSRF_DENY_PORTS", ["1", "65535", "4566,3000"], ["0", "65536", "4566:1", "٤٥"]),
        (
            "EMAIL_SENDER_IDENTITY",
            ["alerts@example.com", "example.com", "mail.xn--bcher-kva.example", "a.b+c@sub.example.org"],
            ["*@example.com", "example", "alerts@", "a@b@example.com", "x@example.com\nBcc: y@z.io"],
        ),
        ("FANOUT_CONCURRENCY", ["1", "1024"], ["0", "1025", "many"]),
        ("MAX_PROFILES", ["1", "1000000"], ["0", "1000001"]),
        ("MAX_INTEGRATIONS", ["1"], ["0"]),
        ("MAX_PAYLOAD_CHARS", ["1", "1000000"], ["0", "1000001"]),
        ("DELIVERY_RECORD_TTL_DAYS", ["1", "3650"], ["0", "3651"]),
        ("MAX_REQUEST_BODY_BYTES", ["1", "10485760"], ["0", "10485761"]),
        ("RENDER_MAX_OUTPUT_BYTES", ["1", "16777216"], ["0", "16777217"]),
        ("TABLE_NAME", ["abc", "secnotify-Table_1.x"], ["ab", "a" * 256, "t/able"]),
        ("RETRY_QUEUE_URL", ["http://127.0.0.1:4566/000000000000/retry"], ["127.0.0.1/q", "https://"]),
    ],
)
def test_ranges(monkeypatch: pytest.MonkeyPatch, name: str, accepted: list[str], refused: list[str]) -> None:
    for value in accepted:
        monkeypatch.setenv(name, value)
        load_settings()
    for value in refused:
        monkeypatch.setenv(name, value)
        with pytest.raises(ConfigurationError, match=f"^{name}: "):
            load_settings()


def test_values_are_parsed_to_their_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRY_LADDER_SECONDS", " 0 , 0.5 ,60")
    monkeypatch.setenv("READ_TIMEOUT_SECONDS", "2.5")
    monkeypatch.setenv("MAX_PROFILES", "7")
    loaded = load_settings()
    assert loaded.retry_ladder_s == (0.0, 0.5, 60.0)
    assert loaded.read_timeout_s == 2.5
    assert loaded.max_profiles == 7


def test_empty_variables_keep_their_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in BAD:
        if name != "KMS_KEY_ID":
            monkeypatch.setenv(name, "  ")
    assert load_settings() == Settings(kms_key_id=load_settings().kms_key_id)


def test_settings_are_frozen_and_replace_validates() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.fanout_concurrency = 3  # type: ignore[misc]
    assert settings.replace(fanout_concurrency=3).fanout_concurrency == 3
    with pytest.raises(ConfigurationError, match=r"^FANOUT_CONCURRENCY: 0 must be at least 1$"):
        settings.replace(fanout_concurrency=0)
    with pytest.raises(ConfigurationError, match="fanout_concurency"):
        settings.replace(fanout_concurency=3)


# ---- the SAM template's parameters stay inside the settings' ranges ---------------------------


def _parameters_behind_variables() -> list[tuple[str, str, dict[str, Any]]]:
    template = load_template(ROOT / "template.yaml")
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for function in resources_of_type(template, "AWS::Serverless::Function"):
        for name, value in traced_environment(template, function).items():
            parameter = value.removeprefix("!Ref ")
            if value.startswith("!Ref ") and parameter in template["Parameters"]:
                found[name] = (name, parameter, template["Parameters"][parameter])
    return list(found.values())


def test_template_parameters_feed_settings() -> None:
    names = {name for name, _, _ in _parameters_behind_variables()}
    assert {"CONNECT_TIMEOUT_SECONDS", "FANOUT_CONCURRENCY", "RETRY_LADDER_SECONDS"} <= names


@pytest.mark.parametrize(("name", "parameter", "spec"), _parameters_behind_variables())
def test_every_value_the_template_allows_loads(
    monkeypatch: pytest.MonkeyPatch, name: str, parameter: str, spec: dict[str, Any]
) -> None:
    values = [spec["Default"]]
    if spec["Type"] == "Number":
        assert "MinValue" in spec and "MaxValue" in spec, f"{parameter} needs a range"
        values += [spec["MinValue"], spec["MaxValue"]]
    for value in values:
        monkeypatch.setenv(name, str(value))
        load_settings()


# ---- the dispatcher requires its queues -------------------------------------------------------

QUEUE = "http://127.0.0.1:4566/000000000000/secnotify-{}"


@pytest.mark.parametrize("missing", ["RETRY_QUEUE_URL", "DEAD_LETTER_QUEUE_URL"])
def test_dispatcher_requires_its_queue_urls(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.setenv("RETRY_QUEUE_URL", QUEUE.format("retry"))
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", QUEUE.format("dlq"))
    monkeypatch.setenv(missing, "")
    with pytest.raises(ConfigurationError, match=f"^{missing} is empty: the dispatcher"):
        wiring.dispatcher()
    wiring.api_services()  # the config API does not use the queues


def test_dispatcher_builds_with_its_queue_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETRY_QUEUE_URL", QUEUE.format("retry"))
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", QUEUE.format("dlq"))
    built = wiring.dispatcher()
    assert built.settings.retry_queue_url == QUEUE.format("retry")


def test_dispatcher_handler_stops_at_cold_start_without_a_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.dispatcher.app import lambda_handler

    monkeypatch.delenv("RETRY_QUEUE_URL", raising=False)
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", QUEUE.format("dlq"))
    event = {"id": "e-1", "source": "secnotify", "detail-type": "Security Problem Opened", "detail": {}}
    with pytest.raises(ConfigurationError, match="RETRY_QUEUE_URL is empty"):
        lambda_handler(event, LocalContext())
    batch = sqs_event([{"MessageId": "m-1", "ReceiptHandle": "r", "Body": "{}"}])
    with pytest.raises(ConfigurationError, match="RETRY_QUEUE_URL is empty"):
        lambda_handler(batch, LocalContext())


def test_require_names_each_missing_value() -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings().require("kms_key_id", "retry_queue_url")
    assert str(refused.value).startswith("KMS_KEY_ID is empty: ")
    assert "; RETRY_QUEUE_URL is empty: " in str(refused.value)
    full = Settings(
        kms_key_id="k", retry_queue_url=QUEUE.format("r"), dead_letter_queue_url=QUEUE.format("d")
    )
    assert full.for_dispatcher() is full


# ---- templating reads no settings: the render limits are handed in (test_render_limits.py) ------


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
    return names


def test_templating_never_imports_settings() -> None:
    sources = sorted((ROOT / "layers" / "secnotify" / "templating").rglob("*.py"))
    assert len(sources) > 5
    offenders = [
        f"{path.name} imports {name}"
        for path in sources
        for name in sorted(_imported_modules(path))
        if name == "secnotify.settings" or name.startswith("secnotify.settings.")
    ]
    assert offenders == []
