"""Jinja renders run in child processes with hard limits, so no template can stall the caller.

The sandbox counts work between steps, but one builtin call (``str()`` of a huge list,
``str.format``, ``sum``) runs to its end holding the GIL: in the dispatcher that froze every
fan-out thread, their sends included. So a Jinja template renders in a worker process:

- its address space is capped (``RLIMIT_AS``), so a memory bomb fails there with MemoryError;
- the caller waits on the pipe for at most the render timeout plus a small grace, then kills
  the worker; ``RLIMIT_CPU`` is the backstop should the caller itself be gone;
- a worker that breached a limit is never reused: the next render gets a fresh one.

A worker is a fresh interpreter (fork + exec, like multiprocessing's spawn: the threaded
dispatcher is never forked without exec) talking over a socket pair with multiprocessing's
``Connection`` framing; nothing needs ``/dev/shm``, which Lambda lacks (multiprocessing pools,
queues and locks fail there). Plain ``multiprocessing.Process`` is not used because its spawn
and forkserver methods re-import the main module in the child, which in Lambda is the
runtime's bootstrap. The pool starts lazily on the first Jinja render (about 0.3 s for a
worker to import Jinja and the models); plain templates never get here.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from secnotify.models.event import SecurityEvent
from secnotify.templating.errors import RenderBudgetExceeded, RenderUnavailable, TemplateError
from secnotify.templating.escaping import Mode
from secnotify.templating.jinja_engine import JinjaTemplate

WORKERS = 2  # a bomb holds one worker for at most the wall limit; the other keeps rendering
MEMORY_HEADROOM = 160 * 1024 * 1024  # address space a render may add to the idle worker's
MAX_WAIT_S = 3.0  # two bomb renders (2 x 1.3 s); with a send (15 s) inside the fan-out margin (20 s)
WALL_GRACE_S = 0.3  # beyond the render timeout: pipe round trip; killing takes the rest of 0.5 s
_START_TIMEOUT_S = 20.0
_KIB = 1024


# --- the child -----------------------------------------------------------------------------


# The worker process's own cache, not a second layer over the parent's TemplateCache: compiled
# code cannot cross the pipe, so a worker compiles each template it is sent once.
@functools.lru_cache(maxsize=256)
def _compiled(source: str, mode: Mode, max_bytes: int, timeout_s: float) -> JinjaTemplate:
    return JinjaTemplate(source, mode, max_bytes, timeout_s)


def render_here(
    source: str,
    mode: Mode,
    event: SecurityEvent,
    max_bytes: int,
    timeout_s: float,
    secrets: Mapping[str, str] | None = None,
    receiver: Mapping[str, str] | None = None,
) -> str:
    """Render in this process (what a worker runs; also the benchmark's in-process baseline)."""
    return _compiled(source, mode, max_bytes, timeout_s).render(event, secrets, receiver)


def _status_kib(pid: int | str, field: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _limit_self() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when this process ends
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    size_kib = _status_kib("self", "VmSize")
    if size_kib is not None:
        limit = size_kib * _KIB + MEMORY_HEADROOM
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _cpu_limit(timeout_s: float) -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = usage.ru_utime + usage.ru_stime
    _soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(used + timeout_s) + 2
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def serve(conn: Connection) -> None:
    """The worker's loop: one request, one reply, until the pipe closes or a limit is hit."""
    _limit_self()
    conn.send(("ready",))
    last_event: SecurityEvent | None = None
    while True:
        try:
            # The secrets are the template's own, sent with each render and kept for none.
            source, mode, event, max_bytes, timeout_s, secrets, receiver = conn.recv()
        except (EOFError, OSError):
            return
        if event is None:  # the same event as the last request (a fan-out)
            event = last_event
        last_event = event
        _cpu_limit(timeout_s)
        breached = False
        reply: tuple[Any, ...]
        try:
            reply = ("ok", render_here(source, mode, event, max_bytes, timeout_s, secrets, receiver))
        except RenderBudgetExceeded as exc:
            breached = True
            reply = ("error", exc.message, exc.line, exc.column, True, _status_kib("self", "VmHWM"))
        except TemplateError as exc:
            reply = ("error", exc.message, exc.line, exc.column, False, None)
        except MemoryError:
            breached = True
            reply = ("error", "render budget exceeded: template used too much memory", None, None, True, None)
        conn.send(reply)
        if breached:
            return  # whatever the breach left behind goes with the process


# --- the parent ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stopped:
    """The last worker stopped for a breach, for measurements: its pid, peak RSS and wall time."""

    pid: int | None
    peak_rss_kib: int | None
    wall_s: float
    killed: bool


_BOOT = (
    "import json, sys; sys.path[:0] = json.loads(sys.argv[2]); "
    "from secnotify.templating.worker import main; main(int(sys.argv[1]))"
)


class _Worker:
    """A fresh interpreter (fork + exec: the threaded parent is never forked without exec)."""

    def __init__(self, python: str, environment: Mapping[str, str]) -> None:
        parent, child = socket.socketpair()
        try:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our fixed code
                [python, "-c", _BOOT, str(child.fileno()), json.dumps(sys.path)],
                pass_fds=(child.fileno(),),
                stdin=subprocess.DEVNULL,
                close_fds=True,
                env=dict(environment),  # the caller's sandboxed one: no credentials where templates run
            )
        except (OSError, ValueError) as exc:
            parent.close()
            raise RenderUnavailable(f"could not start one: {type(exc).__name__}") from None
        finally:
            child.close()
        self.conn = Connection(parent.detach())
        self.last_event: SecurityEvent | None = None  # held, so its id cannot be reused
        try:
            ready = self.conn.poll(_START_TIMEOUT_S) and self.conn.recv() == ("ready",)
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.stop()
            raise RenderUnavailable(f"it exited or did not answer within {_START_TIMEOUT_S:g} s")

    def peak_rss_kib(self) -> int | None:
        return _status_kib(self.process.pid, "VmHWM")

    def stop(self) -> int | None:
        """Kill and reap it; its peak RSS in KiB (VmHWM, or the kernel's rusage if already gone)."""
        # rusage's maxrss of a spawned child also counts the parent's RSS at the fork: VmHWM first
        peak = _status_kib(self.process.pid, "VmHWM")
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(ChildProcessError, OSError):
            _pid, status, usage = os.wait4(self.process.pid, 0)
            self.process.returncode = status
            peak = peak or int(usage.ru_maxrss)
        with contextlib.suppress(OSError):
            self.conn.close()
        return peak


def main(fd: int) -> None:
    """Entry point of a worker process."""
    with contextlib.suppress(OSError, EOFError):  # the parent went away
        serve(Connection(fd))


class RenderPool:
    """Up to ``size`` workers, each used by one thread at a time."""

    def __init__(self, size: int = WORKERS, python: str | None = None, wait_s: float = MAX_WAIT_S) -> None:
        self.size = size
        self.python = python or sys.executable
        self.wait_s = wait_s  # longest a caller waits for a free worker before giving up for now
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._count = 0
        self._starting = 0  # started in the background, not ready yet
        self.last_stopped: Stopped | None = None

    def _take(self, environment: Mapping[str, str]) -> _Worker:
        # Bounded: many bomb templates on one event must not hold every fan-out thread (and the
        # plain notifications queued behind them) past the dispatcher's time margin.
        give_up = time.monotonic() + self.wait_s
        with self._cond:
            while not self._idle and (self._count >= self.size or self._starting):
                left = give_up - time.monotonic()
                if left <= 0:
                    raise RenderUnavailable(f"every render process stayed busy for {self.wait_s:g} s")
                self._cond.wait(left)
            if self._idle:
                return self._idle.pop()
            self._count += 1
        try:
            return _Worker(self.python, environment)
        except BaseException:
            self._give_back(None)
            raise

    def _give_back(self, worker: _Worker | None) -> None:
        with self._cond:
            if worker is None:
                self._count -= 1
            else:
                self._idle.append(worker)
            self._cond.notify()

    def _replace_soon(self, environment: Mapping[str, str]) -> None:
        """Start a worker in the background, so the render after a breach does not wait for one."""

        def start() -> None:
            with self._cond:
                if self._count >= self.size:
                    return
                self._count += 1
                self._starting += 1
            worker: _Worker | None = None
            with contextlib.suppress(Exception):
                worker = _Worker(self.python, environment)
            with self._cond:
                self._starting -= 1
            self._give_back(worker)

        threading.Thread(target=start, name="render-worker-start", daemon=True).start()

    def render(
        self,
        source: str,
        mode: Mode,
        event: SecurityEvent,
        max_bytes: int,
        timeout_s: float,
        environment: Mapping[str, str] | None = None,
        secrets: Mapping[str, str] | None = None,
        receiver: Mapping[str, str] | None = None,
    ) -> str:
        """``environment`` is what a worker started for this render gets (none of ours by default);
        one process renders with one environment, so an idle worker serves any render.
        ``secrets`` are the values of the secrets the template uses, by name; ``receiver`` those of
        its receiver references."""
        environment = environment or {}
        for _attempt in range(2):
            worker = self._take(environment)
            # a fan-out renders one event for many integrations: send it to a worker only once
            same = worker.last_event is event
            try:
                request = (
                    source,
                    mode,
                    None if same else event,
                    max_bytes,
                    timeout_s,
                    dict(secrets or {}),
                    dict(receiver or {}),
                )
                worker.conn.send(request)
                worker.last_event = event
            except OSError:  # the idle worker died meanwhile: the template is not to blame
                worker.stop()
                self._give_back(None)
                continue
            return self._await(worker, timeout_s, environment)
        raise RenderUnavailable("the render process died twice before taking the template")

    def _await(self, worker: _Worker, timeout_s: float, environment: Mapping[str, str]) -> str:
        wall = timeout_s + WALL_GRACE_S
        started = time.monotonic()
        reply: Any = None
        try:
            if worker.conn.poll(wall):
                reply = worker.conn.recv()
        except (EOFError, OSError):
            reply = None  # killed by a limit (RLIMIT_CPU, or the kernel on memory)
        if reply is not None and reply[0] == "ok":
            self._give_back(worker)
            return str(reply[1])
        if reply is not None and not reply[4]:  # an ordinary template error: the worker lives on
            self._give_back(worker)
            raise TemplateError(reply[1], line=reply[2], column=reply[3])
        pid = worker.process.pid
        peak = worker.stop()
        self._give_back(None)
        self._replace_soon(environment)
        elapsed = time.monotonic() - started
        if reply is None:
            self.last_stopped = Stopped(pid, peak, elapsed, killed=True)
            raise RenderBudgetExceeded(
                f"template rendering took too long and was stopped after {elapsed:.1f} s"
            )
        _kind, message, line, _column, _breached, worker_peak = reply
        self.last_stopped = Stopped(pid, worker_peak or peak, elapsed, killed=False)
        raise RenderBudgetExceeded(message.removeprefix("render budget exceeded: "), line=line)

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for worker in idle:
            worker.stop()


POOL = RenderPool()
