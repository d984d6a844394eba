"""Edits that round-trip: GET, change a field, PUT (or PATCH a JSON Merge Patch) keeps every
secret; the server's own fields are optimistic locking; the signing secret as an object; 415 for
bodies that are not JSON. Through the real config API handler on a moto server, deliveries to
real local receivers."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
import urllib3

from tests.conftest import ApiClient, ApiResponse, free_port
from tests.integration.servers import Receiver
from tests.integration.test_api_integrations import SECRET, body, make_profile

API_KEY = "k3y-round-trip-0123456789"
MERGE = {"Content-Type": "application/merge-patch+json"}
REMOVE_HINT = '{"remove": true}'

# Fields of a create body beyond the webhook's, named secrets among them: every test below proves
# they survive too (``Integration.secret_values`` lists them).
CREATE_EXTRAS: dict[str, Any] = {
    "generateSigningSecret": True,
    "secrets": [{"name": "routingKey", "value": "rk-round-trip-0123456789"}],
}


def patch(api: ApiClient, path: str, doc: Any, **headers: str) -> ApiResponse:
    return api.request("PATCH", path, doc, headers={**MERGE, **headers})


def create(api: ApiClient, url: str) -> dict[str, Any]:
    pid = make_profile(api)
    draft = body(pid, url=url)
    draft["webhook"]["headers"].append({"name": "X-Api-Key", "value": API_KEY, "secret": True})
    resp = api.post("/integrations", {**draft, **CREATE_EXTRAS})
    assert resp.status == 201, resp.text
    out: dict[str, Any] = resp.json()
    return out


def stored(integration_id: str) -> Any:
    from secnotify.service.wiring import api_services

    return api_services().integrations.get_stored(integration_id)


def verify(secret: str, request: Any) -> Any:
    from standardwebhooks.webhooks import Webhook

    return Webhook(secret).verify(request.body, dict(request.headers))


# ---- 1: GET, edit one field, PUT ------------------------------------------------------------


EDITS: list[tuple[str, Callable[[dict[str, Any], dict[str, Any]], None]]] = [
    ("displayName", lambda v, c: v.update(displayName="Renamed")),
    ("enabled", lambda v, c: v.update(enabled=False)),
    ("alertingProfileId", lambda v, c: v.update(alertingProfileId=c["other_profile"])),
    ("webhook.url path", lambda v, c: v["webhook"].update(url=v["webhook"]["url"] + "/moved")),
    ("webhook.acceptAnyCertificate", lambda v, c: v["webhook"].update(acceptAnyCertificate=True)),
    ("webhook.headers add", lambda v, c: v["webhook"]["headers"].append({"name": "X-Team", "value": "red"})),
    (
        "webhook.headers public value",
        lambda v, c: v["webhook"]["headers"][0].update(value="application/json"),
    ),
    ("webhook.payload", lambda v, c: v["webhook"].update(payload='{"text": "{Title} changed"}')),
    ("type", lambda v, c: v.update(type="WEBHOOK")),
    ("nothing", lambda v, c: None),
]


@pytest.mark.parametrize(("name", "edit"), EDITS, ids=[e[0] for e in EDITS])
def test_get_edit_put_keeps_every_secret(api: ApiClient, name: str, edit: Any) -> None:
    with Receiver() as rx:
        created = create(api, rx.url("/hook"))
        path = f"/integrations/{created['id']}"
        signing = created["signingSecretValue"]
        before = stored(created["id"])
        view = api.get(path).json()
        edit(view, {"other_profile": make_profile(api, "other")})
        resp = api.put(path, view)
        assert resp.status == 200, (name, resp.text)
        assert resp.json()["version"] == view["version"] + 1
        after = stored(created["id"])
        assert after.secret_values() == before.secret_values()
        assert (
            after.signingSecret == signing and after.signingSecretCreatedAt == before.signingSecretCreatedAt
        )
        assert resp.json()["signingSecret"] == view["signingSecret"]
        # The secrets are not only stored: a delivery still carries them, signed with the same key.
        assert api.post(f"{path}/test").json()["delivered"] is True
        (sent,) = rx.wait_for(1)
    assert sent.header("Authorization") == SECRET and sent.header("X-Api-Key") == API_KEY
    assert verify(signing, sent)


def test_a_write_answer_put_back_as_it_is_changes_nothing_but_the_version(api: ApiClient) -> None:
    # The create answer shows the secret once, as signingSecretValue: sent back, it is the stored one.
    created = create(api, "https://hooks.example.com/a")
    path = f"/integrations/{created['id']}"
    resp = api.put(path, created)
    assert resp.status == 200, resp.text
    again = resp.json()
    assert "signingSecretValue" not in again
    for field in ("displayName", "webhook", "signingSecret", "alertingProfileId", "enabled", "createdAt"):
        assert again[field] == created[field], field
    assert stored(created["id"]).signingSecret == created["signingSecretValue"]
    forged = {**created, "version": again["version"], "signingSecretValue": "whsec_" + "B" * 32}
    resp = api.put(path, forged)
    assert resp.status == 400 and resp.json()["field"] == "signingSecretValue", resp.text


def test_get_edit_put_of_a_profile(api: ApiClient) -> None:
    pid = make_profile(api)
    path = f"/alerting-profiles/{pid}"
    for change in (
        {"name": "renamed"},
        {"enabled": False},
        {"enabledRiskLevels": ["CRITICAL"]},
        {"enabledTriggerEvents": ["SECURITY_PROBLEM_RESOLVED"]},
        {"managementZone": "production"},
        {"managementZone": None},
    ):
        view = api.get(path).json()
        resp = api.put(path, {**view, **change})
        assert resp.status == 200, (change, resp.text)
        shown = resp.json()
        assert shown["version"] == view["version"] + 1 and shown["createdAt"] == view["createdAt"]
        assert {k: shown[k] for k in change} == change
    assert api.get(path).json()["name"] == "renamed"


# ---- 1: the server's fields as optimistic locking ---------------------------------------------


@pytest.mark.parametrize("kind", ["integration", "profile"])
def test_a_stale_version_is_412_and_if_match_wins(api: ApiClient, kind: str) -> None:
    pid = make_profile(api)
    if kind == "profile":
        path = f"/alerting-profiles/{pid}"
    else:
        path = f"/integrations/{api.post('/integrations', body(pid)).json()['id']}"
    first = api.get(path).json()
    assert api.put(path, {**first, "enabled": False}).status == 200  # someone else's edit: version 2
    stale = api.put(path, {**first, "enabled": True})
    assert stale.status == 412, stale.text
    assert stale.json()["field"] == "version" and "version 2, not 1" in stale.json()["message"]
    assert api.get(path).json()["enabled"] is False
    # If-Match, when sent, decides: current wins over a stale body version, stale loses to it.
    assert api.put(path, {**first, "enabled": True}, headers={"If-Match": '"2"'}).status == 200
    assert api.put(path, {**first, "version": 3}, headers={"If-Match": '"2"'}).status == 412
    assert api.put(path, {**first, "version": 3}, headers={"If-Match": "*"}).status == 200
    # The patch route reads the same fields in its result.
    assert patch(api, path, {"version": 1, "enabled": False}).status == 412
    assert patch(api, path, {"enabled": False}, **{"If-Match": '"1"'}).status == 412


@pytest.mark.parametrize("kind", ["integration", "profile"])
def test_another_id_is_400(api: ApiClient, kind: str) -> None:
    pid = make_profile(api)
    if kind == "profile":
        path = f"/alerting-profiles/{pid}"
    else:
        path = f"/integrations/{api.post('/integrations', body(pid)).json()['id']}"
    view = api.get(path).json()
    for resp in (api.put(path, {**view, "id": "someone-else"}), patch(api, path, {"id": "someone-else"})):
        assert resp.status == 400, resp.text
        assert resp.json()["field"] == "id" and "someone-else" in resp.json()["message"]
    assert api.get(path).json()["version"] == 1


def test_server_fields_on_create_are_ignored(api: ApiClient) -> None:
    # A copy: GET one, POST it as a new one.
    pid = make_profile(api)
    original = api.post("/integrations", body(pid)).json()
    # A copy needs a name of its own: names are unique within a stack.
    copied = api.post("/integrations", {**original, "displayName": "Copy", "webhook": body(pid)["webhook"]})
    assert copied.status == 201, copied.text
    assert copied.json()["id"] != original["id"] and copied.json()["version"] == 1


# ---- 1: the signing secret's forms ---------------------------------------------------------


def test_signing_secret_null_is_400_naming_the_removal_form(api: ApiClient) -> None:
    created = create(api, "https://hooks.example.com/a")
    path = f"/integrations/{created['id']}"
    view = api.get(path).json()
    for resp in (
        api.put(path, {**view, "signingSecret": None}),
        patch(api, path, {"signingSecret": None}),
        api.post("/integrations", {**body(view["alertingProfileId"]), "signingSecret": None}),
    ):
        assert resp.status == 400, resp.text
        assert resp.json()["field"] == "signingSecret" and REMOVE_HINT in resp.json()["message"]
    assert stored(created["id"]).signingSecret == created["signingSecretValue"]


def test_the_removal_form_removes_and_deliveries_are_unsigned(api: ApiClient) -> None:
    with Receiver() as rx:
        created = create(api, rx.url("/hook"))
        path = f"/integrations/{created['id']}"
        view = api.get(path).json()
        resp = api.put(path, {**view, "signingSecret": {"remove": True}})
        assert resp.status == 200, resp.text
        assert resp.json()["signingSecret"] == {"set": False, "createdAt": None, "previousValidUntil": None}
        assert stored(created["id"]).signingSecret is None
        assert api.post(f"{path}/test").json()["delivered"] is True
        (sent,) = rx.wait_for(1)
    assert sent.header("webhook-signature") is None and sent.header("X-Api-Key") == API_KEY


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"set": False}, REMOVE_HINT),
        ({"set": "yes"}, "true or false"),
        ({"remove": False}, REMOVE_HINT),
        ({"remove": True, "set": True}, REMOVE_HINT),
        ({"set": True, "value": "x"}, "unknown field value"),
        (42, REMOVE_HINT),
        ("whsec_short", "at least 32"),
    ],
)
def test_wrong_signing_secret_forms_are_400_and_change_nothing(api: ApiClient, form: Any, named: str) -> None:
    created = create(api, "https://hooks.example.com/a")
    path = f"/integrations/{created['id']}"
    view = api.get(path).json()
    resp = api.put(path, {**view, "signingSecret": form})
    assert resp.status == 400, resp.text
    assert named in resp.json()["message"] and resp.json()["field"] == "signingSecret"
    assert stored(created["id"]).signingSecret == created["signingSecretValue"]


def test_keeping_a_secret_there_is_not_is_400(api: ApiClient) -> None:
    pid = make_profile(api)
    resp = api.post("/integrations", {**body(pid), "signingSecret": {"set": True}})
    assert resp.status == 400 and "no signing secret to keep" in resp.json()["message"]
    unsigned = api.post("/integrations", body(pid)).json()
    assert unsigned["signingSecret"] == {"set": False, "createdAt": None, "previousValidUntil": None}
    assert api.put(f"/integrations/{unsigned['id']}", unsigned).status == 200


def test_the_object_form_keeps_the_secret_only_at_its_origin(api: ApiClient) -> None:
    created = create(api, "https://hooks.example.com/a")
    path = f"/integrations/{created['id']}"
    view = api.get(path).json()
    view["webhook"]["url"] = "https://elsewhere.example.net/a"
    for header in view["webhook"]["headers"]:
        if header["secret"]:
            header["value"] = "supplied-again"
    view["secrets"] = [{"name": s["name"], "value": "supplied-again"} for s in view["secrets"]]
    resp = api.put(path, view)
    assert resp.status == 400 and resp.json()["field"] == "webhook.url", resp.text
    assert "signingSecret" in resp.json()["message"] and REMOVE_HINT in resp.json()["message"]
    assert api.put(path, {**view, "generateSigningSecret": True}).status == 200


# ---- 2: PATCH ------------------------------------------------------------------------------


def test_patch_enabled_false_disables_and_keeps_everything_else(api: ApiClient) -> None:
    created = create(api, "https://hooks.example.com/a")
    path = f"/integrations/{created['id']}"
    before = stored(created["id"])
    resp = patch(api, path, {"enabled": False})
    assert resp.status == 200, resp.text
    shown = resp.json()
    assert shown["enabled"] is False and shown["version"] == 2 and resp.headers["ETag"] == '"2"'
    assert {k: v for k, v in shown.items() if k not in ("enabled", "version", "updatedAt")} == {
        k: v for k, v in created.items() if k not in ("enabled", "version", "updatedAt", "signingSecretValue")
    }
    after = stored(created["id"])
    assert after.enabled is False and after.secret_values() == before.secret_values()
    profile_path = f"/alerting-profiles/{created['alertingProfileId']}"
    profile_before = api.get(profile_path).json()
    profile = patch(api, profile_path, {"enabled": False})
    assert profile.status == 200 and profile.json()["enabled"] is False
    assert profile.json()["version"] == profile_before["version"] + 1
    assert {k: v for k, v in profile.json().items() if k not in ("enabled", "version", "updatedAt")} == {
        k: v for k, v in profile_before.items() if k not in ("enabled", "version", "updatedAt")
    }


def test_patch_merges_objects_replaces_arrays_and_null_removes(api: ApiClient) -> None:
    created = create(api, "https://hooks.example.com/a")
    path = f"/integrations/{created['id']}"
    # A nested member changes alone; the secret headers beside it are kept.
    resp = patch(api, path, {"webhook": {"payload": '{"t": "{Title}"}'}})
    assert resp.status == 200, resp.text
    assert resp.json()["webhook"]["url"] == "https://hooks.example.com/a"
    assert [h["name"] for h in resp.json()["webhook"]["headers"]] == [
        "Content-Type",
        "Authorization",
        "X-Api-Key",
    ]
    assert stored(created["id"]).webhook.headers[1].value == SECRET
    # An array replaces whole: the secret headers it leaves out are gone.
    headers = [
        {"name": "Content-Type", "value": "application/json"},
        {"name": "Authorization", "secret": True},
    ]
    resp = patch(api, path, {"webhook": {"headers": headers}})
    assert resp.status == 200, resp.text
    kept = stored(created["id"]).webhook.headers
    assert [(h.name, h.value) for h in kept] == [
        ("Content-Type", "application/json"),
        ("Authorization", SECRET),
    ]
    # null removes a member: the profile's zone, and an integration's required member is a 400.
    pid = created["alertingProfileId"]
    patch(api, f"/alerting-profiles/{pid}", {"managementZone": "production"})
    zone = patch(api, f"/alerting-profiles/{pid}", {"managementZone": None, "name": "renamed"})
    assert zone.status == 200 and zone.json()["managementZone"] is None and zone.json()["name"] == "renamed"
    gone = patch(api, path, {"displayName": None})
    assert gone.status == 400 and gone.json()["field"] == "displayName", gone.text
    # Validated exactly like PUT: the same refusals, with the field named.
    bad = patch(api, path, {"webhook": {"headers": [{"name": "Host", "value": "x"}]}})
    assert bad.status == 400 and bad.json()["field"] == "webhook.headers[0].name", bad.text


def test_patch_to_a_new_origin_needs_the_secrets_again(api: ApiClient) -> None:
    with Receiver() as real, Receiver() as other:
        created = create(api, real.url("/hook"))
        path = f"/integrations/{created['id']}"
        resp = patch(api, path, {"webhook": {"url": other.url("/steal")}})
        assert resp.status == 400, resp.text
        error = resp.json()
        assert error["field"] == "webhook.url"
        for name in ("header Authorization", "header X-Api-Key", "secret routingKey", "signingSecret"):
            assert name in error["message"]
        assert SECRET not in resp.text and API_KEY not in resp.text
        assert stored(created["id"]).webhook.url == real.url("/hook")
        # The headers given again (an array replaces whole) and a new signing secret: allowed.
        headers = [
            {"name": "Content-Type", "value": "application/json"},
            {"name": "Authorization", "value": "Bearer new", "secret": True},
        ]
        moved = patch(
            api,
            path,
            {
                "webhook": {"url": other.url("/hook"), "headers": headers},
                "secrets": [{"name": "routingKey", "value": "rk-for-the-new-origin"}],
                "generateSigningSecret": True,
            },
        )
        assert moved.status == 200, moved.text
        assert moved.json()["signingSecret"]["previousValidUntil"] is None  # a new origin never knew the old
        assert api.post(f"{path}/test").json()["delivered"] is True
        (sent,) = other.wait_for(1)
    assert sent.header("Authorization") == "Bearer new" and sent.header("X-Api-Key") is None
    assert len(sent.header("webhook-signature").split(" ")) == 1
    assert verify(moved.json()["signingSecretValue"], sent) and real.requests == []


def test_patch_honours_if_match(api: ApiClient) -> None:
    created = create(api, "https://hooks.example.com/a")
    path = f"/integrations/{created['id']}"
    assert patch(api, path, {"displayName": "one"}, **{"If-Match": '"1"'}).status == 200
    stale = patch(api, path, {"displayName": "two"}, **{"If-Match": '"1"'})
    assert stale.status == 412 and api.get(path).json()["displayName"] == "one"
    assert patch(api, path, {"displayName": "two"}, **{"If-Match": '"2"'}).status == 200


@pytest.mark.parametrize("content_type", ["application/merge-patch+json", "application/json; charset=utf-8"])
def test_patch_takes_merge_patch_and_json(api: ApiClient, content_type: str) -> None:
    pid = make_profile(api)
    resp = api.request(
        "PATCH", f"/alerting-profiles/{pid}", {"enabled": False}, headers={"Content-Type": content_type}
    )
    assert resp.status == 200 and resp.json()["enabled"] is False, resp.text


def test_patch_body_must_be_an_object(api: ApiClient) -> None:
    pid = make_profile(api)
    for doc in ([{"op": "replace", "path": "/enabled", "value": False}], "x", 3):
        resp = patch(api, f"/alerting-profiles/{pid}", doc)
        assert resp.status == 400, (doc, resp.text)


def test_deep_merge_patches_are_a_400_not_a_crash(api: ApiClient) -> None:
    pid = make_profile(api)
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(400):
        node["a"] = {}
        node = node["a"]
    resp = patch(api, f"/alerting-profiles/{pid}", {"name": "n", "extra": deep})
    assert resp.status == 400 and resp.json()["field"] == "extra", resp.text


# ---- 4: rotation with overlap ---------------------------------------------------------------


def _notifier_at(wall: float) -> Any:
    from secnotify.delivery import SsrfGuard, WebhookSender
    from secnotify.service.notify import Notifier
    from secnotify.settings import Settings
    from tests.fakes.clock import FakeClock
    from tests.fakes.ledger import InMemoryDeliveryLog

    cfg = Settings().replace(ssrf_allow_cidrs=("127.0.0.0/8",))
    guard = SsrfGuard.from_settings(cfg, resolver=lambda host, port: ["127.0.0.1"])
    sender = WebhookSender(cfg, pool=urllib3.PoolManager(), guard=guard)
    return Notifier(InMemoryDeliveryLog(), cfg, sender=sender, clock=FakeClock(start=wall).clock())


def test_rotation_signs_with_both_secrets_until_the_overlap_ends(api: ApiClient) -> None:
    from standardwebhooks.webhooks import WebhookVerificationError

    from secnotify.models.event import sample_event

    with Receiver() as rx:
        created = create(api, rx.url("/hook"))
        path = f"/integrations/{created['id']}"
        old = created["signingSecretValue"]
        started = time.time()
        rotated = patch(api, path, {"generateSigningSecret": True, "signingSecretOverlapSeconds": 120})
        assert rotated.status == 200, rotated.text
        new = rotated.json()["signingSecretValue"]
        until = rotated.json()["signingSecret"]["previousValidUntil"]
        assert new != old and 119 <= datetime.fromisoformat(until).timestamp() - started <= 121
        assert api.get(path).json()["signingSecret"]["previousValidUntil"] == until
        assert "signingSecretValue" not in api.get(path).json()
        # Now: two signatures, each verifying with its own secret.
        assert api.post(f"{path}/test").json()["delivered"] is True
        integration = stored(created["id"])
        assert integration.previousSigningSecret == old
        end = datetime.fromisoformat(until).timestamp()
        # Just before the end and just after it, on the notifier's clock.
        for wall in (end - 1, end + 1):
            assert _notifier_at(wall).attempt(sample_event(), integration, 1).outcome.delivered
        during, last_second, after = rx.wait_for(3)
    for request in (during, last_second):
        assert len(request.header("webhook-signature").split(" ")) == 2
        assert verify(new, request) and verify(old, request)
    assert len(after.header("webhook-signature").split(" ")) == 1
    assert verify(new, after)
    with pytest.raises(WebhookVerificationError):
        verify(old, after)


def test_overlap_zero_signs_with_the_new_secret_only(api: ApiClient) -> None:
    from standardwebhooks.webhooks import WebhookVerificationError

    with Receiver() as rx:
        created = create(api, rx.url("/hook"))
        path = f"/integrations/{created['id']}"
        new = "whsec_" + "C" * 43 + "="
        view = api.get(path).json()
        resp = api.put(path, {**view, "signingSecret": new, "signingSecretOverlapSeconds": 0})
        assert resp.status == 200, resp.text
        assert resp.json()["signingSecretValue"] == new
        assert resp.json()["signingSecret"]["previousValidUntil"] is None
        assert api.post(f"{path}/test").json()["delivered"] is True
        (sent,) = rx.wait_for(1)
    assert verify(new, sent) and " " not in sent.header("webhook-signature")
    with pytest.raises(WebhookVerificationError):
        verify(created["signingSecretValue"], sent)


def test_overlap_defaults_to_a_day_and_survives_other_edits(api: ApiClient) -> None:
    created = create(api, "https://hooks.example.com/a")
    path = f"/integrations/{created['id']}"
    started = time.time()
    rotated = patch(api, path, {"generateSigningSecret": True}).json()
    until = rotated["signingSecret"]["previousValidUntil"]
    assert 86_399 <= datetime.fromisoformat(until).timestamp() - started <= 86_401
    # An edit that keeps the secret keeps the overlap; removing the secret ends both.
    renamed = patch(api, path, {"displayName": "renamed"}).json()
    assert renamed["signingSecret"] == rotated["signingSecret"]
    assert stored(created["id"]).previousSigningSecret == created["signingSecretValue"]
    removed = patch(api, path, {"signingSecret": {"remove": True}}).json()
    assert removed["signingSecret"]["previousValidUntil"] is None
    assert stored(created["id"]).previousSigningSecret is None


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"signingSecretOverlapSeconds": 60}, 400),  # no new secret beside it
        ({"generateSigningSecret": True, "signingSecretOverlapSeconds": -1}, 400),
        ({"generateSigningSecret": True, "signingSecretOverlapSeconds": 604_801}, 400),
        ({"generateSigningSecret": True, "signingSecretOverlapSeconds": "60"}, 400),
        ({"generateSigningSecret": True, "signingSecretOverlapSeconds": 604_800}, 200),
    ],
)
def test_overlap_bounds_and_placement(api: ApiClient, extra: dict[str, Any], status: int) -> None:
    created = create(api, "https://hooks.example.com/a")
    resp = patch(api, f"/integrations/{created['id']}", extra)
    assert resp.status == status, resp.text
    if status == 400:
        assert resp.json()["field"] == "signingSecretOverlapSeconds"


# ---- Also: 415 for bodies that are not JSON ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "content_type", "named"),
    [
        ("POST", "application/x-www-form-urlencoded", "application/x-www-form-urlencoded is not JSON"),
        ("POST", "text/plain", "text/plain is not JSON"),
        ("PUT", "application/merge-patch+json", "is for PATCH"),
        ("PATCH", "application/json-patch+json", "not supported"),
        ("PATCH", "text/plain", "application/merge-patch+json"),
        ("POST", "application/json; charset=latin-1", "UTF-8"),
        ("POST", "", "missing"),
    ],
)
def test_bodies_that_are_not_json_by_their_type_are_415(
    api: ApiClient, method: str, content_type: str, named: str
) -> None:
    pid = make_profile(api)
    path = "/alerting-profiles" if method == "POST" else f"/alerting-profiles/{pid}"
    resp = api.request(method, path, {"name": "p"}, headers={"Content-Type": content_type})
    assert resp.status == 415, resp.text
    assert named in resp.json()["message"] and resp.json()["field"] == "Content-Type"
    assert len(api.get("/alerting-profiles").json()["items"]) == 1


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "APPLICATION/JSON;charset=UTF-8",
        'application/json; charset="utf-8"',
        "application/vnd.secnotify+json",
    ],
)
def test_json_types_are_taken(api: ApiClient, content_type: str) -> None:
    resp = api.request("POST", "/alerting-profiles", {"name": "p"}, headers={"Content-Type": content_type})
    assert resp.status == 201, resp.text


def test_415_over_http_and_no_check_without_a_body(stack: Any) -> None:
    from local.api_server import serve_api

    port = free_port()
    server = serve_api(port=port)
    base = f"http://127.0.0.1:{port}"
    try:
        # curl -d without -H: form encoding.
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        resp = urllib3.request("POST", f"{base}/alerting-profiles", body=b'{"name": "p"}', headers=form)
        assert resp.status == 415 and "application/json" in resp.json()["message"]
        json_type = {"Content-Type": "application/json"}
        resp = urllib3.request("POST", f"{base}/alerting-profiles", body=b'{"name": "p"}', headers=json_type)
        assert resp.status == 201
        pid = resp.json()["id"]
        resp = urllib3.request(
            "PATCH", f"{base}/alerting-profiles/{pid}", body=b'{"enabled": false}', headers=MERGE
        )
        assert resp.status == 200 and resp.json()["enabled"] is False
        # No body: no type needed (a test-send of the sample event, a delete).
        assert urllib3.request("GET", f"{base}/alerting-profiles/{pid}", headers=form).status == 200
        assert urllib3.request("DELETE", f"{base}/alerting-profiles/{pid}").status == 204
    finally:
        server.shutdown()
        server.server_close()


def test_merge_patch_does_not_change_its_arguments() -> None:
    from secnotify.service.merge_patch import merge_patch

    target = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
    change = {"a": {"b": None, "e": {"f": None, "g": 1}}, "d": [None], "h": None}
    frozen = copy.deepcopy((target, change))
    assert merge_patch(target, change) == {"a": {"c": [1, 2], "e": {"g": 1}}, "d": [None]}
    assert (target, change) == frozen
    # RFC 7396, appendix A.
    for before, delta, after in (
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ):
        assert merge_patch(before, delta) == after, (before, delta)
    assert json.dumps(merge_patch({}, {"x": {"y": {"z": 1}}})) == '{"x": {"y": {"z": 1}}}'
