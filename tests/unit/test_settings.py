"""Settings refuse values the code cannot run with, at load time, naming the variable and the value."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local.lambda_runtime import LocalContext
from secnotify.service import wiring
from secnotify.settings import ConfigurationError, load_settings
from secnotify.storage.secrets import SecretBox, UnsealedSecret


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
