"""A webhook request leaves in one write (header block and body together), with the same bytes
urllib3 would have sent in two."""

from __future__ import annotations

import io
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from urllib3.connection import HTTPConnection

from secnotify.delivery import SsrfGuard, WebhookRequest, WebhookSender, deadline
from secnotify.delivery.pooling import make_pool
from secnotify.settings import Settings
from tests.integration.servers import HttpsReceiver, Receiver

BODY = b'{"title": "S\xc3\xa9curit\xc3\xa9", "risk": "CRITICAL"}'
HEADERS = {"Content-Type": "application/json", "X-Team": "sec-ops"}


class Writes:
    """Every ``sendall`` this thread makes on a plain or TLS socket (the receivers run in threads
    of their own, so their writes are not counted)."""

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.calls: list[bytes] = []

    def wrap(self, original: Any) -> Any:
        def sendall(sock: Any, data: Any, *args: Any) -> Any:
            if threading.get_ident() == self.thread:
                self.calls.append(bytes(data))
            return original(sock, data, *args)

        return sendall

    def take(self) -> list[bytes]:
        calls, self.calls = self.calls, []
        return calls


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Writes:
    recorded = Writes()
    monkeypatch.setattr(socket.socket, "sendall", recorded.wrap(socket.socket.sendall))
    monkeypatch.setattr(ssl.SSLSocket, "sendall", recorded.wrap(ssl.SSLSocket.sendall))
    return recorded


def webhook_sender(ca_file: str) -> WebhookSender:
    cfg = Settings().replace(ssrf_allow_cidrs=("127.0.0.0/8",))
    guard = SsrfGuard.from_settings(cfg, resolver=lambda host, port: ["127.0.0.1"])
    return WebhookSender(cfg, pool=make_pool(cfg, ca_certs=ca_file), guard=guard)


def webhook(url: str) -> WebhookRequest:
    return WebhookRequest(
        url=url,
        headers=tuple(HEADERS.items()),
        body=BODY,
        accept_any_certificate=False,
        webhook_id="evt-1:int-1",
        timestamp=int(time.time()),
    )


def test_each_https_webhook_goes_out_in_one_tls_write_and_arrives_whole(writes: Writes) -> None:
    with HttpsReceiver() as rx:
        send = webhook_sender(str(rx.ca_file))  # verified: the certificate and "localhost"
        for n in range(3):  # the first on a new connection, then on the kept-alive one
            outcome = send.send(webhook(rx.url(f"/hook/{n}", host="localhost")))
            assert outcome.delivered and outcome.status_code == 200, outcome
            calls = writes.take()
            assert len(calls) == 1, [c[:40] for c in calls]
            assert calls[0].startswith(f"POST /hook/{n} HTTP/1.1\r\n".encode())
            assert calls[0].endswith(b"\r\n\r\n" + BODY)
        received = rx.wait_for(3)
    assert [r.path for r in received] == ["/hook/0", "/hook/1", "/hook/2"]
    assert all(r.body == BODY and r.header("X-Team") == "sec-ops" for r in received)
    assert len({r.client for r in received}) == 1  # one connection, reused


def chunks() -> Iterator[bytes]:
    yield b'{"a": '
    yield b"1}"


# (body, chunked): what urllib3 may be handed, bytes or not
BODIES: dict[str, tuple[Any, bool]] = {
    "bytes": (BODY, False),
    "text": (BODY.decode(), False),
    "bytearray": (bytearray(BODY), False),
    "none": (None, False),
    "empty": (b"", False),
    "file": (lambda: io.BytesIO(BODY), False),
    "iterable-chunked": (chunks, True),
}


def exchange(conn: HTTPConnection, body: Any, chunked: bool) -> int:
    if callable(body):
        body = body()
    conn.request("POST", "/same", body=body, headers=HEADERS, chunked=chunked)
    response = conn.getresponse()
    response.read()
    return int(response.status)


def capture(
    listener: socket.socket, conn_cls: type[HTTPConnection], writes: Writes, case: str, watched: bool
) -> tuple[list[bytes], bytes]:
    """The writes a connection of ``conn_cls`` makes for one request, and the bytes its peer reads
    (a bare listening socket: no answer is needed to see what was sent)."""
    body, chunked = BODIES[case]
    if callable(body):
        body = body()
    conn = conn_cls("127.0.0.1", listener.getsockname()[1])
    token = deadline.begin(10.0) if watched else None
    try:
        conn.request("POST", "/same", body=body, headers=HEADERS, chunked=chunked)
    finally:
        if token is not None:
            assert deadline.end(token) is False  # the watchdog did not fire
    sent = writes.take()
    peer, _ = listener.accept()
    conn.close()
    with peer:
        received = b""
        while chunk := peer.recv(65536):
            received += chunk
    return sent, received


@pytest.mark.parametrize("watched", [False, True], ids=["no-deadline", "under-a-deadline"])
@pytest.mark.parametrize("case", list(BODIES))
def test_the_watched_connection_sends_the_same_bytes_as_urllib3_in_fewer_writes(
    writes: Writes, case: str, watched: bool
) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:  # one port: the same Host header
        reference, reference_received = capture(listener, HTTPConnection, writes, case, watched)
        sent, received = capture(listener, deadline.WatchedHTTPConnection, writes, case, watched)
    assert received == reference_received == b"".join(reference)
    assert reference[0].endswith(b"\r\n\r\n")  # urllib3 alone: the header block by itself
    if len(reference) == 1:  # no body: the header block alone, still one write
        assert sent == reference
    else:  # the header block joined to the first piece of the body, the rest as urllib3 sends it
        assert sent == [reference[0] + reference[1], *reference[2:]]


def test_a_request_whose_body_fails_leaves_nothing_held_for_the_next_one(writes: Writes) -> None:
    def failing() -> Iterator[bytes]:
        raise OSError("body source broke")
        yield b""

    with Receiver() as rx:
        conn = deadline.WatchedHTTPConnection("127.0.0.1", rx.port)
        with pytest.raises(OSError, match="body source broke"):
            conn.request("POST", "/broken", body=failing(), headers=HEADERS, chunked=True)
        conn.close()  # as urllib3 does with a connection whose request failed
        assert writes.take() == []  # the header block was held, and dropped with the request
        assert conn._held_head is None
        status = exchange(conn, BODY, False)  # the same object, reconnected
        assert status == 200
        sent = writes.take()
        assert len(sent) == 1 and sent[0].startswith(b"POST /same HTTP/1.1\r\n")
        assert [r.path for r in rx.wait_for(1)] == ["/same"]
