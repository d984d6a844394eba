"""SSRF guard: every refusal happens before a packet leaves; no test talks to a non-loopback address."""

from __future__ import annotations

import socket

import pytest
import urllib3

from secnotify.delivery import BlockedTarget, SsrfGuard, WebhookRequest, WebhookSender
from secnotify.delivery.ssrf import parse_numeric_host
from secnotify.settings import Settings


def fixed(*addresses: str):
    """A resolver that answers every name with ``addresses`` and records what it was asked."""
    calls: list[tuple[str, int]] = []

    def resolve(host: str, port: int) -> list[str]:
        calls.append((host, port))
        return list(addresses)

    resolve.calls = calls  # type: ignore[attr-defined]
    return resolve


def never(host: str, port: int) -> list[str]:
    raise AssertionError(f"numeric host {host!r} must not reach the resolver")


# (host as written in a URL, expected reason fragment). Numeric hosts never reach the resolver.
BLOCKED_LITERALS = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("2130706433", "loopback"),
    ("0x7f.1", "loopback"),
    ("0x7f000001", "loopback"),
    ("127.1", "loopback"),
    ("017700000001", "loopback"),
    ("0177.0.0.01", "loopback"),
    ("127.0.0.1.", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("10.0.0.1", "private (RFC 1918)"),
    ("012.0.0.1", "private (RFC 1918)"),
    ("172.16.5.4", "private (RFC 1918)"),
    ("172.31.255.255", "private (RFC 1918)"),
    ("192.168.1.1", "private (RFC 1918)"),
    ("3232235777", "private (RFC 1918)"),
    ("100.64.0.1", "CGNAT"),
    ("100.127.255.254", "CGNAT"),
    ("169.254.169.254", "link-local"),
    ("0xa9.0xfe.0xa9.0xfe", "link-local"),
    ("2852039166", "link-local"),
    ("192.0.2.10", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.99", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("192.0.0.8", "IETF protocol assignment"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("::1", "loopback"),
    ("[::1]", "loopback"),
    ("::", "unspecified"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("fc00::1", "unique local"),
    ("fd12:3456:789a::1", "unique local"),
    ("fec0::1", "site-local"),
    ("ff02::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("100::1", "discard-only"),
    ("::ffff:127.0.0.1", "IPv4-mapped 127.0.0.1, which is loopback"),
    ("[::ffff:127.0.0.1]", "IPv4-mapped 127.0.0.1, which is loopback"),
    ("::ffff:7f00:1", "IPv4-mapped 127.0.0.1, which is loopback"),
    ("::ffff:169.254.169.254", "IPv4-mapped 169.254.169.254, which is link-local"),
    ("::ffff:10.1.2.3", "IPv4-mapped 10.1.2.3, which is private"),
    ("::127.0.0.1", "IPv4-compatible"),
    ("::8.8.8.8", "IPv4-compatible"),
    ("::ffff:0:7f00:1", "reserved"),
    ("64:ff9b::7f00:1", "NAT64 127.0.0.1, which is loopback"),
    ("64:ff9b::a9fe:a9fe", "NAT64 169.254.169.254, which is link-local"),
    ("64:ff9b::192.168.0.1", "NAT64 192.168.0.1, which is private"),
    ("64:ff9b:1::808:808", "local-use NAT64"),
    ("2002:7f00:1::1", "6to4 127.0.0.1, which is loopback"),
    ("2002:a9fe:a9fe::", "6to4 169.254.169.254, which is link-local"),
    ("2002:c0a8:101::1", "6to4 192.168.1.1, which is private"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
]

ALLOWED_LITERALS = [
    ("93.184.215.14", "93.184.215.14"),
    ("1.1.1.1", "1.1.1.1"),
    ("16843009", "1.1.1.1"),
    ("8.8.8.8", "8.8.8.8"),
    ("2606:4700:4700::1111", "2606:4700:4700::1111"),
    ("::ffff:8.8.8.8", "8.8.8.8"),
    ("64:ff9b::808:808", "64:ff9b::808:808"),
    ("2002:808:808::1", "2002:808:808::1"),
]


def test_tables_are_big_enough() -> None:
    assert len(BLOCKED_LITERALS) >= 30


@pytest.mark.parametrize(("host", "reason"), BLOCKED_LITERALS)
def test_blocked_literal_hosts(host: str, reason: str) -> None:
    guard = SsrfGuard(allow_cidrs=[], resolver=never)
    with pytest.raises(BlockedTarget) as info:
        guard.vet(host, 443)
    assert info.value.message.startswith("blocked: ")
    assert reason in info.value.message


@pytest.mark.parametrize(("host", "reason"), BLOCKED_LITERALS)
def test_blocked_addresses_from_the_resolver(host: str, reason: str) -> None:
    # The same addresses as DNS answers for an innocent-looking name.
    addr = parse_numeric_host(host)
    assert addr is not None
    guard = SsrfGuard(allow_cidrs=[], resolver=fixed(str(addr)))
    with pytest.raises(BlockedTarget) as info:
        guard.vet("hooks.example.com", 443)
    assert reason in info.value.message


@pytest.mark.parametrize(("host", "vetted"), ALLOWED_LITERALS)
def test_public_literals_pass(host: str, vetted: str) -> None:
    guard = SsrfGuard(allow_cidrs=[], resolver=never)
    assert guard.vet(host, 443) == vetted


def test_message_names_address_and_reason() -> None:
    guard = SsrfGuard(allow_cidrs=[], resolver=fixed("169.254.169.254"))
    with pytest.raises(BlockedTarget, match=r"^blocked: 169\.254\.169\.254 is link-local$"):
        guard.vet("metadata.example.com", 80)


@pytest.mark.parametrize(
    ("host", "number"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("1.2.3", "1.2.0.3"),
        ("0xC0.0250.1.1", "192.168.1.1"),
    ],
)
def test_numeric_forms_match_getaddrinfo(host: str, number: str) -> None:
    # Our parser and the C library must agree, or a form one accepts could bypass the other.
    assert str(parse_numeric_host(host)) == number
    assert socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM)[0][4][0] == number


@pytest.mark.parametrize("host", ["example.com", "08.1.1.1", "1.256.1", "1.2.3.4.5", "0x", "127.0.0.1x"])
def test_non_numeric_hosts_are_left_to_the_resolver(host: str) -> None:
    assert parse_numeric_host(host) is None


def test_any_blocked_address_refuses_the_whole_host() -> None:
    resolve = fixed("93.184.215.14", "10.0.0.7", "2606:4700:4700::1111")
    guard = SsrfGuard(allow_cidrs=[], resolver=resolve)
    with pytest.raises(BlockedTarget, match=r"10\.0\.0\.7 is private"):
        guard.vet("rebind.example.com", 443)


def test_resolves_once_and_returns_the_vetted_address() -> None:
    resolve = fixed("93.184.215.14", "1.1.1.1")
    guard = SsrfGuard(allow_cidrs=[], resolver=resolve)
    assert guard.vet("hooks.example.com", 8443) == "93.184.215.14"
    assert resolve.calls == [("hooks.example.com", 8443)]


def test_every_vet_resolves_again_and_judges_the_new_answer() -> None:
    """Verdicts on addresses are remembered; the answer for a name never is."""
    answers = [["93.184.215.14"], ["10.0.0.7"], ["93.184.215.14"]]
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[len(calls) - 1]

    guard = SsrfGuard(allow_cidrs=[], resolver=rebinding, deny_ports=[443])
    assert guard.vet("rebind.example.com", 443) == "93.184.215.14"
    with pytest.raises(BlockedTarget, match=r"10\.0\.0\.7 is private"):
        guard.vet("rebind.example.com", 443)
    assert guard.vet("rebind.example.com", 443) == "93.184.215.14"
    assert calls == ["rebind.example.com"] * 3
    # The same address on another port is judged for that port.
    local = SsrfGuard(allow_cidrs=LOCAL_ALLOW, resolver=never, deny_ports=[4566])
    assert local.vet("127.0.0.1", 8080) == "127.0.0.1"
    with pytest.raises(BlockedTarget, match="own endpoint"):
        local.vet("127.0.0.1", 4566)
    assert local.vet("127.0.0.1", 8080) == "127.0.0.1"


def test_resolver_scope_ids_do_not_hide_link_local() -> None:
    guard = SsrfGuard(allow_cidrs=[], resolver=fixed("fe80::1%2"))
    with pytest.raises(BlockedTarget, match="link-local"):
        guard.vet("hooks.example.com", 443)


def test_allowlist_overrides_block_list() -> None:
    guard = SsrfGuard(allow_cidrs=["10.1.0.0/16", "::1/128"], resolver=fixed("10.1.2.3"))
    assert guard.vet("internal.example.com", 443) == "10.1.2.3"
    assert guard.vet("::1", 443) == "::1"
    with pytest.raises(BlockedTarget, match=r"10\.2\.0\.1 is private"):
        SsrfGuard(allow_cidrs=["10.1.0.0/16"], resolver=fixed("10.2.0.1")).vet("x.test", 1)


def test_allowlist_covers_ipv4_mapped_form() -> None:
    guard = SsrfGuard(allow_cidrs=["127.0.0.0/8"], resolver=never)
    assert guard.vet("::ffff:127.0.0.1", 80) == "127.0.0.1"


def test_guard_has_no_off_switch(monkeypatch: pytest.MonkeyPatch) -> None:
    import inspect

    from secnotify.settings import load_settings

    assert "enabled" not in inspect.signature(SsrfGuard).parameters
    assert not any("guard_enabled" in name for name in Settings.model_fields)
    # A stray variable from an old deployment changes nothing.
    monkeypatch.setenv("SSRF_GUARD_ENABLED", "false")
    guard = SsrfGuard.from_settings(load_settings(), resolver=fixed("10.0.0.1"))
    with pytest.raises(BlockedTarget, match="private"):
        guard.vet("internal.example.com", 80)


LOCAL_ALLOW = ["127.0.0.0/8", "::1/128"]


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "127.0.0.1:4566"),
        ("127.0.0.2", "127.0.0.2:4566"),
        ("2130706433", "127.0.0.1:4566"),
        ("::1", "[::1]:4566"),
        ("::ffff:127.0.0.1", "[::ffff:127.0.0.1]:4566"),
        ("0.0.0.0", "0.0.0.0:4566"),
        ("::", "[::]:4566"),
    ],
)
def test_denied_ports_refused_on_this_machine_even_where_loopback_is_allowed(host: str, shown: str) -> None:
    guard = SsrfGuard(
        allow_cidrs=[*LOCAL_ALLOW, "0.0.0.0/8", "::/128"], resolver=never, deny_ports=[4566, 3000]
    )
    with pytest.raises(BlockedTarget) as refused:
        guard.vet(host, 4566)
    assert refused.value.message == f"blocked: {shown} is the local stack's own endpoint"


def test_denied_ports_refused_when_a_name_resolves_to_loopback() -> None:
    guard = SsrfGuard(allow_cidrs=LOCAL_ALLOW, resolver=fixed("127.0.0.1"), deny_ports=[3000])
    with pytest.raises(BlockedTarget, match=r"127\.0\.0\.1:3000 is the local stack's own endpoint"):
        guard.vet("localhost", 3000)


def test_other_loopback_ports_and_remote_hosts_on_denied_ports_stay_allowed() -> None:
    guard = SsrfGuard(allow_cidrs=LOCAL_ALLOW, resolver=fixed("93.184.216.34"), deny_ports=[4566, 3000])
    assert guard.vet("127.0.0.1", 8080) == "127.0.0.1"
    assert guard.vet("::1", 45123) == "::1"
    # The deny list is about this machine; a public receiver on the same port is unaffected.
    assert guard.vet("hooks.example.com", 3000) == "93.184.216.34"


def test_guard_from_settings_carries_the_deny_ports() -> None:
    settings = Settings().replace(ssrf_allow_cidrs=tuple(LOCAL_ALLOW), ssrf_deny_ports=(4566,))
    guard = SsrfGuard.from_settings(settings, resolver=never)
    assert guard.vet("127.0.0.1", 8080) == "127.0.0.1"
    with pytest.raises(BlockedTarget, match="own endpoint"):
        guard.vet("127.0.0.1", 4566)


def test_empty_answer_is_a_resolution_error() -> None:
    guard = SsrfGuard(allow_cidrs=[], resolver=fixed())
    with pytest.raises(OSError):
        guard.vet("nothing.example.com", 80)


def test_invalid_allowlist_entry_is_rejected() -> None:
    with pytest.raises(ValueError):
        SsrfGuard(allow_cidrs=["not-a-cidr"])


def _request(url: str) -> WebhookRequest:
    return WebhookRequest(
        url=url,
        headers=(("Content-Type", "application/json"), ("Authorization", "Bearer s3cr3t-t0ken-value")),
        body=b"{}",
        accept_any_certificate=False,
        webhook_id="msg_1",
        timestamp=1_700_000_000,
        signing_secret=None,
        secret_header_names=frozenset({"authorization"}),
    )


@pytest.mark.parametrize(
    ("url", "answer", "message"),
    [
        ("https://hooks.example.com/x", "10.0.0.1", "blocked: 10.0.0.1 is private (RFC 1918)"),
        ("http://metadata.example.com/", "169.254.169.254", "blocked: 169.254.169.254 is link-local"),
        ("http://2130706433/", None, "blocked: 127.0.0.1 is loopback"),
        ("http://0x7f.1:8080/", None, "blocked: 127.0.0.1 is loopback"),
        ("http://[::ffff:127.0.0.1]/", None, "blocked: ::ffff:127.0.0.1 is IPv4-mapped 127.0.0.1"),
        ("https://v6.example.com/", "fd00::5", "blocked: fd00::5 is unique local (ULA)"),
    ],
)
def test_sender_refuses_before_connecting(url: str, answer: str | None, message: str) -> None:
    pool = urllib3.PoolManager()
    settings = Settings().replace(ssrf_allow_cidrs=())
    guard = SsrfGuard([], resolver=fixed(answer) if answer else never)
    outcome = WebhookSender(settings, pool=pool, guard=guard).send(_request(url))
    assert outcome.delivered is False
    assert outcome.retryable is False
    assert outcome.status_code is None
    assert outcome.error is not None and outcome.error.startswith(message)
    assert outcome.response_body == ""
    # No connection pool was ever made, so no socket was opened.
    assert len(pool.pools) == 0


def test_sender_builds_its_guard_from_settings() -> None:
    pool = urllib3.PoolManager()
    settings = Settings().replace(ssrf_allow_cidrs=("10.0.0.0/8",))
    sender = WebhookSender(settings, pool=pool)
    with pytest.raises(BlockedTarget):
        sender.guard.vet("127.0.0.1", 80)
    assert sender.guard.vet("10.9.9.9", 80) == "10.9.9.9"
