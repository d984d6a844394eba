"""Resolving at another URL on a moto server, through the real config API and dispatcher handlers
(README "Resolving at another URL"): the fields as GET shows them and PUT/PATCH take them back,
every save check, preview, test-send, explain, the placeholder catalogue, configuration as code,
and the reference kept in the table and used by the resolve."""

from __future__ import annotations

import copy
import json
import time
import uuid
from typing import Any

import boto3
import pytest

from tests.conftest import ApiClient, load_event
from tests.integration.servers import Receiver, Reply
from tests.integration.test_dispatch import dispatch, dispatch_retries, drain

AUTH = "Basic amlyYUBleGFtcGxlLmNvbTp0b2tlbi0wMTIzNDU2Nzg5"
CREATED = Reply(
    status=201, body=b'{"id": "10000", "key": "SEC-1", "self": "https://jira/rest/api/3/issue/10000"}'
)
COMMENT_PATH = "/rest/api/3/issue/{Receiver[issueKey]}/comment"
OPEN_PAYLOAD = '{"fields": {"summary": "{Title}", "labels": ["{SecurityProblemId}"]}}'
RESOLVED_PAYLOAD = '{"body": "{SecurityProblemId} is resolved ({Receiver[issueKey]})"}'
PROBLEM = "11497873967941161718"


def profile(api: ApiClient) -> str:
    resp = api.post(
        "/alerting-profiles",
        {
            "name": f"all {uuid.uuid4().hex[:8]}",
            "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED", "SECURITY_PROBLEM_RESOLVED"],
        },
    )
    assert resp.status == 201, resp.text
    return str(resp.json()["id"])


def jira(profile_id: str, url: str, **webhook: Any) -> dict[str, Any]:
    return {
        "displayName": f"jira {uuid.uuid4().hex[:8]}",
        "alertingProfileId": profile_id,
        "webhook": {
            "url": url,
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Authorization", "value": AUTH, "secret": True},
            ],
            "payload": OPEN_PAYLOAD,
            "resolved": {"path": COMMENT_PATH, "payload": RESOLVED_PAYLOAD},
            "receiverReference": {"name": "issueKey", "pointer": "/key"},
            **webhook,
        },
    }


def create(api: ApiClient, body: dict[str, Any]) -> dict[str, Any]:
    resp = api.post("/integrations", body)
    assert resp.status == 201, resp.text
    created: dict[str, Any] = resp.json()
    return created


def items(stack: Any, prefix: str) -> list[dict[str, Any]]:
    ddb = boto3.client("dynamodb")
    found = ddb.scan(TableName=stack.table_name)["Items"]
    return [i for i in found if i["pk"]["S"].startswith(prefix)]


# ---- the API --------------------------------------------------------------------------------


def test_get_shows_both_and_put_and_patch_take_them_back(api: ApiClient, stack: Any) -> None:
    created = create(api, jira(profile(api), "https://jira.example.com/rest/api/3/issue"))
    iid = created["id"]
    shown = api.get(f"/integrations/{iid}").json()
    assert shown["webhook"]["resolved"] == {"path": COMMENT_PATH, "payload": RESOLVED_PAYLOAD}
    assert shown["webhook"]["receiverReference"] == {"name": "issueKey", "pointer": "/key"}
    assert AUTH not in json.dumps(shown)

    # What GET returns is a PUT body: sent back as it is, it changes none of it.
    put = api.put(f"/integrations/{iid}", shown)
    assert put.status == 200, put.text
    assert put.json()["webhook"] == shown["webhook"]

    edited = copy.deepcopy(put.json())
    edited["webhook"]["resolved"]["path"] = "/rest/api/3/issue/{Receiver[issueKey]}/transitions"
    assert api.put(f"/integrations/{iid}", edited).status == 200
    again = api.get(f"/integrations/{iid}").json()["webhook"]
    assert again["resolved"]["path"].endswith("/transitions")

    patch = {"webhook": {"resolved": None, "payload": '{"fields": {"summary": "{Title}"}}'}}
    resp = api.request(
        "PATCH", f"/integrations/{iid}", patch, headers={"Content-Type": "application/merge-patch+json"}
    )
    assert resp.status == 200, resp.text
    webhook = resp.json()["webhook"]
    assert "resolved" not in webhook and webhook["receiverReference"] == {
        "name": "issueKey",
        "pointer": "/key",
    }
    (stored,) = [i for i in items(stack, "CONFIG") if i["sk"]["S"] == f"INTEGRATION#{iid}"]
    assert "resolved" not in json.loads(stored["doc"]["S"])["webhook"]


def test_an_integration_without_them_keeps_its_shape(api: ApiClient, stack: Any) -> None:
    body = jira(profile(api), "https://hooks.example.com/x")
    del body["webhook"]["resolved"], body["webhook"]["receiverReference"]
    iid = create(api, body)["id"]
    assert set(api.get(f"/integrations/{iid}").json()["webhook"]) == {
        "url",
        "acceptAnyCertificate",
        "headers",
        "payload",
    }
    (stored,) = [i for i in items(stack, "CONFIG") if i["sk"]["S"] == f"INTEGRATION#{iid}"]
    assert set(json.loads(stored["doc"]["S"])["webhook"]) == {
        "url",
        "acceptAnyCertificate",
        "headers",
        "payload",
    }


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"resolved": {"path": "//evil.example/x", "payload": "{}"}},
            "webhook.resolved.path",
            "must not start with //",
        ),
        ({"resolved": {"path": "/\\evil.example", "payload": "{}"}}, "webhook.resolved.path", "backslash"),
        (
            {"resolved": {"path": "/a\r\nHost: x", "payload": "{}"}},
            "webhook.resolved.path",
            "control characters",
        ),
        (
            {"resolved": {"path": "evil.example", "payload": "{}"}},
            "webhook.resolved.path",
            "must start with /",
        ),
        (
            {"resolved": {"path": "/a/{Titel}", "payload": "{}"}},
            "webhook.resolved.path",
            "did you mean {Title}",
        ),
        (
            {"resolved": {"path": "/a/{Secret[token]}", "payload": "{}"}},
            "webhook.resolved.path",
            "unknown secret token; the integration's secrets: none",
        ),
        (
            {"resolved": {"path": "/a/{Receiver[ticket]}", "payload": "{}"}},
            "webhook.resolved.path",
            "unknown receiver reference: ticket; the integration's receiverReference: issueKey",
        ),
        (
            {"resolved": {"path": "/a", "payload": '{"b": "{Receiver[ticket]}"}'}},
            "webhook.resolved.payload",
            "unknown receiver reference: ticket",
        ),
        (
            {"resolved": {"path": "/a", "payload": '{"b": {Title}'}},
            "webhook.resolved.payload",
            "does not render to valid JSON",
        ),
        (
            {"resolved": {"path": "/a", "payload": "x" * 5001}},
            "webhook.resolved.payload",
            "at most 5000 characters",
        ),
        (
            {"receiverReference": None, "payload": '{"k": "{Receiver[issueKey]}"}', "resolved": None},
            "webhook.payload",
            "the integration's receiverReference: none",
        ),
        (
            {"receiverReference": {"name": "issueKey", "pointer": "key"}},
            "webhook.receiverReference.pointer",
            "RFC 6901",
        ),
        (
            {"receiverReference": {"name": "issue-key", "pointer": "/key"}},
            "webhook.receiverReference.name",
            "letter",
        ),
    ],
)
def test_every_save_check_is_a_400_naming_the_field(
    api: ApiClient, stack: Any, change: dict[str, Any], field: str, message: str
) -> None:
    body = jira(profile(api), "https://jira.example.com/rest/api/3/issue", **change)
    resp = api.post("/integrations", body)
    assert resp.status == 400, resp.text
    error = resp.json()
    assert error["message"].startswith(field) and message in error["message"], error


def test_preview_and_explain_render_the_resolved_payload_with_the_sample(api: ApiClient, stack: Any) -> None:
    body = jira(profile(api), "https://jira.example.com/rest/api/3/issue")
    resolved = load_event("eventbridge/resolved.json")
    resp = api.post("/integrations/preview", {"integration": body, "event": resolved})
    assert resp.status == 200, resp.text
    out = resp.json()
    assert out["valid"] is True and json.loads(out["body"]) == {"body": "S-1234 is resolved (RECEIVER-REF)"}
    # A draft's resolved payload is checked even when previewed with the opened sample.
    bad = jira(profile(api), "https://jira.example.com/", resolved={"path": "/c", "payload": '{"x": {Title}'})
    out = api.post("/integrations/preview", {"integration": bad}).json()
    assert out["valid"] is False and out["errors"][0]["field"] == "webhook.resolved.payload"

    iid = create(api, body)["id"]
    out = api.post("/integrations/preview", {"integrationId": iid, "event": resolved}).json()
    assert json.loads(out["body"]) == {"body": "S-1234 is resolved (RECEIVER-REF)"}
    out = api.post("/integrations/preview", {"integrationId": iid}).json()
    assert "fields" in json.loads(out["body"])

    explained = api.post("/events/explain", {"event": resolved, "integrationId": iid}).json()
    (item,) = explained["items"]
    assert item["matched"] is True
    assert json.loads(item["preview"]) == {"body": "S-1234 is resolved (RECEIVER-REF)"}


def test_a_test_send_of_a_resolve_goes_to_the_resolved_path_with_the_sample(
    api: ApiClient, stack: Any
) -> None:
    with Receiver(default=CREATED) as rx:
        iid = create(api, jira(profile(api), rx.url("/rest/api/3/issue")))["id"]
        out = api.post(f"/integrations/{iid}/test", {"event": load_event("eventbridge/resolved.json")}).json()
        assert out["delivered"] is True, out
        out = api.post(f"/integrations/{iid}/test", {}).json()
        assert out["delivered"] is True and out["error"] is None
        comment, create_req = rx.wait_for(2)
    assert comment.path == "/rest/api/3/issue/RECEIVER-REF/comment"
    assert comment.header("Authorization") == AUTH and comment.header("webhook-test") == "custom-event"
    assert create_req.path == "/rest/api/3/issue"
    assert items(stack, "RECEIVER#") == []  # a test keeps no reference


def test_the_catalogue_lists_the_placeholder(api: ApiClient, stack: Any) -> None:
    catalogue = api.get("/placeholders").json()
    entries = catalogue if isinstance(catalogue, list) else catalogue["items"]
    (entry,) = [p for p in entries if p["name"] == "Receiver[name]"]
    assert entry["example"] == "RECEIVER-REF" and "receiverReference" in entry["description"]


def test_export_carries_both_and_applying_it_back_changes_nothing(api: ApiClient, stack: Any) -> None:
    body = jira(profile(api), "https://jira.example.com/rest/api/3/issue")
    create(api, body)
    exported = api.get("/config/export").json()
    (doc,) = [i for i in exported["integrations"] if i["displayName"] == body["displayName"]]
    assert doc["webhook"]["resolved"] == body["webhook"]["resolved"]
    assert doc["webhook"]["receiverReference"] == body["webhook"]["receiverReference"]
    plan = api.post("/config/apply", exported).json()
    assert plan["applied"] is True and {i["action"] for i in plan["items"]} == {"unchanged"}, plan

    doc["webhook"]["resolved"]["path"] = "/rest/api/3/issue/{Receiver[issueKey]}/transitions"
    doc["webhook"]["resolved"]["payload"] = '{"transition": {"id": "31"}}'
    doc["webhook"]["receiverReference"] = None  # the path still names it: checked like a PUT
    refused = api.post("/config/apply", exported)
    assert refused.status == 400 and "unknown receiver reference: issueKey" in refused.text
    assert refused.json()["errors"][0]["field"].endswith("].webhook.resolved.path")

    doc["webhook"]["receiverReference"] = {"name": "issueKey", "pointer": "/fields/key"}
    plan = api.post("/config/apply?dryRun=true", exported).json()
    (changed,) = [i for i in plan["items"] if i["action"] == "update"]
    assert changed["changes"] == [
        "webhook.resolved.path",
        "webhook.resolved.payload",
        "webhook.receiverReference.pointer",
    ]
    assert api.post("/config/apply", exported).json()["applied"] is True
    webhook = api.get(f"/integrations/{create_id(api, body['displayName'])}").json()["webhook"]
    assert webhook["receiverReference"]["pointer"] == "/fields/key"
    assert webhook["resolved"]["path"].endswith("/transitions")


def create_id(api: ApiClient, name: str) -> str:
    listed = api.get("/integrations?limit=100").json()["items"]
    return str(next(i["id"] for i in listed if i["displayName"] == name))


# ---- the dispatcher on the table ------------------------------------------------------------


def test_the_key_kept_in_the_table_sends_the_resolve_to_the_comment(api: ApiClient, stack: Any) -> None:
    with Receiver(default=CREATED) as rx:
        iid = create(api, jira(profile(api), rx.url("/rest/api/3/issue")))["id"]
        began = time.time()
        assert dispatch(load_event("eventbridge/opened.json"))["counts"]["delivered"] == 1
        (item,) = items(stack, "RECEIVER#")
        assert (item["pk"]["S"], item["sk"]["S"]) == (f"RECEIVER#{iid}", f"PROBLEM#{PROBLEM}")
        assert (item["name"]["S"], item["value"]["S"]) == ("issueKey", "SEC-1")
        expires = int(item["ttl"]["N"])
        assert began + 400 * 86400 - 5 <= expires <= time.time() + 400 * 86400 + 5
        assert dispatch(load_event("eventbridge/resolved.json"))["counts"]["delivered"] == 1
        create_req, comment = rx.wait_for(2)
    assert create_req.path == "/rest/api/3/issue"
    assert comment.path == "/rest/api/3/issue/SEC-1/comment"
    assert json.loads(comment.body) == {"body": "S-1234 is resolved (SEC-1)"}
    log = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert [(r["trigger"], r["status"], r["error"]) for r in log] == [
        ("SECURITY_PROBLEM_RESOLVED", "SUCCEEDED", None),
        ("SECURITY_PROBLEM_OPENED", "SUCCEEDED", None),
    ]


def test_a_resolve_with_no_key_kept_retries_then_fails(
    api: ApiClient, stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secnotify.service import wiring

    monkeypatch.setenv("RETRY_LADDER_SECONDS", "0,0,0")  # three attempts in all, at once
    wiring.reset()
    with Receiver(default=CREATED) as rx:
        iid = create(api, jira(profile(api), rx.url("/rest/api/3/issue")))["id"]
        assert dispatch(load_event("eventbridge/resolved.json"))["counts"]["retrying"] == 1
        for _ in range(2):
            messages = drain(stack.retry_queue_url, wait_s=2)
            assert len(messages) == 1
            assert dispatch_retries(messages)["batchItemFailures"] == []
        assert rx.requests == []
    log = api.get(f"/integrations/{iid}/deliveries").json()["items"]
    assert [(r["attempt"], r["status"], r["error"]) for r in log] == [
        (3, "FAILED", "missing receiver reference"),
        (2, "RETRYING", "missing receiver reference"),
        (1, "RETRYING", "missing receiver reference"),
    ]
    dead = drain(stack.dead_letter_queue_url)
    assert [json.loads(m["Body"])["integrationId"] for m in dead] == [iid]
