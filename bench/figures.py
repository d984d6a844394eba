"""The six figures. Each returns a ``Figure``: measured values, a ratio, the target and a verdict.

Everything runs against the real code paths on a moto server and local receivers; nothing of
ours is replaced. Timings use ``time.perf_counter`` and medians; the two sides of a ratio are
measured alternately in the same run.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.infra import ROOT, Receiver, alternate, child_env, median, ms, timed, us
from secnotify.settings import Settings


def bench_request(url: str, body: bytes, secret: str, index: int) -> Any:
    """The request figure 2 sends: the seed payload, a secret header, signed."""
    from secnotify.delivery import WebhookRequest

    return WebhookRequest(
        url=url,
        headers=(("Content-Type", "application/json"), ("Authorization", AUTH)),
        body=body,
        accept_any_certificate=False,
        webhook_id=f"msg_{index:032d}",
        timestamp=int(time.time()),
        signing_secret=secret,
        secret_header_names=frozenset({"authorization"}),
    )


SLACK_TEMPLATE: str = json.loads((ROOT / "events/api/integration-slack.json").read_text())["webhook"][
    "payload"
]
AUTH = "Bearer bench-secret-0123456789abcdef"


@dataclass
class Figure:
    number: int
    title: str
    lines: list[str] = field(default_factory=list)
    ratio: float | None = None
    ratio_label: str = ""
    target: str = ""
    verdict: str = "info"
    summary: str = ""

    def judge(self, ok: bool) -> None:
        self.verdict = "PASS" if ok else "MISS"


def event_from(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "events/eventbridge" / name).read_text())
    return data


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    """The same event under a new id: the claims make a repeated id a no-op."""
    return {**event, "id": str(uuid.uuid4())}


def invoke_dispatcher(event: dict[str, Any]) -> dict[str, Any]:
    from functions.dispatcher.app import lambda_handler
    from local.lambda_runtime import LocalContext

    result: dict[str, Any] = lambda_handler(event, LocalContext())
    return result


# ---- setup ---------------------------------------------------------------------------------


def create_integrations(receiver: Receiver, count: int) -> str:
    """One profile for opened events, ``count`` signed integrations on it, via the service layer."""
    from secnotify.models.integration import IntegrationInput
    from secnotify.models.profile import AlertingProfileInput
    from secnotify.service.wiring import api_services

    services = api_services()
    profile = services.profiles.create(
        AlertingProfileInput.model_validate(
            {"name": "bench: opened", "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED"]}
        )
    )
    for i in range(count):
        services.integrations.create(
            IntegrationInput.model_validate(
                {
                    "displayName": f"bench {i}",
                    "alertingProfileId": profile.id,
                    "generateSigningSecret": True,
                    "webhook": {
                        "url": receiver.url(f"/fanout/{i}"),
                        "headers": [
                            {"name": "Content-Type", "value": "application/json"},
                            {"name": "Authorization", "value": AUTH, "secret": True},
                        ],
                        "payload": SLACK_TEMPLATE,
                    },
                }
            )
        )
    return profile.id


# ---- 1. fan-out ----------------------------------------------------------------------------


def _build_dispatcher(concurrency: int) -> Any:
    """The graph ``wiring.dispatcher()`` builds, with its own pool sized as ``shared_pool`` sizes it.

    Used for the concurrency sweep only: the process-wide pool keeps the size of the first caller.
    """
    import urllib3

    from secnotify.delivery import WebhookSender
    from secnotify.service.config_cache import ConfigCache
    from secnotify.service.dispatch import Dispatcher
    from secnotify.service.notify import Notifier
    from secnotify.settings import get_settings
    from secnotify.storage.dynamodb import DynamoStore
    from secnotify.storage.queues import Queues
    from secnotify.storage.secrets import SecretBox

    settings = get_settings().replace(fanout_concurrency=concurrency)
    pool = urllib3.PoolManager(num_pools=max(64, concurrency * 2), maxsize=max(10, concurrency), block=False)
    store = DynamoStore(settings.table_name)
    return Dispatcher(
        store=store,
        queues=Queues(settings.retry_queue_url, settings.dead_letter_queue_url),
        notifier=Notifier(store, settings, sender=WebhookSender(settings, pool=pool)),
        config=ConfigCache(
            store,
            SecretBox(settings.table_name, settings.kms_key_id, dynamodb=store.client),
            settings.config_cache_ttl_s,
        ),
        settings=settings,
    )


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
        f"FANOUT_CONCURRENCY={concurrency} (settings default {Settings().fanout_concurrency})",
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


# ---- 2. delivery overhead ------------------------------------------------------------------


def delivery_overhead(receiver: Receiver, total: int, chunk: int) -> Figure:
    import urllib3

    from secnotify.delivery import WebhookSender, generate_secret, sign
    from secnotify.delivery.signing import USER_AGENT
    from secnotify.models.event import sample_event
    from secnotify.settings import get_settings
    from secnotify.templating import compile_template

    fig = Figure(2, f"Delivery overhead: {total} POSTs, WebhookSender.send vs bare urllib3 loop")
    body = compile_template(SLACK_TEMPLATE, "application/json").render(sample_event()).encode()
    secret = generate_secret()
    sender = WebhookSender(get_settings())
    ours_url = receiver.url("/ours")
    bare_url = receiver.url("/bare")
    bare_pool = urllib3.PoolManager()
    bare_timeout = urllib3.Timeout(connect=5.0, read=10.0)
    msg_id = "msg_" + "0" * 32
    stamp = int(time.time())
    # What a careful human would send: the same headers, signed once up front.
    bare_headers = {
        "Content-Type": "application/json",
        "Authorization": AUTH,
        "User-Agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, msg_id, stamp, body),
    }

    def ours(count: int) -> None:
        for i in range(count):
            outcome = sender.send(bench_request(ours_url, body, secret, i))
            if not outcome.delivered:
                raise RuntimeError(f"delivery failed: {outcome.error}")

    def bare(count: int) -> None:
        for _ in range(count):
            resp = bare_pool.request(
                "POST",
                bare_url,
                body=body,
                headers=bare_headers,
                retries=False,
                redirect=False,
                timeout=bare_timeout,
            )
            if resp.status != 200:
                raise RuntimeError(f"bare POST got {resp.status}")

    ours(50)
    bare(50)
    t_ours, t_bare = alternate(ours, bare, chunk, total // chunk)
    stats = receiver.stats()["headerNames"]
    per_ours = median(t_ours) / chunk
    per_bare = median(t_bare) / chunk
    ratio = sum(t_ours) / sum(t_bare)
    fig.lines += [
        f"ours: {sum(t_ours):.3f} s total, {us(per_ours)} per POST "
        f"(median of {len(t_ours)} chunks of {chunk})",
        f"bare: {sum(t_bare):.3f} s total, {us(per_bare)} per POST",
        f"our added cost: {us(per_ours - per_bare)} per delivery "
        "(URL parsing, SSRF vetting, header checks, signing, outcome)",
        f"wire headers: ours {len(stats.get('ours', []))} {sorted(stats.get('ours', []))}; "
        f"bare {len(stats.get('bare', []))}",
        f"receiver: subprocess on 127.0.0.1, answers 200 at once, keep-alive; payload {len(body)} bytes",
    ]
    fig.ratio = ratio
    fig.ratio_label = (
        f"{ratio:.2f} (median chunk ratio {median([a / b for a, b in zip(t_ours, t_bare, strict=True)]):.2f})"
    )
    fig.target = "<= 1.3"
    fig.judge(ratio <= 1.3)
    fig.summary = f"{us(per_ours)} vs {us(per_bare)} per POST"
    return fig


# ---- 3. rendering --------------------------------------------------------------------------

# The seed template written by hand as a format string; values are JSON-escaped by hand below.
_HAND_FORMAT = (
    '{{\n  "text": "Notification for *{id}* and *{severity} {score}* (CVSS: {cvss}). \\nTitle: *{title}*\\n'
    "```{description}```\\n{url}\\n* Public exploit: {exploit}, \\n* public exposure: {exposed}, \\n"
    "* sensitive data exposure: {sensitive}. \\nRemediable entities as JSON array: ```{entities}```  \\n\\n"
    " *from test system* :dynatrace: (triggered by 'all risk levels' rule).\"\n}}"
)


def _esc(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def hand_render(e: Any) -> str:
    entities = json.dumps(
        [{"id": a.id, "name": a.name, "type": a.type} for a in e.affected_entities], ensure_ascii=False
    )
    return _HAND_FORMAT.format(
        id=_esc(e.display_id),
        severity=_esc(e.risk_level.value.title()),
        score=_score(e.risk_score),
        cvss=_score(e.base_risk_score),
        title=_esc(e.title),
        description=_esc(e.description),
        url=_esc(e.url),
        exploit="true" if e.public_exploit == "AVAILABLE" else "false",
        exposed="true" if e.exposure == "PUBLIC_NETWORK" else "false",
        sensitive="true" if e.data_assets == "REACHABLE" else "false",
        entities=_esc(entities),
    )


def rendering(total: int, chunk: int) -> Figure:
    from secnotify.models.event import sample_event
    from secnotify.templating import compile_template

    fig = Figure(3, f"Rendering: seed Slack template x {total}, compile_template().render vs str.format")
    event = sample_event()
    ours_out = compile_template(SLACK_TEMPLATE, "application/json").render(event)
    hand_out = hand_render(event)
    if ours_out != hand_out:
        fig.verdict = "ERROR"
        fig.lines.append(f"outputs differ:\n ours={ours_out!r}\n hand={hand_out!r}")
        return fig

    def ours(count: int) -> None:
        for _ in range(count):
            compile_template(SLACK_TEMPLATE, "application/json").render(event)

    def hand(count: int) -> None:
        for _ in range(count):
            hand_render(event)

    ours(200)
    hand(200)
    t_ours, t_hand = alternate(ours, hand, chunk, total // chunk)
    per_ours = median(t_ours) / chunk
    per_hand = median(t_hand) / chunk
    ratio = per_ours / per_hand
    fig.lines += [
        f"ours: {us(per_ours)} per render (median of {len(t_ours)} chunks of {chunk}; "
        "compile_template lookup included)",
        f"hand-written str.format with json.dumps escaping: {us(per_hand)} per render",
        f"outputs identical ({len(ours_out)} chars); template path: "
        f"{'jinja' if compile_template(SLACK_TEMPLATE, 'application/json').uses_jinja else 'plain'}",
    ]
    fig.ratio = ratio
    fig.ratio_label = f"{ratio:.2f}"
    fig.target = "<= 3"
    fig.judge(ratio <= 3)
    fig.summary = f"{us(per_ours)} vs {us(per_hand)}"
    return fig


# ---- 3b. Jinja rendering in the render worker ----------------------------------------------

# The seed template with a Jinja comment in front: same output, but it takes the Jinja path.
JINJA_SLACK_TEMPLATE = "{# jinja #}" + SLACK_TEMPLATE

# The outside review's templates that froze the dispatcher (issue 8); each must be cut.
RENDER_BOMBS = {
    "{% if EventId != ... %}{{ [[1]*100000]*3000 }}": (
        '{% if EventId != "x" %}{{ [[1]*100000]*3000 }}{% else %}{}{% endif %}'
    ),
    "{{ [[1]*100000]*1000 }}": "{{ [[1]*100000]*1000 }}",
    "([('\U0001f600'*1000000)]*100000)|string|length": (
        "{{ ([('\U0001f600'*1000000)]*100000)|string|length }}"
    ),
    "('{0}'*250).format('x'*1000000)": "{{ ('{0}'*250).format('x'*1000000) }}",
    "([[1]*1000]*900)|sum(start=[])": "{{ ([[1]*1000]*900)|sum(start=[]) }}",
}


def _time_bomb(render: Callable[[], Any], error: type[Exception]) -> tuple[float, str, float]:
    """Wall time of ``render`` to its error, the error, and the longest gap a 1 ms ticker
    thread saw meanwhile (a render holding the GIL would show here)."""
    stalls: list[float] = []
    stop = threading.Event()

    def ticker() -> None:
        last = time.perf_counter()
        while not stop.wait(0.001):
            now = time.perf_counter()
            stalls.append(now - last)
            last = now

    thread = threading.Thread(target=ticker)
    thread.start()
    started = time.perf_counter()
    try:
        render()
        message = "rendered!"
    except error as exc:
        message = str(exc)
    wall = time.perf_counter() - started
    stop.set()
    thread.join()
    return wall, message, max(stalls, default=0.0)


def jinja_rendering(total: int, chunk: int) -> tuple[Figure, Figure]:
    from secnotify.models.event import sample_event
    from secnotify.settings import get_settings
    from secnotify.templating import TemplateError, compile_template, worker

    settings = get_settings()
    max_bytes = settings.render_max_output_bytes
    cost = Figure(3, f"Jinja rendering: seed template in Jinja x {total}, render worker vs in-process")
    event = sample_event()
    compiled = compile_template(JINJA_SLACK_TEMPLATE, "application/json")
    via_worker = compiled.render(event)  # starts the pool
    here = worker.render_here(
        JINJA_SLACK_TEMPLATE, "json", event, settings.render_max_output_bytes, settings.render_timeout_s
    )
    if (
        not compiled.uses_jinja
        or via_worker != here
        or here != compile_template(SLACK_TEMPLATE, "application/json").render(event)
    ):
        cost.verdict = "ERROR"
        cost.lines.append("the Jinja seed template does not render like the plain one")
        return cost, Figure(3, "render budget")

    def ours(count: int) -> None:
        for _ in range(count):
            compile_template(JINJA_SLACK_TEMPLATE, "application/json").render(event)

    def local(count: int) -> None:
        for _ in range(count):
            worker.render_here(JINJA_SLACK_TEMPLATE, "json", event, max_bytes, settings.render_timeout_s)

    ours(100)
    local(100)
    t_ours, t_local = alternate(ours, local, chunk, total // chunk)
    per_ours = median(t_ours) / chunk
    per_local = median(t_local) / chunk
    ratio = per_ours / per_local
    cost.lines += [
        f"through the render worker (pipe round trip; the event goes to a worker once, as in a "
        f"fan-out): {us(per_ours)} per render",
        f"the same Jinja render in this process, no limits: {us(per_local)} per render",
        "plain placeholder templates (figure 3) never use the worker",
    ]
    cost.ratio = ratio
    cost.ratio_label = f"{ratio:.1f}"
    cost.target = "(the price of a hard limit)"
    cost.summary = f"{us(per_ours)} vs {us(per_local)}"

    limits = Figure(3, "Render budget: each bomb cut in the worker; wall, worker peak RSS, neighbour stall")
    wall_limit = settings.render_timeout_s + 0.5
    worst_wall = worst_rss = worst_stall = 0.0
    ok = True
    for label, template in RENDER_BOMBS.items():
        bomb = compile_template(template, "text/plain")
        compiled.render(event)  # a ready worker, as in steady state
        wall, message, stall = _time_bomb(functools.partial(bomb.render, event), TemplateError)
        stopped = worker.POOL.last_stopped
        rss_mb = (stopped.peak_rss_kib or 0) / 1024 if stopped is not None else 0.0
        cut = message.startswith("render budget exceeded")
        ok = ok and cut and wall <= wall_limit and 0 < rss_mb <= 256
        worst_wall, worst_rss = max(worst_wall, wall), max(worst_rss, rss_mb)
        worst_stall = max(worst_stall, stall)
        limits.lines.append(
            f"{label}: {wall:.2f} s, peak RSS {rss_mb:.0f} MB, neighbour thread's longest stall "
            f"{stall * 1000:.0f} ms; {message[:70]}"
        )
    limits.ratio = worst_wall
    limits.ratio_label = f"{worst_wall:.2f} s, {worst_rss:.0f} MB"
    limits.target = f"<= {wall_limit:.1f} s, <= 256 MB"
    limits.judge(ok)
    limits.summary = (
        f"worst {worst_wall:.2f} s wall, {worst_rss:.0f} MB peak RSS; "
        f"neighbour stall <= {worst_stall * 1000:.0f} ms"
    )
    return cost, limits


# ---- 4. DynamoDB requests per event -------------------------------------------------------


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


def dynamodb_per_event(events: int, n_integrations: int) -> tuple[Figure, Figure]:
    from secnotify.service.wiring import dispatcher

    fig = Figure(4, f"DynamoDB requests per event: {events} filtered-out events at steady state")
    graph = dispatcher()
    counter = CallCounter(graph.store.client)
    filtered = event_from("resolved.json")  # the bench profile wants opened events only
    invoke_dispatcher(fresh(filtered))  # steady state: config cached
    counter.reset()
    started = time.perf_counter()
    for _ in range(events):
        result = invoke_dispatcher(fresh(filtered))
        if result["counts"].get("matched", 0) or result["counts"].get("malformed", 0):
            raise RuntimeError(f"expected a filtered-out event, got {result['counts']}")
    elapsed = time.perf_counter() - started
    per_event = counter.total() / events
    # One cache refill: what each TTL expiry costs.
    graph.config.invalidate()
    counter.reset()
    invoke_dispatcher(fresh(filtered))
    refill = counter.total()
    ttl = graph.settings.config_cache_ttl_s
    fig.lines += [
        f"{events} events in {elapsed:.2f} s "
        f"({events / elapsed:.0f} events/s, {us(elapsed / events)} each through the handler)",
        f"DynamoDB API calls during them: {per_event * events:.0f} -> {per_event:.4f} per event",
        f"one config-cache refill costs {refill} request(s) ({n_integrations} integrations); "
        f"TTL {ttl:.0f} s, so a steady stream of R events/s costs {refill}/({ttl:.0f} x R) per event "
        f"(<= 0.01 for R >= {refill / (0.01 * ttl):.1f} events/s)",
    ]
    fig.ratio = per_event
    fig.ratio_label = f"{per_event:.4f} req/event"
    fig.target = "<= 0.01"
    fig.judge(per_event <= 0.01)
    fig.summary = f"{per_event * events:.0f} requests / {events} events"

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


# ---- 5. cold import ------------------------------------------------------------------------

_IMPORT = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"


def _import_once(module: str, env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT.format(module=module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def importtime_top(module: str, env: dict[str, str], top: int) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    rows: list[tuple[int, int, str]] = []
    for line in out.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(1)), int(m.group(2)), m.group(4)))
    # Cumulative cost of the packages our modules pull in, outermost first: what lazy imports would save.
    top_level: dict[str, int] = {}
    for _self_us, cumulative, name in rows:
        root = name.split(".")[0]
        if root in ("functions", "secnotify", "encodings", "site"):
            continue
        top_level[root] = max(top_level.get(root, 0), cumulative)
    ranked = sorted(top_level.items(), key=lambda kv: kv[1], reverse=True)[:top]
    total = next((c for _s, c, n in rows if n == module), 0)
    lines = [f"total import of {module}: {total / 1000:.1f} ms (-X importtime, one run)"]
    lines += [
        f"{i + 1:2d}. {name:<28} {cum / 1000:8.1f} ms cumulative" for i, (name, cum) in enumerate(ranked)
    ]
    ours = sorted(
        ((c, n) for _s, c, n in rows if n.split(".")[0] in ("functions", "secnotify")), reverse=True
    )[:top]
    lines.append("our own modules by cumulative time (includes what they import first):")
    lines += [f"    {name:<40} {cum / 1000:8.1f} ms" for cum, name in ours]
    return lines


def cold_import(stack_env: dict[str, str], runs: int) -> tuple[Figure, list[str]]:
    fig = Figure(5, f"Cold import: functions.dispatcher.app vs boto3, fresh processes, median of {runs}")
    env = child_env(stack_env)
    # Unmeasured first runs write the .pyc files a fresh clone does not have yet.
    _import_once("functions.dispatcher.app", env)
    _import_once("boto3", env)
    app: list[tuple[float, float]] = []
    boto: list[tuple[float, float]] = []
    for i in range(runs):
        pair = [("functions.dispatcher.app", app), ("boto3", boto)]
        for module, sink in pair if i % 2 == 0 else reversed(pair):
            sink.append(_import_once(module, env))
    app_import, boto_import = median([a for a, _ in app]), median([b for b, _ in boto])
    app_proc, boto_proc = median([b for _, b in app]), median([b for _, b in boto])
    ratio = app_import / boto_import
    fig.lines += [
        f"import only (perf_counter inside the child): handler {ms(app_import)}, boto3 {ms(boto_import)}",
        f"whole process (interpreter start + import): handler {ms(app_proc)}, boto3 {ms(boto_proc)} "
        f"-> {app_proc / boto_proc:.2f}",
        "env: the dispatcher's template environment, POWERTOOLS_TRACE_DISABLED=true, .pyc warm",
    ]
    fig.ratio = ratio
    fig.ratio_label = f"{ratio:.2f} (import only)"
    fig.target = "<= 1.5"
    fig.judge(ratio <= 1.5)
    fig.summary = f"{ms(app_import)} vs {ms(boto_import)}"
    return fig, importtime_top("functions.dispatcher.app", env, 10)


# ---- 6. config API -------------------------------------------------------------------------


def config_api(rounds: int, chunk: int) -> Figure:
    import boto3
    from botocore.config import Config

    from functions.config_api.app import lambda_handler
    from local.lambda_runtime import LocalContext, apigw_event
    from secnotify.service.common import new_id, now_iso
    from secnotify.settings import get_settings

    fig = Figure(6, f"Config API: create + get of a profile, handler vs raw boto3 ({rounds * chunk} each)")
    table = get_settings().table_name
    # The client DynamoStore builds; the same moto server.
    client = boto3.client(
        "dynamodb", config=Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=64)
    )
    body = json.dumps({"name": "bench api", "enabledRiskLevels": ["CRITICAL", "HIGH"]}).encode()
    headers = {"Content-Type": "application/json"}
    created: list[str] = []
    raw_ids: list[str] = []

    def api_create(count: int) -> None:
        for _ in range(count):
            out = lambda_handler(apigw_event("POST", "/alerting-profiles", headers, body), LocalContext())
            if out["statusCode"] != 201:
                raise RuntimeError(f"create failed: {out}")
            created.append(json.loads(out["body"])["id"])

    def api_get(count: int) -> None:
        for i in range(count):
            out = lambda_handler(
                apigw_event("GET", f"/alerting-profiles/{created[i]}", {}, b""), LocalContext()
            )
            if out["statusCode"] != 200:
                raise RuntimeError(f"get failed: {out}")

    def raw_create(count: int) -> None:
        for _ in range(count):
            item_id = new_id()
            now = now_iso()
            doc = {
                "name": "bench api",
                "enabled": True,
                "enabledRiskLevels": ["CRITICAL", "HIGH"],
                "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED"],
                "managementZone": None,
                "createdAt": now,
                "updatedAt": now,
            }
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"pk": {"S": "CONFIG"}, "sk": {"S": "COUNTER#PROFILE"}},
                            "UpdateExpression": "SET n = if_not_exists(n, :zero) + :delta",
                            "ConditionExpression": "attribute_not_exists(n) OR n < :max",
                            "ExpressionAttributeValues": {
                                ":zero": {"N": "0"},
                                ":delta": {"N": "1"},
                                ":max": {"N": "1000000"},
                            },
                        }
                    },
                    {
                        "Put": {
                            "TableName": table,
                            "Item": {
                                "pk": {"S": "CONFIG"},
                                "sk": {"S": f"PROFILE#{item_id}"},
                                "kind": {"S": "PROFILE"},
                                "id": {"S": item_id},
                                "version": {"N": "1"},
                                "doc": {"S": json.dumps(doc, separators=(",", ":"))},
                                "refCount": {"N": "0"},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                ]
            )
            raw_ids.append(item_id)

    def raw_get(count: int) -> None:
        for i in range(count):
            resp = client.get_item(
                TableName=table,
                Key={"pk": {"S": "CONFIG"}, "sk": {"S": f"PROFILE#{raw_ids[i]}"}},
                ConsistentRead=True,
            )
            json.loads(resp["Item"]["doc"]["S"])

    api_create(3)
    raw_create(3)
    api_get(3)
    raw_get(3)
    t: dict[str, list[float]] = {"api_create": [], "raw_create": [], "api_get": [], "raw_get": []}
    for i in range(rounds):
        order = [
            ("api_create", api_create),
            ("raw_create", raw_create),
            ("api_get", api_get),
            ("raw_get", raw_get),
        ]
        if i % 2:
            order = [order[1], order[0], order[3], order[2]]
        for name, fn in order:
            t[name].append(timed(lambda fn=fn: fn(chunk)) / chunk)  # type: ignore[misc]
    per = {k: median(v) for k, v in t.items()}
    create_ratio = per["api_create"] / per["raw_create"]
    get_ratio = per["api_get"] / per["raw_get"]
    fig.lines += [
        f"create: handler {ms(per['api_create'])}, raw TransactWriteItems {ms(per['raw_create'])} "
        f"-> {create_ratio:.2f}",
        f"get:    handler {ms(per['api_get'])}, raw GetItem {ms(per['raw_get'])} -> {get_ratio:.2f}",
        "handler = functions.config_api.app.lambda_handler with API Gateway proxy events (apigw_event); "
        "medians per request over chunks, alternating",
    ]
    fig.ratio = create_ratio
    fig.ratio_label = f"create {create_ratio:.2f}, get {get_ratio:.2f}"
    fig.target = "none (info)"
    fig.summary = (
        f"create {ms(per['api_create'])} vs {ms(per['raw_create'])}; "
        f"get {ms(per['api_get'])} vs {ms(per['raw_get'])}"
    )
    return fig
