"""Concurrent transactions: a clash with another writer is a retryable 409, never a 412 or a 5xx;
a throttled transaction is a 429 to send again, never a 5xx.

moto serves DynamoDB one request at a time (local/endpoint.py), so two transactions never
overlap there and it never answers ``TransactionConflict``. DynamoDB does, when another
transaction is in flight on one of the items. So the API is pointed at an endpoint that
forwards everything to moto over HTTP, except the transactions it is told to refuse: those it
answers with DynamoDB's own ``TransactionCanceledException`` body, the conflict reason on the
item the concurrent writer would hold (a profile's ``refCount``).
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import ApiClient
from tests.integration.test_api_integrations import body, make_profile

_TRANSACT = "DynamoDB_20120810.TransactWriteItems"


class ConflictingEndpoint:
    """Forwards every request to moto; refuses the next ``refuse(n)`` transactions as DynamoDB
    does when a concurrent transaction holds one of their items."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self._lock = threading.Lock()
        self._to_refuse = 0
        self._code = "TransactionConflict"
        self.refused: list[list[str]] = []  # the reason codes sent, one list per refusal
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: Any) -> None:
                pass

            def _any(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("X-Amz-Target") == _TRANSACT and outer._take():
                    status, headers, data = outer._conflict(json.loads(raw))
                else:
                    status, headers, data = outer._forward(self.command, self.path, self.headers, raw)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in {"content-length", "transfer-encoding", "connection"}:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def refuse(self, count: int, code: str = "TransactionConflict") -> None:
        """Refuse the next ``count`` transactions with the reason ``code`` (DynamoDB's
        ``TransactionConflict``, or ``ThrottlingError`` when it lacks capacity)."""
        with self._lock:
            self._to_refuse = count
            self._code = code

    def _take(self) -> bool:
        with self._lock:
            if self._to_refuse <= 0:
                return False
            self._to_refuse -= 1
            return True

    def _conflict(self, request: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        ops = request["TransactItems"]
        codes = [self._code if _touches_profile(op) else "None" for op in ops]
        if self._code not in codes:
            codes[0] = self._code
        self.refused.append(codes)
        reasons = [
            {"Code": c, "Message": "Transaction is ongoing for the item"} if c != "None" else {"Code": c}
            for c in codes
        ]
        answer = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "CancellationReasons": reasons,
            "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            f"[{', '.join(codes)}]",
        }
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", "conflict")]
        return 400, headers, json.dumps(answer).encode()

    def _forward(
        self, method: str, path: str, headers: Any, raw: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream.hostname or "", self.upstream.port, timeout=30)
        try:
            conn.request(method, path, body=raw, headers={k: v for k, v in headers.items()})
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def __enter__(self) -> ConflictingEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _touches_profile(op: dict[str, Any]) -> bool:
    for write in op.values():
        key = write.get("Key") or write.get("Item") or {}
        if str(key.get("sk", {}).get("S", "")).startswith("PROFILE#"):
            return True
    return False


@pytest.fixture
def endpoint(
    api: ApiClient, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ConflictingEndpoint]:
    from secnotify.service import wiring

    with ConflictingEndpoint(moto_endpoint) as ep:
        monkeypatch.setenv("AWS_ENDPOINT_URL", ep.url)
        wiring.reset()
        yield ep
        monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
        wiring.reset()


def _is_retryable_conflict(resp: Any) -> None:
    assert resp.status == 409, (resp.status, resp.text)
    assert "try again" in resp.json()["message"], resp.text


def test_a_transaction_conflict_on_replace_is_409_not_412(
    api: ApiClient, endpoint: ConflictingEndpoint
) -> None:
    first, second = make_profile(api, "first"), make_profile(api, "second")
    created = api.post("/integrations", body(first)).json()
    path = f"/integrations/{created['id']}"
    endpoint.refuse(1)
    # If-Match is current: the version is not what failed, a concurrent writer is.
    resp = api.put(path, body(second), headers={"If-Match": '"1"'})
    # the item, both profiles' refCounts, the name lock and the audit entry
    assert endpoint.refused == [["None", "TransactionConflict", "TransactionConflict", "None", "None"]]
    _is_retryable_conflict(resp)
    assert api.get(path).json()["alertingProfileId"] == first
    # Sent again, the same request succeeds.
    again = api.put(path, body(second), headers={"If-Match": '"1"'})
    assert again.status == 200 and again.json()["alertingProfileId"] == second


def test_a_transaction_conflict_on_create_and_delete_is_409(
    api: ApiClient, endpoint: ConflictingEndpoint
) -> None:
    endpoint.refuse(1)
    _is_retryable_conflict(api.post("/alerting-profiles", {"name": "p"}))
    pid = make_profile(api)
    endpoint.refuse(1)
    _is_retryable_conflict(api.post("/integrations", body(pid)))
    created = api.post("/integrations", body(pid))
    assert created.status == 201, created.text
    path = f"/integrations/{created.json()['id']}"
    endpoint.refuse(1)
    _is_retryable_conflict(api.delete(path))
    assert api.get(path).status == 200
    assert api.delete(path).status == 204
    endpoint.refuse(1)
    _is_retryable_conflict(api.delete(f"/alerting-profiles/{pid}"))
    assert api.delete(f"/alerting-profiles/{pid}").status == 204
    assert len(endpoint.refused) == 4


def _is_throttled(resp: Any) -> None:
    assert resp.status == 429, (resp.status, resp.text)
    assert "try again" in resp.json()["message"], resp.text
    assert resp.headers.get("Retry-After") == "1", resp.headers


def test_a_throttled_transaction_is_429_with_retry_after(
    api: ApiClient, endpoint: ConflictingEndpoint
) -> None:
    endpoint.refuse(1, "ThrottlingError")
    _is_throttled(api.post("/alerting-profiles", {"name": "p"}))
    pid = make_profile(api)
    endpoint.refuse(1, "ThrottlingError")
    _is_throttled(api.post("/integrations", body(pid)))
    # Not taken for a missing profile or one in use: the profile is there, and unused.
    endpoint.refuse(1, "ThrottlingError")
    _is_throttled(api.delete(f"/alerting-profiles/{pid}"))
    assert api.get(f"/alerting-profiles/{pid}").status == 200
    assert api.delete(f"/alerting-profiles/{pid}").status == 204
    assert [codes for codes in endpoint.refused if "ThrottlingError" not in codes] == []
    assert len(endpoint.refused) == 3
