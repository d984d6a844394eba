"""Unique names and the audit trail through the config API on the moto server: a duplicate is a
409 naming the holder; every change is listed by GET /audit, newest first, with the caller's IAM
ARN, the fields changed and never a secret value; entries expire after 400 days."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.conftest import ApiClient

ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:sts::123456789012:assumed-role/Operators/bob"
SECRET = "Bearer audit-0123456789abcdef"
ROTATED = "Bearer audit-fedcba9876543210"


def call(principal: str | None, method: str, path: str, body: Any = None) -> tuple[int, Any, str]:
    """The handler called as API Gateway calls it after IAM auth of ``principal``."""
    from functions.config_api.app import lambda_handler
    from local.lambda_runtime import LocalContext, apigw_event

    data = json.dumps(body).encode() if body is not None else b""
    event = apigw_event(method, path, {"Content-Type": "application/json"}, data)
    if principal is not None:
        event["requestContext"]["identity"]["userArn"] = principal
    result = lambda_handler(event, LocalContext())
    text = result.get("body") or ""
    return int(result["statusCode"]), json.loads(text) if text else None, event["requestContext"]["requestId"]


def integration(profile_id: str, secret: str | None, name: str = "Pager") -> dict[str, Any]:
    auth: dict[str, Any] = {"name": "Authorization", "secret": True}
    if secret is not None:
        auth["value"] = secret
    return {
        "displayName": name,
        "alertingProfileId": profile_id,
        "webhook": {
            "url": "https://hooks.example.com/services/T000/B000",
            "headers": [{"name": "Content-Type", "value": "application/json"}, auth],
            "payload": '{"text": "{Title}"}',
        },
    }


def test_a_taken_name_is_a_409_naming_its_holder(api: ApiClient) -> None:
    first = api.post("/alerting-profiles", {"name": "Production"}).json()["id"]
    resp = api.post("/alerting-profiles", {"name": "  production "})
    assert resp.status == 409
    assert resp.json() == {
        "message": f"name: alerting profile {first} is already named 'Production'; names are unique",
        "field": "name",
        "holderId": first,
    }
    other = api.post("/alerting-profiles", {"name": "Staging"}).json()["id"]
    renamed = api.put(f"/alerting-profiles/{other}", {"name": "PRODUCTION"})
    assert renamed.status == 409 and renamed.json()["holderId"] == first
    hook = api.post("/integrations", integration(first, SECRET)).json()["id"]
    again = api.post("/integrations", integration(first, SECRET, name="pager"))
    assert again.status == 409 and again.json()["field"] == "displayName" and again.json()["holderId"] == hook
    assert SECRET not in again.text
    # a delete frees the name
    assert api.delete(f"/integrations/{hook}").status == 204
    assert api.post("/integrations", integration(first, SECRET, name="pager")).status == 201


def test_every_change_is_audited_with_who_which_fields_and_no_secret(api: ApiClient) -> None:
    status, profile, created_by = call(ALICE, "POST", "/alerting-profiles", {"name": "audited"})
    assert status == 201
    pid = profile["id"]
    status, hook, _ = call(ALICE, "POST", "/integrations", integration(pid, SECRET))
    assert status == 201
    iid = hook["id"]
    # kept secret (listed without a value): its path is not a change
    keep = {**integration(pid, None), "enabled": False}
    status, _, kept_by = call(BOB, "PUT", f"/integrations/{iid}", keep)
    assert status == 200
    # a new secret value: its path is, its value is not
    status, _, _ = call(BOB, "PUT", f"/integrations/{iid}", integration(pid, ROTATED))
    assert status == 200
    status, _, _ = call(None, "DELETE", f"/integrations/{iid}")
    assert status == 204

    status, page, _ = call(BOB, "GET", "/audit")
    assert status == 200
    entries = page["items"]
    seen = [(e["action"], e["kind"], e["objectId"], e["principal"], e["version"]) for e in entries]
    assert seen == [
        ("DELETE", "INTEGRATION", iid, "local", None),
        ("UPDATE", "INTEGRATION", iid, BOB, 3),
        ("UPDATE", "INTEGRATION", iid, BOB, 2),
        ("CREATE", "INTEGRATION", iid, ALICE, 1),
        ("CREATE", "PROFILE", pid, ALICE, 1),
    ]
    assert entries[2]["changes"] == ["enabled"]
    assert entries[2]["requestId"] == kept_by
    assert entries[1]["changes"] == ["enabled", "webhook.headers[Authorization].value"]
    assert entries[4]["requestId"] == created_by and entries[4]["name"] == "audited"
    assert "webhook" in entries[3]["changes"] and entries[3]["name"] == "Pager"
    text = json.dumps(page)
    for secret in (SECRET, ROTATED, "audit-0123456789abcdef", "audit-fedcba9876543210", "sn1:"):
        assert secret not in text


def test_the_audit_trail_pages_newest_first(api: ApiClient) -> None:
    names = [f"page {n}" for n in range(5)]
    for name in names:
        assert api.post("/alerting-profiles", {"name": name}).status == 201
    listed: list[str] = []
    token = None
    for _ in range(3):
        query = "/audit?limit=2" + (f"&nextToken={token}" if token else "")
        resp = api.get(query)
        assert resp.status == 200
        assert len(resp.json()["items"]) <= 2
        listed += [e["name"] for e in resp.json()["items"]]
        token = resp.json().get("nextToken")
        if token is None:
            break
    assert listed == names[::-1]
    forged = api.get("/audit?nextToken=eyJwayI6IkFVRElUIn0")
    assert forged.status == 400 and forged.json()["field"] == "nextToken"
    assert api.get("/audit?limit=0").status == 400


def test_audit_entries_expire_after_400_days(api: ApiClient, stack: Any) -> None:
    from secnotify.storage.client import dynamodb_client

    before = time.time()
    assert api.post("/alerting-profiles", {"name": "expiring"}).status == 201
    items = dynamodb_client().query(
        TableName=stack.table_name,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "AUDIT"}},
    )["Items"]
    assert len(items) == 1
    ttl = int(items[0]["ttl"]["N"])
    assert before + 400 * 86400 - 2 <= ttl <= time.time() + 400 * 86400 + 1


def test_a_name_that_normalises_long_is_locked_too(api: ApiClient) -> None:
    # U+FDFA is one character and eighteen once normalised: past what a sort key should carry.
    long = api.post("/alerting-profiles", {"name": "\ufdfa" * 100})
    assert long.status == 201, long.text
    again = api.post("/alerting-profiles", {"name": "\ufdfa" * 100})
    assert again.status == 409 and again.json()["holderId"] == long.json()["id"]
