"""DynamoDB refusing a call for want of capacity, once botocore's retries are spent, is the
domain error ``Throttled`` for every call of every adapter, not a raw client error (a 500)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.exceptions import ClientError

from secnotify.errors import Throttled
from secnotify.service.ports.config import ConfigKind
from secnotify.storage.client import dynamodb_client
from secnotify.storage.config_repository import DynamoConfigRepository


class _Refusing(BaseHTTPRequestHandler):
    code = "ProvisionedThroughputExceededException"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{self.code}", "message": "slow down"})
        self.send_response(400)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[_Refusing]]:
    handler = type("Handler", (_Refusing,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_port}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    yield handler
    server.shutdown()


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_a_throttled_single_call_is_throttled(refusing: type[_Refusing], code: str) -> None:
    refusing.code = code
    repository = DynamoConfigRepository(dynamodb_client(max_attempts=1), "table")
    with pytest.raises(Throttled):
        repository.get_config_item(ConfigKind.PROFILE, "p1")


def test_other_errors_stay_client_errors(refusing: type[_Refusing]) -> None:
    refusing.code = "ValidationException"
    with pytest.raises(ClientError):
        dynamodb_client(max_attempts=1).get_item(TableName="t", Key={"pk": {"S": "x"}})
