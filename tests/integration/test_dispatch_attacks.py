"""Attacks through the dispatcher in one process (handler, matching, templating, a real HTTP
receiver, the ledger on a moto server), and the dedupKey rule: copies of one change under
different envelope ids are one event, delivered once under one webhook-id."""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

from tests.conftest import ApiClient, load_event
from tests.integration.servers import Receiver, Reply
from tests.integration.test_dispatch import dispatch, drain, setup

ATTACK_PAYLOAD = (
    '{"id": "{AttackDisplayId}", "type": "{AttackType}", "alias": "{Type}", "state": "{AttackState}",'
    ' "url": "{AttackUrl}", "entry": "{EntryPoint}", "vuln": "{VulnerabilityName}",'
    ' "pg": "{ProcessGroupId}", "at": "{Timestamp}", "title": "{Title}", "trigger": "{TriggerEvent}",'
    ' "problem": "{SecurityProblemId}", "status": "{Status}"}'
)


def attack_profile(*mitigations: str) -> dict[str, Any]:
    return {
        "name": f"attacks {uuid.uuid4().hex[:8]}",
        "enabledRiskLevels": ["CRITICAL"],  # attacks skip it
        "enabledTriggerEvents": ["ATTACK_DETECTED"],
        "enabledAttackMitigations": list(mitigations),
    }


def test_an_attack_reaches_the_profiles_that_want_its_state_with_its_placeholders(
    api: ApiClient, stack: Any
) -> None:
    event = load_event("eventbridge/attack-exploited.json")
    with Receiver() as wants, Receiver() as blocked_only, Receiver() as problems:
        hook = {"webhook": {"payload": ATTACK_PAYLOAD}}
        setup(api, wants.url("/"), attack_profile("NONE_BLOCKING_DISABLED"), **copy.deepcopy(hook))
        setup(api, blocked_only.url("/"), attack_profile("BLOCKED_WITH_EXCEPTION"), **copy.deepcopy(hook))
        setup(api, problems.url("/"))  # a profile from before attacks: problems only
        result = dispatch(event)
        (req,) = wants.wait_for(1)
        time.sleep(0.2)
        assert blocked_only.requests == [] and problems.requests == []
    assert result["counts"]["delivered"] == 1
    detail = event["detail"]
    assert json.loads(req.body) == {
        "id": "A-4321",
        "type": "SQL_INJECTION",
        "alias": "SQL_INJECTION",
        "state": "EXPLOITED",
        "url": detail["url"],
        "entry": "com.example.orders.OrderController.search(String)",
        "vuln": "SQL injection in OrderRepository.find",
        "pg": "PROCESS_GROUP-1A2B",
        "at": "2026-01-01T12:05:00Z",
        "title": detail["displayName"],
        "trigger": "ATTACK_DETECTED",
        "problem": "",
        "status": "",
    }


def test_the_hostile_attack_is_delivered_as_valid_json_with_its_text(api: ApiClient, stack: Any) -> None:
    event = load_event("eventbridge/attack-hostile.json")
    with Receiver() as rx:
        setup(api, rx.url("/"), attack_profile("NONE_BLOCKING_DISABLED"), webhook={"payload": ATTACK_PAYLOAD})
        dispatch(event)
        (req,) = rx.wait_for(1)
    body = json.loads(req.body)
    detail = event["detail"]
    assert (body["title"], body["type"], body["url"]) == (
        detail["displayName"],
        detail["attackType"],
        detail["url"],
    )
    assert body["entry"] == detail["entrypoint"]["entrypointFunction"]["displayName"]


def test_copies_with_one_dedup_key_are_delivered_once_under_one_webhook_id(
    api: ApiClient, stack: Any
) -> None:
    from secnotify.service.notify import webhook_id
    from secnotify.sources.eventbridge import dedup_event_id

    first = load_event("eventbridge/attack-blocked.json")
    second = {**copy.deepcopy(first), "id": str(uuid.uuid4()), "time": "2026-01-01T12:07:00Z"}
    key = first["detail"]["dedupKey"]
    with Receiver() as rx:
        iid = setup(api, rx.url("/"), attack_profile("BLOCKED_WITH_EXCEPTION"))
        one = dispatch(first)
        two = dispatch(second)
        (req,) = rx.wait_for(1)
        time.sleep(0.2)
        assert len(rx.requests) == 1
    assert one["counts"]["delivered"] == 1 and two["counts"].get("delivered", 0) == 0
    assert req.header("webhook-id") == webhook_id(dedup_event_id(key), iid)
    (record,) = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert record["eventId"] == dedup_event_id(key)


def test_a_problem_with_a_dedup_key_is_sent_once_whatever_its_envelope_ids(
    api: ApiClient, stack: Any
) -> None:
    first = load_event("eventbridge/opened.json")
    first["detail"]["dedupKey"] = "11497873967941161718:1767268800000:SECURITY_PROBLEM_CREATED"
    copies = [{**copy.deepcopy(first), "id": str(uuid.uuid4())} for _ in range(3)]
    other = copy.deepcopy(first)
    other["detail"]["dedupKey"] = "11497873967941161718:1767268900000:SECURITY_PROBLEM_REOPENED"
    with Receiver() as rx:
        setup(api, rx.url("/"))
        for event in [first, *copies]:
            dispatch(event)
        dispatch(other)  # another change of the same problem: its own notification
        rx.wait_for(2)
        time.sleep(0.2)
        assert len(rx.requests) == 2
    assert len({r.header("webhook-id") for r in rx.requests}) == 2


def test_a_malformed_attack_goes_to_the_dead_letter_queue_and_stops_nothing(
    api: ApiClient, stack: Any
) -> None:
    bad = load_event("eventbridge/malformed/attack-unknown-state.json")
    good = load_event("eventbridge/attack-blocked.json")
    with Receiver() as rx:
        setup(api, rx.url("/"), attack_profile("BLOCKED_WITH_EXCEPTION"))
        assert dispatch(bad)["counts"]["malformed"] == 1
        assert dispatch(good)["counts"]["delivered"] == 1
        rx.wait_for(1)
    (dead,) = drain(stack.dead_letter_queue_url)
    assert "detail.state" in dead["MessageAttributes"]["reason"]["StringValue"]
    assert json.loads(dead["Body"])["id"] == bad["id"]


def test_a_preview_and_a_test_send_take_an_attack(api: ApiClient, stack: Any) -> None:
    event = load_event("eventbridge/attack-exploited.json")
    with Receiver() as rx:
        iid = setup(
            api, rx.url("/"), attack_profile("NONE_BLOCKING_DISABLED"), webhook={"payload": ATTACK_PAYLOAD}
        )
        for given in (event, event["detail"]):  # the whole event, or its detail alone
            resp = api.post("/integrations/preview", {"integrationId": iid, "event": given})
            assert resp.status == 200, resp.text
            assert resp.json()["valid"] is True
            shown = json.loads(resp.json()["body"])
            assert (shown["id"], shown["state"], shown["trigger"]) == (
                "A-4321",
                "EXPLOITED",
                "ATTACK_DETECTED",
            )
        sent = api.post(f"/integrations/{iid}/test", {"event": event["detail"]})
        assert sent.status == 200 and sent.json()["delivered"] is True, sent.text
        (req,) = rx.wait_for(1)
    assert json.loads(req.body)["type"] == "SQL_INJECTION"


def test_an_attack_to_an_integration_that_keeps_a_receiver_reference_keeps_none_and_notes_nothing(
    api: ApiClient, stack: Any
) -> None:
    # An attack never resolves: there is nothing to keep a reference for, and nothing to explain.
    answer = Reply(status=201, body=b'{"id": "10001", "key": "SEC-7"}')
    with Receiver(default=answer) as jira:
        hook = {
            "webhook": {
                "payload": ATTACK_PAYLOAD,
                "resolved": {"path": "/issue/{Receiver[issueKey]}/comment", "payload": '{"body": "done"}'},
                "receiverReference": {"name": "issueKey", "pointer": "/key"},
            }
        }
        iid = setup(api, jira.url("/issue"), attack_profile("NONE_BLOCKING_DISABLED"), **hook)
        dispatch(load_event("eventbridge/attack-exploited.json"))
        jira.wait_for(1)
    (record,) = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert (record["status"], record["statusCode"]) == ("SUCCEEDED", 201)
    assert record.get("error") in (None, ""), record
