"""``make bench``: the performance figures, each a ratio of two things measured side by side in one run.

Starts its own moto server (a ``python -m moto.server`` subprocess, so moto's CPU does not share
our GIL) and its own webhook receivers (subprocesses on 127.0.0.1), provisions the stack from
template.yaml, and prints every figure with its values, ratio, target and verdict, then a
markdown table for the README.

    python -m bench.run                 # all figures
    python -m bench.run --profile       # cProfile hotspots of figures 1 and 2 instead
"""

from __future__ import annotations

import argparse
import datetime
import faulthandler
import logging
import os
import platform
import signal
import sys
import time
import uuid
from types import FrameType
from typing import Any

from bench.infra import BASE_ENV, ROOT, Children
from secnotify.settings import Settings

# make sets PYTHONPATH=layers:.; this lets ``python -m bench.run`` work without it too.
for _path in (str(ROOT), str(ROOT / "layers")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

DEADLINE_S = 285  # make bench must finish within 5 minutes


def _deadline(signum: int, frame: FrameType | None) -> None:
    raise TimeoutError(f"bench exceeded {DEADLINE_S} s")


def _header(moto_kind: str) -> None:
    print("secnotify bench")
    print(f"date:     {datetime.datetime.now(datetime.UTC).isoformat(timespec='seconds')}")
    print(f"python:   {platform.python_implementation()} {platform.python_version()}")
    print(f"platform: {platform.platform()} ({platform.machine()})")
    print(f"cores:    {os.cpu_count()} (usable by this process: {len(os.sched_getaffinity(0))})")
    print(f"moto:     {moto_kind}")
    print("receivers: http.server subprocesses on 127.0.0.1 (keep-alive, backlog 1024)")
    print(flush=True)


def _quiet_handler_logs() -> None:
    """Handler logs are formatted as in Lambda (the cost stays) but written to /dev/null."""
    # Both handlers register the one powertools logger of the service.
    import functions.config_api.app
    import functions.dispatcher.app  # noqa: F401

    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    for handler in logging.getLogger(BASE_ENV["POWERTOOLS_SERVICE_NAME"]).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(sink)


def _print_figure(fig: Any) -> None:
    print(f"[{fig.number}] {fig.title}")
    for line in fig.lines:
        print(f"    {line}")
    print(f"    ratio: {fig.ratio_label}   target: {fig.target}   verdict: {fig.verdict}")
    print(flush=True)


def _table(figures: list[Any]) -> None:
    print("Markdown for the README:")
    print()
    print("| # | figure | measured | ratio | target | verdict |")
    print("|---|---|---|---|---|---|")
    for fig in figures:
        title = fig.title.replace("|", "/")
        print(
            f"| {fig.number} | {title} | {fig.summary} | {fig.ratio_label} | {fig.target} | {fig.verdict} |"
        )
    print(flush=True)


def _setup(children: Children, concurrency: int) -> tuple[Any, Any, Any]:
    from local.provision import provision
    from secnotify.service import wiring

    os.environ.update(BASE_ENV)
    os.environ.pop("AWS_PROFILE", None)
    endpoint = children.moto()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    stack = provision(endpoint, prefix=f"bench{uuid.uuid4().hex[:8]}")
    env = stack.environment()
    env["FANOUT_CONCURRENCY"] = str(concurrency)
    os.environ.update(env)
    wiring.reset()
    slow = children.receiver(0.05)
    fast = children.receiver(0.0)
    return stack, slow, fast


def _fresh_api_stack(children: Children) -> str:
    """A second moto server for figure 6: moto copies every table on each transaction, so the
    table the fan-out filled with claims and records would make TransactWriteItems look slow."""
    from local.provision import CONFIG_API, provision
    from secnotify.service import wiring

    endpoint = children.moto()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    stack = provision(endpoint, prefix=f"benchapi{uuid.uuid4().hex[:8]}")
    os.environ.update(stack.environment(CONFIG_API))
    wiring.reset()
    return str(stack.table_name)


def _fresh_dispatcher_stack(children: Children) -> str:
    """A third moto server for figure 7: its own profile and one integration, so a notified
    finding is one delivery and the bench's 200 integrations stay out of it."""
    from local.provision import provision
    from secnotify.service import wiring

    endpoint = children.moto()
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    stack = provision(endpoint, prefix=f"benchaws{uuid.uuid4().hex[:8]}")
    os.environ.update(stack.environment())
    wiring.reset()
    return str(stack.table_name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="secnotify performance figures")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=Settings().fanout_concurrency,
        help="FANOUT_CONCURRENCY for figure 1 (default: the deployed default)",
    )
    parser.add_argument("--integrations", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="cProfile figures 1 and 2 instead")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGALRM, _deadline)
    signal.alarm(DEADLINE_S)
    faulthandler.dump_traceback_later(DEADLINE_S + 10, exit=True)
    children = Children()
    began = time.perf_counter()
    try:
        _header("python -m moto.server subprocess (own process, own GIL)")
        stack, slow, fast = _setup(children, args.concurrency)
        _quiet_handler_logs()

        from bench import figures

        started = time.perf_counter()
        figures.create_integrations([slow.url(f"/fanout/{i}") for i in range(args.integrations)], "opened")
        print(
            f"setup: stack {stack.table_name}, 1 profile + {args.integrations} signed integrations "
            f"created through the service layer in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        print(flush=True)

        if args.profile:
            from bench import profiling

            profiling.run(slow, fast, args.integrations)
            return 0

        results: list[Any] = []
        steps = [
            lambda: [figures.fanout(slow, args.integrations, 0.05, args.concurrency, 5, children.moto_cpu_s)],
            lambda: [figures.delivery_overhead(fast, total=2000, chunk=100)],
            lambda: [figures.rendering(total=10_000, chunk=1000)],
            lambda: list(figures.jinja_rendering(total=4000, chunk=200)),
            lambda: list(figures.dynamodb_per_event(1000, args.integrations)),
            lambda: [figures.config_reload(args.integrations)],
        ]
        for step in steps:
            for fig in step():
                _print_figure(fig)
                results.append(fig)
        imports, top = figures.cold_import(stack.environment(), runs=9)
        _print_figure(imports)
        results.append(imports)
        print("    -X importtime, top 10 packages the handler pulls in:")
        for line in top:
            print(f"      {line}")
        print(flush=True)
        table = _fresh_api_stack(children)
        api = figures.config_api(rounds=6, chunk=10)
        api.lines.append(
            f"on a second, empty moto server (table {table}): moto copies the table on every "
            "transaction, so the fan-out's table would make creates look slow"
        )
        _print_figure(api)
        results.append(api)
        table = _fresh_dispatcher_stack(children)
        aws = figures.finding_snapshots(fast)
        aws.lines.append(f"on a third moto server (table {table}), receiver without delay")
        _print_figure(aws)
        results.append(aws)
        table = _fresh_dispatcher_stack(children)
        plain = figures.fanout_https(children, args.concurrency, tls=False)
        plain.lines.append(f"on a fourth moto server (table {table})")
        _print_figure(plain)
        results.append(plain)
        table = _fresh_dispatcher_stack(children)
        https = figures.fanout_https(children, args.concurrency, sweep=(64, 128, 256))
        https.lines.append(f"on a fifth moto server (table {table})")
        _print_figure(https)
        results.append(https)
        table = _fresh_dispatcher_stack(children)
        dynatrace = figures.dynatrace_polls()
        dynatrace.lines.append(f"on a sixth moto server (table {table})")
        _print_figure(dynatrace)
        results.append(dynatrace)

        _table(results)
        missed = [f.number for f in results if f.verdict in ("MISS", "ERROR")]
        print(f"done in {time.perf_counter() - began:.0f} s; missed targets: {missed or 'none'}")
        return 0
    finally:
        signal.alarm(0)
        faulthandler.cancel_dump_traceback_later()
        children.stop_all()


if __name__ == "__main__":
    sys.exit(main())
