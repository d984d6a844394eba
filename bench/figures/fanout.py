"""Figure 1: one event fanned out to many integrations through the Lambda handler."""

import time
from collections.abc import Callable
from typing import Any

from bench.figures.common import Figure, event_from, fresh, invoke_dispatcher
from bench.infra import Receiver, median, ms, us
from secnotify.settings import Settings

DEFAULT_CONCURRENCY = Settings.model_fields["fanout_concurrency"].default


def _build_dispatcher(concurrency: int) -> Any:
    """The production graph (``wiring.build_dispatcher``) at another fan-out concurrency, with a
    pool sized as ``shared_pool`` sizes it: the process-wide pool keeps the size of its first caller.
    """
    import urllib3

    from secnotify.delivery import WebhookSender
    from secnotify.service.wiring import build_dispatcher
    from secnotify.settings import get_settings

    settings = get_settings().replace(fanout_concurrency=concurrency)
    pool = urllib3.PoolManager(num_pools=max(64, concurrency * 2), maxsize=max(10, concurrency), block=False)
    return build_dispatcher(settings, sender=WebhookSender(settings, pool=pool))


def _fanout_once(run: Callable[[dict[str, Any]], dict[str, Any]], event: dict[str, Any], n: int) -> float:
    started = time.perf_counter()
    result = run(fresh(event))
    elapsed = time.perf_counter() - started
    delivered = result["counts"].get("delivered", 0)
    if delivered != n:
        raise RuntimeError(f"fan-out delivered {delivered} of {n}: {result['counts']}")
    return elapsed


def fanout(
    receiver: Receiver, n: int, delay_s: float, concurrency: int, reps: int, moto_cpu: Callable[[], float]
) -> Figure:
    fig = Figure(1, f"Fan-out: 1 event -> {n} integrations, receiver answers after {delay_s * 1000:.0f} ms")
    event = event_from("opened.json")
    sequential = n * delay_s

    def via_handler(e: dict[str, Any]) -> dict[str, Any]:
        return invoke_dispatcher(e)

    cold = _fanout_once(via_handler, event, n)
    _fanout_once(via_handler, event, n)
    cpu0, moto0 = time.process_time(), moto_cpu()
    walls = [_fanout_once(via_handler, event, n) for _ in range(reps)]
    our_cpu, moto_used = (time.process_time() - cpu0) / reps, (moto_cpu() - moto0) / reps
    wall = median(walls)
    waves = -(-n // concurrency)
    fig.lines += [
        f"path: functions.dispatcher.app.lambda_handler (Lambda handler, real wiring), "
        f"FANOUT_CONCURRENCY={concurrency} (settings default {DEFAULT_CONCURRENCY})",
        f"cold first invocation (fresh graph, empty pool, config load): {ms(cold)}",
        f"steady state, median of {reps} (fresh event id each): {ms(wall)}  "
        f"[min {ms(min(walls))}, max {ms(max(walls))}]",
        f"sequential cost {n} x {delay_s * 1000:.0f} ms = {sequential:.1f} s; floor {ms(delay_s)}; "
        f"at concurrency {concurrency} the floor is {waves} waves = {ms(waves * delay_s)}",
        f"CPU per event: this process {ms(our_cpu)} ({us(our_cpu / n)} per notification), "
        f"moto server {ms(moto_used)} (moto closes every connection: one TCP connect per DynamoDB call)",
    ]

    # The same graph with an instant receiver: what the pipeline itself costs per event.
    receiver.set_delay(0.0)
    try:
        _fanout_once(via_handler, event, n)
        overhead = median([_fanout_once(via_handler, event, n) for _ in range(3)])
    finally:
        receiver.set_delay(delay_s)
    fig.lines.append(
        f"same fan-out with a receiver answering at once (pipeline cost, no webhook latency): "
        f"{ms(overhead)} (wall / {n} = {us(overhead / n)})"
    )

    sweep: list[str] = []
    for c in (64, 128, n):
        if c <= concurrency:
            continue
        graph = _build_dispatcher(c)

        def direct(e: dict[str, Any], graph: Any = graph) -> dict[str, Any]:
            return {"counts": dict(graph.handle_event(e).counts)}

        _fanout_once(direct, event, n)
        value = median([_fanout_once(direct, event, n) for _ in range(3)])
        sweep.append(f"{c}: {ms(value)} ({sequential / value:.1f}x)")
    if sweep:
        fig.lines.append(
            "concurrency sweep (Dispatcher.handle_event, same wiring but a pool sized for it): "
            + "; ".join(sweep)
        )
    fig.ratio = sequential / wall
    fig.ratio_label = f"{fig.ratio:.1f}x faster than sequential"
    fig.target = "wall <= 0.5 s (>= 20x)"
    fig.judge(wall <= 0.5)
    fig.summary = f"{ms(wall)} wall (cold {ms(cold)}), C={concurrency}"
    return fig
