"""Capture the DynamoDB items and SQS messages that the code writes today, as JSON fixtures.

    PYTHONPATH=layers:. python -m tests.wire.capture      # rewrites tests/wire/fixtures/

Drives the real handlers (config API, dispatcher: EventBridge events and retry batches) against
a moto server, with real loopback receivers, through every path that writes an item or a
message: configuration with sealed secrets, counters, page-token and data keys, stored events
with their lease, each notification state, each delivery record, retry messages (attempt,
handed off, resume) and dead letters (event, notification, retry). Items are taken from table
scans at the moments they exist (an IN_FLIGHT state only lives while its send is under way),
messages from draining the queues. Values (ids, timestamps, ttl) stay as captured.

Every item left in the table and every message seen must have the shape of some fixture, so a
new item or message written by these paths cannot go uncaptured.

The sealed secrets need the data key the capture's KMS key wrapped. A KMS key cannot be carried
to another endpoint, so ``key-secrets.json`` also holds that data key in plain (a throwaway
from a local run): the tests wrap it with their own stack's key, as the deployed table's item
stays wrapped by the deployed key across an upgrade.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import os
import sys
import threading
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from local import lambda_runtime
from local.lambda_runtime import LOCAL_ENV, LocalContext, apigw_event

FIXTURES = Path(__file__).parent / "fixtures"
EVENTS = Path(__file__).parents[2] / "events"

# Known plaintexts: the tests check that what the receiver gets is exactly these.
SECRET_HEADER = "Bearer wire-capture-0123456789abcdef"
SIGNING_SECRET = "whsec_" + base64.b64encode(b"wire-capture-signing-secret-0001").decode()

# Three attempts in all, at once; leases short enough to have run out by the time a test loads them.
CAPTURE_ENV = {
    "RETRY_LADDER_SECONDS": "0,0,0",
    "CLAIM_LEASE_SECONDS": "2",
    "CONFIG_CACHE_TTL_SECONDS": "0",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
SLOW_S = 0.6

Item = dict[str, Any]


# ---- wire form -------------------------------------------------------------------------------


def to_wire(item: Item) -> Item:
    """A boto3 low-level item as DynamoDB's JSON has it: binary values in base64."""
    return {
        name: {"B": base64.b64encode(bytes(value["B"])).decode()} if "B" in value else dict(value)
        for name, value in item.items()
    }


def from_wire(item: Item) -> Item:
    return {
        name: {"B": base64.b64decode(value["B"])} if "B" in value else dict(value)
        for name, value in item.items()
    }


def _json_shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_shape(inner) for key, inner in sorted(value.items())}
    if isinstance(value, list):
        shapes = {json.dumps(_json_shape(inner), sort_keys=True) for inner in value}
        return [json.loads(s) for s in sorted(shapes)]
    if value is None:
        return "null"
    return type(value).__name__


def _text_shape(text: str) -> Any:
    try:
        return {"json": _json_shape(json.loads(text))}
    except ValueError:
        return "text"


def _key_shape(pk: str, sk: str) -> dict[str, str]:
    kind = pk.split("#")[0]
    if kind.startswith("CLAIM") and kind[5:].isdigit():
        kind = "CLAIM"  # any shard of an event's states: the same items as its first shard's
    if kind == "DELIVERIES":
        return {"pk": kind, "sk": "<deliveryId>"}
    if kind == "AUDIT":
        return {"pk": kind, "sk": "<at>#<entryId>"}
    if sk.startswith(("KEY#", "COUNTER#")):
        return {"pk": kind, "sk": sk}
    return {"pk": kind, "sk": sk.split("#")[0]}


def item_shape(item: Item) -> Any:
    """Key kinds, attribute names and types, JSON documents (plain or compressed) down to their
    keys and value types. Statuses and kinds are part of the shape: states and records differ by them."""
    shape: dict[str, Any] = {"key": _key_shape(item["pk"]["S"], item["sk"]["S"])}
    for name, value in sorted(item.items()):
        ((kind, raw),) = value.items()
        if name == "doc" and kind == "S":
            shape[name] = {"S": _text_shape(raw)}
        elif name == "doc" and kind == "B":
            shape[name] = {"B": _text_shape(zlib.decompress(base64.b64decode(raw)).decode())}
        elif name in ("status", "kind"):
            shape[name] = {kind: raw}
        else:
            shape[name] = kind
    if shape["key"]["pk"] == "DELIVERIES":
        doc = json.loads(item["doc"]["S"])
        shape["record"] = {"kind": doc.get("kind"), "status": doc.get("status")}
    return shape


def message_shape(message: dict[str, Any]) -> Any:
    return {
        "body": _text_shape(message["body"]),
        "attributes": {k: v["DataType"] for k, v in sorted(message["messageAttributes"].items())},
        "kind": (message["messageAttributes"].get("kind") or {}).get("StringValue"),
    }


def fixture_shapes(fixture: dict[str, Any]) -> list[str]:
    """The distinct shapes in one fixture, canonical and sorted, for comparing two captures."""
    if "items" in fixture:
        shapes = [item_shape(i) for i in fixture["items"]]
    else:
        shapes = [message_shape(m) for m in fixture["messages"]]
    return sorted({json.dumps(s, sort_keys=True) for s in shapes})


# ---- driving the handlers ----------------------------------------------------------------------


def api(method: str, path: str, body: Any = None) -> tuple[int, Any]:
    from functions.config_api.app import lambda_handler

    data = json.dumps(body).encode() if body is not None else b""
    headers = {"Content-Type": "application/json"}
    result = lambda_handler(apigw_event(method, path, headers, data), LocalContext())
    text = result.get("body") or ""
    return int(result["statusCode"]), json.loads(text) if text else None


def dispatch(event: Any, remaining_ms: float = 120_000) -> dict[str, Any]:
    from functions.dispatcher.app import lambda_handler

    context = LocalContext(deadline_ms=time.time() * 1000 + remaining_ms)
    result: dict[str, Any] = lambda_handler(event, context)
    return result


def sqs_event(bodies: list[str]) -> dict[str, Any]:
    """The event Lambda's SQS poller hands the dispatcher for these retry-queue messages."""
    messages = [
        {"MessageId": str(uuid.uuid4()), "ReceiptHandle": f"handle-{index}", "Body": body}
        for index, body in enumerate(bodies)
    ]
    return lambda_runtime.sqs_event(messages)


def dispatch_retries(bodies: list[str]) -> dict[str, Any]:
    from functions.dispatcher.app import lambda_handler

    result: dict[str, Any] = lambda_handler(sqs_event(bodies), LocalContext())
    return result


def drain(queue_url: str) -> list[dict[str, Any]]:
    """Every message on the queue, as body and message attributes."""
    sqs = boto3.client("sqs")
    out: list[dict[str, Any]] = []
    while True:
        batch = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return out
        for message in batch:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            attributes = {
                name: {"DataType": value["DataType"], "StringValue": value["StringValue"]}
                for name, value in message.get("MessageAttributes", {}).items()
            }
            out.append({"body": message["Body"], "messageAttributes": attributes})


def scan(table: str) -> dict[tuple[str, str], Item]:
    dynamodb = boto3.client("dynamodb")
    items: dict[tuple[str, str], Item] = {}
    kwargs: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        resp = dynamodb.scan(**kwargs)
        for item in resp.get("Items", []):
            items[(item["pk"]["S"], item["sk"]["S"])] = to_wire(item)
        if "LastEvaluatedKey" not in resp:
            return items
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def load_event(name: str, event_id: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "eventbridge" / name).read_text(encoding="utf-8"))
    return {**copy.deepcopy(event), "id": event_id}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    from secnotify.service import wiring

    saved = dict(os.environ)
    os.environ.update(values)
    wiring.reset()
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        wiring.reset()


# ---- the run -----------------------------------------------------------------------------------


class Capture:
    def __init__(self, table: str, retry_url: str, dead_letter_url: str) -> None:
        self.table = table
        self.retry_url = retry_url
        self.dead_letter_url = dead_letter_url
        self.fixtures: dict[str, dict[str, Any]] = {}
        self.seen_messages: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []

    def watch_sends(self, client: Any) -> None:
        """Keep what the dispatcher hands SQS, for messages delayed past what a capture can wait."""

        def record(params: dict[str, Any], **_: Any) -> None:
            self.sent.append(
                {"body": params["MessageBody"], "messageAttributes": params.get("MessageAttributes", {})}
            )

        client.meta.events.register("provide-client-params.sqs.SendMessage", record)

    def keep_items(self, name: str, description: str, items: list[Item]) -> None:
        assert items, f"{name}: nothing captured"
        self.fixtures[name] = {"description": description, "items": items}

    def keep_item(self, name: str, description: str, pk: str, sk: str) -> None:
        self.keep_items(name, description, [scan(self.table)[(pk, sk)]])

    def keep_message(self, name: str, description: str, message: dict[str, Any]) -> None:
        self.fixtures[name] = {"description": description, "messages": [message]}

    def drain_retries(self) -> list[dict[str, Any]]:
        messages = drain(self.retry_url)
        self.seen_messages += messages
        return messages

    def record_of(self, integration_id: str, **match: Any) -> tuple[str, str]:
        for (pk, sk), item in scan(self.table).items():
            if pk == f"DELIVERIES#{integration_id}":
                doc = json.loads(item["doc"]["S"])
                if all(doc.get(k) == v for k, v in match.items()):
                    return pk, sk
        raise AssertionError(f"no delivery record of {integration_id} with {match}")


def run(endpoint_url: str, out_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Provision a fresh stack on ``endpoint_url``, drive it, and return (and, given ``out_dir``,
    write) the fixtures by name."""
    from local.provision import provision

    stack = provision(endpoint_url, prefix=f"wire{uuid.uuid4().hex[:8]}")
    with _environment({**stack.environment(), **CAPTURE_ENV, "AWS_ENDPOINT_URL": endpoint_url}):
        fixtures = _drive(stack)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for old in out_dir.glob("*.json"):
            old.unlink()
        for name, fixture in sorted(fixtures.items()):
            text = json.dumps(fixture, indent=1, sort_keys=True, ensure_ascii=False)
            (out_dir / f"{name}.json").write_text(text + "\n", encoding="utf-8")
    return fixtures


def _drive(stack: Any) -> dict[str, dict[str, Any]]:
    from secnotify.service.wiring import dispatcher
    from tests.integration.servers import Receiver, Reply

    cap = Capture(stack.table_name, stack.retry_queue_url, stack.dead_letter_queue_url)
    cap.watch_sends(dispatcher().queues.client)
    receivers = {
        name: Receiver(default=default)
        for name, default in {
            "ok": Reply(),
            "flaky": Reply(),
            "fail": Reply(status=400, body=b"bad payload"),
            "exhaust": Reply(status=503),
            "gone": Reply(status=503),
            "off": Reply(status=503),
            "slow": Reply(delay_s=SLOW_S),
        }.items()
    }
    receivers["flaky"].reply(Reply(status=503), Reply(delay_s=SLOW_S))
    for receiver in receivers.values():
        receiver.start()
    try:
        _scenarios(cap, receivers)
    finally:
        for receiver in receivers.values():
            receiver.stop()
    return cap.fixtures


def _nonzero(result: dict[str, Any]) -> dict[str, int]:
    return {k: v for k, v in result["counts"].items() if v}


def _integration(profile_id: str, url: str, name: str, signing: bool) -> dict[str, Any]:
    payload = json.loads((EVENTS / "api" / "integration-slack.json").read_text(encoding="utf-8"))
    body: dict[str, Any] = {
        "displayName": f"wire {name}",
        "alertingProfileId": profile_id,
        "webhook": {
            "url": url,
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Authorization", "value": SECRET_HEADER, "secret": True},
            ],
            "payload": payload["webhook"]["payload"],
        },
    }
    if signing:
        body["signingSecret"] = SIGNING_SECRET
    return body


def _scenarios(cap: Capture, rx: dict[str, Any]) -> None:
    ids = _configure(rx)
    e_opened = f"wire-opened-{uuid.uuid4()}"
    flaky_message, others = _event_path(cap, ids, e_opened)
    _retry_path(cap, ids, e_opened, [flaky_message, *others])
    _lease_and_hand_off(cap, rx, ids)
    _test_send_and_redelivery(cap, ids, e_opened)
    _dead_letters(cap, ids, e_opened)
    _sharded_event(cap)
    _finding_states(cap)
    _keys_and_configuration(cap)


def _configure(rx: dict[str, Any]) -> dict[str, str]:
    """Two profiles (events of one trigger each), an integration per behaviour."""
    status, opened = api(
        "POST", "/alerting-profiles", {"name": "opened", "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED"]}
    )
    assert status == 201, opened
    status, resolved = api(
        "POST",
        "/alerting-profiles",
        {"name": "resolved", "enabledTriggerEvents": ["SECURITY_PROBLEM_RESOLVED"]},
    )
    assert status == 201, resolved
    ids: dict[str, str] = {}
    for name in ("ok", "flaky", "fail", "exhaust", "gone", "off", "slow"):
        profile = resolved if name == "slow" else opened
        status, created = api(
            "POST", "/integrations", _integration(profile["id"], rx[name].url("/"), name, name == "ok")
        )
        assert status == 201, created
        ids[name] = created["id"]
    return ids


def _event_path(
    cap: Capture, ids: dict[str, str], e_opened: str
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Delivered, failed, and four scheduled for attempt 2; then the same event again. Returns
    the retry message of the integration whose attempt 2 is slow, and the others."""
    out = dispatch(load_event("opened.json", e_opened))
    assert _nonzero(out) == {"received": 1, "matched": 6, "delivered": 1, "failed": 1, "retrying": 4}, out
    claim = f"CLAIM#{e_opened}"
    cap.keep_item("state-delivered", "DELIVERED, written by the event path", claim, f"INT#{ids['ok']}")
    cap.keep_item("state-failed", "FAILED (400), written by the event path", claim, f"INT#{ids['fail']}")
    cap.keep_item(
        "state-retry-scheduled",
        "RETRY_SCHEDULED for attempt 2 after a 503, written by the event path",
        claim,
        f"INT#{ids['flaky']}",
    )
    for fixture, name, match in (
        ("record-event-succeeded", "ok", {"status": "SUCCEEDED"}),
        ("record-event-retrying", "flaky", {"status": "RETRYING"}),
        ("record-event-failed", "fail", {"status": "FAILED"}),
    ):
        cap.keep_item(
            fixture, f"delivery record: first attempt, {match['status']}", *cap.record_of(ids[name], **match)
        )
    first_retries = cap.drain_retries()
    (flaky_message,) = [m for m in first_retries if json.loads(m["body"])["integrationId"] == ids["flaky"]]
    cap.keep_message("retry-attempt", "retry message for attempt 2, queued by the event path", flaky_message)

    # The event again: its scheduled notifications are queued again, nothing is sent.
    again = dispatch(load_event("opened.json", e_opened))
    assert again["counts"].get("already_handled") == 6, again
    requeued = cap.drain_retries()
    assert len(requeued) == 4, requeued
    return flaky_message, [m for m in first_retries + requeued if m is not flaky_message]


def _retry_path(cap: Capture, ids: dict[str, str], e_opened: str, messages: list[dict[str, Any]]) -> None:
    """Attempt 2 of each (one caught in flight, two cancelled), then attempt 3, the last."""
    claim = f"CLAIM#{e_opened}"
    # Meanwhile one integration is deleted and one disabled: their retries are cancelled.
    assert api("DELETE", f"/integrations/{ids['gone']}")[0] == 204
    status, current = api("GET", f"/integrations/{ids['off']}")
    edit = {k: current[k] for k in ("displayName", "alertingProfileId", "type", "webhook")}
    status, _ = api("PUT", f"/integrations/{ids['off']}", {**edit, "enabled": False})
    assert status == 200

    in_flight: dict[str, Item] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set() and not in_flight:
            item = scan(cap.table).get((claim, f"INT#{ids['flaky']}"))
            if item is not None and item["status"]["S"] == "IN_FLIGHT":
                in_flight["item"] = item
            done.wait(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    # The batch runs in order: the first message's slow send is the one caught in flight.
    try:
        assert dispatch_retries([m["body"] for m in messages])["batchItemFailures"] == []
    finally:
        done.set()
        watcher.join()
    assert in_flight, "the attempt was never seen in flight"
    cap.keep_items(
        "state-in-flight", "IN_FLIGHT: attempt 2 claimed by the retry path, mid-send", [in_flight["item"]]
    )
    cap.keep_item(
        "state-cancelled",
        "CANCELLED: the integration was disabled before attempt 2",
        claim,
        f"INT#{ids['off']}",
    )
    cap.keep_item(
        "record-retry-succeeded",
        "delivery record: attempt 2, SUCCEEDED",
        *cap.record_of(ids["flaky"], attempt=2),
    )
    cap.keep_item(
        "record-retry-retrying",
        "delivery record: attempt 2, RETRYING",
        *cap.record_of(ids["exhaust"], attempt=2),
    )
    cap.keep_item(
        "record-retry-cancelled",
        "delivery record: attempt 2 not sent, CANCELLED",
        *cap.record_of(ids["off"], attempt=2),
    )
    third = cap.drain_retries()
    # Two copies: the duplicate of attempt 2 found attempt 3 scheduled and queued it again.
    assert [json.loads(m["body"])["attempt"] for m in third] == [3, 3], third
    assert dispatch_retries([m["body"] for m in third])["batchItemFailures"] == []
    cap.keep_item(
        "record-retry-failed",
        "delivery record: attempt 3, the ladder's last, FAILED",
        *cap.record_of(ids["exhaust"], attempt=3),
    )


def _lease_and_hand_off(cap: Capture, rx: dict[str, Any], ids: dict[str, str]) -> None:
    """A duplicate arriving while the first copy holds the event's lease leaves a resume message;
    an invocation short of time hands its notifications to the retry queue."""
    e_resolved = f"wire-resolved-{uuid.uuid4()}"
    # With 21 s left (just over a worst-case send) the lease is as short as the code makes it.
    first = threading.Thread(target=dispatch, args=(load_event("resolved.json", e_resolved), 21_000))
    first.start()
    rx["slow"].wait_for(1)
    cap.keep_item("event", "stored event with its fan-out lease", f"EVENT#{e_resolved}", "EVENT")
    deferred = dispatch(load_event("resolved.json", e_resolved))
    assert deferred["counts"].get("deferred") == 1, deferred
    first.join()
    # Delayed until the lease ends (at least half a minute): taken as the dispatcher sent it.
    (resume,) = [m for m in cap.sent if json.loads(m["body"]).get("kind") == "resume"]
    cap.seen_messages.append(resume)
    cap.keep_message("retry-resume", "resume message: look at the event again when its lease ends", resume)

    e_handoff = f"wire-handoff-{uuid.uuid4()}"
    handed = dispatch(load_event("resolved.json", e_handoff), remaining_ms=3000)
    assert handed["counts"].get("handed_off") == 1, handed
    cap.keep_item(
        "state-retry-scheduled-handed-off",
        "RETRY_SCHEDULED for attempt 1, handed off by an invocation short of time",
        f"CLAIM#{e_handoff}",
        f"INT#{ids['slow']}",
    )
    cap.keep_item(
        "event-handed-off",
        "stored event whose only notification was handed off",
        f"EVENT#{e_handoff}",
        "EVENT",
    )
    (handoff,) = cap.drain_retries()
    cap.keep_message("retry-attempt-handed-off", "retry message for a handed-off attempt 1", handoff)


def _test_send_and_redelivery(cap: Capture, ids: dict[str, str], e_opened: str) -> None:
    status, sent = api("POST", f"/integrations/{ids['ok']}/test")
    assert status == 200 and sent["delivered"], sent
    test_pk, test_sk = cap.record_of(ids["ok"], kind="test")
    cap.keep_item("record-test", "delivery record of a test send", test_pk, test_sk)
    test_event = json.loads(scan(cap.table)[(test_pk, test_sk)]["doc"]["S"])["eventId"]
    cap.keep_item("event-test-send", "stored event of a test send (no lease)", f"EVENT#{test_event}", "EVENT")
    _, original = cap.record_of(ids["ok"], kind="event")
    status, again_sent = api("POST", f"/integrations/{ids['ok']}/deliveries/{original}/redeliver")
    assert status == 200 and again_sent["delivered"], again_sent
    cap.keep_item(
        "record-redelivery", "delivery record of a redelivery", *cap.record_of(ids["ok"], kind="redelivery")
    )
    cap.keep_item("event-opened", "stored event of the run's main event", f"EVENT#{e_opened}", "EVENT")


def _dead_letters(cap: Capture, ids: dict[str, str], e_opened: str) -> None:
    """A malformed event, a malformed retry message, a retry whose event is gone; and the
    notifications given up earlier in the run."""
    bad = load_event("malformed/wrong-types.json", f"wire-malformed-{uuid.uuid4()}")
    assert dispatch(bad)["counts"].get("malformed") == 1
    malformed_retry = json.dumps({"kind": "attempt", "eventId": e_opened})
    orphan = json.dumps(
        {"eventId": f"wire-gone-{uuid.uuid4()}", "integrationId": ids["ok"], "attempt": 2, "notBefore": 0}
    )
    assert dispatch_retries([malformed_retry, orphan])["batchItemFailures"] == []
    dead = drain(cap.dead_letter_url)
    cap.seen_messages += dead

    def dead_letter(kind: str, reason: str) -> dict[str, Any]:
        for message in dead:
            attributes = message["messageAttributes"]
            if attributes["kind"]["StringValue"] == kind and reason in attributes["reason"]["StringValue"]:
                return message
        raise AssertionError(f"no {kind} dead letter with {reason!r} in {dead}")

    cap.keep_message("dead-letter-event", "a malformed event, parked with its body", dead_letter("event", ""))
    cap.keep_message(
        "dead-letter-notification", "a notification given up (HTTP 400)", dead_letter("notification", "400")
    )
    cap.keep_message(
        "dead-letter-retry-malformed", "a retry message that is not valid", dead_letter("retry", "not valid")
    )
    cap.keep_message(
        "dead-letter-retry-event-gone",
        "a retry whose event is no longer kept",
        dead_letter("retry", "no longer"),
    )


def _sharded_event(cap: Capture) -> None:
    """An event whose states are spread over shards: one state per shard at most here, so its
    four integrations (two delivered, one failed, one scheduled) are as a 1,000-way fan-out's."""
    e_sharded = f"wire-sharded-{uuid.uuid4()}"
    with _environment({"CLAIMS_PER_SHARD": "1"}):
        out = dispatch(load_event("opened.json", e_sharded))
    assert _nonzero(out) == {"received": 1, "matched": 4, "delivered": 2, "failed": 1, "retrying": 1}, out
    table = scan(cap.table)
    event = table[(f"EVENT#{e_sharded}", "EVENT")]
    assert event["shards"] == {"N": "4"}, event
    states = [
        item
        for (pk, _), item in sorted(table.items())
        if pk.endswith(f"#{e_sharded}") and pk != f"EVENT#{e_sharded}"
    ]
    assert len(states) == 4, states
    cap.keep_items("event-sharded", "stored event with four shards, and its states in them", [event, *states])
    (retry,) = cap.drain_retries()
    cap.keep_message("retry-attempt-sharded", "retry message for attempt 2 of that event", retry)
    cap.seen_messages += drain(cap.dead_letter_url)


def _finding_states(cap: Capture) -> None:
    """The state of a finding: one the platform's own events recorded (tracking only, by now the
    opened sample's problem), and one an AWS finding made: an archived GuardDuty finding, first
    seen muted, so the capture's receivers are not involved."""
    archived = json.loads((EVENTS / "aws" / "guardduty-archived.json").read_text(encoding="utf-8"))
    out = dispatch(archived)
    assert _nonzero(out) == {"received": 1, "unchanged": 1}, out
    findings = [item for (pk, _), item in sorted(scan(cap.table).items()) if pk.startswith("FINDING#")]
    assert len(findings) == 2, findings
    cap.keep_items(
        "finding-state",
        "the state of each finding: one tracked from the platform's own events, one from an AWS finding",
        findings,
    )


def _keys_and_configuration(cap: Capture) -> None:
    # Page tokens: the key that signs them, and a token a client could hold across the upgrade.
    status, page = api("GET", "/integrations?limit=2")
    assert status == 200 and page["nextToken"], page
    cap.keep_item("key-page-token", "the key that signs page tokens", "CONFIG", "KEY#page-token")
    cap.fixtures["key-page-token"]["issuedToken"] = {
        "path": "/integrations?limit=2",
        "nextToken": page["nextToken"],
    }

    # The configuration as it stands at the end of the run.
    table = scan(cap.table)
    config = [item for (pk, _), item in sorted(table.items()) if pk == "CONFIG"]
    cap.keep_items(
        "profile",
        "the alerting profiles (refCount counts their integrations)",
        [i for i in config if i["sk"]["S"].startswith("PROFILE#")],
    )
    cap.keep_items(
        "integration",
        "the integrations, secret header values and signing secret sealed",
        [i for i in config if i["sk"]["S"].startswith("INTEGRATION#")],
    )
    cap.keep_items(
        "counter",
        "the counters of profiles and integrations",
        [i for i in config if i["sk"]["S"].startswith("COUNTER#")],
    )
    names = [item for (pk, sk), item in sorted(table.items()) if pk == "NAMES" and sk != "BACKFILLED"]
    cap.keep_items("name-lock", "the locks that keep names unique, each held by its object's id", names)
    cap.keep_item(
        "names-backfilled", "the mark that names stored before the locks were locked", "NAMES", "BACKFILLED"
    )
    cap.keep_items(
        "audit",
        "the audit trail: one entry per configuration change, expiring after 400 days",
        [item for (pk, _), item in sorted(table.items()) if pk == "AUDIT"],
    )
    key_item = table[("CONFIG", "KEY#secrets")]
    cap.keep_items(
        "key-secrets", "the data key that seals secrets, wrapped by the stack's KMS key", [key_item]
    )
    context = {"table": cap.table, "purpose": "secnotify-secrets"}
    plain = boto3.client("kms").decrypt(
        CiphertextBlob=base64.b64decode(key_item["wrapped"]["B"]), EncryptionContext=context
    )
    cap.fixtures["key-secrets"]["dataKey"] = base64.b64encode(plain["Plaintext"]).decode()

    _check_complete(cap, table)


def _check_complete(cap: Capture, table: dict[tuple[str, str], Item]) -> None:
    """Everything the run wrote has the shape of some fixture."""
    known_items = {
        json.dumps(item_shape(i), sort_keys=True) for f in cap.fixtures.values() for i in f.get("items", [])
    }
    known_messages = {
        json.dumps(message_shape(m), sort_keys=True)
        for f in cap.fixtures.values()
        for m in f.get("messages", [])
    }
    missing = [
        key for key, item in table.items() if json.dumps(item_shape(item), sort_keys=True) not in known_items
    ]
    missing += [
        m["body"][:80]
        for m in cap.seen_messages
        if json.dumps(message_shape(m), sort_keys=True) not in known_messages
    ]
    if missing:
        raise AssertionError(f"written but not captured as a fixture: {missing}")
    leftover = drain(cap.retry_url) + drain(cap.dead_letter_url)
    if leftover:
        raise AssertionError(f"messages left on the queues: {leftover}")


def main() -> int:
    for key, value in LOCAL_ENV.items():
        os.environ.setdefault(key, value)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from local.endpoint import EmbeddedAws

    server = EmbeddedAws(port=0).start()
    os.environ["AWS_ENDPOINT_URL"] = server.url
    try:
        fixtures = run(server.url, FIXTURES)
    finally:
        server.stop()
    print(f"{len(fixtures)} fixtures written to {FIXTURES}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
