"""The dispatcher end to end inside one process: handler -> matching -> templating -> real HTTP
receivers -> delivery records, claims, retry queue and dead-letter queue on a moto server."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from tests.conftest import ApiClient, load_event
from tests.integration.servers import HttpsReceiver, Receiver, Reply

SECRET = "Bearer dispatch-secret-0123456789abcdef"
SLACK = load_event("api/integration-slack.json")["webhook"]["payload"]


def dispatch(event: Any, remaining_ms: float = 120_000) -> dict[str, Any]:
    from functions.dispatcher.app import lambda_handler
    from local.lambda_runtime import LocalContext

    context = LocalContext(deadline_ms=time.time() * 1000 + remaining_ms)
    result: dict[str, Any] = lambda_handler(event, context)
    return result


def dispatch_retries(messages: list[dict[str, Any]]) -> dict[str, Any]:
    from functions.dispatcher.app import lambda_handler
    from local.lambda_runtime import LocalContext, sqs_event

    result: dict[str, Any] = lambda_handler(sqs_event(messages), LocalContext())
    return result


def drain(queue_url: str, wait_s: int = 0) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        resp = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=0 if out else wait_s,
            MessageAttributeNames=["All"],
        )
        batch = resp.get("Messages", [])
        if not batch:
            return out
        for m in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        out += batch


def setup(api: ApiClient, url: str, profile: dict[str, Any] | None = None, **extra: Any) -> str:
    pid = api.post(
        "/alerting-profiles",
        profile
        or {
            "name": f"all {uuid.uuid4().hex[:8]}",  # names are unique within a stack
            "enabledTriggerEvents": [
                "SECURITY_PROBLEM_OPENED",
                "SECURITY_PROBLEM_RESOLVED",
                "NEW_MANAGEMENT_ZONE_AFFECTED",
            ],
        },
    ).json()["id"]
    body = {
        "displayName": f"hook {uuid.uuid4().hex[:8]}",
        "alertingProfileId": pid,
        "webhook": {
            "url": url,
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Authorization", "value": SECRET, "secret": True},
            ],
            "payload": SLACK,
            **extra.pop("webhook", {}),
        },
        **extra,
    }
    resp = api.post("/integrations", body)
    assert resp.status == 201, resp.text
    return str(resp.json()["id"])


def test_event_is_delivered_with_headers_and_recorded(api: ApiClient, stack: Any) -> None:
    event = load_event("eventbridge/opened.json")
    with Receiver() as rx:
        iid = setup(api, rx.url("/hook"))
        result = dispatch(event)
        assert result["counts"]["delivered"] == 1
        (req,) = rx.wait_for(1)
    assert req.method == "POST" and req.path == "/hook"
    assert req.header("Authorization") == SECRET
    assert req.header("Content-Type") == "application/json"
    assert req.header(
        "User-Agent",
    ).startswith("secnotify/")
    assert req.header(
        "webhook-id",
    ).startswith("msg_")
    assert abs(int(req.header("webhook-timestamp") or 0) - time.time()) < 60
    text = json.loads(req.body)["text"]
    assert event["detail"]["displayId"] in text and event["detail"]["title"] in text
    records = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert len(records) == 1
    record = records[0]
    assert record["status"] == "SUCCEEDED" and record["statusCode"] == 200
    assert record["eventId"] == event["id"] and record["webhookId"] == req.header("webhook-id")
    assert SECRET not in json.dumps(records)


def test_the_same_event_twice_is_delivered_once(api: ApiClient, stack: Any) -> None:
    event = load_event("eventbridge/opened.json")
    with Receiver() as rx:
        setup(api, rx.url("/hook"))
        dispatch(event)
        second = dispatch(event)
        time.sleep(0.2)
        assert len(rx.requests) == 1
    assert second["counts"].get("delivered", 0) == 0


def test_redelivery_after_a_partial_fan_out_sends_only_the_missing(api: ApiClient, stack: Any) -> None:
    from secnotify.models.delivery import NotificationState, Outcome
    from secnotify.models.event import SecurityEvent
    from secnotify.service.wiring import dispatcher
    from secnotify.sources import parse_eventbridge

    event = load_event("eventbridge/opened.json")
    with Receiver() as a, Receiver() as b, Receiver() as c:
        iid_a = setup(api, a.url("/a"))
        setup(api, b.url("/b"))
        setup(api, c.url("/c"))
        ledger = dispatcher().ledger
        parsed: SecurityEvent = parse_eventbridge(event)
        # A worker took the event, delivered to A and recorded it, then crashed: its lease on
        # the event is still running when EventBridge hands the event over again.
        assert ledger.begin_event(event["id"], parsed.model_dump_json(), lease_s=2, ttl_s=60).acquired
        ledger.record_outcomes(event["id"], [Outcome(iid_a, NotificationState.DELIVERED, 1)], ttl_s=60)
        out = dispatch(event)
        assert out["counts"]["deferred"] == 2 and out["counts"]["already_handled"] == 1
        time.sleep(0.3)
        assert (len(a.requests), len(b.requests), len(c.requests)) == (0, 0, 0)
        # The retry queue looks again when the lease ends, and sends only what is missing.
        (resume,) = drain(stack.retry_queue_url, wait_s=5)
        assert json.loads(resume["Body"])["kind"] == "resume"
        time.sleep(max(0.0, json.loads(resume["Body"])["notBefore"] - time.time()))
        assert dispatch_retries([resume])["batchItemFailures"] == []
        b.wait_for(1)
        c.wait_for(1)
        dispatch(event)  # and once more, for good measure
        dispatch_retries([resume])
        time.sleep(0.3)
        assert (len(a.requests), len(b.requests), len(c.requests)) == (0, 1, 1)


def test_concurrent_duplicates_of_one_event_send_once(api: ApiClient, stack: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    event = load_event("eventbridge/opened.json")
    with Receiver(default=Reply(delay_s=0.3)) as rx:
        for _ in range(3):
            setup(api, rx.url("/"))
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: dispatch(event), range(4)))
        time.sleep(0.5)
        assert len(rx.requests) == 3
        assert len({r.header("webhook-id") for r in rx.requests}) == 3
    assert sum(r["counts"].get("delivered", 0) for r in results) == 3


def test_non_matching_profile_gets_nothing(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        setup(api, rx.url("/"), profile={"name": "low only", "enabledRiskLevels": ["LOW"]})
        result = dispatch(load_event("eventbridge/opened.json"))
        time.sleep(0.1)
        assert rx.requests == []
    assert result["counts"].get("matched", 0) == 0


def test_malformed_event_is_dead_lettered_and_others_still_flow(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        setup(api, rx.url("/"))
        bad = load_event("eventbridge/malformed/wrong-types.json")
        assert dispatch(bad)["counts"]["malformed"] == 1
        dispatch(load_event("eventbridge/opened.json"))
        rx.wait_for(1)
    dead = drain(stack.dead_letter_queue_url)
    assert len(dead) == 1
    attrs = dead[0]["MessageAttributes"]
    assert attrs["kind"]["StringValue"] == "event" and attrs["reason"]["StringValue"]
    assert json.loads(dead[0]["Body"])["id"] == bad["id"]


def test_retryable_failure_is_scheduled_then_delivered_with_the_same_webhook_id(
    api: ApiClient, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secnotify.service import wiring

    monkeypatch.setenv("RETRY_LADDER_SECONDS", "0,0,60")
    wiring.reset()
    with Receiver() as rx:
        iid = setup(api, rx.url("/"))
        rx.reply(Reply(status=503, headers=(("Retry-After", "1"),)))
        began = time.time()
        result = dispatch(load_event("eventbridge/opened.json"))
        assert result["counts"]["retrying"] == 1
        messages = drain(stack.retry_queue_url, wait_s=3)
        assert len(messages) == 1
        body = json.loads(messages[0]["Body"])
        # Retry-After (1 s) outranks the ladder's immediate retry.
        assert 0.9 <= body["notBefore"] - began <= 3
        assert body["attempt"] == 2 and body["integrationId"] == iid
        time.sleep(max(0.0, body["notBefore"] - time.time()))
        out = dispatch_retries(messages)
        assert out["batchItemFailures"] == []
        first, second = rx.wait_for(2)
    assert first.header("webhook-id") == second.header("webhook-id")
    statuses = [r["status"] for r in api.get(f"/integrations/{iid}/deliveries").json()["items"]]
    assert statuses == ["SUCCEEDED", "RETRYING"]


def test_permanent_failure_is_failed_and_dead_lettered(api: ApiClient, stack: Any) -> None:
    with Receiver(default=Reply(status=400, body=b"bad payload")) as rx:
        iid = setup(api, rx.url("/"))
        assert dispatch(load_event("eventbridge/opened.json"))["counts"]["failed"] == 1
    assert drain(stack.retry_queue_url) == []
    dead = drain(stack.dead_letter_queue_url)
    assert [m["MessageAttributes"]["kind"]["StringValue"] for m in dead] == ["notification"]
    record = api.get(f"/integrations/{iid}/deliveries").json()["items"][0]
    assert record["status"] == "FAILED" and record["statusCode"] == 400
    assert record["responseBody"] == "bad payload"


def test_receiver_echoing_the_secret_is_redacted_in_the_record(api: ApiClient, stack: Any) -> None:
    with Receiver(default=Reply(status=500, body=f"denied for {SECRET}".encode())) as rx:
        iid = setup(api, rx.url("/"))
        dispatch(load_event("eventbridge/opened.json"))
    text = api.get(f"/integrations/{iid}/deliveries").text
    assert SECRET not in text and "***" in text


def test_test_send_reports_outcomes_over_http_and_https(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        iid = setup(api, rx.url("/t"))
        resp = api.post(f"/integrations/{iid}/test", {})
        assert resp.status == 200, resp.text
        out = resp.json()
        assert out["delivered"] is True and out["statusCode"] == 200 and out["latencyMs"] >= 0
        assert rx.wait_for(1)[0].header("Authorization") == SECRET
    with HttpsReceiver() as tls:
        strict = setup(api, tls.url("/t"))
        out = api.post(f"/integrations/{strict}/test").json()
        assert out["delivered"] is False and "certificate" in out["error"].lower()
        relaxed = setup(api, tls.url("/t"), webhook={"acceptAnyCertificate": True})
        out = api.post(f"/integrations/{relaxed}/test").json()
        assert out["delivered"] is True, out
        assert len(tls.wait_for(1)) == 1


def test_test_send_to_a_closed_port_is_a_readable_failure(api: ApiClient, stack: Any) -> None:
    from tests.integration.servers import closed_port

    sock, port = closed_port()
    try:
        iid = setup(api, f"http://127.0.0.1:{port}/")
        resp = api.post(f"/integrations/{iid}/test")
    finally:
        sock.close()
    assert resp.status == 200
    out = resp.json()
    assert out["delivered"] is False and out["error"]


def test_test_send_with_a_supplied_event(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        iid = setup(api, rx.url("/"))
        detail = load_event("eventbridge/hostile.json")["detail"]
        assert api.post(f"/integrations/{iid}/test", {"event": detail}).json()["delivered"] is True
        req = rx.wait_for(1)[0]
    assert detail["title"] in json.loads(req.body)["text"]


def test_preview_for_saved_and_draft(api: ApiClient, stack: Any) -> None:
    iid = setup(api, "https://hooks.example.com/x")
    saved = api.post("/integrations/preview", {"integrationId": iid})
    assert saved.status == 200, saved.text
    out = saved.json()
    assert out["valid"] is True and out["contentType"] == "application/json"
    assert "S-1234" in json.loads(out["body"])["text"]
    draft = load_event("api/integration-slack.json")
    draft["alertingProfileId"] = "any"
    event = load_event("eventbridge/hostile.json")
    out = api.post("/integrations/preview", {"integration": draft, "event": event}).json()
    assert out["valid"] is True
    assert event["detail"]["title"] in json.loads(out["body"])["text"]
    draft["webhook"]["payload"] = '{"a": {Title} "b"}'
    out = api.post("/integrations/preview", {"integration": draft}).json()
    assert out["valid"] is False and out["errors"][0]["line"] == 1
    assert api.post("/integrations/preview", {}).status == 400


def test_redeliver_sends_the_same_notification_again(api: ApiClient, stack: Any) -> None:
    with Receiver() as rx:
        iid = setup(api, rx.url("/"))
        dispatch(load_event("eventbridge/opened.json"))
        record = api.get(f"/integrations/{iid}/deliveries").json()["items"][0]
        resp = api.post(f"/integrations/{iid}/deliveries/{record['deliveryId']}/redeliver")
        assert resp.status == 200, resp.text
        assert resp.json()["delivered"] is True
        first, second = rx.wait_for(2)
    assert first.body == second.body
    assert first.header("webhook-id") == second.header("webhook-id")
    assert api.post(f"/integrations/{iid}/deliveries/nope/redeliver").status == 404


def test_secrets_never_reach_the_logs(
    api: ApiClient, stack: Any, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    from secnotify.service.wiring import api_services

    # What production logs: INFO everywhere, and everything of our own.
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="secnotify")
    with Receiver(default=Reply(status=503, body=f"echo {SECRET}".encode())) as rx:
        iid = setup(api, rx.url("/"))
        assert SECRET not in repr(api_services().integrations.get_stored(iid))
        dispatch(load_event("eventbridge/opened.json"))
        api.post(f"/integrations/{iid}/test")
        api.get(f"/integrations/{iid}")
        api.post(
            "/integrations",
            {
                "displayName": "x",
                "alertingProfileId": "nope",
                "webhook": {
                    "url": "http://127.0.0.1:1/",
                    "payload": "{}",
                    "headers": [
                        {"name": "Content-Type", "value": "application/json"},
                        {"name": "Authorization", "value": SECRET, "secret": True},
                    ],
                },
            },
        )
    records = [json.dumps(r.__dict__, default=str) for r in caplog.records]
    assert any("event dispatched" in r for r in records)  # the handlers did log
    captured = capfd.readouterr()
    for text in [*records, captured.out, captured.err]:
        assert SECRET not in text
    dead_and_retry = drain(stack.retry_queue_url) + drain(stack.dead_letter_queue_url)
    assert SECRET not in json.dumps(dead_and_retry)


def _hostile_corpus() -> list[tuple[str, Any]]:
    import copy
    import pathlib

    base = load_event("eventbridge/opened.json")
    corpus: list[tuple[str, Any]] = []
    for path in sorted(
        pathlib.Path(__file__).parents[2].joinpath("events/eventbridge/malformed").glob("*.json")
    ):
        corpus.append((path.stem, json.loads(path.read_text())))
    for name, detail in [("detail-string", "oops"), ("detail-number", 42), ("detail-null", None)]:
        corpus.append((name, {**base, "id": f"bad-{name}", "detail": detail}))
    wrong = copy.deepcopy(base)
    wrong["id"] = "bad-wrong-nested"
    wrong["detail"]["affectedEntities"] = "not a list"
    wrong["detail"]["riskAssessment"]["riskScore"] = {"nested": True}
    corpus.append(("wrong-nested-types", wrong))
    missing = copy.deepcopy(base)
    missing["id"] = "bad-missing-time"
    del missing["time"]
    corpus.append(("missing-time", missing))
    corpus += [("a-string", "not an event"), ("a-list", [base]), ("nothing", None)]
    return corpus


def test_hostile_events_are_dead_lettered_and_good_ones_in_between_delivered(
    api: ApiClient, stack: Any
) -> None:
    import copy

    corpus = _hostile_corpus()
    base = load_event("eventbridge/opened.json")
    huge = copy.deepcopy(base)
    huge["id"] = "huge-description"
    huge["detail"]["description"] = ('"\\\n</script>{Title}{{7*7}}\u2028 ' * 8000)[:200_000]
    with Receiver() as rx:
        setup(api, rx.url("/"))
        good = 0
        for index, (_name, bad) in enumerate(corpus):
            out = dispatch(bad)
            assert out["counts"].get("malformed") == 1, (_name, out)
            event = copy.deepcopy(base)
            event["id"] = f"good-{index}"
            assert dispatch(event)["counts"].get("delivered") == 1
            good += 1
        assert dispatch(huge)["counts"].get("delivered") == 1
        received = rx.wait_for(good + 1)
    # The 200 KB description is valid input: delivered whole, as valid JSON.
    texts = [json.loads(r.body)["text"] for r in received]
    assert any(huge["detail"]["description"] in t for t in texts)
    dead = drain(stack.dead_letter_queue_url)
    assert len(dead) == len(corpus)
    for message in dead:
        assert message["MessageAttributes"]["kind"]["StringValue"] == "event"
        assert message["MessageAttributes"]["reason"]["StringValue"].strip()


def test_an_invocation_short_of_time_hands_notifications_to_the_retry_queue(
    api: ApiClient, stack: Any
) -> None:
    with Receiver() as rx:
        setup(api, rx.url("/a"))
        setup(api, rx.url("/b"))
        # 3 s left cannot cover a worst-case request (connect 5 s + read 10 s): start none here.
        out = dispatch(load_event("eventbridge/opened.json"), remaining_ms=3000)
        assert out["counts"]["handed_off"] == 2 and "delivered" not in out["counts"]
        time.sleep(0.2)
        assert rx.requests == []
        messages = drain(stack.retry_queue_url)
        assert sorted(json.loads(m["Body"])["attempt"] for m in messages) == [1, 1]
        assert dispatch_retries(messages)["batchItemFailures"] == []
        assert sorted(r.path for r in rx.wait_for(2)) == ["/a", "/b"]
        # Handing off twice (a redelivered event) still sends each once.
        dispatch_retries(messages)
        time.sleep(0.2)
        assert len(rx.requests) == 2


def test_secrets_echoed_json_escaped_or_url_encoded_are_masked(api: ApiClient, stack: Any) -> None:
    secret = 'key "with" quotes\\and/slashes+plus=='
    echo = json.dumps({"seen": secret}) + " " + quote(secret, safe="")
    with Receiver(default=Reply(status=500, body=echo.encode())) as rx:
        pid = api.post("/alerting-profiles", {"name": "p"}).json()["id"]
        created = api.post(
            "/integrations",
            {
                "displayName": "echo",
                "alertingProfileId": pid,
                "webhook": {
                    "url": rx.url("/"),
                    "headers": [
                        {"name": "Content-Type", "value": "text/plain"},
                        {"name": "X-Api-Key", "value": secret, "secret": True},
                    ],
                    "payload": "{Title}",
                },
            },
        ).json()
        out = api.post(f"/integrations/{created['id']}/test").json()
    assert out["delivered"] is False
    for fragment in (
        secret,
        json.dumps(secret)[1:-1],
        __import__("urllib.parse").parse.quote(secret, safe=""),
    ):
        assert fragment not in out["responseBody"]
    assert out["responseBody"].count("***") == 2


def test_an_exhausted_ladder_ends_failed_in_the_dead_letter_queue(
    api: ApiClient, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secnotify.service import wiring

    monkeypatch.setenv("RETRY_LADDER_SECONDS", "0,0,0")  # three attempts in all
    wiring.reset()
    with Receiver(default=Reply(status=503)) as rx:
        iid = setup(api, rx.url("/"))
        assert dispatch(load_event("eventbridge/opened.json"))["counts"]["retrying"] == 1
        for _attempt in (2, 3):
            messages = drain(stack.retry_queue_url, wait_s=3)
            assert len(messages) == 1
            assert dispatch_retries(messages)["batchItemFailures"] == []
        assert drain(stack.retry_queue_url) == []
        assert len(rx.wait_for(3)) == 3
    records = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert [(r["attempt"], r["status"]) for r in records] == [(3, "FAILED"), (2, "RETRYING"), (1, "RETRYING")]
    dead = drain(stack.dead_letter_queue_url)
    assert len(dead) == 1
    assert json.loads(dead[0]["Body"])["attempt"] == 3
    assert "503" in dead[0]["MessageAttributes"]["reason"]["StringValue"]


def test_a_lone_surrogate_is_one_malformed_event_and_a_400_on_test_send(api: ApiClient, stack: Any) -> None:
    import copy

    with Receiver() as rx:
        iid = setup(api, rx.url("/"))
        event = copy.deepcopy(load_event("eventbridge/opened.json"))
        event["detail"]["title"] = "broken \ud800 text"
        assert dispatch(event)["counts"]["malformed"] == 1
        resp = api.post(f"/integrations/{iid}/test", {"event": {"title": "t\ud800"}})
        assert resp.status == 400 and "Unicode" in resp.json()["message"]
        time.sleep(0.2)
        assert rx.requests == []
    (dead,) = drain(stack.dead_letter_queue_url)
    assert "surrogate" in dead["MessageAttributes"]["reason"]["StringValue"]


def test_slow_receivers_do_not_hold_up_the_others(api: ApiClient, stack: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    slow = [Receiver(default=Reply(delay_s=8)) for _ in range(3)]
    fast = [Receiver() for _ in range(3)]
    for receiver in slow + fast:
        receiver.start()
    try:
        for receiver in slow + fast:
            setup(api, receiver.url("/"))
        with ThreadPoolExecutor(1) as pool:
            running = pool.submit(dispatch, load_event("eventbridge/opened.json"))
            # The fast ones are answered while every slow one is still holding its request.
            for receiver in fast + slow:
                receiver.wait_for(1, timeout=4)
            assert not running.done()
            assert running.result(timeout=30)["counts"]["delivered"] == 6
    finally:
        for receiver in slow + fast:
            receiver.stop()


def _emitted_metrics(text: str) -> dict[str, float]:
    """The metric values in the embedded-metric-format lines a handler printed."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if '"_aws"' not in line:
            continue
        doc = json.loads(line)
        for directive in doc["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = doc[metric["Name"]]
                out[metric["Name"]] = out.get(metric["Name"], 0) + (
                    sum(value) if isinstance(value, list) else value
                )
    return out


@pytest.mark.parametrize("how", ["deleted", "disabled"])
def test_a_pending_retry_whose_integration_went_away_is_cancelled_not_failed(
    api: ApiClient,
    stack: Any,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    how: str,
) -> None:
    from secnotify.service import wiring
    from secnotify.service.wiring import dispatcher

    monkeypatch.setenv("RETRY_LADDER_SECONDS", "0,0,60")
    monkeypatch.setenv("CONFIG_CACHE_TTL_SECONDS", "3600")  # the retry comes while the cache is warm
    monkeypatch.delenv("POWERTOOLS_METRICS_DISABLED", raising=False)  # metrics as in AWS
    wiring.reset()
    event = load_event("eventbridge/opened.json")
    with Receiver(default=Reply(status=503)) as rx:
        iid = setup(api, rx.url("/"))
        assert dispatch(event)["counts"]["retrying"] == 1
        if how == "deleted":
            assert api.delete(f"/integrations/{iid}").status == 204
        else:
            current = api.get(f"/integrations/{iid}").json()
            update = {k: current[k] for k in ("displayName", "alertingProfileId", "type")}
            update["enabled"] = False
            update["webhook"] = {**current["webhook"], "headers": current["webhook"]["headers"]}
            assert api.put(f"/integrations/{iid}", update).status == 200
        messages = drain(stack.retry_queue_url, wait_s=3)
        assert len(messages) == 1
        capfd.readouterr()
        assert dispatch_retries(messages)["batchItemFailures"] == []
        printed = capfd.readouterr().out
        time.sleep(0.2)
        assert len(rx.requests) == 1  # the first attempt only
    # No dead letter (so no DeadLetterAlarm), no further retry, nothing counted as failed.
    assert drain(stack.dead_letter_queue_url) == []
    assert drain(stack.retry_queue_url) == []
    emitted = _emitted_metrics(printed)
    assert emitted.get("NotificationsCancelled") == 1, printed
    assert "NotificationsFailed" not in emitted, printed
    state = dispatcher().ledger.get_claims(event["id"])[iid]
    assert state.status == "CANCELLED" and state.attempt == 2
    listed, _ = dispatcher().notifier.deliveries.list_deliveries(iid, 10, None)
    records = [r.stored() for r in listed]
    assert [(r["attempt"], r["status"]) for r in records] == [(2, "CANCELLED"), (1, "RETRYING")]
    assert records[0]["webhookId"] == records[1]["webhookId"] and records[0]["error"].startswith("not sent")
