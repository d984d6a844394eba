"""``python -m bench.run --profile``: cProfile hotspots of figure 1 (fan-out) and figure 2 (delivery).

The fan-out runs in the dispatcher's worker threads, which cProfile alone does not see: a
``threading.setprofile`` hook starts one profiler per new thread. Timers are per-thread CPU
(``time.thread_time``), so the lists show where our process burns CPU, not where it waits.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import threading
import time
from types import FrameType
from typing import Any

from bench.infra import Receiver

TOP = 25


def _print_stats(title: str, profiles: list[cProfile.Profile], wall_s: float, cpu_s: float, per: int) -> None:
    stream = io.StringIO()
    # A worker thread that never ran a task leaves an empty profile, which pstats refuses.
    for profile in profiles:
        profile.create_stats()
    profiles = [p for p in profiles if getattr(p, "stats", None)]
    stats = pstats.Stats(profiles[0], stream=stream)
    for extra in profiles[1:]:
        stats.add(extra)
    print(
        f"== {title}: wall {wall_s:.2f} s, process CPU {cpu_s:.2f} s "
        f"({cpu_s / per * 1000:.2f} ms per notification)"
    )
    print("   (CPU under cProfile; the profiler itself inflates it several times, read the proportions)")
    stats.sort_stats("cumulative").print_stats(r"secnotify|functions/", TOP)
    stats.strip_dirs()
    stats.sort_stats("tottime").print_stats(TOP)
    stats.sort_stats("cumulative").print_stats(TOP)
    print(stream.getvalue())


def profile_fanout(receiver: Receiver, n: int, events: int) -> None:
    from bench.figures import event_from, fresh, invoke_dispatcher
    from secnotify.service import wiring

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_in_thread(frame: FrameType, event: str, arg: Any) -> None:
        profiler = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profiler)
        profiler.enable()  # replaces this hook for the rest of the thread's life

    receiver.set_delay(0.0)
    wiring.reset()  # new worker threads, so the hook sees them all
    # From Python 3.12 cProfile rides on sys.monitoring, which sees every thread and allows one
    # profiler at a time: the main thread's alone sees the workers (timed by the wall clock).
    per_thread = sys.version_info < (3, 12)
    if per_thread:
        threading.setprofile(start_in_thread)
    try:
        event = event_from("opened.json")
        invoke_dispatcher(fresh(event))  # warm: config, connections, templates
        main = cProfile.Profile(time.thread_time) if per_thread else cProfile.Profile()
        for p in profiles:
            p.clear()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        main.enable()
        for _ in range(events):
            invoke_dispatcher(fresh(event))
        main.disable()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    finally:
        threading.setprofile(None)
        receiver.set_delay(0.05)
    _print_stats(
        f"figure 1 fan-out, {events} events x {n} integrations, instant receiver, all threads",
        [main, *profiles],
        wall,
        cpu,
        events * n,
    )


def profile_delivery(receiver: Receiver, count: int) -> None:
    from bench.figures.common import SLACK_TEMPLATE, bench_request
    from secnotify.delivery import WebhookSender, generate_secret
    from secnotify.models.event import sample_event
    from secnotify.settings import get_settings
    from secnotify.templating import compile_template

    body = compile_template(SLACK_TEMPLATE, "application/json").render(sample_event()).encode()
    secret = generate_secret()
    sender = WebhookSender(get_settings())
    url = receiver.url("/ours")

    def send_all(k: int) -> None:
        for i in range(k):
            sender.send(bench_request(url, body, secret, i))

    send_all(50)
    profiler = cProfile.Profile(time.thread_time)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    profiler.enable()
    send_all(count)
    profiler.disable()
    _print_stats(
        f"figure 2 WebhookSender.send x {count}",
        [profiler],
        time.perf_counter() - wall0,
        time.process_time() - cpu0,
        count,
    )


def run(slow: Receiver, fast: Receiver, n: int) -> None:
    profile_fanout(slow, n, events=3)
    profile_delivery(fast, 2000)
