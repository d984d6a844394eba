"""Figure 4: DynamoDB requests per event and per delivered notification."""

import time
from collections import Counter
from typing import Any

from bench.figures.common import Figure, event_from, fresh, invoke_dispatcher
from bench.infra import us


class CallCounter:
    """Counts API calls and HTTP sends on one botocore client, through its event hooks."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.sends = 0
        client.meta.events.register("before-call.dynamodb", self._on_call)
        client.meta.events.register("before-send.dynamodb", self._on_send)

    def _on_call(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _on_send(self, **_: Any) -> None:
        self.sends += 1

    def reset(self) -> None:
        self.calls.clear()
        self.sends = 0

    def total(self) -> int:
        return sum(self.calls.values())


READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"})


def dynamodb_per_event(events: int, n_integrations: int) -> tuple[Figure, Figure]:
    from secnotify.service.wiring import dispatcher

    fig = Figure(4, f"DynamoDB reads per event: {events} filtered-out events at steady state")
    graph = dispatcher()
    counter = CallCounter(graph.ledger.client)  # the one client every adapter of the table shares
    filtered = event_from("resolved.json")  # the bench profile wants opened events only
    invoke_dispatcher(fresh(filtered))  # steady state: config cached
    counter.reset()
    started = time.perf_counter()
    for _ in range(events):
        result = invoke_dispatcher(fresh(filtered))
        if result["counts"].get("matched", 0) or result["counts"].get("malformed", 0):
            raise RuntimeError(f"expected a filtered-out event, got {result['counts']}")
    elapsed = time.perf_counter() - started
    reads = sum(n for name, n in counter.calls.items() if name in READS)
    writes = counter.total() - reads
    per_event = reads / events
    # One cache refill: what each TTL expiry costs.
    graph.config.invalidate()
    counter.reset()
    invoke_dispatcher(fresh(filtered))
    refill = counter.total()
    ttl = graph.settings.config_cache_ttl_s
    fig.lines += [
        f"{events} events in {elapsed:.2f} s "
        f"({events / elapsed:.0f} events/s, {us(elapsed / events)} each through the handler)",
        f"DynamoDB reads during them: {reads} -> {per_event:.4f} per event; writes: {writes} "
        f"({counter_text(counter.calls - Counter({n: counter.calls[n] for n in READS}))}): each "
        "event's problem state, recorded for tracking in one conditional write without a read",
        f"one config-cache refill costs {refill} request(s) ({n_integrations} integrations); "
        f"TTL {ttl:.0f} s, so a steady stream of R events/s costs {refill}/({ttl:.0f} x R) per event "
        f"(<= 0.01 for R >= {refill / (0.01 * ttl):.1f} events/s)",
    ]
    fig.ratio = per_event
    fig.ratio_label = f"{per_event:.4f} reads/event"
    fig.target = "<= 0.01"
    fig.judge(per_event <= 0.01)
    fig.summary = f"{reads} reads + {writes} writes / {events} events"

    # The price of exactly-once, per delivered notification (no target).
    cost = Figure(4, f"DynamoDB requests per delivered notification ({n_integrations}-way fan-out)")
    counter.reset()
    result = invoke_dispatcher(fresh(event_from("opened.json")))
    delivered = result["counts"].get("delivered", 0)
    if delivered != n_integrations:
        raise RuntimeError(f"fan-out delivered {delivered}: {result['counts']}")
    per_delivery = counter.total() / delivered
    cost.lines += [
        f"{counter.total()} calls for {delivered} deliveries: {counter_text(counter.calls)}; "
        f"HTTP sends {counter.sends} (retries included)",
        "per notification: claim (conditional UpdateItem), delivery record (PutItem), settle (conditional "
        "UpdateItem); per event: claims Query and event PutItem. "
        "No target: this is the price of exactly-once.",
    ]
    cost.ratio = per_delivery
    cost.ratio_label = f"{per_delivery:.2f} req/delivery"
    cost.target = "none (price of exactly-once)"
    cost.summary = counter_text(counter.calls)
    return fig, cost


def counter_text(calls: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in calls.most_common())
