"""The handlers build Powertools' Tracer only when tracing is on (template parameter ``Tracing``).

Each case imports a handler in a fresh interpreter, as a cold start does, with Lambda's own
variables: with tracing on, the invocation's ``## lambda_handler`` subsegment reaches the X-Ray
daemon address (a UDP socket here); with it off, the X-Ray SDK is never imported and nothing is
sent.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from secnotify.settings import ConfigurationError, tracing_enabled

ROOT = Path(__file__).resolve().parents[2]
TRACE_ID = "1-5759e988-bd862e3fe1be46a994272793"

DISPATCHER = """
import json, sys
from local.lambda_runtime import LocalContext
import functions.dispatcher.app as app
event = {"id": "e-1", "source": "secnotify", "detail-type": "Security Problem Opened", "detail": {}}
try:
    app.lambda_handler(event, LocalContext())  # no queues configured: refused at wiring
except Exception as exc:
    outcome = type(exc).__name__
print(json.dumps({"tracer": type(app.tracer).__name__, "xray": "aws_xray_sdk" in sys.modules,
                  "outcome": outcome}))
"""
CONFIG_API = """
import json, sys
from local.lambda_runtime import LocalContext, apigw_event
import functions.config_api.app as app
answer = app.lambda_handler(apigw_event("GET", "/placeholders", {}, b""), LocalContext())
print(json.dumps({"tracer": type(app.tracer).__name__, "xray": "aws_xray_sdk" in sys.modules,
                  "outcome": answer["statusCode"]}))
"""


@pytest.fixture
def daemon() -> Iterator[socket.socket]:
    """Where the X-Ray SDK sends segments: one UDP socket on loopback."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def cold_start(code: str, trace_disabled: str, daemon: socket.socket) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_", "_X_AMZN"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(ROOT / "layers"), str(ROOT)]),
        POWERTOOLS_TRACE_DISABLED=trace_disabled,
        POWERTOOLS_SERVICE_NAME="secnotify",
        POWERTOOLS_METRICS_DISABLED="true",
        KMS_KEY_ID="alias/not-used-here",
        AWS_DEFAULT_REGION="us-east-1",
        # What Lambda sets for an invocation sampled by X-Ray.
        LAMBDA_TASK_ROOT=str(ROOT),
        AWS_XRAY_DAEMON_ADDRESS=f"127.0.0.1:{daemon.getsockname()[1]}",
        AWS_XRAY_CONTEXT_MISSING="LOG_ERROR",
        _X_AMZN_TRACE_ID=f"Root={TRACE_ID};Parent=53995c3f42cd8ad8;Sampled=1",
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def sent_segments(daemon: socket.socket) -> list[dict[str, Any]]:
    """What reached the daemon; the child has exited, so every datagram is already here."""
    daemon.setblocking(False)
    segments = []
    while True:
        try:
            data = daemon.recv(65536)
        except BlockingIOError:
            return segments
        header, _, body = data.decode().partition("\n")
        assert json.loads(header) == {"format": "json", "version": 1}
        segments.append(json.loads(body))


def test_tracing_off_dispatcher_cold_start_never_imports_the_xray_sdk(daemon: socket.socket) -> None:
    result = cold_start(DISPATCHER, "true", daemon)
    assert result == {"tracer": "NoneType", "xray": False, "outcome": "ConfigurationError"}
    assert sent_segments(daemon) == []


def test_tracing_off_config_api_builds_no_tracer(daemon: socket.socket) -> None:
    result = cold_start(CONFIG_API, "true", daemon)
    assert result == {"tracer": "NoneType", "xray": False, "outcome": 200}
    assert sent_segments(daemon) == []


def test_tracing_on_dispatcher_invocation_is_traced(daemon: socket.socket) -> None:
    result = cold_start(DISPATCHER, "false", daemon)
    assert result == {"tracer": "Tracer", "xray": True, "outcome": "ConfigurationError"}
    (segment,) = [s for s in sent_segments(daemon) if s["name"] == "## lambda_handler"]
    assert segment["trace_id"] == TRACE_ID
    assert segment["annotations"]["ColdStart"] is True
    # The error the invocation raised is on the trace, as capture_lambda_handler records it.
    (exception,) = segment["cause"]["exceptions"]
    assert exception["type"] == "ConfigurationError"


def test_tracing_on_config_api_is_traced_without_the_response(daemon: socket.socket) -> None:
    result = cold_start(CONFIG_API, "false", daemon)
    assert result == {"tracer": "Tracer", "xray": True, "outcome": 200}
    (segment,) = [s for s in sent_segments(daemon) if s["name"] == "## lambda_handler"]
    assert segment["trace_id"] == TRACE_ID
    # capture_response=False: a create or rotate response carries the signing secret.
    assert "lambda_handler response" not in json.dumps(segment.get("metadata", {}))
    assert "Tags[key]" not in json.dumps(segment)


@pytest.mark.parametrize(
    ("value", "enabled"),
    [
        ("", True),
        ("false", True),
        ("0", True),
        ("Off", True),
        ("true", False),
        ("1", False),
        (" yes ", False),
    ],
)
def test_trace_disabled_variable_reads_as_powertools_reads_it(
    monkeypatch: pytest.MonkeyPatch, value: str, enabled: bool
) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", value)
    assert tracing_enabled() is enabled


def test_trace_disabled_variable_that_is_not_a_boolean_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "sometimes")
    with pytest.raises(ConfigurationError, match=r"^POWERTOOLS_TRACE_DISABLED: 'sometimes' is not true"):
        tracing_enabled()
