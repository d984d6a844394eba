"""`make run` takes API_PORT, AWS_PORT and SINK_PORT, and a port in use stops it at once with one
line naming the variable to change: no traceback, a non-zero exit."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.run import DEFAULT_PORTS, PortProblem, ports_from

ROOT = Path(__file__).resolve().parents[2]


def test_ports_default_and_follow_their_variables() -> None:
    assert ports_from({}) == DEFAULT_PORTS == {"API_PORT": 3000, "AWS_PORT": 4566, "SINK_PORT": 8080}
    assert ports_from({"API_PORT": "3001", "AWS_PORT": " 4567 ", "SINK_PORT": ""}) == {
        "API_PORT": 3001,
        "AWS_PORT": 4567,
        "SINK_PORT": 8080,
    }


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"API_PORT": "abc"}, "API_PORT='abc' is not a port number (1-65535)"),
        ({"SINK_PORT": "70000"}, "SINK_PORT='70000' is not a port number"),
        ({"AWS_PORT": "0"}, "AWS_PORT='0' is not a port number"),
        ({"AWS_PORT": "٣٠٠٠"}, "AWS_PORT='٣٠٠٠' is not a port number"),
        ({"SINK_PORT": "3000"}, "API_PORT and SINK_PORT are both 3000"),
    ],
)
def test_a_port_that_cannot_be_used_is_named(environ: dict[str, str], message: str) -> None:
    with pytest.raises(PortProblem, match=message.replace("(", r"\(").replace(")", r"\)")):
        ports_from(environ)


@pytest.fixture
def held_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def _free() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("variable", ["API_PORT", "AWS_PORT", "SINK_PORT"])
def test_a_busy_port_stops_make_run_with_one_line_naming_its_variable(held_port: int, variable: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env.update({name: str(_free()) for name in DEFAULT_PORTS} | {variable: str(held_port)})
    env["PYTHONPATH"] = "layers:."
    # Were the port not found busy, the stack would start and run until the timeout.
    result = subprocess.run(
        [sys.executable, "-m", "local.run"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"make run: port {held_port} ({variable}) is already in use")
    assert f"make run {variable}=" in lines[0]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_passes_the_three_ports_on() -> None:
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", "API_PORT=3999", "SINK_PORT=8999"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    assert "API_PORT=3999 AWS_PORT=4566 SINK_PORT=8999 " in out and "-m local.run" in out
