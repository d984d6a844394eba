"""Shared fixtures: a real moto server over HTTP, stacks provisioned from template.yaml, and
the config API called through its real Lambda handler."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from local.lambda_runtime import LOCAL_ENV

# Property tests assert properties, not speed: no per-example deadline (a busy CI machine
# would otherwise fail them at random). Speed is measured by `make bench`.
hypothesis_settings.register_profile("secnotify", deadline=None)
hypothesis_settings.load_profile("secnotify")

os.environ.update(LOCAL_ENV)
os.environ.pop("AWS_PROFILE", None)
# Settings refuse to load without a KMS key. Tests that never reach KMS (rendering, say) get a
# name that no endpoint knows; the `stack` fixture replaces it with the local stack's real key.
os.environ["KMS_KEY_ID"] = "alias/no-kms-outside-a-stack"
logging.getLogger("werkzeug").setLevel(logging.WARNING)


# ---- network jail: no test may send a packet anywhere but loopback ------------------------

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _loopback(address: Any) -> bool:
    try:
        ip = ipaddress.ip_address(str(address).split("%")[0])
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool(ip.is_loopback or (mapped is not None and mapped.is_loopback))


def _guard(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _loopback(address[0]):
        raise ConnectionRefusedError(f"test network jail: connect to {address[0]} refused (loopback only)")


def _jailed_connect(self: socket.socket, address: Any) -> None:
    _guard(self, address)
    _real_connect(self, address)


def _jailed_connect_ex(self: socket.socket, address: Any) -> int:
    _guard(self, address)
    return _real_connect_ex(self, address)


def _jailed_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else host
    if name is not None and name != "localhost":
        try:
            ipaddress.ip_address(str(name).strip("[]").split("%")[0])
        except ValueError:
            if not _numeric_ipv4(str(name)):
                raise socket.gaierror(
                    socket.EAI_NONAME, f"test network jail: no DNS lookup of {name}"
                ) from None
    return _real_getaddrinfo(host, *args, **kwargs)


def _numeric_ipv4(name: str) -> bool:
    # inet_aton forms (2130706433, 0x7f.1, 127.1) resolve without a packet.
    try:
        socket.inet_aton(name)
    except OSError:
        return False
    return True


socket.socket.connect = _jailed_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _jailed_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _jailed_getaddrinfo


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from local.endpoint import EmbeddedAws

    server = EmbeddedAws(port=0).start()
    os.environ["AWS_ENDPOINT_URL"] = server.url
    yield server.url
    server.stop()


@pytest.fixture
def stack(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh table, queues and rule from template.yaml, and the env the functions would get."""
    from local.provision import provision
    from secnotify.service import wiring

    created = provision(moto_endpoint, prefix=f"t{uuid.uuid4().hex[:10]}")
    for key, value in created.environment().items():
        monkeypatch.setenv(key, value)
    wiring.reset()
    yield created
    wiring.reset()
    created.delete()


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class ApiClient:
    """Calls the config API's Lambda handler with API Gateway proxy events."""

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> ApiResponse:
        from functions.config_api.app import lambda_handler
        from local.lambda_runtime import LocalContext, apigw_event

        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else b"")
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        result = lambda_handler(apigw_event(method, path, all_headers, data), LocalContext())
        out_headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            out_headers[name] = ", ".join(values)
        return ApiResponse(int(result["statusCode"]), out_headers, result.get("body") or "")

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("PUT", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("DELETE", path, **kw)


@pytest.fixture
def api(stack: Any) -> ApiClient:
    return ApiClient()


def load_event(name: str) -> dict[str, Any]:
    root = os.path.join(os.path.dirname(__file__), "..", "events")
    with open(os.path.join(root, name), encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Show the figures the long suites measure (fault injection, fuzzing) in every run."""
    reports = terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", [])
    for report in reports:
        for name, value in getattr(report, "user_properties", []):
            if name in ("fault_injection", "openapi_fuzz"):
                terminalreporter.write_line(f"{name}: {json.dumps(value)}")
