"""The local stack allows loopback so local receivers work, but never its own endpoint or API.

Driven like a newcomer drives `make run`: the stack from local.run, the API over real HTTP.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import load_event
from tests.e2e.conftest import http

pytestmark = pytest.mark.e2e


def integration_to(api: str, profile_id: str, url: str, headers: list[dict[str, Any]], payload: str) -> str:
    body = {
        "displayName": f"to {url}",
        "enabled": True,
        "type": "WEBHOOK",
        "alertingProfileId": profile_id,
        "webhook": {"url": url, "acceptAnyCertificate": False, "headers": headers, "payload": payload},
    }
    status, created = http("POST", f"{api}/integrations", body)
    assert status == 201, created
    return str(created["id"])


def test_send_cannot_reach_the_local_stacks_own_ports_but_reaches_a_loopback_receiver(running: Any) -> None:
    api = running.api_url
    _, profile = http("POST", f"{api}/alerting-profiles", load_event("api/profile.json"))
    endpoint_port = urlsplit(running.endpoint).port
    api_port = running.api.server_address[1]
    assert set(running.own_ports) == {endpoint_port, api_port}

    # What an attacker with API access tried: DynamoDB ListTables on the embedded AWS endpoint.
    list_tables = integration_to(
        api,
        profile["id"],
        f"http://127.0.0.1:{endpoint_port}/",
        [
            {"name": "Content-Type", "value": "application/x-amz-json-1.0", "secret": False},
            {"name": "X-Amz-Target", "value": "DynamoDB_20120810.ListTables", "secret": False},
        ],
        "{}",
    )
    status, result = http("POST", f"{api}/integrations/{list_tables}/test", {})
    assert status == 200, result
    assert result["delivered"] is False
    assert result["error"] == f"blocked: 127.0.0.1:{endpoint_port} is the local stack's own endpoint"
    assert "TableNames" not in json.dumps(result)

    # The API itself, by another spelling of loopback.
    self_call = integration_to(
        api,
        profile["id"],
        f"http://localhost:{api_port}/integrations",
        [{"name": "Content-Type", "value": "application/json", "secret": False}],
        "{}",
    )
    status, result = http("POST", f"{api}/integrations/{self_call}/test", {})
    assert status == 200 and result["delivered"] is False
    assert result["error"].startswith("blocked: ") and result["error"].endswith(
        f":{api_port} is the local stack's own endpoint"
    )

    # A receiver on another loopback port still gets its notification.
    sink_port = running.sink.server_address[1]
    assert sink_port not in running.own_ports
    receiver = integration_to(
        api,
        profile["id"],
        f"{running.sink.url}/hooks/local",
        [{"name": "Content-Type", "value": "application/json", "secret": False}],
        '{"title": "{Title}"}',
    )
    status, result = http("POST", f"{api}/integrations/{receiver}/test", {})
    assert status == 200 and result["delivered"] is True, result
    with running.sink.lock:
        paths = [r["path"] for r in running.sink.received]
    assert paths == ["/hooks/local"]
