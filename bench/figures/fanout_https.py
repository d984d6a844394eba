"""Figure 1b: the realistic fan-out. 1,000 integrations over HTTPS to 200 distinct hostnames.

The receivers are one HTTPS server in its own process, with a trustme certificate for every
hostname, answering after 50 ms. The hostnames resolve to 127.0.0.1 through the resolver the
dispatcher's SSRF guard is built with (the injected one here; the system's in AWS), and the
certificate is verified against the default CA store, to which the bench adds its own CA through
``SSL_CERT_FILE``, as an operator with a private CA would. Everything else is the production
graph (``wiring.build_dispatcher``) on a stack of its own.

Beside it, the same fan-out done by bare urllib3: the same threads, receiver, hostnames and
certificate checks, a body of the same size, and nothing else (no rendering, signing, guard,
ledger, delivery log or DynamoDB). It is the figure's own floor on this machine.
"""

import os
import queue
import ssl
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.figures.common import Figure, create_integrations, event_from, fresh
from bench.infra import Children, cpu_seconds, median, ms, us

HOSTS = 200
N = 1000


def _certificates(directory: Path) -> tuple[str, list[str]]:
    """The receiver's certificate (with its key) and the hostnames it is valid for; the CA goes
    into ``SSL_CERT_FILE`` before any TLS context exists in this process."""
    import trustme

    names = [f"hook-{i:03d}.bench.example" for i in range(HOSTS)]
    ca = trustme.CA()
    cert = ca.issue_cert(*names, "127.0.0.1")
    cert_pem = directory / "receiver.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_pem))
    ca_file = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    os.environ["SSL_CERT_FILE"] = str(ca_file)
    return str(cert_pem), names


def _graph(concurrency: int) -> Any:
    """The production graph at ``concurrency``, its sender's guard resolving every hostname to
    loopback, and the production pool (``make_pool``) sized for that concurrency."""
    from secnotify.delivery import WebhookSender
    from secnotify.delivery.http import make_pool
    from secnotify.delivery.ssrf import SsrfGuard
    from secnotify.service.wiring import build_dispatcher
    from secnotify.settings import get_settings

    settings = get_settings().replace(fanout_concurrency=concurrency)
    guard = SsrfGuard.from_settings(settings, resolver=lambda host, port: ["127.0.0.1"])
    sender = WebhookSender(settings, pool=make_pool(settings), guard=guard)
    return build_dispatcher(settings, sender=sender)


def _once(graph: Any, event: dict[str, Any]) -> float:
    started = time.perf_counter()
    result = graph.handle_event(fresh(event), remaining_s=600.0)
    elapsed = time.perf_counter() - started
    delivered = result.counts.get("delivered", 0)
    if delivered != N:
        raise RuntimeError(f"HTTPS fan-out delivered {delivered} of {N}: {dict(result.counts)}")
    return elapsed


def _bare_fanout(pool: Any, urls: list[str], concurrency: int, body: bytes) -> float:
    """One fan-out of ``urls`` by ``concurrency`` threads over one urllib3 pool manager; its wall."""
    todo: queue.SimpleQueue[str] = queue.SimpleQueue()
    for url in urls:
        todo.put(url)
    failed: list[int] = []
    headers = {"Content-Type": "application/json", "webhook-id": "msg_bare", "webhook-timestamp": "0"}

    def drain() -> None:
        while True:
            try:
                url = todo.get_nowait()
            except queue.Empty:
                return
            answer = pool.request("POST", url, body=body, headers=headers, retries=False, timeout=10.0)
            if answer.status != 200:
                failed.append(answer.status)

    threads = [threading.Thread(target=drain) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    if failed:
        raise RuntimeError(f"bare fan-out: {len(failed)} answers were not 200: {failed[:5]}")
    return elapsed


def _slack_body() -> bytes:
    """The body every integration of the figure sends for the sample event (the Slack template)."""
    from bench.figures.common import SLACK_TEMPLATE
    from secnotify.models.event import sample_event
    from secnotify.templating import compile_template

    return compile_template(SLACK_TEMPLATE, "application/json").render(sample_event()).encode()


def _bare_pool(concurrency: int) -> Any:
    """A pool manager that keeps every host's connections, one shared TLS context, and each
    hostname connected at 127.0.0.1 (SNI and the certificate check still use the hostname)."""
    import urllib3
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Loopback(HTTPConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._dns_host = "127.0.0.1"

    class LoopbackTls(HTTPSConnection):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._dns_host = "127.0.0.1"

    manager = urllib3.PoolManager(
        num_pools=HOSTS * 2, maxsize=concurrency, ssl_context=ssl.create_default_context()
    )

    class LoopbackPool(HTTPConnectionPool):
        ConnectionCls = Loopback

    class LoopbackTlsPool(HTTPSConnectionPool):
        ConnectionCls = LoopbackTls

    manager.pool_classes_by_scheme = {"http": LoopbackPool, "https": LoopbackTlsPool}
    return manager


def fanout_https(
    children: Children,
    concurrency: int,
    delay_s: float = 0.05,
    sweep: tuple[int, ...] = (),
    tls: bool = True,
) -> Figure:
    """Run on the stack the environment names (a fresh one: see bench.run). ``tls`` False: the
    same figure on plain HTTP (same receiver, same hostnames), the side-by-side row for TLS."""
    scheme = "https" if tls else "http"
    fig = Figure(
        1,
        f"{'Realistic' if tls else 'Plain-HTTP'} fan-out: 1 event -> {N} {scheme.upper()} integrations "
        f"on {HOSTS} hostnames, {delay_s * 1000:.0f} ms",
    )
    event = event_from("opened.json")
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as tmp:
        cert_pem, names = _certificates(Path(tmp))
        receiver = children.tls_receiver(delay_s, cert_pem) if tls else children.async_receiver(delay_s)
        started = time.perf_counter()
        port = receiver.base_url.rsplit(":", 1)[1]
        create_integrations([f"{scheme}://{names[i % HOSTS]}:{port}/fanout/{i}" for i in range(N)], scheme)
        created_s = time.perf_counter() - started

        graph = _graph(concurrency)
        cpu0 = time.process_time()
        cold = _once(graph, event)
        cold_cpu = time.process_time() - cpu0
        cpu0 = time.process_time()
        others0 = cpu_seconds(receiver.pid), children.moto_cpu_s()
        warm = [_once(graph, event) for _ in range(5)]  # events 2-6
        cpu = (time.process_time() - cpu0) / len(warm)
        receiver_cpu = (cpu_seconds(receiver.pid) - others0[0]) / len(warm)
        moto_cpu = (children.moto_cpu_s() - others0[1]) / len(warm)
        wall = median(warm)
        waves = -(-N // concurrency)
        urls = [f"{scheme}://{names[i % HOSTS]}:{port}/fanout/{i}" for i in range(N)]
        bare_pool = _bare_pool(concurrency)
        body = _slack_body()
        _bare_fanout(bare_pool, urls, concurrency, body)  # connects every host
        cpu0 = time.process_time()
        bare = [_bare_fanout(bare_pool, urls, concurrency, body) for _ in range(5)]
        bare_cpu = (time.process_time() - cpu0) / len(bare)
        bare_pool.clear()
        fig.lines += [
            f"{N} integrations created through the service layer in {created_s:.1f} s; every hostname "
            "resolved by the guard's injected resolver" + (", every certificate verified" if tls else ""),
            f"first event (cold: config load, {HOSTS} hosts' {'TLS handshakes' if tls else 'connects'}): "
            f"{ms(cold)}, "
            f"CPU {ms(cold_cpu)} in this process",
            f"events 2-6, median: {ms(wall)} [min {ms(min(warm))}, max {ms(max(warm))}]; floor at "
            f"concurrency {concurrency}: {waves} waves x {ms(delay_s)} = {ms(waves * delay_s)}",
            f"CPU per event {ms(cpu)} in this process, {us(cpu / N)} per notification",
            f"on the same 2 cores, per warm event: the receiver (standing in for {HOSTS} remote hosts, "
            f"not our cost) {ms(receiver_cpu)} CPU, moto (standing in for DynamoDB) {ms(moto_cpu)}",
            f"bare urllib3, the same {N} POSTs by {concurrency} threads (no rendering, signing, guard, "
            f"ledger or log): median {ms(median(bare))}, {us(bare_cpu / N)} CPU per POST; "
            f"ours / bare: {wall / median(bare):.2f} wall, {cpu / bare_cpu:.2f} CPU",
        ]
        rows = []
        for c in sweep:
            if c == concurrency:
                rows.append(f"{c}: {ms(wall)}")
                continue
            other = _graph(c)
            _once(other, event)
            rows.append(f"{c}: {ms(median([_once(other, event) for _ in range(3)]))}")
        if rows:
            fig.lines.append("concurrency sweep, warm median (new graph and pool each): " + "; ".join(rows))
    fig.ratio = wall
    fig.ratio_label = f"{ms(wall)} warm, {ms(cold)} cold"
    if tls:
        fig.target = "warm median <= 1.5 s"
        fig.judge(wall <= 1.5)
    else:
        fig.target = "(the HTTPS row's baseline)"
    fig.summary = f"{ms(wall)} wall, C={concurrency}, {us(cpu / N)} CPU/notification"
    return fig
