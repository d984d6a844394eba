"""Integration routes: validation, write-only secrets, references to profiles."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.conftest import ApiClient

SECRET = "Bearer s3cr3t-token-value-0123456789"
SEED_TEMPLATE = (
    '{"text": "Problem *{SecurityProblemId}* {Severity}: {Title}", "entities": {AffectedEntities}}'
)


def make_profile(api: ApiClient, name: str = "p") -> str:
    resp = api.post("/alerting-profiles", {"name": name})
    assert resp.status == 201, resp.text
    return str(resp.json()["id"])


def body(profile_id: str, **webhook: Any) -> dict[str, Any]:
    hook = {
        "url": "https://hooks.example.com/services/T000/B000",
        "headers": [
            {"name": "Content-Type", "value": "application/json"},
            {"name": "Authorization", "value": SECRET, "secret": True},
        ],
        "payload": SEED_TEMPLATE,
        **webhook,
    }
    return {"displayName": "Slack", "alertingProfileId": profile_id, "webhook": hook}


def assert_no_secret(resp_text: str) -> None:
    assert SECRET not in resp_text
    assert "s3cr3t" not in resp_text


def test_create_get_list_never_show_secret_values(api: ApiClient) -> None:
    pid = make_profile(api)
    created = api.post("/integrations", body(pid))
    assert created.status == 201, created.text
    assert_no_secret(created.text)
    view = created.json()
    assert view["type"] == "WEBHOOK" and view["enabled"] is True
    assert view["webhook"]["acceptAnyCertificate"] is False
    auth = next(h for h in view["webhook"]["headers"] if h["name"] == "Authorization")
    assert auth == {"name": "Authorization", "value": None, "secret": True}
    for resp in (api.get(f"/integrations/{view['id']}"), api.get("/integrations")):
        assert resp.status == 200
        assert_no_secret(resp.text)


def test_update_that_omits_a_secret_value_keeps_the_stored_one(api: ApiClient, stack: Any) -> None:
    from secnotify.service.wiring import api_services

    pid = make_profile(api)
    created = api.post("/integrations", body(pid)).json()
    update = body(pid)
    update["webhook"]["headers"][1] = {"name": "Authorization", "secret": True}
    update["displayName"] = "renamed"
    resp = api.put(f"/integrations/{created['id']}", update, headers={"If-Match": '"1"'})
    assert resp.status == 200, resp.text
    assert_no_secret(resp.text)
    stored = api_services().integrations.get_stored(created["id"])
    assert [h.value for h in stored.webhook.headers if h.secret] == [SECRET]
    assert stored.displayName == "renamed" and stored.version == 2


def test_a_new_secret_header_needs_a_value(api: ApiClient) -> None:
    pid = make_profile(api)
    draft = body(pid)
    draft["webhook"]["headers"][1] = {"name": "X-Api-Key", "secret": True}
    resp = api.post("/integrations", draft)
    assert resp.status == 400
    assert "webhook.headers[1].value" in resp.json()["message"]


def test_validation_errors_never_echo_secret_values(api: ApiClient) -> None:
    pid = make_profile(api)
    draft = body(pid, payload="{Nope}")
    resp = api.post("/integrations", draft)
    assert resp.status == 400
    assert_no_secret(resp.text)
    draft = body(pid)
    draft["webhook"]["headers"][1]["value"] = SECRET + "\n"
    resp = api.post("/integrations", draft)
    assert resp.status == 400
    assert_no_secret(resp.text)


def _mutate(path: str, value: Any) -> Any:
    def apply(doc: dict[str, Any]) -> dict[str, Any]:
        target = doc
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[keys[-1]]
        else:
            target[keys[-1]] = value
        return doc

    return apply


_DELETE = object()


@pytest.mark.parametrize(
    ("mutation", "field"),
    [
        (_mutate("displayName", ""), "displayName"),
        (_mutate("displayName", "x" * 101), "displayName"),
        (_mutate("displayName", _DELETE), "displayName"),
        (_mutate("type", "SLACK"), "type"),
        # A webhook's fields under the other type: an EMAIL integration needs its email.
        (_mutate("type", "EMAIL"), "email: required"),
        (_mutate("enabled", "yes"), "enabled"),
        (_mutate("alertingProfileId", _DELETE), "alertingProfileId"),
        (_mutate("webhook.url", "ftp://example.com/x"), "url"),
        (_mutate("webhook.url", "https://example.com/" + "a" * 990), "url"),
        (_mutate("webhook.url", ""), "url"),
        (_mutate("webhook.url", "https:///nohost"), "url"),
        (_mutate("webhook.url", "https://user:pw@example.com/"), "url"),
        (_mutate("webhook.url", "https://@example.com/"), "url"),
        (_mutate("webhook.url", "not a url"), "url"),
        (_mutate("webhook.url", 42), "url"),
        (_mutate("webhook.acceptAnyCertificate", "no"), "acceptAnyCertificate"),
        (_mutate("webhook.headers", [{"name": "X-A", "value": "1"}]), "Content-Type"),
        (_mutate("webhook.headers", "Content-Type: application/json"), "headers"),
        (_mutate("webhook.payload", ""), "payload"),
        (_mutate("webhook.payload", _DELETE), "payload"),
        (_mutate("webhook.payload", "x" * 5001), "webhook.payload"),
        (_mutate("webhook.extra", 1), "extra"),
    ],
)
def test_invalid_integrations_get_400_naming_the_field(api: ApiClient, mutation: Any, field: str) -> None:
    pid = make_profile(api)
    resp = api.post("/integrations", mutation(copy.deepcopy(body(pid))))
    assert resp.status == 400, resp.text
    assert field in resp.json()["message"]


def test_header_limits(api: ApiClient) -> None:
    pid = make_profile(api)
    ct = {"name": "Content-Type", "value": "application/json"}
    at_limit = [ct] + [{"name": f"X-H{i}", "value": "v"} for i in range(99)]
    assert api.post("/integrations", body(pid, headers=at_limit)).status == 201
    over = [ct] + [{"name": f"X-H{i}", "value": "v"} for i in range(100)]
    resp = api.post("/integrations", body(pid, headers=over))
    assert resp.status == 400 and "headers" in resp.json()["message"]
    cases = [
        ({"name": "X" * 501, "value": "v"}, "name"),
        ({"name": "", "value": "v"}, "name"),
        ({"name": "Bad Name", "value": "v"}, "name"),
        ({"name": "X-Long", "value": "v" * 8193}, "value"),
        ({"name": "X-Crlf", "value": "a\r\nInjected: 1"}, "value"),
        ({"name": "Host", "value": "internal"}, "Host"),
        ({"name": "webhook-signature", "value": "v1,x"}, "webhook-signature"),
    ]
    for header, field in cases:
        resp = api.post("/integrations", body(pid, headers=[ct, header]))
        assert resp.status == 400, header
        assert field in resp.json()["message"], resp.json()
    longest = {**body(pid, headers=[ct, {"name": "X" * 500, "value": "v" * 8192}]), "displayName": "Longest"}
    assert api.post("/integrations", longest).status == 201


def test_content_type_is_required_and_needs_a_value(api: ApiClient) -> None:
    pid = make_profile(api)
    resp = api.post("/integrations", body(pid, headers=[{"name": "Content-Type", "value": " "}]))
    assert resp.status == 400 and "Content-Type" in resp.json()["message"]


def test_payload_limit_is_configurable(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from secnotify.service import wiring

    pid = make_profile(api)
    text = "x" * 5000
    assert (
        api.post(
            "/integrations",
            body(pid, headers=[{"name": "Content-Type", "value": "text/plain"}], payload=text),
        ).status
        == 201
    )
    monkeypatch.setenv("MAX_PAYLOAD_CHARS", "100")
    wiring.reset()
    resp = api.post(
        "/integrations",
        body(pid, headers=[{"name": "Content-Type", "value": "text/plain"}], payload="y" * 101),
    )
    assert resp.status == 400 and "at most 100" in resp.json()["message"]


def test_unknown_placeholders_are_each_named(api: ApiClient) -> None:
    pid = make_profile(api)
    resp = api.post("/integrations", body(pid, payload='{"a": "{Titel} {Severity} {Desc}"}'))
    assert resp.status == 400
    message = resp.json()["message"]
    assert "Titel" in message and "Desc" in message
    assert "Severity" not in message.split("known")[0]
    assert "SecurityProblemId" in resp.text  # the known names are listed


def test_json_payload_that_cannot_render_to_json_gives_line_and_column(api: ApiClient) -> None:
    pid = make_profile(api)
    resp = api.post("/integrations", body(pid, payload='{\n  "a": {Title}\n  "b": 1\n}'))
    assert resp.status == 400
    message = resp.json()["message"]
    assert "line 3" in message and "column" in message


def test_profile_must_exist(api: ApiClient) -> None:
    resp = api.post("/integrations", body("no-such-profile"))
    assert resp.status == 400
    assert "alertingProfileId" in resp.json()["message"]


def test_deleting_a_profile_in_use_is_refused_naming_the_integrations(api: ApiClient) -> None:
    pid = make_profile(api)
    first = api.post("/integrations", body(pid)).json()
    second_body = body(pid)
    second_body["displayName"] = "Teams"
    second = api.post("/integrations", second_body).json()
    resp = api.delete(f"/alerting-profiles/{pid}")
    assert resp.status == 409
    data = resp.json()
    assert "Slack" in data["message"] and "Teams" in data["message"]
    assert set(data["integrations"]) == {first["id"], second["id"]}
    # Moving one integration away and deleting the other frees the profile.
    other = make_profile(api, "other")
    moved = body(other)
    assert api.put(f"/integrations/{first['id']}", moved).status == 200
    assert api.delete(f"/integrations/{second['id']}").status == 204
    assert api.delete(f"/alerting-profiles/{pid}").status == 204
    assert api.delete(f"/alerting-profiles/{other}").status == 409


def test_replace_with_stale_if_match_is_412(api: ApiClient) -> None:
    pid = make_profile(api)
    created = api.post("/integrations", body(pid)).json()
    path = f"/integrations/{created['id']}"
    assert api.put(path, body(pid), headers={"If-Match": '"1"'}).status == 200
    resp = api.put(path, body(pid), headers={"If-Match": '"1"'})
    assert resp.status == 412
    assert api.get(path).headers["ETag"] == '"2"'


def test_integration_limit(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from secnotify.service import wiring

    monkeypatch.setenv("MAX_INTEGRATIONS", "2")
    wiring.reset()
    pid = make_profile(api)
    for name in ("one", "two"):
        assert api.post("/integrations", {**body(pid), "displayName": name}).status == 201
    resp = api.post("/integrations", {**body(pid), "displayName": "three"})
    assert resp.status == 409 and "at most 2 integrations" in resp.json()["message"]


def test_signing_secret_is_shown_only_when_created_or_rotated(api: ApiClient) -> None:
    pid = make_profile(api)
    draft = body(pid)
    draft["generateSigningSecret"] = True
    created = api.post("/integrations", draft)
    secret = created.json()["signingSecretValue"]
    assert secret.startswith("whsec_") and created.json()["signingSecret"]["set"] is True
    path = f"/integrations/{created.json()['id']}"
    fetched = api.get(path)
    assert secret not in fetched.text and fetched.json()["signingSecret"]["set"] is True
    assert "signingSecretValue" not in fetched.json() and "hasSigningSecret" not in fetched.json()
    kept = api.put(path, body(pid))
    assert secret not in kept.text and kept.json()["signingSecret"]["set"] is True
    rotated = api.put(path, {**body(pid), "generateSigningSecret": True}).json()["signingSecretValue"]
    assert rotated.startswith("whsec_") and rotated != secret
    assert rotated not in api.get("/integrations").text
    removed = api.put(path, {**body(pid), "signingSecret": {"remove": True}}).json()
    assert removed["signingSecret"] == {"set": False, "createdAt": None, "previousValidUntil": None}
    bad = api.post("/integrations", {**body(pid), "signingSecret": "not-a-secret"})
    assert bad.status == 400 and "signingSecret" in bad.json()["message"]


def test_placeholders_catalogue(api: ApiClient) -> None:
    from tests.unit.test_templating_placeholders import SPEC_NAMES

    resp = api.get("/placeholders")
    assert resp.status == 200
    items = {p["name"]: p for p in resp.json()["items"]}
    # Every documented placeholder (README "Payload templates"), each with a description and an example value.
    assert set(SPEC_NAMES) <= set(items)
    for name in SPEC_NAMES:
        assert items[name]["description"] and "example" in items[name], name
    assert items["Tags[key]"]["example"]


def test_openapi_and_swagger_are_served(api: ApiClient) -> None:
    spec = api.get("/openapi.json")
    assert spec.status == 200
    doc = json.loads(spec.text)
    assert "/alerting-profiles" in doc["paths"] and "/integrations/{integration_id}" in doc["paths"]
    swagger = api.get("/swagger")
    assert swagger.status == 200 and "swagger" in swagger.text.lower()


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("POST", "/alerting-profiles", b"{not json"),
        ("POST", "/alerting-profiles", b'"a string"'),
        ("POST", "/alerting-profiles", b"[1,2,3]"),
        ("POST", "/alerting-profiles", b"null"),
        ("POST", "/integrations", b'{"displayName": ["x"]}'),
        ("POST", "/alerting-profiles", b"\xff\xfe\x00garbage"),
        ("PUT", "/alerting-profiles/x", b"{"),
        ("POST", "/integrations/preview", b"{]"),
        ("GET", "/no/such/route", b""),
        ("PATCH", "/alerting-profiles", b"{}"),
        ("DELETE", "/integrations", b""),
        ("GET", "/alerting-profiles/" + "x" * 5000, b""),
        ("GET", "/integrations/%00/deliveries", b""),
    ],
)
def test_malformed_requests_are_4xx_never_5xx(api: ApiClient, method: str, path: str, raw: bytes) -> None:
    resp = api.request(method, path, raw=raw)
    assert 400 <= resp.status < 500, (resp.status, resp.text)
    assert "message" in resp.json()
    assert "Traceback" not in resp.text


def test_huge_body_is_413(api: ApiClient) -> None:
    resp = api.request("POST", "/alerting-profiles", raw=b'{"name": "' + b"x" * 600_000 + b'"}')
    assert resp.status == 413
    assert "body" in resp.json()["message"]


def test_content_type_cannot_be_secret(api: ApiClient) -> None:
    pid = make_profile(api)
    draft = body(pid, headers=[{"name": "Content-Type", "value": "application/json", "secret": True}])
    resp = api.post("/integrations", draft)
    assert resp.status == 400 and "Content-Type" in resp.json()["message"]


def test_preview_of_a_draft_enforces_the_payload_limit(api: ApiClient) -> None:
    draft = body("any", headers=[{"name": "Content-Type", "value": "text/plain"}], payload="x" * 5001)
    resp = api.post("/integrations/preview", {"integration": draft})
    assert resp.status == 400 and "at most 5000" in resp.json()["message"]


def test_concurrent_creates_and_deletes_end_in_api_answers(api: ApiClient) -> None:
    # Lambda runs one request per instance, so concurrency meets in DynamoDB: drive the use
    # cases from many threads, as many instances would.
    from concurrent.futures import ThreadPoolExecutor

    from secnotify.models.profile import AlertingProfileInput
    from secnotify.service.errors import ApiError
    from secnotify.service.wiring import api_services

    profiles = api_services().profiles

    def create(i: int) -> str:
        try:
            return profiles.create(AlertingProfileInput(name=f"c{i}")).id
        except ApiError as exc:
            return f"{exc.status}"

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(24)))
        created = [r for r in results if len(r) > 3]
        assert created and all(r in ("409",) for r in results if len(r) <= 3), results

        def delete(pid: str) -> str:
            try:
                profiles.delete(pid)
            except ApiError as exc:
                return f"{exc.status}"
            return "204"

        deleted = list(pool.map(delete, created))
    assert all(d in ("204", "409") for d in deleted), deleted


def test_secret_values_are_sealed_at_rest_with_the_stacks_key(api: ApiClient, stack: Any) -> None:
    import boto3

    from secnotify.service.wiring import api_services

    pid = make_profile(api)
    draft = body(pid)
    draft["generateSigningSecret"] = True
    created = api.post("/integrations", draft).json()
    item = boto3.client("dynamodb").get_item(
        TableName=stack.table_name, Key={"pk": {"S": "CONFIG"}, "sk": {"S": f"INTEGRATION#{created['id']}"}}
    )["Item"]
    raw = json.dumps(item)
    assert SECRET not in raw and "s3cr3t" not in raw
    assert created["signingSecretValue"] not in raw
    doc = json.loads(item["doc"]["S"])
    sealed = next(h["value"] for h in doc["webhook"]["headers"] if h["secret"])
    assert sealed.startswith("sn1:") and doc["signingSecret"].startswith("sn1:")
    # Opened again for use, and bound to this integration: it cannot be replayed on another.
    stored = api_services().integrations.get_stored(created["id"])
    assert [h.value for h in stored.webhook.headers if h.secret] == [SECRET]
    box = api_services().integrations.secrets
    assert box.open(sealed, f"{created['id']}|header:authorization") == SECRET
    from cryptography.exceptions import InvalidTag

    for elsewhere in ("another-integration|header:authorization", f"{created['id']}|signingSecret"):
        with pytest.raises(InvalidTag):
            box.open(sealed, elsewhere)
