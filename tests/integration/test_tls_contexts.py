"""One TLS context per verification mode for the whole process, with the same verification as
before: certificate required, host name checked against the URL's host, the default CA store."""

from __future__ import annotations

import ssl
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import urllib3
import urllib3.connection

from secnotify.delivery import SsrfGuard, WebhookRequest, WebhookSender, tls
from secnotify.delivery.pooling import make_pool
from secnotify.settings import Settings
from tests.integration.servers import HttpsReceiver

LOOPBACK_ALLOWED = ("127.0.0.0/8", "::1/128")
HOSTS = tuple(f"hook-{i}.example.test" for i in range(12))


def settings(**changes: object) -> Settings:
    return Settings().replace(ssrf_allow_cidrs=LOOPBACK_ALLOWED, **changes)


def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def sender(pool: urllib3.PoolManager | None = None) -> WebhookSender:
    cfg = settings()
    guard = SsrfGuard.from_settings(cfg, resolver=to_loopback)
    return WebhookSender(cfg, pool=pool or make_pool(cfg), guard=guard)


def request(url: str, accept_any: bool, n: int = 0) -> WebhookRequest:
    return WebhookRequest(
        url=url,
        headers=(("Content-Type", "application/json"),),
        body=b"{}",
        accept_any_certificate=accept_any,
        webhook_id=f"msg_{n}",
        timestamp=int(time.time()),
    )


@pytest.fixture
def fresh_contexts(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """An empty context registry, and counts of every context built and CA store loaded on the
    connection path (ours or urllib3's own)."""
    counts = {"contexts": 0, "default_ca_loads": 0}
    monkeypatch.setattr(tls, "_contexts", OrderedDict())

    def counting(factory: Any) -> Any:
        def build(*args: Any, **kwargs: Any) -> Any:
            counts["contexts"] += 1
            return factory(*args, **kwargs)

        return build

    monkeypatch.setattr(tls, "create_urllib3_context", counting(tls.create_urllib3_context))
    monkeypatch.setattr(
        urllib3.connection, "create_urllib3_context", counting(urllib3.connection.create_urllib3_context)
    )
    load = ssl.SSLContext.load_default_certs

    def counting_load(self: ssl.SSLContext, *args: Any, **kwargs: Any) -> None:
        counts["default_ca_loads"] += 1
        load(self, *args, **kwargs)

    monkeypatch.setattr(ssl.SSLContext, "load_default_certs", counting_load)
    return counts


@pytest.mark.parametrize("verifying_first", [True, False], ids=["verifying-first", "accept-any-first"])
def test_verifying_integration_fails_every_time_beside_an_accept_any_one_on_the_same_host(
    verifying_first: bool,
) -> None:
    with HttpsReceiver() as rx:
        s = sender()
        url = rx.url("/", host="localhost")
        outcomes: dict[bool, list[Any]] = {True: [], False: []}
        order = [False, True] if verifying_first else [True, False]
        for n in range(4):
            for accept_any in order:
                outcomes[accept_any].append(s.send(request(url, accept_any, n)))
        assert all(o.delivered for o in outcomes[True]), [o.error for o in outcomes[True]]
        for o in outcomes[False]:
            assert not o.delivered
            assert o.error is not None and o.error.startswith("TLS error: certificate verify failed")
        # Only the accept-any sends reached the receiver, and on one kept-alive connection.
        got = rx.wait_for(4)
        assert len(rx.requests) == 4
        assert len({r.client for r in got}) == 1


def test_a_ca_the_pool_trusts_verifies_and_stays_out_of_the_default_context() -> None:
    with HttpsReceiver() as rx:
        url = rx.url("/", host="localhost")
        trusting = sender(urllib3.PoolManager(ca_certs=str(rx.ca_file)))
        for n in range(3):
            outcome = trusting.send(request(url, False, n))
            assert outcome.delivered, outcome.error
        # A sender on the default CA store still refuses the test CA's certificate.
        outcome = sender().send(request(url, False, 9))
        assert not outcome.delivered
        assert outcome.error is not None and outcome.error.startswith("TLS error: certificate verify failed")


def test_an_ip_literal_url_is_checked_against_the_ip() -> None:
    with HttpsReceiver(names=("localhost",)) as rx:
        trusting = sender(urllib3.PoolManager(ca_certs=str(rx.ca_file)))
        assert trusting.send(request(rx.url("/", host="localhost"), False)).delivered
        outcome = trusting.send(request(rx.url("/"), False))  # https://127.0.0.1:<port>/
        assert not outcome.delivered
        assert outcome.error is not None
        assert outcome.error.startswith("TLS error: certificate verify failed: ")
        assert "'127.0.0.1'" in outcome.error


def test_one_context_per_mode_across_many_hosts_and_connections(fresh_contexts: dict[str, int]) -> None:
    with HttpsReceiver(names=HOSTS) as rx:
        s = sender()
        reqs = [
            request(rx.url(f"/{i}", host=host), accept_any, i)
            for i, host in enumerate(HOSTS)
            for accept_any in (True, False)
        ]
        with ThreadPoolExecutor(max_workers=8) as pool:
            outcomes = list(pool.map(s.send, reqs))
        accepted = [o for r, o in zip(reqs, outcomes, strict=True) if r.accept_any_certificate]
        verified = [o for r, o in zip(reqs, outcomes, strict=True) if not r.accept_any_certificate]
        assert all(o.delivered for o in accepted), [o.error for o in accepted]
        assert not any(o.delivered for o in verified)  # the test CA is not in the default store
        # One connection per host for the accepted sends: distinct hosts, distinct pools.
        assert len({r.client for r in rx.wait_for(len(HOSTS))}) == len(HOSTS)
    assert fresh_contexts == {"contexts": 2, "default_ca_loads": 1}


def test_the_verifying_context_requires_a_certificate_and_leaves_the_name_to_urllib3() -> None:
    verifying = tls.tls_context(True)
    assert verifying.verify_mode == ssl.CERT_REQUIRED
    assert verifying.check_hostname is False  # urllib3 matches assert_hostname itself
    assert verifying.hostname_checks_common_name is False
    assert (
        verifying.cert_store_stats()["x509_ca"] == ssl.create_default_context().cert_store_stats()["x509_ca"]
    )
    assert tls.tls_context(False).verify_mode == ssl.CERT_NONE
    assert tls.tls_context(True) is verifying
