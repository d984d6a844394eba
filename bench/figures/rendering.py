"""Figure 3: placeholder rendering against hand-written code, and Jinja in the render worker."""

import functools
import json
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.figures.common import SLACK_TEMPLATE, Figure
from bench.infra import alternate, median, us

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

    def plain(count: int) -> None:
        for _ in range(count):
            compile_template(SLACK_TEMPLATE, "application/json").render(event)

    ours(100)
    local(100)
    plain(100)
    t_ours, t_local = alternate(ours, local, chunk, total // chunk)
    t_jinja, t_plain = alternate(ours, plain, chunk, total // chunk)
    per_ours = median(t_ours) / chunk
    per_local = median(t_local) / chunk
    ratio = per_ours / per_local
    per_jinja, per_plain = median(t_jinja) / chunk, median(t_plain) / chunk
    cost.lines += [
        f"through the render worker (pipe round trip; the event goes to a worker once, as in a "
        f"fan-out): {us(per_ours)} per render",
        f"the same Jinja render in this process, no limits: {us(per_local)} per render",
        f"the same output from the plain placeholder template (never the worker), side by side with "
        f"the worker: {us(per_plain)} vs {us(per_jinja)} per render, so a Jinja template costs "
        f"{per_jinja / per_plain:.1f}x the plain path",
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
