"""A deployed stack keeps working across an upgrade: the items and messages an earlier version
wrote (tests/wire/fixtures, captured from a run by tests/wire/capture.py) are read and settled by
the code as it is now, and the code still writes them in the same shapes.

Each test loads the fixtures it needs into a fresh stack as they are, with two exceptions that
an upgrade does not face: every webhook URL points at this test's receiver (the capture's
receivers are gone), and the secrets' data key is wrapped by this stack's KMS key (a KMS key
cannot leave its endpoint; in AWS the deployed key stays). Sealed values are not touched.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
from standardwebhooks.webhooks import Webhook

from tests.conftest import ApiClient
from tests.integration.servers import Receiver
from tests.wire import capture
from tests.wire.capture import SECRET_HEADER, SIGNING_SECRET, dispatch, dispatch_retries, fixture_shapes

FIXTURES = capture.FIXTURES
CONFIG = ("profile", "integration", "counter", "key-secrets", "key-page-token")


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def item(name: str) -> dict[str, Any]:
    (only,) = fixture(name)["items"]
    return dict(only)


def doc(name: str) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(item(name)["doc"]["S"])
    return parsed


def body(name: str) -> str:
    (message,) = fixture(name)["messages"]
    return str(message["body"])


def integration_ids() -> dict[str, str]:
    """Integration id by the capture's role name ("wire ok" -> "ok")."""
    out = {}
    for stored in fixture("integration")["items"]:
        name = json.loads(stored["doc"]["S"])["displayName"].removeprefix("wire ")
        out[name] = stored["id"]["S"]
    return out


def load(stack: Any, *names: str, url: str = "http://127.0.0.1:9/") -> None:
    """Put the fixtures' items into the stack's table."""
    dynamodb = boto3.client("dynamodb")
    for name in names:
        data = fixture(name)
        for wire in data["items"]:
            stored = capture.from_wire(wire)
            if stored["sk"]["S"].startswith("INTEGRATION#"):
                config = json.loads(stored["doc"]["S"])
                config["webhook"]["url"] = url
                stored["doc"] = {"S": json.dumps(config, separators=(",", ":"), ensure_ascii=False)}
            if stored["sk"]["S"] == "KEY#secrets":
                stored["wrapped"] = {"B": _rewrap(stack, base64.b64decode(data["dataKey"]))}
            dynamodb.put_item(TableName=stack.table_name, Item=stored)


def _rewrap(stack: Any, data_key: bytes) -> bytes:
    context = {"table": stack.table_name, "purpose": "secnotify-secrets"}
    kms_key = stack.environment()["KMS_KEY_ID"]
    blob: bytes = boto3.client("kms").encrypt(KeyId=kms_key, Plaintext=data_key, EncryptionContext=context)[
        "CiphertextBlob"
    ]
    return blob


def state(event_id: str, integration_id: str) -> Any:
    from secnotify.service.wiring import dispatcher

    return dispatcher().ledger.get_claims(event_id).get(integration_id)


def records(api: ApiClient, integration_id: str) -> list[dict[str, Any]]:
    resp = api.get(f"/integrations/{integration_id}/deliveries")
    assert resp.status == 200, resp.text
    items: list[dict[str, Any]] = resp.json()["items"]
    return items


# ---- configuration -----------------------------------------------------------------------------


def test_configuration_loads_through_the_cache_and_delivers_with_its_sealed_secrets(
    stack: Any, api: ApiClient
) -> None:
    from secnotify.service.notify import webhook_id
    from secnotify.service.wiring import dispatcher

    ids = integration_ids()
    with Receiver() as rx:
        load(stack, *CONFIG, url=rx.url("/"))
        configuration = dispatcher().config.get()
        assert set(configuration.profiles) == {p["id"]["S"] for p in fixture("profile")["items"]}
        assert {i.id for i in configuration.integrations} == set(ids.values())
        for integration in configuration.integrations:
            (secret,) = [h for h in integration.webhook.headers if h.secret]
            assert secret.value == SECRET_HEADER
        ok = configuration.integration(ids["ok"])
        assert ok is not None and ok.signingSecret == SIGNING_SECRET
        off = configuration.integration(ids["off"])
        assert off is not None and off.version == 2 and not off.enabled

        event = capture.load_event("opened.json", "wire-compat-config")
        out = dispatch(event)
        # The "opened" profile's enabled integrations: ok, flaky, fail, exhaust.
        assert out["counts"]["delivered"] == 4, out
        requests = rx.wait_for(4)
    assert all(r.header("Authorization") == SECRET_HEADER for r in requests)
    (signed,) = [r for r in requests if r.header("webhook-id") == webhook_id(event["id"], ids["ok"])]
    Webhook(SIGNING_SECRET).verify(signed.body, dict(signed.headers))
    # The secret never comes back out of the API.
    shown = api.get(f"/integrations/{ids['ok']}").text
    assert SECRET_HEADER not in shown and SIGNING_SECRET not in shown


def test_counters_still_bound_how_many_integrations_may_exist(
    stack: Any, api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secnotify.service import wiring

    load(stack, *CONFIG)
    counted = {c["sk"]["S"]: int(c["n"]["N"]) for c in fixture("counter")["items"]}
    assert counted["COUNTER#INTEGRATION"] == len(integration_ids())
    monkeypatch.setenv("MAX_INTEGRATIONS", str(counted["COUNTER#INTEGRATION"]))
    wiring.reset()
    new = {
        "displayName": "one more",
        "alertingProfileId": next(iter(p["id"]["S"] for p in fixture("profile")["items"])),
        "webhook": {
            "url": "http://127.0.0.1:9/",
            "headers": [{"name": "Content-Type", "value": "text/plain"}],
            "payload": "{Title}",
        },
    }
    refused = api.post("/integrations", new)
    limit = counted["COUNTER#INTEGRATION"]
    assert refused.status == 409 and f"at most {limit} " in refused.json()["message"], refused.text
    monkeypatch.setenv("MAX_INTEGRATIONS", str(counted["COUNTER#INTEGRATION"] + 1))
    wiring.reset()
    assert api.post("/integrations", new).status == 201


def test_objects_stored_before_names_were_locked_keep_working_and_keep_their_names(
    stack: Any, api: ApiClient
) -> None:
    load(stack, *CONFIG)  # as an upgrade finds them: no name locks
    (first, second) = [(p["id"]["S"], json.loads(p["doc"]["S"])["name"]) for p in fixture("profile")["items"]]
    edited = api.put(f"/alerting-profiles/{first[0]}", {"name": first[1], "enabled": False})
    assert edited.status == 200, edited.text
    taken = api.post("/alerting-profiles", {"name": second[1].upper()})
    assert taken.status == 409 and taken.json()["holderId"] == second[0], taken.text
    ids = integration_ids()
    hook = {"url": "http://127.0.0.1:9/", "headers": [{"name": "Content-Type", "value": "text/plain"}]}
    same = {
        "displayName": "Wire OK",
        "alertingProfileId": first[0],
        "webhook": {**hook, "payload": "{Title}"},
    }
    refused = api.post("/integrations", same)
    assert refused.status == 409 and refused.json()["holderId"] == ids["ok"], refused.text
    assert api.post("/integrations", {**same, "displayName": "wire new"}).status == 201


def test_a_page_token_issued_before_the_upgrade_still_pages(stack: Any, api: ApiClient) -> None:
    load(stack, *CONFIG)
    issued = fixture("key-page-token")["issuedToken"]
    first = api.get(issued["path"]).json()
    second = api.get(f"{issued['path']}&nextToken={issued['nextToken']}")
    assert second.status == 200, second.text
    assert first["nextToken"] == issued["nextToken"]  # the same key signs it
    first_ids = {i["id"] for i in first["items"]}
    second_ids = {i["id"] for i in second.json()["items"]}
    assert second_ids and not first_ids & second_ids


# ---- the dispatcher's states and messages ---------------------------------------------------------


def test_a_scheduled_retry_and_its_message_are_delivered_and_settled(stack: Any, api: ApiClient) -> None:
    scheduled = item("state-retry-scheduled")
    event_id = scheduled["pk"]["S"].removeprefix("CLAIM#")
    integration_id = scheduled["sk"]["S"].removeprefix("INT#")
    assert json.loads(body("retry-attempt"))["integrationId"] == integration_id
    with Receiver() as rx:
        load(stack, *CONFIG, "event-opened", "state-retry-scheduled", url=rx.url("/"))
        assert dispatch_retries([body("retry-attempt")])["batchItemFailures"] == []
        (request,) = rx.wait_for(1)
    # The same webhook-id as the first attempt that the earlier version made.
    assert request.header("webhook-id") == doc("record-event-retrying")["webhookId"]
    settled = state(event_id, integration_id)
    assert (settled.status, settled.attempt) == ("DELIVERED", 2)
    (record,) = records(api, integration_id)
    assert (record["status"], record["attempt"], record["eventId"]) == ("SUCCEEDED", 2, event_id)


def test_an_in_flight_attempt_whose_lease_ran_out_is_taken_over(stack: Any) -> None:
    in_flight = item("state-in-flight")
    assert float(in_flight["leaseUntil"]["N"]) < time.time(), "fixture captured less than a lease ago"
    event_id = in_flight["pk"]["S"].removeprefix("CLAIM#")
    integration_id = in_flight["sk"]["S"].removeprefix("INT#")
    with Receiver() as rx:
        load(stack, *CONFIG, "event-opened", "state-in-flight", url=rx.url("/"))
        assert dispatch_retries([body("retry-attempt")])["batchItemFailures"] == []
        rx.wait_for(1)
    settled = state(event_id, integration_id)
    assert (settled.status, settled.attempt) == ("DELIVERED", 2)


def test_a_handed_off_attempt_is_sent_by_the_retry_path(stack: Any) -> None:
    handed = item("state-retry-scheduled-handed-off")
    event_id = handed["pk"]["S"].removeprefix("CLAIM#")
    integration_id = handed["sk"]["S"].removeprefix("INT#")
    message = json.loads(body("retry-attempt-handed-off"))
    assert (message["eventId"], message["integrationId"], message["attempt"]) == (event_id, integration_id, 1)
    with Receiver() as rx:
        load(stack, *CONFIG, "event-handed-off", "state-retry-scheduled-handed-off", url=rx.url("/"))
        assert dispatch_retries([body("retry-attempt-handed-off")])["batchItemFailures"] == []
        rx.wait_for(1)
    settled = state(event_id, integration_id)
    assert (settled.status, settled.attempt) == ("DELIVERED", 1)


def test_a_resume_message_finishes_the_fan_out_once(stack: Any) -> None:
    stored = item("event")
    resume = json.loads(body("retry-resume"))
    assert resume["eventId"] == stored["pk"]["S"].removeprefix("EVENT#")
    assert float(stored["leaseUntil"]["N"]) < time.time(), "fixture captured less than a lease ago"
    assert resume["notBefore"] < time.time() - 1, "fixture captured less than a lease ago"
    slow = integration_ids()["slow"]
    with Receiver() as rx:
        # The holder of the lease crashed before recording anything: the resume sends it all.
        load(stack, *CONFIG, "event", url=rx.url("/"))
        assert dispatch_retries([body("retry-resume")])["batchItemFailures"] == []
        rx.wait_for(1)
        assert dispatch_retries([body("retry-resume")])["batchItemFailures"] == []
        time.sleep(0.2)
        assert len(rx.requests) == 1
    assert state(resume["eventId"], slow).status == "DELIVERED"


# ---- the delivery log ------------------------------------------------------------------------


RECORDS = sorted(p.stem for p in FIXTURES.glob("record-*.json"))


def test_every_captured_delivery_record_lists_through_the_api(stack: Any, api: ApiClient) -> None:
    from secnotify.models.api import DeliveryRecord

    assert len(RECORDS) >= 9
    load(stack, *CONFIG, *RECORDS)
    bodies = 0
    for name in RECORDS:
        captured = doc(name)
        body = capture.from_wire(item(name)).get("body", {}).get("B")
        bodies += body is not None
        # The request body is kept apart from the document, compressed; the API shows it as text.
        expected = DeliveryRecord.from_stored(captured, body).model_dump(mode="json")
        listed = {r["deliveryId"]: r for r in records(api, captured["integrationId"])}
        shown = listed[captured["deliveryId"]]
        for field in DeliveryRecord.model_fields:
            assert shown[field] == expected[field], (name, field)
        if body is not None:
            assert shown["requestBody"] and not shown["requestBodyTruncated"], name
    assert bodies >= 4  # first attempts, the test-send, the redelivery


# Records as the version before request bodies wrote them: no body, no index keys.
EARLIER_RECORDS = sorted(
    f"before-request-bodies/{p.stem}" for p in FIXTURES.glob("before-request-bodies/*.json")
)


def test_records_written_before_request_bodies_still_read(stack: Any) -> None:
    from secnotify.storage.client import dynamodb_client
    from secnotify.storage.delivery_log import DynamoDeliveryLog

    assert len(EARLIER_RECORDS) >= 9
    load(stack, *EARLIER_RECORDS)
    log = DynamoDeliveryLog(dynamodb_client(), stack.table_name)
    for name in EARLIER_RECORDS:
        captured = doc(name)
        read = log.get_delivery(captured["integrationId"], captured["deliveryId"])
        assert read.requestBody is None and read.requestBodySha256 is None, name
        shown = read.model_dump(mode="json")
        for field, value in captured.items():
            if field != "testMarker":
                assert shown[field] == value, (name, field)
        listed, _ = log.list_deliveries(captured["integrationId"], 50, None, status=read.status)
        assert read in listed, name


def test_captured_records_and_stored_events_can_be_redelivered(stack: Any, api: ApiClient) -> None:
    real, test = doc("record-event-succeeded"), doc("record-test")
    with Receiver() as rx:
        load(stack, *CONFIG, "event-opened", "event-test-send", *RECORDS, url=rx.url("/"))
        for record in (real, test):
            path = f"/integrations/{record['integrationId']}/deliveries/{record['deliveryId']}/redeliver"
            resp = api.post(path)
            assert resp.status == 200 and resp.json()["delivered"], resp.text
        again_real, again_test = rx.wait_for(2)
    assert again_real.header("webhook-id") == real["webhookId"] and again_real.header("webhook-test") is None
    assert (
        again_test.header("webhook-id") == test["webhookId"] and again_test.header("webhook-test") == "true"
    )


# ---- dead letters ----------------------------------------------------------------------------


def test_dead_letters_have_the_documented_shape(stack: Any, api: ApiClient) -> None:
    from secnotify.service.notify import webhook_id
    from secnotify.sources import MalformedEvent, parse_eventbridge

    dead = {p.stem: fixture(p.stem)["messages"][0] for p in FIXTURES.glob("dead-letter-*.json")}
    assert set(dead) == {
        "dead-letter-event",
        "dead-letter-notification",
        "dead-letter-retry-malformed",
        "dead-letter-retry-event-gone",
    }
    for message in dead.values():
        attributes = message["messageAttributes"]
        assert set(attributes) == {"kind", "reason"}
        assert attributes["reason"]["DataType"] == "String" and attributes["reason"]["StringValue"].strip()
    kinds = {name: m["messageAttributes"]["kind"]["StringValue"] for name, m in dead.items()}
    assert kinds == {
        "dead-letter-event": "event",
        "dead-letter-notification": "notification",
        "dead-letter-retry-malformed": "retry",
        "dead-letter-retry-event-gone": "retry",
    }

    # A malformed event keeps its body: parsing it again gives the same reason.
    event = dead["dead-letter-event"]
    with pytest.raises(MalformedEvent) as caught:
        parse_eventbridge(json.loads(event["body"]))
    assert caught.value.reason == event["messageAttributes"]["reason"]["StringValue"]

    # A failed notification names what the API needs to redeliver it.
    notification = json.loads(dead["dead-letter-notification"]["body"])
    assert set(notification) == {"eventId", "integrationId", "webhookId", "attempt", "deliveryId"}
    assert notification["webhookId"] == webhook_id(notification["eventId"], notification["integrationId"])
    with Receiver() as rx:
        load(stack, *CONFIG, "event-opened", "record-event-failed", url=rx.url("/"))
        path = (
            f"/integrations/{notification['integrationId']}/deliveries/{notification['deliveryId']}/redeliver"
        )
        resp = api.post(path)
        assert resp.status == 200 and resp.json()["delivered"], resp.text
        (request,) = rx.wait_for(1)
    assert request.header("webhook-id") == notification["webhookId"]

    # A retry dead letter keeps the message as it was.
    gone = json.loads(dead["dead-letter-retry-event-gone"]["body"])
    assert set(gone) == {"eventId", "integrationId", "attempt", "notBefore"}


# ---- finding state ------------------------------------------------------------------------------


def test_stored_finding_states_still_decide_what_is_news(stack: Any) -> None:
    from secnotify.models.finding import FindingStatus
    from secnotify.service.wiring import dispatcher

    load(stack, "finding-state")
    tracked, aws = (i["pk"]["S"].removeprefix("FINDING#") for i in fixture("finding-state")["items"])
    states = dispatcher().intake.lifecycle.states
    assert (states.get(tracked).status, states.get(aws).status) == (  # type: ignore[union-attr]
        FindingStatus.RESOLVED,
        FindingStatus.MUTED,
    )
    archived = json.loads((capture.EVENTS / "aws" / "guardduty-archived.json").read_text(encoding="utf-8"))
    # The same archived snapshot again is no news; un-archived later, it opens.
    assert dispatch(archived)["counts"].get("unchanged") == 1
    archived["detail"]["service"]["archived"] = False
    archived["detail"]["updatedAt"] = "2017-11-03T08:15:30.660+0000"
    assert dispatch(archived)["counts"].get("transitions") == 1
    assert states.get(aws).status is FindingStatus.ACTIVE  # type: ignore[union-attr]


# ---- the capture itself ----------------------------------------------------------------------


def test_the_code_still_writes_the_captured_shapes(moto_endpoint: str, tmp_path: Path) -> None:
    fresh = capture.run(moto_endpoint, tmp_path)
    committed = sorted(p.stem for p in FIXTURES.glob("*.json"))
    assert sorted(fresh) == committed
    for name in committed:
        assert fixture_shapes(fresh[name]) == fixture_shapes(fixture(name)), name
    # What was written to disk is what the run returned.
    assert sorted(p.stem for p in tmp_path.glob("*.json")) == committed


def test_a_sharded_events_states_are_found_in_their_shards_and_its_retry_settled(stack: Any) -> None:
    items = fixture("event-sharded")["items"]
    (event,) = [i for i in items if i["sk"]["S"] == "EVENT"]
    assert event["shards"] == {"N": "4"}
    event_id = event["pk"]["S"].removeprefix("EVENT#")
    states = {i["sk"]["S"].removeprefix("INT#"): i["status"]["S"] for i in items if i["sk"]["S"] != "EVENT"}
    message = json.loads(body("retry-attempt-sharded"))
    assert message["eventId"] == event_id and states[message["integrationId"]] == "RETRY_SCHEDULED"
    with Receiver() as rx:
        load(stack, *CONFIG, "event-sharded", url=rx.url("/"))
        # A process that has not seen the event finds each state through the event's shard count.
        assert {iid: state(event_id, iid).status for iid in states} == states
        assert dispatch_retries([body("retry-attempt-sharded")])["batchItemFailures"] == []
        rx.wait_for(1)
    settled = state(event_id, message["integrationId"])
    assert (settled.status, settled.attempt) == ("DELIVERED", 2)
