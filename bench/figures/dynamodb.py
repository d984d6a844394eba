"""Figure 4: DynamoDB requests per event and per delivered notification."""

import math
import time
from collections import Counter
from typing import Any

from bench.figures.common import Figure, event_from, fresh, invoke_dispatcher
from bench.infra import us


def item_size(item: dict[str, Any]) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values (strings and binaries by
    their bytes, numbers by about one byte per two digits)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        ((kind, raw),) = value.items()
        if kind == "S":
            size += len(raw.encode("utf-8", "surrogatepass"))
        elif kind == "B":
            size += len(raw)
        elif kind == "N":
            size += len(raw.lstrip("-").replace(".", "")) // 2 + 1
        else:
            size += 1
    return size


def write_units(item: dict[str, Any]) -> int:
    """Write units of one put: one per started KB, and one more for the ``ByEvent`` index entry
    (keys only) of an item that carries its keys."""
    return math.ceil(item_size(item) / 1024) + (1 if "eventPk" in item else 0)


class CallCounter:
    """Counts API calls, HTTP sends and the items put (their sizes and write units) on one
    botocore client, through its event hooks."""

    def __init__(self, client: Any) -> None:
        self.calls: Counter[str] = Counter()
        self.sends = 0
        self.puts: list[dict[str, Any]] = []
        client.meta.events.register("before-call.dynamodb", self._on_call)
        client.meta.events.register("before-parameter-build.dynamodb", self._on_params)
        client.meta.events.register("before-send.dynamodb", self._on_send)

    def _on_call(self, model: Any, **_: Any) -> None:
        self.calls[model.name] += 1

    def _on_params(self, model: Any, params: Any, **_: Any) -> None:
        if model.name == "PutItem":
            self.puts.append(params["Item"])
        elif model.name == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                self.puts += [r["PutRequest"]["Item"] for r in requests if "PutRequest" in r]

    def _on_send(self, **_: Any) -> None:
        self.sends += 1

    def reset(self) -> None:
        self.calls.clear()
        self.sends = 0
        self.puts.clear()

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
    records = [item for item in counter.puts if item["pk"]["S"].startswith("DELIVERIES#")]
    if len(records) != delivered:
        raise RuntimeError(f"expected {delivered} delivery records written, saw {len(records)}")
    record_bytes = sorted(item_size(item) for item in records)
    body_bytes = sorted(len(item["body"]["B"]) for item in records if "body" in item)
    units = sum(write_units(item) for item in counter.puts)
    record_units = sum(write_units(item) for item in records)
    cost.lines += [
        f"{counter.total()} calls for {delivered} deliveries: {counter_text(counter.calls)}; "
        f"HTTP sends {counter.sends} (retries included)",
        "per notification: its state and its delivery record, batched 25 to a BatchWriteItem; per "
        "event: the claims Query and the event's conditional PutItem. "
        "No target: this is the price of exactly-once.",
        f"delivery record items: median {record_bytes[len(record_bytes) // 2]} B, largest "
        f"{record_bytes[-1]} B, the request body kept compressed "
        f"({body_bytes[len(body_bytes) // 2] if body_bytes else 0} B median, {len(body_bytes)} of "
        f"{len(records)} records); write units for the items put: {units} "
        f"({units / delivered:.2f} per notification; the records {record_units}, index entries included)",
    ]
    cost.ratio = per_delivery
    cost.ratio_label = f"{per_delivery:.2f} req/delivery"
    cost.target = "none (price of exactly-once)"
    cost.summary = (
        f"{counter_text(counter.calls)}; {units / delivered:.2f} write units per notification, "
        f"record {record_bytes[len(record_bytes) // 2]} B with its body"
    )
    return fig, cost


def counter_text(calls: Counter[str]) -> str:
    return ", ".join(f"{name} {count}" for name, count in calls.most_common())
