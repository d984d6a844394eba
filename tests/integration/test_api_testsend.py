"""Test-send and redeliver through the real handlers, to real local receivers: what the receiver
sees (the test marker, the webhook-id) and what the API and the delivery log say afterwards."""

from __future__ import annotations

from typing import Any

from tests.conftest import ApiClient, load_event
from tests.integration.servers import Receiver, Reply, closed_port
from tests.integration.test_dispatch import dispatch, drain, setup


def test_test_sends_carry_the_marker_and_real_notifications_do_not(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        iid = setup(api, rx.url("/"))
        assert api.post(f"/integrations/{iid}/test").json()["delivered"] is True
        detail = load_event("eventbridge/hostile.json")["detail"]
        assert api.post(f"/integrations/{iid}/test", {"event": detail}).json()["delivered"] is True
        assert dispatch(load_event("eventbridge/opened.json"))["counts"]["delivered"] == 1
        sample, custom, real = rx.wait_for(3)
        record = next(
            r for r in api.get(f"/integrations/{iid}/deliveries").json()["items"] if r["kind"] == "event"
        )
        again = api.post(f"/integrations/{iid}/deliveries/{record['deliveryId']}/redeliver")
        assert again.status == 200 and again.json()["delivered"] is True, again.text
        redelivered = rx.wait_for(4)[3]
    assert sample.header_values("webhook-test") == ["true"]
    assert custom.header_values("webhook-test") == ["custom-event"]
    assert real.header_values("webhook-test") == []
    # A redeliver is the real notification again: same webhook-id, no marker.
    assert redelivered.header_values("webhook-test") == []
    assert redelivered.header("webhook-id") == real.header("webhook-id")
    assert len({sample.header("webhook-id"), custom.header("webhook-id"), real.header("webhook-id")}) == 3


def test_an_integration_cannot_forge_the_test_marker(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        pid_hook = setup(api, rx.url("/"))
        profile = api.get(f"/integrations/{pid_hook}").json()["alertingProfileId"]
        body = {
            "displayName": "forger",
            "alertingProfileId": profile,
            "webhook": {
                "url": rx.url("/"),
                "headers": [
                    {"name": "Content-Type", "value": "application/json"},
                    {"name": "Webhook-Test", "value": "true"},
                ],
                "payload": '{"text": "{Title}"}',
            },
        }
        resp = api.post("/integrations", body)
    assert resp.status == 400, resp.text
    assert resp.json()["field"] == "webhook.headers[1].name"


def test_test_send_returns_its_delivery_id_and_a_failed_test_is_failed(api: ApiClient, stack: Any) -> None:
    sock, port = closed_port()
    try:
        iid = setup(api, f"http://127.0.0.1:{port}/")
        resp = api.post(f"/integrations/{iid}/test")
    finally:
        sock.close()
    assert resp.status == 200, resp.text
    out = resp.json()
    assert out["delivered"] is False and out["error"] and out["integrationEnabled"] is True
    records = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    logged = [(r["deliveryId"], r["kind"], r["status"]) for r in records]
    assert logged == [(out["deliveryId"], "test", "FAILED")]
    assert "nextAttemptAt" not in records[0] or records[0]["nextAttemptAt"] is None
    # Tests are never retried, and a failed test is no dead letter.
    assert drain(stack.retry_queue_url) == []
    assert drain(stack.dead_letter_queue_url) == []


def test_a_retryable_answer_to_a_test_is_still_failed(api: ApiClient, stack: Any) -> None:
    with Receiver(default=Reply(status=503, headers=(("Retry-After", "1"),))) as rx:
        iid = setup(api, rx.url("/"))
        out = api.post(f"/integrations/{iid}/test").json()
        rx.wait_for(1)
    assert out["delivered"] is False and out["statusCode"] == 503
    (record,) = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert record["deliveryId"] == out["deliveryId"] and record["status"] == "FAILED"
    assert drain(stack.retry_queue_url) == []


def test_test_send_says_whether_the_integration_is_enabled(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        iid = setup(api, rx.url("/"), enabled=False)
        out = api.post(f"/integrations/{iid}/test").json()
        (req,) = rx.wait_for(1)
    # A disabled integration can still be tried out; the answer says it gets no events.
    assert out["delivered"] is True and out["integrationEnabled"] is False
    assert req.header("webhook-test") == "true"
    (record,) = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert record["deliveryId"] == out["deliveryId"] and record["status"] == "SUCCEEDED"


def test_a_test_sent_again_is_still_a_test(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        iid = setup(api, rx.url("/"))
        detail = load_event("eventbridge/hostile.json")["detail"]
        first = api.post(f"/integrations/{iid}/test", {"event": detail}).json()
        again = api.post(f"/integrations/{iid}/deliveries/{first['deliveryId']}/redeliver").json()
        original, repeated = rx.wait_for(2)
    assert again["delivered"] is True and again["deliveryId"] != first["deliveryId"]
    assert repeated.header("webhook-test") == original.header("webhook-test") == "custom-event"
    assert repeated.header("webhook-id") == original.header("webhook-id")
