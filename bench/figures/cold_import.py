"""Figure 5: cold import of the dispatcher against boto3."""

import re
import subprocess
import sys
import time

from bench.figures.common import Figure
from bench.infra import ROOT, child_env, median, ms

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
