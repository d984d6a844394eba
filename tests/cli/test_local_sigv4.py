"""LOCAL_AUTH=sigv4: the local API checks each request's SigV4 signature as API Gateway's IAM auth
does, refuses a missing, wrong or stale one and any request altered after signing, and hands the
signer to the handler in requestContext.identity."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.sigv4 import SignatureRefused, lower_headers, verify
from tests.cli.conftest import send, sign
from tests.conftest import free_port

BODY = json.dumps({"name": "signed", "enabledRiskLevels": ["HIGH"]}).encode()


@pytest.fixture
def recording() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A signed local server whose handler records the events it is given."""
    from local.api_server import serve_api

    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": "{}"}

    server = serve_api(port=free_port(), auth="sigv4", handler=handler)
    yield f"http://127.0.0.1:{server.server_address[1]}", events
    server.shutdown()
    server.server_close()


def _signed_post(url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    return sign("POST", url, BODY, {"Content-Type": "application/json", **(extra or {})})


def test_a_signed_request_reaches_the_handler_with_its_principal(recording: Any) -> None:
    base, events = recording
    url = f"{base}/alerting-profiles?limit=5&nextToken=a%2Fb"
    status, _ = send("POST", url, BODY, _signed_post(url))
    assert status == 200
    (event,) = events
    identity = event["requestContext"]["identity"]
    assert identity["accessKey"] == "local"
    assert identity["userArn"] == "arn:aws:iam::123456789012:user/local"
    assert identity["caller"] and identity["accountId"] == "123456789012"
    assert json.loads(event["body"]) == json.loads(BODY)


def test_an_unsigned_request_is_refused_and_never_reaches_the_handler(recording: Any) -> None:
    base, events = recording
    status, body = send("GET", f"{base}/integrations")
    assert status == 403 and body == {"message": "Missing Authentication Token"}
    assert events == []


def test_a_wrong_secret_or_an_unknown_key_is_refused(recording: Any) -> None:
    base, events = recording
    url = f"{base}/alerting-profiles"
    status, body = send("POST", url, BODY, sign("POST", url, BODY, secret="not-local"))
    assert status == 403 and "signature we calculated does not match" in body["message"]
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method="GET", url=url)
    SigV4Auth(Credentials("someone-else", "local"), "execute-api", "us-east-1").add_auth(request)
    status, body = send("GET", url, headers=dict(request.headers.items()))
    assert status == 403 and "security token included in the request is invalid" in body["message"]
    assert events == []


@pytest.mark.parametrize(
    "alter",
    [
        pytest.param(lambda url, body, headers: (url, body + b" ", headers), id="body"),
        pytest.param(lambda url, body, headers: (url + "x", body, headers), id="path"),
        pytest.param(lambda url, body, headers: (url + "?limit=1", body, headers), id="query"),
        pytest.param(
            lambda url, body, headers: (url, body, {**headers, "If-Match": '"2"'}), id="signed-header"
        ),
        pytest.param(
            lambda url, body, headers: (url, body.replace(b"HIGH", b"LOW!"), headers), id="same-length-body"
        ),
    ],
)
def test_a_request_altered_after_signing_is_refused(recording: Any, alter: Any) -> None:
    base, events = recording
    url = f"{base}/alerting-profiles"
    headers = _signed_post(url, {"If-Match": '"1"'})
    # As signed, it passes: so the refusal below is the alteration's doing.
    assert send("POST", url, BODY, headers)[0] == 200
    new_url, new_body, new_headers = alter(url, BODY, headers)
    status, body = send("POST", new_url, new_body, new_headers)
    assert status == 403, body
    assert "signature we calculated does not match" in body["message"]
    assert len(events) == 1


def test_an_unsigned_header_may_change_but_a_wrong_body_hash_may_not(recording: Any) -> None:
    base, events = recording
    url = f"{base}/alerting-profiles"
    headers = _signed_post(url)
    assert send("POST", url, BODY, {**headers, "User-Agent": "another/1.0"})[0] == 200
    # x-amz-content-sha256 is checked against the body even where the client did not sign it.
    claimed = {**headers, "X-Amz-Content-SHA256": hashlib.sha256(b"other").hexdigest()}
    status, body = send("POST", url, BODY, claimed)
    assert status == 403 and "x-amz-content-sha256" in body["message"]
    signed_hash = _signed_post(url, {"X-Amz-Content-SHA256": hashlib.sha256(BODY).hexdigest()})
    assert send("POST", url, BODY, signed_hash)[0] == 200
    assert len(events) == 2


def _verify_at(headers: dict[str, str], url_path: str, now: datetime) -> Any:
    return verify("POST", url_path, lower_headers(headers.items()), BODY, "us-east-1", now=lambda: now)


def test_a_stale_or_future_signature_is_refused() -> None:
    url = "http://127.0.0.1:3000/alerting-profiles"
    headers = {**_signed_post(url), "Host": "127.0.0.1:3000"}
    signed_at = datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert _verify_at(headers, "/alerting-profiles", signed_at + timedelta(minutes=4)).access_key == "local"
    for skew in (timedelta(minutes=6), -timedelta(minutes=6)):
        with pytest.raises(SignatureRefused, match="Signature expired"):
            _verify_at(headers, "/alerting-profiles", signed_at + skew)


def test_a_signature_for_another_service_or_region_is_refused(recording: Any) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    base, events = recording
    url = f"{base}/integrations"
    for service, region, words in (
        ("s3", "us-east-1", "correct service"),
        ("execute-api", "eu-west-1", "region"),
    ):
        request = AWSRequest(method="GET", url=url)
        SigV4Auth(Credentials("local", "local"), service, region).add_auth(request)
        status, body = send("GET", url, headers=dict(request.headers.items()))
        assert status == 403 and words in body["message"], body
    assert events == []


def test_the_config_api_answers_a_signed_request(signed_api: str) -> None:
    url = f"{signed_api}/alerting-profiles"
    status, body = send("POST", url, BODY, _signed_post(url))
    assert status == 201, body
    assert body["name"] == "signed"
