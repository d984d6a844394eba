"""Figure 5: cold import of the dispatcher against boto3, and its cold start with tracing on and off."""

import json
import re
import socket
import subprocess
import sys
import time
from typing import Any

from bench.figures.common import Figure, event_from, fresh
from bench.infra import ROOT, child_env, median, ms

_IMPORT = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
# A Lambda cold start: import the handler, then its first invocation (the event in argv[1]).
_COLD_START = """
import json, sys, time
started = time.perf_counter()
import functions.dispatcher.app as app
imported = time.perf_counter()
from local.lambda_runtime import LocalContext
result = app.lambda_handler(json.loads(sys.argv[1]), LocalContext())
done = time.perf_counter()
print(json.dumps({"import": imported - started, "invoke": done - imported,
                  "delivered": result["counts"].get("delivered", 0), "tracer": app.tracer is not None}))
"""
TRACING_OFF = {"POWERTOOLS_TRACE_DISABLED": "true"}


def _tracing_on(daemon_port: int) -> dict[str, str]:
    """Tracing as in Lambda with Tracing: Active: the Tracer active, botocore patched, every
    segment sent over UDP (to a socket here that nobody reads)."""
    return {
        "POWERTOOLS_TRACE_DISABLED": "false",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_XRAY_DAEMON_ADDRESS": f"127.0.0.1:{daemon_port}",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "_X_AMZN_TRACE_ID": "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
    }


def _python(args: list[str], env: dict[str, str], timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter of this virtualenv, run from the repository root."""
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=True,
    )


def _import_once(module: str, env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    out = _python(["-c", _IMPORT.format(module=module)], env)
    return float(out.stdout.strip().splitlines()[-1]), time.perf_counter() - started


def importtime_top(module: str, env: dict[str, str], top: int) -> list[str]:
    out = _python(["-X", "importtime", "-c", f"import {module}"], env)
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


def _cold_start_once(env: dict[str, str], event: dict[str, Any]) -> dict[str, Any]:
    out = _python(["-c", _COLD_START, json.dumps(event)], env, timeout_s=120)
    last = [line for line in out.stdout.splitlines() if line.startswith('{"import"')][-1]
    result: dict[str, Any] = json.loads(last)
    return result


def cold_start(stack_env: dict[str, str], runs: int) -> list[str]:
    """Import + first invocation of an event that matches every integration, in fresh processes,
    tracing on and off alternately; the lines to print."""
    event = event_from("opened.json")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        modes = {
            "off": child_env({**stack_env, **TRACING_OFF}),
            "on": child_env({**stack_env, **_tracing_on(daemon.getsockname()[1])}),
        }
        samples: dict[str, list[dict[str, Any]]] = {"off": [], "on": []}
        for i in range(runs):
            for mode in ("off", "on") if i % 2 == 0 else ("on", "off"):
                samples[mode].append(_cold_start_once(modes[mode], fresh(event)))
    lines = []
    for mode in ("off", "on"):
        got = samples[mode]
        delivered = {s["delivered"] for s in got}
        if any(s["tracer"] != (mode == "on") for s in got):
            raise RuntimeError(f"tracing {mode}: the handler's Tracer does not match")
        total = median([s["import"] + s["invoke"] for s in got])
        lines.append(
            f"COLD START, tracing {mode:>3}: {ms(total)} = import {ms(median([s['import'] for s in got]))} "
            f"+ first invocation {ms(median([s['invoke'] for s in got]))} "
            f"(delivered {'/'.join(map(str, sorted(delivered)))}, median of {runs})"
        )
    return lines


def cold_import(stack_env: dict[str, str], runs: int, cold_runs: int = 5) -> tuple[Figure, list[str]]:
    fig = Figure(
        5,
        f"Cold import (tracing off): functions.dispatcher.app vs boto3, fresh processes, median of {runs}; "
        "cold start with tracing on and off",
    )
    fig.lines += cold_start(stack_env, cold_runs)
    env = child_env({**stack_env, **TRACING_OFF})
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
        "env: the dispatcher's template environment with POWERTOOLS_TRACE_DISABLED=true (Tracing: "
        "PassThrough), .pyc warm; tracing on imports the X-Ray SDK by design, so the target is on "
        "tracing off",
        "cold start: a fresh process imports the handler and invokes it once with an opened event that "
        "matches every bench integration (receiver answers after 50 ms); tracing on = the Tracer "
        "active as in Lambda, segments sent over UDP to a local socket",
    ]
    fig.ratio = ratio
    fig.ratio_label = f"{ratio:.2f} (import only, tracing off)"
    fig.target = "<= 1.8"
    fig.judge(ratio <= 1.8)
    fig.summary = f"{ms(app_import)} vs {ms(boto_import)}"
    return fig, importtime_top("functions.dispatcher.app", env, 10)
