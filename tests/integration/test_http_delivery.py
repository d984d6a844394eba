"""The webhook sender against real HTTP and HTTPS receivers on loopback."""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate

import pytest
import urllib3
from standardwebhooks.webhooks import Webhook

from secnotify.delivery import (
    USER_AGENT,
    SsrfGuard,
    WebhookRequest,
    WebhookSender,
    generate_secret,
    shared_pool,
)
from secnotify.settings import Settings
from tests.integration.servers import HttpsReceiver, Receiver, Reply, closed_port

LOOPBACK_ALLOWED = ("127.0.0.0/8", "::1/128")
SECRET_TOKEN = "Bearer tok-9f8e7d6c5b4a3210"


def settings(**changes: object) -> Settings:
    return Settings().replace(ssrf_allow_cidrs=LOOPBACK_ALLOWED, **changes)


def to_loopback(host: str, port: int) -> list[str]:
    """A resolver for made-up names: everything lives on 127.0.0.1."""
    return ["127.0.0.1"]


def sender(pool: urllib3.PoolManager | None = None, **changes: object) -> WebhookSender:
    cfg = settings(**changes)
    guard = SsrfGuard.from_settings(cfg, resolver=to_loopback)
    return WebhookSender(cfg, pool=pool or urllib3.PoolManager(), guard=guard)


def request(url: str, **changes: object) -> WebhookRequest:
    base = WebhookRequest(
        url=url,
        headers=(
            ("Content-Type", "application/json"),
            ("Authorization", SECRET_TOKEN),
            ("X-Team", "sec-ops"),
        ),
        body=b'{"title": "S\xc3\xa9curit\xc3\xa9", "risk": "CRITICAL"}',
        accept_any_certificate=False,
        webhook_id="evt-123:int-456",
        timestamp=int(time.time()),
        signing_secret=None,
        secret_header_names=frozenset({"authorization"}),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.fixture
def rx():
    with Receiver() as receiver:
        yield receiver


@pytest.fixture
def https_rx():
    with HttpsReceiver() as receiver:
        yield receiver


# -- the request --------------------------------------------------------------------------------


def test_delivers_post_with_headers_and_body(rx: Receiver) -> None:
    req = request(rx.url("/hooks/in?team=sec&x=1"))
    outcome = sender().send(req)
    assert outcome.delivered and not outcome.retryable
    assert outcome.status_code == 200
    assert outcome.error is None
    assert outcome.response_body == "ok"
    assert outcome.latency_ms > 0
    got = rx.wait_for(1)[0]
    assert got.method == "POST"
    assert got.path == "/hooks/in?team=sec&x=1"
    assert got.body == req.body
    assert got.header("Content-Length") == str(len(req.body))
    assert got.header("Content-Type") == "application/json"
    assert got.header("Authorization") == SECRET_TOKEN
    assert got.header("X-Team") == "sec-ops"
    assert got.header("User-Agent") == USER_AGENT
    assert got.header("Host") == f"127.0.0.1:{rx.port}"
    assert got.header("webhook-id") == "evt-123:int-456"
    assert got.header("webhook-timestamp") == str(req.timestamp)
    assert got.header("webhook-signature") is None


def test_signature_verifies_with_reference_library(rx: Receiver) -> None:
    secret = generate_secret()
    req = request(rx.url("/signed"), signing_secret=secret)
    assert sender().send(req).delivered
    got = rx.wait_for(1)[0]
    assert got.body == req.body  # byte for byte what was signed
    headers = {k: v for k, v in got.headers}
    assert Webhook(secret).verify(got.body, headers) == json.loads(req.body)


def test_webhook_id_is_stable_across_retries(rx: Receiver) -> None:
    rx.reply(Reply(status=503), Reply(status=200))
    s = sender()
    req = request(rx.url("/"), signing_secret=generate_secret())
    first, second = s.send(req), s.send(req)
    assert (first.delivered, first.retryable, second.delivered) == (False, True, True)
    ids = [r.header("webhook-id") for r in rx.wait_for(2)]
    assert ids == ["evt-123:int-456", "evt-123:int-456"]


def test_integration_user_agent_overrides_ours(rx: Receiver) -> None:
    req = request(rx.url("/"), headers=(("Content-Type", "text/plain"), ("user-agent", "Custom/1.0")))
    assert sender().send(req).delivered
    assert rx.wait_for(1)[0].header_values("User-Agent") == ["Custom/1.0"]


def test_reserved_headers_from_the_integration_are_replaced(rx: Receiver) -> None:
    req = request(
        rx.url("/"),
        headers=(
            ("Content-Type", "application/json"),
            ("Host", "evil.example.com"),
            ("webhook-id", "forged"),
            ("Content-Length", "1"),
        ),
    )
    assert sender().send(req).delivered
    got = rx.wait_for(1)[0]
    assert got.header_values("Host") == [f"127.0.0.1:{rx.port}"]
    assert got.header_values("webhook-id") == ["evt-123:int-456"]
    assert got.header_values("Content-Length") == [str(len(req.body))]


def test_non_ascii_header_value_is_sent_as_utf8(rx: Receiver) -> None:
    req = request(rx.url("/"), headers=(("Content-Type", "text/plain"), ("X-Owner", "Zoë Müller")))
    assert sender().send(req).delivered
    assert rx.wait_for(1)[0].header("X-Owner") == "Zoë Müller"


def test_header_with_line_break_is_refused_without_leaking_it(rx: Receiver) -> None:
    req = request(
        rx.url("/"),
        headers=(("Content-Type", "text/plain"), ("Authorization", "Bearer abc\r\nX-Injected: 1")),
    )
    outcome = sender().send(req)
    assert (outcome.delivered, outcome.retryable) == (False, False)
    assert outcome.error is not None and "Authorization" in outcome.error
    assert "abc" not in outcome.error
    assert rx.requests == []


def test_hostname_url_connects_to_vetted_address(rx: Receiver) -> None:
    # "hooks.test" exists only in our resolver; the Host header keeps the name.
    outcome = sender().send(request(rx.url("/x", host="hooks.test")))
    assert outcome.delivered
    assert rx.wait_for(1)[0].header("Host") == f"hooks.test:{rx.port}"


def test_ipv6_literal_host() -> None:
    with Receiver(host="::1") as v6:
        outcome = sender().send(request(v6.url("/v6")))
        assert outcome.delivered, outcome.error
        assert v6.wait_for(1)[0].header("Host") == f"[::1]:{v6.port}"


def test_loopback_is_refused_without_allowlist(rx: Receiver) -> None:
    cfg = Settings().replace(ssrf_allow_cidrs=())
    outcome = WebhookSender(cfg, pool=urllib3.PoolManager()).send(request(rx.url("/")))
    assert (outcome.delivered, outcome.retryable) == (False, False)
    assert outcome.error == "blocked: 127.0.0.1 is loopback"
    assert rx.requests == []


# -- responses ----------------------------------------------------------------------------------


def test_redirect_is_not_followed(rx: Receiver) -> None:
    rx.reply(Reply(status=301, headers=(("Location", "http://127.0.0.1:1/elsewhere"),)))
    outcome = sender().send(request(rx.url("/old")))
    assert (outcome.delivered, outcome.retryable, outcome.status_code) == (False, False, 301)
    assert outcome.error == "redirect to http://127.0.0.1:1/elsewhere not followed"
    assert len(rx.requests) == 1


def test_429_with_retry_after_seconds(rx: Receiver) -> None:
    rx.reply(Reply(status=429, headers=(("Retry-After", "7"),), body=b"slow down"))
    outcome = sender().send(request(rx.url("/")))
    assert (outcome.delivered, outcome.retryable, outcome.status_code) == (False, True, 429)
    assert outcome.retry_after_s == 7.0
    assert outcome.response_body == "slow down"
    assert outcome.error == "HTTP 429 Too Many Requests"


def test_503_with_retry_after_date(rx: Receiver) -> None:
    rx.reply(Reply(status=503, headers=(("Retry-After", formatdate(time.time() + 3600, usegmt=True)),)))
    outcome = sender().send(request(rx.url("/")))
    assert (outcome.delivered, outcome.retryable) == (False, True)
    assert outcome.retry_after_s is not None and 3000 < outcome.retry_after_s <= 3600


def test_400_is_permanent(rx: Receiver) -> None:
    rx.reply(Reply(status=400, body=b'{"error": "bad payload"}'))
    outcome = sender().send(request(rx.url("/")))
    assert (outcome.delivered, outcome.retryable, outcome.status_code) == (False, False, 400)
    assert outcome.error == "HTTP 400 Bad Request"
    assert outcome.response_body == '{"error": "bad payload"}'
    assert outcome.retry_after_s is None


def test_response_body_is_cut_to_4_kb(rx: Receiver) -> None:
    rx.reply(Reply(body=b"a" * 5000))
    outcome = sender().send(request(rx.url("/")))
    assert outcome.delivered
    assert outcome.response_body == "a" * 4096


def test_multibyte_body_is_cut_on_a_character_boundary(rx: Receiver) -> None:
    rx.reply(Reply(body=("é" * 3000).encode()))
    outcome = sender().send(request(rx.url("/")))
    assert outcome.response_body == "é" * 2048


def test_undecodable_body_uses_replacement_characters(rx: Receiver) -> None:
    rx.reply(Reply(body=b"ok \xff\xfe done"))
    assert sender().send(request(rx.url("/"))).response_body == "ok \ufffd\ufffd done"


def test_answers_are_read_whole_whether_announced_plain_or_compressed(rx: Receiver) -> None:
    import gzip

    rx.reply(
        Reply(body=b"accepted: 1"),
        Reply(headers=(("Content-Encoding", "gzip"),), body=gzip.compress(b"accepted: 2")),
        Reply(body=b"accepted: 3"),
    )
    s = sender()
    assert [s.send(request(rx.url("/"))).response_body for _ in range(3)] == [
        "accepted: 1",
        "accepted: 2",
        "accepted: 3",
    ]
    assert len({r.client for r in rx.wait_for(3)}) == 1  # each read to its end: one connection


def test_secret_values_echoed_back_are_masked(rx: Receiver) -> None:
    rx.reply(Reply(status=401, body=f"bad credentials: {SECRET_TOKEN} / {SECRET_TOKEN.split()[1]}".encode()))
    outcome = sender().send(request(rx.url("/")))
    assert "tok-9f8e7d6c5b4a3210" not in outcome.response_body
    assert outcome.response_body == "bad credentials: *** / ***"


def test_huge_response_does_not_poison_the_connection(rx: Receiver) -> None:
    rx.reply(Reply(body=b"x" * 300_000), Reply(body=b"second"))
    s = sender()
    first = s.send(request(rx.url("/")))
    second = s.send(request(rx.url("/")))
    assert first.delivered and first.response_body == "x" * 4096
    assert second.delivered and second.response_body == "second"


# -- connection failures ------------------------------------------------------------------------


def test_read_timeout(rx: Receiver) -> None:
    rx.reply(Reply(delay_s=30))
    outcome = sender(read_timeout_s=0.3).send(request(rx.url("/slow")))
    assert (outcome.delivered, outcome.retryable, outcome.status_code) == (False, True, None)
    assert outcome.error == "read timeout after 0.3 s"


def test_dropped_connection(rx: Receiver) -> None:
    rx.reply(Reply(drop=True))
    outcome = sender().send(request(rx.url("/")))
    assert (outcome.delivered, outcome.retryable, outcome.status_code) == (False, True, None)
    # Whether the kernel reports the hang-up as FIN or RST depends on timing; both name it.
    assert outcome.error in {
        "connection closed by the server without a response",
        "connection reset by the server without a response",
    }
    assert len(rx.wait_for(1)) == 1


def test_connection_refused() -> None:
    sock, port = closed_port()
    try:
        outcome = sender().send(request(f"http://127.0.0.1:{port}/"))
    finally:
        sock.close()
    assert (outcome.delivered, outcome.retryable, outcome.status_code) == (False, True, None)
    assert outcome.error == "connection refused"


def test_dns_failure_is_retryable() -> None:
    def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    cfg = settings()
    s = WebhookSender(cfg, pool=urllib3.PoolManager(), guard=SsrfGuard([], resolver=no_such_host))
    outcome = s.send(request("https://nowhere.test/hook"))
    assert (outcome.delivered, outcome.retryable) == (False, True)
    assert outcome.error == "DNS lookup failed for nowhere.test: name or service not known"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://127.0.0.1/x", "URL scheme must be http or https"),
        ("http://user:pw@127.0.0.1/", "URL must not carry credentials"),
        ("http://127.0.0.1:99999/", "invalid URL"),
        ("http:///path", "URL has no host"),
    ],
)
def test_bad_urls_are_permanent(url: str, message: str) -> None:
    outcome = sender().send(request(url))
    assert (outcome.delivered, outcome.retryable, outcome.error) == (False, False, message)


# -- TLS ----------------------------------------------------------------------------------------


def test_self_signed_certificate_is_refused_by_default(https_rx: HttpsReceiver) -> None:
    outcome = sender().send(request(https_rx.url("/", host="localhost")))
    assert (outcome.delivered, outcome.retryable, outcome.status_code) == (False, True, None)
    assert outcome.error is not None
    assert outcome.error.startswith("TLS error: certificate verify failed: ")
    assert https_rx.requests == []


def test_self_signed_certificate_accepted_when_asked(https_rx: HttpsReceiver) -> None:
    req = request(https_rx.url("/tls", host="localhost"), accept_any_certificate=True)
    outcome = sender().send(req)
    assert outcome.delivered, outcome.error
    got = https_rx.wait_for(1)[0]
    assert got.path == "/tls"
    assert got.body == req.body


def test_accept_any_certificate_ignores_name_mismatch(https_rx: HttpsReceiver) -> None:
    req = request(https_rx.url("/", host="other-name.test"), accept_any_certificate=True)
    assert sender().send(req).delivered


def test_trusted_certificate_is_verified_against_the_url_host(https_rx: HttpsReceiver) -> None:
    # Trust the test CA: the sender connects to 127.0.0.1 but checks the cert for "localhost".
    pool = urllib3.PoolManager(ca_certs=str(https_rx.ca_file))
    assert sender(pool).send(request(https_rx.url("/", host="localhost"))).delivered


def test_trusted_ca_but_wrong_host_name_is_refused(https_rx: HttpsReceiver) -> None:
    pool = urllib3.PoolManager(ca_certs=str(https_rx.ca_file))
    outcome = sender(pool).send(request(https_rx.url("/", host="hooks.test")))
    assert (outcome.delivered, outcome.retryable) == (False, True)
    assert outcome.error is not None
    assert outcome.error.startswith("TLS error: certificate verify failed: hostname 'hooks.test'")
    assert https_rx.requests == []


def test_https_over_ipv6() -> None:
    with HttpsReceiver(host="::1") as v6:
        outcome = sender().send(request(v6.url("/"), accept_any_certificate=True))
        assert outcome.delivered, outcome.error


# -- the shared pool ----------------------------------------------------------------------------


def test_senders_share_one_pool_by_default() -> None:
    assert WebhookSender(settings()).pool is WebhookSender(settings()).pool is shared_pool()


def test_keep_alive_reuses_the_connection(rx: Receiver) -> None:
    s = sender()
    for _ in range(3):
        assert s.send(request(rx.url("/"))).delivered
    clients = {r.client for r in rx.wait_for(3)}
    assert len(clients) == 1


def test_concurrent_fan_out_over_one_sender(rx: Receiver) -> None:
    s = sender(urllib3.PoolManager(maxsize=8, block=False))
    reqs = [request(rx.url(f"/n/{i}"), webhook_id=f"evt:{i}") for i in range(60)]
    with ThreadPoolExecutor(max_workers=16) as pool:
        outcomes = list(pool.map(s.send, reqs))
    assert all(o.delivered for o in outcomes), [o.error for o in outcomes if not o.delivered]
    got = rx.wait_for(60)
    ids = [r.header("webhook-id") or "" for r in got]
    assert sorted(ids) == sorted(f"evt:{i}" for i in range(60))
    assert all(r.path == f"/n/{i.split(':')[1]}" for r, i in zip(got, ids, strict=True))


def test_a_receiver_that_drips_its_answer_is_cut_off_at_the_request_deadline() -> None:
    """Each byte arrives within the read timeout, but the whole answer never does."""
    import socket as socket_module
    import threading

    from secnotify.delivery.http import make_pool

    server = socket_module.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def drip() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not stop.is_set():
                try:
                    conn.sendall(b"X")
                except OSError:
                    return
                stop.wait(0.1)

    threading.Thread(target=drip, daemon=True).start()
    cfg = settings(connect_timeout_s=0.5, read_timeout_s=0.5)
    guard = SsrfGuard.from_settings(cfg, resolver=to_loopback)
    out = WebhookSender(cfg, pool=make_pool(cfg), guard=guard).send(
        request(f"http://127.0.0.1:{server.getsockname()[1]}/")
    )
    stop.set()
    server.close()
    assert not out.delivered and out.retryable
    assert out.error == "no complete response within 1 s"
    assert out.latency_ms < 3000
