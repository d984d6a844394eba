"""The Dynatrace API client against the local fake over real HTTP (and a real TLS server)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from local.dynatrace_fake import DEFAULT_TOKEN, DynatraceFake
from secnotify.sources.dynatrace.client import (
    BudgetExhausted,
    DynatraceClient,
    DynatraceError,
    Forbidden,
    NotFound,
    check_environment_url,
    path_segment,
)
from tests.integration.servers import HttpsReceiver, Reply


@pytest.fixture
def fake() -> Iterator[DynatraceFake]:
    env = DynatraceFake()
    env.load_examples()
    env.serve()
    yield env
    env.shutdown()


def client_for(fake: DynatraceFake, **kw: object) -> DynatraceClient:
    return DynatraceClient(fake.url, DEFAULT_TOKEN, allow_loopback_http=True, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://abc123.live.dynatrace.com", True),  # plain http off loopback, even when allowed
        ("http://127.0.0.1:8765", False),  # loopback http only where the settings allow it
        ("https://user:pw@abc123.live.dynatrace.com", False),
        ("https://abc123.live.dynatrace.com/?x=1", False),
        ("ftp://abc123.live.dynatrace.com", False),
        ("https://", False),
    ],
)
def test_an_environment_url_that_could_leak_the_token_is_refused(url: str, allow: bool) -> None:
    with pytest.raises(ValueError, match="Dynatrace environment URL"):
        check_environment_url(url, allow_loopback_http=allow)


def test_https_and_allowed_loopback_urls_are_kept_without_their_trailing_slash() -> None:
    assert check_environment_url("https://abc123.live.dynatrace.com/e/env1/") == (
        "https://abc123.live.dynatrace.com/e/env1"
    )
    assert check_environment_url("http://127.0.0.1:8765", allow_loopback_http=True) == "http://127.0.0.1:8765"


def test_ids_from_responses_cannot_leave_their_path_segment() -> None:
    assert path_segment("../../api/v2/entities?x=1#y") == "..%2F..%2Fapi%2Fv2%2Fentities%3Fx%3D1%23y"


def test_the_documented_list_is_read_with_the_token_and_follow_up_pages_carry_the_page_key_alone(
    fake: DynatraceFake,
) -> None:
    client = client_for(fake, page_size=4)
    pages = list(client.pages("/api/v2/securityProblems", {"from": "0", "sort": "-x"}, "securityProblems"))
    assert [len(p) for p in pages] == [4, 4, 3]  # the 10 documented problems and the details example
    ids = [p["securityProblemId"] for page in pages for p in page]
    assert "11497873967941161718" in ids and "7412525767433554374" in ids
    queries = [q for path, q in fake.requests if path == "/api/v2/securityProblems"]
    assert queries[0]["pageSize"] == ["4"] and queries[0]["sort"] == ["-x"]
    assert [sorted(q) for q in queries[1:]] == [["nextPageKey"], ["nextPageKey"]]
    assert client.requests == 3


def test_a_wrong_token_is_forbidden_and_no_error_names_the_token(fake: DynatraceFake) -> None:
    client = DynatraceClient(fake.url, "dt0c01.WRONG.secret-value", allow_loopback_http=True)
    with pytest.raises(Forbidden) as caught:
        client.get("/api/v2/securityProblems")
    assert "secret-value" not in str(caught.value) and "secret-value" not in repr(client)
    good = client_for(fake)
    with pytest.raises(NotFound) as missing:
        good.get("/api/v2/entities/HOST-0000000000000000")
    assert DEFAULT_TOKEN not in str(missing.value) + repr(good)


def test_429_waits_for_retry_after_then_tries_again_within_the_budget(fake: DynatraceFake) -> None:
    waits: list[float] = []
    client = client_for(fake, sleep=waits.append, budget=5)
    fake.fail_next(429, headers={"Retry-After": "3"})
    doc = client.get("/api/v2/entities/SERVICE-1125C375A187D27A")
    assert doc["displayName"] == "dotNetBackend_easyTravel_x64"
    assert waits == [3.0]
    assert (client.requests, client.throttled) == (2, 1)


def test_429_without_retry_after_waits_until_the_rate_limit_reset_in_microseconds(
    fake: DynatraceFake,
) -> None:
    waits: list[float] = []
    now = 1_700_000_000.0
    client = client_for(fake, sleep=waits.append, clock=lambda: now, max_wait_s=60)
    fake.fail_next(429, headers={"X-RateLimit-Reset": str(int((now + 7.5) * 1_000_000))})
    client.get("/api/v2/entities/SERVICE-1125C375A187D27A")
    assert waits == [pytest.approx(7.5)]


def test_a_long_retry_after_is_capped(fake: DynatraceFake) -> None:
    waits: list[float] = []
    client = client_for(fake, sleep=waits.append, max_wait_s=2)
    fake.fail_next(429, headers={"Retry-After": "86400"})
    client.get("/api/v2/entities/SERVICE-1125C375A187D27A")
    assert waits == [2.0]


def test_the_request_budget_counts_every_request_including_throttled_ones(fake: DynatraceFake) -> None:
    client = client_for(fake, sleep=lambda s: None, budget=2)
    fake.fail_next(429, headers={"Retry-After": "0"})
    fake.fail_next(429, headers={"Retry-After": "0"})
    with pytest.raises(BudgetExhausted):
        client.get("/api/v2/entities/SERVICE-1125C375A187D27A")
    assert fake.request_count() == 2


def test_a_500_is_an_error_of_the_poll_not_a_retry_storm(fake: DynatraceFake) -> None:
    client = client_for(fake)
    fake.fail_next(500)
    with pytest.raises(DynatraceError) as caught:
        client.get("/api/v2/securityProblems")
    assert caught.value.status == 500
    assert fake.request_count() == 1


def test_a_redirect_is_never_followed_so_the_token_stays_with_the_environment(fake: DynatraceFake) -> None:
    elsewhere = DynatraceFake(token="anything")
    elsewhere.serve()
    try:
        fake.fail_next(302, headers={"Location": f"{elsewhere.url}/api/v2/securityProblems"})
        with pytest.raises(DynatraceError, match="redirects are not followed"):
            client_for(fake).get("/api/v2/securityProblems")
        time.sleep(0.1)
        assert elsewhere.requests == []
    finally:
        elsewhere.shutdown()


def test_tls_is_verified_and_an_untrusted_certificate_gets_no_request() -> None:
    body = json.dumps({"entityId": "HOST-1", "displayName": "db"}).encode()
    with HttpsReceiver(default=Reply(body=body)) as rx:
        url = rx.url("/").rstrip("/")
        with pytest.raises(DynatraceError):
            DynatraceClient(url, DEFAULT_TOKEN).get("/api/v2/entities/HOST-1")
        assert rx.requests == []
        trusted = DynatraceClient(url, DEFAULT_TOKEN, ca_certs=str(rx.ca_file))
        assert trusted.get("/api/v2/entities/HOST-1")["displayName"] == "db"
        (request,) = rx.wait_for(1)
        assert request.header("Authorization") == f"Api-Token {DEFAULT_TOKEN}"


def test_a_response_that_is_not_a_json_object_is_an_error(fake: DynatraceFake) -> None:
    with HttpsReceiver(default=Reply(body=b"[1, 2]")) as rx:
        client = DynatraceClient(rx.url("/").rstrip("/"), DEFAULT_TOKEN, ca_certs=str(rx.ca_file))
        with pytest.raises(DynatraceError, match="not a JSON object"):
            client.get("/api/v2/securityProblems")
