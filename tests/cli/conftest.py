"""The command line against the local API with signatures checked (LOCAL_AUTH=sigv4), on a stack
provisioned on the moto server; the CLI runs in this process through its own ``main``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from secnotify_cli.main import main
from tests.conftest import free_port


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    url: str
    capsys: pytest.CaptureFixture[str]

    def __call__(self, *argv: str, sign: bool = True) -> Result:
        self.capsys.readouterr()
        code = main(["--endpoint", self.url, "--sign" if sign else "--no-sign", *argv])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def ok(self, *argv: str) -> Result:
        result = self(*argv)
        assert result.code == 0, result
        return result


@pytest.fixture
def signed_api(stack: Any) -> Iterator[str]:
    from local.api_server import serve_api

    server = serve_api(port=free_port(), auth="sigv4")
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def cli(signed_api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    # The local credentials the signed API knows (local/sigv4.py), as a user would export them.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "local")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.delenv("LOCAL_AUTH", raising=False)
    return Cli(signed_api, capsys)


def sign(
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    secret: str = "local",  # noqa: S107
) -> dict[str, str]:
    """The headers botocore's signer adds for the local access key (and ``secret``)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    SigV4Auth(Credentials("local", secret), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def send(method: str, url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, Any]:
    import urllib3

    resp = urllib3.request(method, url, body=body or None, headers=headers or {}, timeout=20, retries=False)
    return resp.status, (resp.json() if resp.data else None)


def require_route(base_url: str, method: str, path: str) -> None:
    """The route a command calls is in the API's own description: a command whose route went
    away fails here, naming it, before its output is compared."""
    url = f"{base_url}/openapi.json"
    status, doc = send("GET", url, headers=sign("GET", url))
    assert status == 200, doc
    assert method.lower() in doc["paths"].get(path, {}), f"the API does not serve {method} {path}"


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value) if not isinstance(value, str) else value, encoding="utf-8")
    return str(path)
