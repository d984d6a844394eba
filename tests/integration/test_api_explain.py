"""Why / why not through the real handlers on a moto server: ``POST /events/explain`` names the
first reason for each integration and sends and writes nothing; the dispatcher's real deliveries
then list per event, and filter per integration."""

from __future__ import annotations

import copy
import hashlib
import json
from typing import Any

import boto3
import pytest

from tests.conftest import ApiClient, load_event
from tests.integration.servers import Receiver, Reply
from tests.integration.test_dispatch import SECRET, dispatch, dispatch_retries, drain, setup

ALL_TRIGGERS = ["SECURITY_PROBLEM_OPENED", "SECURITY_PROBLEM_RESOLVED", "NEW_MANAGEMENT_ZONE_AFFECTED"]


def profile(api: ApiClient, name: str, **fields: Any) -> str:
    body = {"name": name, "enabledTriggerEvents": ALL_TRIGGERS, **fields}
    resp = api.post("/alerting-profiles", body)
    assert resp.status == 201, resp.text
    return str(resp.json()["id"])


def hook(api: ApiClient, url: str, profile_id: str, name: str, **fields: Any) -> str:
    template = load_event("api/integration-slack.json")["webhook"]["payload"]
    body = {
        "displayName": name,
        "alertingProfileId": profile_id,
        "webhook": {
            "url": url,
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Authorization", "value": SECRET, "secret": True},
            ],
            "payload": template,
        },
        **fields,
    }
    resp = api.post("/integrations", body)
    assert resp.status == 201, resp.text
    return str(resp.json()["id"])


def table_items(stack: Any) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb")
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"TableName": stack.table_name}
    while True:
        page = client.scan(**kwargs)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda i: (i["pk"]["S"], i["sk"]["S"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def test_explain_names_the_first_reason_for_each_integration_and_sends_nothing(
    api: ApiClient, stack: Any
) -> None:
    event = load_event("eventbridge/opened.json")  # CRITICAL, opened, zone 123 "production"
    with Receiver() as rx:
        url = rx.url("/")
        wants_all = profile(api, "all")
        off = profile(api, "off", enabled=False)
        low_only = profile(api, "low", enabledRiskLevels=["LOW"])
        resolved_only = profile(api, "resolved", enabledTriggerEvents=["SECURITY_PROBLEM_RESOLVED"])
        elsewhere = profile(api, "elsewhere", managementZone="staging")
        ids = {
            "matched": hook(api, url, wants_all, "matched"),
            "disabled": hook(api, url, wants_all, "disabled", enabled=False),
            "profile off": hook(api, url, off, "profile off"),
            "level": hook(api, url, low_only, "level"),
            "trigger": hook(api, url, resolved_only, "trigger"),
            "zone": hook(api, url, elsewhere, "zone"),
        }
        before = table_items(stack)
        resp = api.post("/events/explain", {"event": event})
        muted = copy.deepcopy(event)
        muted["detail"]["muted"] = True
        muted_resp = api.post("/events/explain", {"event": muted["detail"]})
        after = table_items(stack)
        assert rx.requests == []
    assert resp.status == 200, resp.text
    assert after == before  # nothing written: no event, no state, no record
    items = {i["displayName"]: i for i in resp.json()["items"]}
    assert {name: items[name]["reason"] for name in ids} == {
        "matched": None,
        "disabled": "INTEGRATION_DISABLED",
        "profile off": "PROFILE_DISABLED",
        "level": "RISK_LEVEL",
        "trigger": "TRIGGER",
        "zone": "ZONE",
    }
    assert items["level"]["message"] == "risk level CRITICAL is not among the profile's LOW"
    assert "'staging'" in items["zone"]["message"] and "production" in items["zone"]["message"]
    assert all(items[name]["integrationId"] == iid for name, iid in ids.items())
    matched = items["matched"]
    assert matched["matched"] is True and matched["eventId"] == event["id"]
    assert event["detail"]["title"] in json.loads(matched["preview"])["text"]
    assert all(items[name]["preview"] is None for name in ids if name != "matched")
    assert SECRET not in resp.text
    muted_items = {i["displayName"]: i["reason"] for i in muted_resp.json()["items"]}
    assert muted_items["matched"] == "MUTED" and muted_items["level"] == "RISK_LEVEL"


def test_a_preview_never_shows_a_secret_even_one_the_event_carries(api: ApiClient, stack: Any) -> None:
    event = load_event("eventbridge/opened.json")
    event["detail"]["title"] = f"leaked {SECRET.split()[1]}"
    hook(api, "https://example.com/", profile(api, "all"), "h")
    resp = api.post("/events/explain", {"event": event})
    assert resp.status == 200, resp.text
    (item,) = resp.json()["items"]
    assert item["matched"] and "leaked ***" in item["preview"]
    assert SECRET.split()[1] not in resp.text


def test_an_aws_finding_is_explained_on_its_stored_state_without_changing_it(
    api: ApiClient, stack: Any
) -> None:
    finding = load_event("aws/securityhub-asff-active.json")
    with Receiver() as rx:
        iid = hook(
            api,
            rx.url("/"),
            profile(api, "all", enabledRiskLevels=["CRITICAL", "HIGH", "MEDIUM", "LOW"]),
            "h",
        )
        first = api.post("/events/explain", {"event": finding}).json()
        (item,) = first["items"]
        (explained,) = first["events"]
        assert item["matched"] and explained["transition"] == "OPENED", first
        # Explaining wrote no finding state: asked again, the answer is the same.
        assert api.post("/events/explain", {"event": finding}).json() == first
        assert dispatch(finding)["counts"]["delivered"] == 1
        rx.wait_for(1)
    # The id explain named is the event the dispatcher sent, and lists its notification.
    listed = api.get(f"/events/{item['eventId']}/deliveries").json()["items"]
    assert [(r["integrationId"], r["status"]) for r in listed] == [(iid, "SUCCEEDED")]
    # The same snapshot again is a copy of that change, which the ledger has handled.
    (copied,) = api.post("/events/explain", {"event": finding}).json()["items"]
    assert (copied["reason"], copied["eventId"]) == ("UNCHANGED", item["eventId"])
    assert "DELIVERED (attempt 1)" in copied["message"]
    # A later snapshot that changes nothing receivers hear of makes no event at all.
    later = copy.deepcopy(finding)
    later["detail"]["findings"][0]["UpdatedAt"] = "2099-01-01T00:00:00.000Z"
    (unchanged,) = api.post("/events/explain", {"event": later}).json()["items"]
    assert (unchanged["reason"], unchanged["eventId"], unchanged["preview"]) == ("UNCHANGED", None, None)
    assert "as receivers were last told" in unchanged["message"]


def test_each_finding_of_a_batch_is_explained(api: ApiClient, stack: Any) -> None:
    batch = load_event("aws/securityhub-asff-active.json")
    (one,) = batch["detail"]["findings"]
    low = {**copy.deepcopy(one), "Id": one["Id"] + "-low", "Severity": {"Label": "LOW"}}
    broken = {"Id": 42}
    batch["detail"]["findings"] = [one, low, broken]
    hook(api, "https://example.com/", profile(api, "high", enabledRiskLevels=["CRITICAL", "HIGH"]), "h")
    resp = api.post("/events/explain", {"event": batch})
    assert resp.status == 200, resp.text
    out = resp.json()
    assert [e["findingId"] for e in out["events"]] == [one["Id"], low["Id"]]
    assert len(out["skipped"]) == 1
    reasons = {i["findingId"]: (i["reason"], i["eventId"]) for i in out["items"]}
    assert reasons[one["Id"]][0] is None and reasons[low["Id"]][0] == "RISK_LEVEL"
    assert reasons[one["Id"]][1] != reasons[low["Id"]][1]


def test_explain_refuses_what_it_cannot_read(api: ApiClient, stack: Any) -> None:
    assert api.post("/events/explain", {}).status == 400
    bad = api.post(
        "/events/explain", {"event": {"source": "aws.securityhub", "detail-type": "x", "detail": 1}}
    )
    assert bad.status == 400 and bad.json()["field"] == "event", bad.text
    unknown = api.post(
        "/events/explain", {"event": load_event("eventbridge/opened.json"), "integrationId": "nope"}
    )
    assert unknown.status == 400 and unknown.json()["field"] == "integrationId"


def test_records_keep_the_body_sent_once_masked_and_filter_by_status_and_event(
    api: ApiClient, stack: Any
) -> None:
    opened = load_event("eventbridge/opened.json")
    opened["detail"]["title"] = f"echo {SECRET}"
    other = copy.deepcopy(opened)
    other["id"] = "5f1c2a3e-0000-4000-8000-0000000000ff"
    other["detail"]["description"] = "d" * 70_000
    with Receiver() as rx:
        iid = setup(api, rx.url("/"))
        second = hook(api, rx.url("/"), api.get(f"/integrations/{iid}").json()["alertingProfileId"], "second")
        assert dispatch(opened)["counts"]["delivered"] == 2
        assert dispatch(other)["counts"]["delivered"] == 2
        assert api.post(f"/integrations/{iid}/test").json()["delivered"]
        sent = {r.body for r in rx.wait_for(5)}
    records = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert len(records) == 3
    by_event = {r["eventId"]: r for r in records}
    first = by_event[opened["id"]]
    # The body as sent, secret masked; the receiver got the secret (the event carried it).
    assert any(SECRET.encode() in body for body in sent)
    assert first["requestBody"] is not None and SECRET not in first["requestBody"]
    opened_body = next(b for b in sent if SECRET.encode() in b and b"ddd" not in b)
    assert first["requestBody"] == opened_body.decode().replace(SECRET, "***")
    assert first["requestBodyTruncated"] is False
    big = by_event[other["id"]]
    assert big["requestBodyTruncated"] is True and big["requestBodyBytes"] > 65_536
    assert len(big["requestBody"].encode()) <= 65_536
    shown = api.get(f"/integrations/{iid}/deliveries/{first['deliveryId']}")
    assert shown.status == 200 and shown.json() == first
    assert api.get(f"/integrations/{iid}/deliveries/0000000000000-000000000000").status == 404
    # Filters.
    of_event = api.get(f"/integrations/{iid}/deliveries?eventId={opened['id']}").json()["items"]
    assert [r["deliveryId"] for r in of_event] == [first["deliveryId"]]
    tests = api.get(f"/integrations/{iid}/deliveries?status=SUCCEEDED").json()["items"]
    assert len(tests) == 3
    assert api.get(f"/integrations/{iid}/deliveries?status=FAILED").json()["items"] == []
    refused = api.get(f"/integrations/{iid}/deliveries?status=LOST")
    assert refused.status == 400, refused.text
    # Across integrations, a page at a time.
    token, seen = None, []
    while True:
        after = f"&nextToken={token}" if token else ""
        page = api.get(f"/events/{opened['id']}/deliveries?limit=1{after}")
        assert page.status == 200, page.text
        seen += page.json()["items"]
        token = page.json()["nextToken"]
        if token is None:
            break
    assert sorted(r["integrationId"] for r in seen) == sorted([iid, second])
    assert all(r["eventId"] == opened["id"] and r["requestBody"] for r in seen)
    forged = api.get(f"/events/{other['id']}/deliveries?nextToken=AAAA{'x' * 40}")
    assert forged.status == 400


def test_a_retry_record_has_the_bodys_digest_not_the_body_and_answers_keep_4_kb(
    api: ApiClient, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secnotify.service import wiring

    monkeypatch.setenv("RETRY_LADDER_SECONDS", "0,0,60")
    wiring.reset()
    long_answer = ("é" * 3000).encode()  # 6,000 bytes
    with Receiver(default=Reply(status=503, body=long_answer)) as rx:
        iid = setup(api, rx.url("/"))
        event = load_event("eventbridge/opened.json")
        assert dispatch(event)["counts"]["retrying"] == 1
        messages = drain(stack.retry_queue_url, wait_s=3)
        rx.reply(Reply())
        assert dispatch_retries(messages)["batchItemFailures"] == []
        first, second = rx.wait_for(2)
    assert first.body == second.body
    retried, failed = api.get(f"/integrations/{iid}/deliveries?eventId={event['id']}").json()["items"]
    assert (failed["attempt"], retried["attempt"]) == (1, 2)
    assert failed["requestBody"] == first.body.decode() and retried["requestBody"] is None
    assert (
        retried["requestBodySha256"] == failed["requestBodySha256"] == hashlib.sha256(first.body).hexdigest()
    )
    assert failed["responseBody"] == "é" * 2048  # the first 4 KB, whole characters


# ---- attacks (issue 15) --------------------------------------------------------------------------


def test_explain_gives_each_integration_its_reason_for_an_attack(api: ApiClient, stack: Any) -> None:
    event = load_event("eventbridge/attack-exploited.json")  # EXPLOITED, zone 123 "production"
    attacks = {"enabledTriggerEvents": ["ATTACK_DETECTED"], "enabledRiskLevels": ["LOW"]}
    with Receiver() as rx:
        url = rx.url("/")
        ids = {
            "matched": hook(
                api,
                url,
                profile(api, "exploited", **attacks, enabledAttackMitigations=["NONE_BLOCKING_DISABLED"]),
                "matched",
            ),
            "blocked only": hook(
                api,
                url,
                profile(api, "blocked", **attacks, enabledAttackMitigations=["BLOCKED_WITH_EXCEPTION"]),
                "blocked only",
            ),
            "problems only": hook(api, url, profile(api, "problems"), "problems only"),
            "zone": hook(
                api,
                url,
                profile(
                    api,
                    "staging",
                    **attacks,
                    enabledAttackMitigations=["NONE_BLOCKING_DISABLED"],
                    managementZone="staging",
                ),
                "zone",
            ),
        }
        resp = api.post("/events/explain", {"event": event})
        # A bare attack detail is taken as an attack.
        bare = api.post("/events/explain", {"event": event["detail"]})
        assert rx.requests == []
    assert resp.status == 200, resp.text
    items = {i["displayName"]: i for i in resp.json()["items"]}
    assert {name: items[name]["reason"] for name in ids} == {
        "matched": None,
        "blocked only": "ATTACK_MITIGATION",
        "problems only": "TRIGGER",
        "zone": "ZONE",
    }
    assert items["blocked only"]["message"] == (
        "attack state EXPLOITED (NONE_BLOCKING_DISABLED) is not among the profile's enabledAttackMitigations "
        "BLOCKED_WITH_EXCEPTION"
    )
    (explained,) = resp.json()["events"]
    assert explained["trigger"] == "ATTACK_DETECTED" and explained["findingId"] == event["detail"]["attackId"]
    assert "detail.dedupKey" in explained["note"]
    assert {i["displayName"]: i["reason"] for i in bare.json()["items"]} == {
        name: items[name]["reason"] for name in ids
    }


def test_explain_knows_a_copy_with_a_sent_dedup_key_was_handled(api: ApiClient, stack: Any) -> None:
    event = load_event("eventbridge/attack-blocked.json")
    with Receiver() as rx:
        hook(
            api,
            rx.url("/"),
            profile(
                api,
                "blocked",
                enabledTriggerEvents=["ATTACK_DETECTED"],
                enabledAttackMitigations=["BLOCKED_WITH_EXCEPTION"],
            ),
            "h",
        )
        assert dispatch(event)["counts"]["delivered"] == 1
        rx.wait_for(1)
    copy_of_it = {**copy.deepcopy(event), "id": "a-new-envelope-id"}
    (item,) = api.post("/events/explain", {"event": copy_of_it}).json()["items"]
    assert item["reason"] == "UNCHANGED" and "was handled already" in item["message"]
