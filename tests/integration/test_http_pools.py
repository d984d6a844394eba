"""Keep-alive pools for a fan-out to many HTTPS hosts: connections are reused from one event to
the next when the hosts fit the pool budget, and idle connections stay within the file limit."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from secnotify.delivery import SsrfGuard, WebhookRequest, WebhookSender
from secnotify.delivery.pooling import RESERVED_FDS, SharedPool, idle_limit, make_pool
from secnotify.settings import Settings
from tests.integration.servers import HttpsReceiver

LOOPBACK_ALLOWED = ("127.0.0.0/8", "::1/128")
HOSTS = tuple(f"tenant-{i}.hooks.example.test" for i in range(80))


def settings(**changes: object) -> Settings:
    return Settings().replace(ssrf_allow_cidrs=LOOPBACK_ALLOWED, **changes)


def hosts_to_loopback(host: str, port: int) -> list[str]:
    """The injected resolver: every made-up tenant host lives on 127.0.0.1."""
    assert host in HOSTS, host
    return ["127.0.0.1"]


def sender_for(rx: HttpsReceiver, fd_limit: int | None = None, **changes: object) -> WebhookSender:
    cfg = settings(**changes)
    guard = SsrfGuard.from_settings(cfg, resolver=hosts_to_loopback)
    # Verifying, against the receiver's CA: the production path, not accept-any.
    pool = make_pool(cfg, fd_limit=fd_limit, ca_certs=str(rx.ca_file))
    return WebhookSender(cfg, pool=pool, guard=guard)


def event(s: WebhookSender, rx: HttpsReceiver, number: int, workers: int = 8) -> dict[str, int]:
    """One request to every host, ``workers`` at a time; the client port each host was sent from."""
    reqs = [
        WebhookRequest(
            url=rx.url(f"/{number}/{host}", host=host),
            headers=(("Content-Type", "application/json"),),
            body=b"{}",
            accept_any_certificate=False,
            webhook_id=f"msg_{number}_{host}",
            timestamp=int(time.time()),
        )
        for host in HOSTS
    ]
    before = len(rx.requests)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(s.send, reqs))
    assert all(o.delivered for o in outcomes), [o.error for o in outcomes if not o.delivered]
    got = rx.wait_for(before + len(HOSTS))[before:]
    return {r.path.split("/")[2]: r.client[1] for r in got}


def test_a_fan_out_to_distinct_hosts_reuses_every_connection_on_the_next_event() -> None:
    with HttpsReceiver(names=HOSTS) as rx:
        # The default host budget, 8 workers: more hosts than 2 x workers, which the pools
        # once kept (at least 64).
        s = sender_for(rx, fanout_concurrency=8)
        first = event(s, rx, 1)
        second = event(s, rx, 2)
        assert len(set(first.values())) == len(HOSTS)  # one connection per host
        assert second == first  # each host's second request on its first connection


def test_hosts_beyond_the_pool_budget_are_not_kept() -> None:
    with HttpsReceiver(names=HOSTS) as rx:
        s = sender_for(rx, http_pool_hosts=10)
        first = event(s, rx, 1, workers=1)
        second = event(s, rx, 2, workers=1)
        pool = s.pool
        assert isinstance(pool, SharedPool)
        assert len(pool.pools) == 10
        # The least recently used hosts went first; in the same order, none was left to reuse.
        assert not set(first.values()) & set(second.values())
        assert pool.idle_budget.idle == 10  # one idle connection in each pool kept


def test_idle_connections_stay_within_the_file_budget() -> None:
    with HttpsReceiver(names=HOSTS) as rx:
        # A process allowed 100 files with 4 workers may keep 100 - 64 - 4 = 32 idle.
        s = sender_for(rx, fd_limit=RESERVED_FDS + 4 + 32, fanout_concurrency=4)
        pool = s.pool
        assert isinstance(pool, SharedPool)
        assert pool.idle_budget.limit == 32
        first = event(s, rx, 1, workers=1)
        assert pool.idle_budget.idle == 32
        second = event(s, rx, 2, workers=1)
        reused = [host for host in HOSTS if second[host] == first[host]]
        assert len(reused) == 32
        assert pool.idle_budget.idle == 32


def test_on_lambda_idle_in_use_and_reserved_files_fit_in_1024() -> None:
    cfg = settings(fanout_concurrency=64)
    idle = idle_limit(cfg, fd_limit=1024)
    assert idle == 1024 - RESERVED_FDS - 64
    assert idle + cfg.fanout_concurrency + RESERVED_FDS <= 1024
    # The default host budget fits 1,000 hosts where the process may open enough files.
    assert Settings().http_pool_hosts >= 1000
    assert idle_limit(Settings(), fd_limit=20000) >= 1000
