"""Process plumbing for the benchmark: child servers, the Lambda-like environment, timing helpers."""

from __future__ import annotations

import json
import os
import select
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from local.lambda_runtime import LOCAL_ENV

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"

BASE_ENV = LOCAL_ENV


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    # Children may write bytecode whatever this shell says: the import figures measure warm
    # .pyc files on both sides, as site-packages has them (and as the layer ships them).
    env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "PYTHONDONTWRITEBYTECODE")}
    env.update(BASE_ENV)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "layers"), str(ROOT)])
    env.update(extra or {})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


@dataclass
class Child:
    """A child process from ``bench.servers``; it exits when we close its stdin."""

    name: str
    proc: subprocess.Popen[str]
    log: IO[str]
    port: int = 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


@dataclass
class Children:
    items: list[Child] = field(default_factory=list)
    moto_pid: int = 0

    def moto_cpu_s(self) -> float:
        return cpu_seconds(self.moto_pid)

    def start(self, name: str, *args: str, timeout_s: float = 30.0) -> Child:
        log = open(os.devnull, "w")  # noqa: SIM115 - closed in Child.stop
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.servers", *args],
            cwd=ROOT,
            env=child_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        child = Child(name, proc, log)
        self.items.append(child)
        assert proc.stdout is not None
        # poll, not select: by the later figures this process holds over 1,024 descriptors.
        waiting = select.poll()
        waiting.register(proc.stdout, select.POLLIN)
        ready = waiting.poll(timeout_s * 1000)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("READY"):
            raise RuntimeError(f"{name} did not start within {timeout_s} s: {line!r}")
        parts = line.split()
        child.port = int(parts[1]) if len(parts) > 1 else 0
        return child

    def moto(self) -> str:
        port = free_port()
        self.moto_pid = self.start("moto", "moto", str(port)).proc.pid
        endpoint = f"http://{LOOPBACK}:{port}"
        wait_http(f"{endpoint}/moto-api/", timeout_s=30)
        return endpoint

    def receiver(self, delay_s: float) -> Receiver:
        child = self.start(f"receiver({delay_s})", "receiver", str(delay_s))
        return Receiver(f"http://{LOOPBACK}:{child.port}")

    def tls_receiver(self, delay_s: float, cert_pem: str) -> Receiver:
        """An HTTPS receiver in its own process, serving ``cert_pem`` (certificate and key)."""
        child = self.start(f"tls-receiver({delay_s})", "tls-receiver", str(delay_s), cert_pem)
        return Receiver(f"https://{LOOPBACK}:{child.port}", child.proc.pid)

    def async_receiver(self, delay_s: float) -> Receiver:
        """The same asyncio receiver as ``tls_receiver``, on plain HTTP."""
        child = self.start(f"async-receiver({delay_s})", "async-receiver", str(delay_s))
        return Receiver(f"http://{LOOPBACK}:{child.port}", child.proc.pid)

    def stop_all(self) -> None:
        for child in reversed(self.items):
            child.stop()
        self.items.clear()


@dataclass(frozen=True)
class Receiver:
    base_url: str
    pid: int = 0  # its process, for the CPU it uses

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def set_delay(self, delay_s: float) -> None:
        with urllib.request.urlopen(f"{self.base_url}/delay/{delay_s}", timeout=10):  # noqa: S310 - loopback
            pass

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base_url}/stats", timeout=10) as resp:  # noqa: S310 - loopback
            data: dict[str, Any] = json.loads(resp.read())
        return data


def wait_http(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout_s} s") from None
            time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def median(values: list[float]) -> float:
    return statistics.median(values)


def alternate(
    a: Callable[[int], Any], b: Callable[[int], Any], chunk: int, rounds: int
) -> tuple[list[float], list[float]]:
    """Time ``a(chunk)`` and ``b(chunk)`` side by side, ABBA order, so neither side always runs
    right after the other's warm caches."""
    t_a: list[float] = []
    t_b: list[float] = []
    for i in range(rounds):
        if i % 2 == 0:
            t_a.append(timed(lambda: a(chunk)))
            t_b.append(timed(lambda: b(chunk)))
        else:
            t_b.append(timed(lambda: b(chunk)))
            t_a.append(timed(lambda: a(chunk)))
    return t_a, t_b


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"
