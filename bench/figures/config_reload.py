"""Figure 8: the configuration reload as events see it.

A steady stream of filtered-out events through the dispatcher's handler while the cache TTL
expires again and again; each event's latency is recorded. Two variants, alternated in one run:
the synchronous reload (``CONFIG_MAX_AGE_SECONDS`` equal to the TTL: the event that finds the
cache expired waits for the load) and the background refresh (the default: the stale copy is
served while one thread reloads).
"""

import os
import statistics
import threading
import time
from typing import Any

from bench.figures.common import Figure, event_from, fresh, invoke_dispatcher
from bench.figures.dynamodb import CallCounter
from bench.infra import median, ms

VARIANTS = ("synchronous", "background")


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _configure(ttl_s: float, max_age_s: float) -> Any:
    from secnotify.service import wiring

    os.environ["CONFIG_CACHE_TTL_SECONDS"] = f"{ttl_s:g}"
    os.environ["CONFIG_MAX_AGE_SECONDS"] = f"{max_age_s:g}"
    wiring.reset()
    return wiring.dispatcher()


class OwnWrites:
    """Time the calling thread spends in DynamoDB requests other than the configuration query.

    The moto server answers one request at a time while it builds a large query page, so here a
    background refresh delays the events' own writes; DynamoDB serves them independently. The
    configuration query itself is not counted: an event that reloads keeps that wait.
    """

    def __init__(self, client: Any) -> None:
        self.thread = threading.get_ident()
        self.spent = 0.0
        self._started = 0.0
        client.meta.events.register("before-call.dynamodb", self._before)
        client.meta.events.register("after-call.dynamodb", self._after)

    def _counts(self, model: Any) -> bool:
        return threading.get_ident() == self.thread and model.name != "Query"

    def _before(self, model: Any, **_: Any) -> None:
        if self._counts(model):
            self._started = time.perf_counter()

    def _after(self, model: Any, **_: Any) -> None:
        if self._counts(model):
            self.spent += time.perf_counter() - self._started


def _stream(
    event: dict[str, Any], rate_per_s: float, duration_s: float, writes: OwnWrites
) -> list[tuple[float, float]]:
    """Events at a fixed pace (a busy warm instance): each one's time in the handler, and that
    time without its own DynamoDB writes."""
    latencies: list[tuple[float, float]] = []
    interval = 1 / rate_per_s
    began = time.perf_counter()
    for i in range(int(duration_s * rate_per_s)):
        delay = began + i * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        writes.spent = 0.0
        started = time.perf_counter()
        result = invoke_dispatcher(fresh(event))
        elapsed = time.perf_counter() - started
        latencies.append((elapsed, elapsed - writes.spent))
        if result["counts"].get("matched", 0) or result["counts"].get("malformed", 0):
            raise RuntimeError(f"expected a filtered-out event, got {result['counts']}")
    return latencies


def config_reload(
    n_integrations: int,
    ttl_s: float = 0.5,
    rate_per_s: float = 100.0,
    duration_s: float = 3.0,
    rounds: int = 2,
) -> Figure:
    from secnotify.service.config_cache import load_configuration

    fig = Figure(
        8,
        f"Config reload as events see it: {rate_per_s:.0f} filtered-out events/s for {duration_s:.0f} s "
        f"x {rounds} per variant, TTL {ttl_s:g} s, {n_integrations} integrations",
    )
    saved = {name: os.environ.get(name) for name in ("CONFIG_CACHE_TTL_SECONDS", "CONFIG_MAX_AGE_SECONDS")}
    event = event_from("resolved.json")  # the bench profile wants opened events only
    latencies: dict[str, list[tuple[float, float]]] = {name: [] for name in VARIANTS}
    queries: dict[str, int] = dict.fromkeys(VARIANTS, 0)
    try:
        graph = _configure(ttl_s, ttl_s)
        loads = []
        for _ in range(3):
            started = time.perf_counter()
            load_configuration(graph.config.repository, graph.config.secrets)
            loads.append(time.perf_counter() - started)
        load_s = median(loads)
        for i in range(rounds):
            order = VARIANTS if i % 2 == 0 else tuple(reversed(VARIANTS))
            for name in order:
                # max age = TTL: every reload is synchronous, as before the background refresh
                graph = _configure(ttl_s, ttl_s if name == "synchronous" else 60.0)
                counter = CallCounter(graph.ledger.client)
                writes = OwnWrites(graph.ledger.client)
                invoke_dispatcher(fresh(event))  # the first load, synchronous in both
                counter.reset()
                latencies[name] += _stream(event, rate_per_s, duration_s, writes)
                queries[name] += counter.calls["Query"]
                wait = getattr(graph.config, "wait_for_refresh", None)
                if wait is not None:
                    wait(30.0)  # no refresh of this variant runs into the next one
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        from secnotify.service import wiring

        wiring.reset()

    stats = {}
    for name, pairs in latencies.items():
        whole, own = [a for a, _ in pairs], [b for _, b in pairs]
        stats[name] = (
            statistics.median(whole),
            _percentile(whole, 0.99),
            max(whole),
            _percentile(own, 0.99),
            sum(1 for v in own if v >= load_s / 2),
        )
    for name in VARIANTS:
        p50, p99, worst, own_p99, waited = stats[name]
        fig.lines.append(
            f"{name:<11}: {len(latencies[name])} events, p50 {ms(p50)}, p99 {ms(p99)}, max {ms(worst)}; "
            f"without their own writes p99 {ms(own_p99)}, {waited} >= half a load; "
            f"config queries: {queries[name]}"
        )
    per_ttl = rate_per_s * ttl_s
    fig.lines += [
        f"one configuration load (median of 3): {ms(load_s)}; {per_ttl:.0f} events per TTL, so a "
        "reload that one event waits for lands in the p99",
        "synchronous: CONFIG_MAX_AGE_SECONDS = TTL (the reload before the background refresh); "
        "background: CONFIG_MAX_AGE_SECONDS = 60 (the default)",
        "'without their own writes': less the events' own DynamoDB writes, which the single moto "
        "server delays while it builds the refresh's query page (DynamoDB serves them apart); "
        "a reload an event waits for stays in it",
    ]
    sync_p99, after_p99 = stats["synchronous"][1], stats["background"][1]
    own_after = stats["background"][3]
    ratio = after_p99 / sync_p99
    fig.ratio = ratio
    fig.ratio_label = f"{ratio:.2f} (p99 background / synchronous)"
    # No event waits for the load: outside what moto adds, the p99 stays below a quarter load.
    fig.target = f"background p99 without own writes <= load / 4 ({ms(load_s / 4)})"
    fig.judge(own_after <= load_s / 4)
    fig.summary = (
        f"p99 {ms(after_p99)} vs {ms(sync_p99)} (without own writes {ms(own_after)}); load {ms(load_s)}"
    )
    return fig
