"""Alerting profile routes, through the real handler against a moto server."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import ApiClient

PROFILE = {"name": "prod critical", "enabledRiskLevels": ["CRITICAL"], "managementZone": "production"}


def create(api: ApiClient, **overrides: Any) -> dict[str, Any]:
    resp = api.post("/alerting-profiles", {**PROFILE, **overrides})
    assert resp.status == 201, resp.text
    return resp.json()


def test_create_applies_defaults_and_server_fields(api: ApiClient) -> None:
    resp = api.post("/alerting-profiles", {"name": "defaults"})
    assert resp.status == 201
    body = resp.json()
    assert body["enabled"] is True
    assert body["enabledRiskLevels"] == ["CRITICAL", "HIGH", "MEDIUM", "LOW"]
    assert body["enabledTriggerEvents"] == ["SECURITY_PROBLEM_OPENED"]
    assert body["managementZone"] is None
    assert body["version"] == 1 and body["id"] and body["createdAt"] == body["updatedAt"]
    assert resp.headers["ETag"] == '"1"'


def test_get_returns_etag_and_unknown_id_is_404(api: ApiClient) -> None:
    created = create(api)
    resp = api.get(f"/alerting-profiles/{created['id']}")
    assert resp.status == 200 and resp.json() == created
    assert resp.headers["ETag"] == '"1"'
    missing = api.get("/alerting-profiles/does-not-exist")
    assert missing.status == 404
    assert "does-not-exist" in missing.json()["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "   "}, "name"),
        ({"name": 5}, "name"),
        ({"name": "ok", "enabled": "maybe"}, "enabled"),
        ({"name": "ok", "enabledRiskLevels": []}, "enabledRiskLevels"),
        ({"name": "ok", "enabledRiskLevels": ["SEVERE"]}, "enabledRiskLevels"),
        ({"name": "ok", "enabledRiskLevels": ["LOW", "LOW"]}, "enabledRiskLevels"),
        ({"name": "ok", "enabledRiskLevels": "LOW"}, "enabledRiskLevels"),
        ({"name": "ok", "enabledTriggerEvents": []}, "enabledTriggerEvents"),
        ({"name": "ok", "enabledTriggerEvents": ["SECURITY_PROBLEM_MUTED"]}, "enabledTriggerEvents"),
        ({"name": "ok", "managementZone": ""}, "managementZone"),
        ({"name": "ok", "surprise": 1}, "surprise"),
    ],
)
def test_invalid_profiles_get_400_naming_the_field(api: ApiClient, body: dict[str, Any], field: str) -> None:
    resp = api.post("/alerting-profiles", body)
    assert resp.status == 400, resp.text
    assert field in resp.json()["message"]


def test_name_of_100_characters_is_accepted(api: ApiClient) -> None:
    assert api.post("/alerting-profiles", {"name": "x" * 100}).status == 201


def test_replace_honours_if_match(api: ApiClient) -> None:
    created = create(api)
    path = f"/alerting-profiles/{created['id']}"
    ok = api.put(path, {"name": "renamed", "enabledRiskLevels": ["HIGH"]}, headers={"If-Match": '"1"'})
    assert ok.status == 200, ok.text
    assert ok.json()["name"] == "renamed" and ok.json()["version"] == 2
    assert ok.json()["createdAt"] == created["createdAt"]
    assert ok.headers["ETag"] == '"2"'
    stale = api.put(path, {"name": "again"}, headers={"If-Match": '"1"'})
    assert stale.status == 412
    assert "version 2" in stale.json()["message"]
    assert api.get(path).json()["name"] == "renamed"
    assert api.put(path, {"name": "no precondition"}).status == 200
    assert api.put("/alerting-profiles/nope", {"name": "x"}).status == 404


def test_delete_and_delete_again(api: ApiClient) -> None:
    created = create(api)
    assert api.delete(f"/alerting-profiles/{created['id']}").status == 204
    assert api.get(f"/alerting-profiles/{created['id']}").status == 404
    assert api.delete(f"/alerting-profiles/{created['id']}").status == 404


def test_list_paginates_with_opaque_tokens(api: ApiClient) -> None:
    ids = {create(api, name=f"p{i}")["id"] for i in range(7)}
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        path = "/alerting-profiles?limit=3" + (f"&nextToken={token}" if token else "")
        resp = api.get(path)
        assert resp.status == 200, resp.text
        body = resp.json()
        assert len(body["items"]) <= 3
        seen += [p["id"] for p in body["items"]]
        token = body.get("nextToken")
        pages += 1
        if not token:
            break
    assert set(seen) == ids and len(seen) == 7 and pages >= 3


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1"])
def test_list_rejects_bad_limits(api: ApiClient, limit: str) -> None:
    resp = api.get(f"/alerting-profiles?limit={limit}")
    assert resp.status == 400
    assert "limit" in resp.json()["message"]


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "eyJwayI6IkNPTkZJRyIsInNrIjoiSU5URUdSQVRJT04jMSJ9",  # a real shape pointing at another kind
        "eyJwayI6Ik9USEVSIiwic2siOiJQUk9GSUxFIzEifQ",  # another partition
        "%00%01",
        "e30",  # {}
    ],
)
def test_forged_next_token_is_a_4xx(api: ApiClient, token: str) -> None:
    resp = api.get(f"/alerting-profiles?nextToken={token}")
    assert 400 <= resp.status < 500, resp.text
    assert "nextToken" in resp.json()["message"]


def test_profile_limit(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from secnotify.service import wiring

    monkeypatch.setenv("MAX_PROFILES", "3")
    wiring.reset()
    for i in range(3):
        create(api, name=f"p{i}")
    resp = api.post("/alerting-profiles", PROFILE)
    assert resp.status == 409
    assert "at most 3 alerting profiles" in resp.json()["message"]
    # Deleting one frees a place again.
    first = api.get("/alerting-profiles").json()["items"][0]
    assert api.delete(f"/alerting-profiles/{first['id']}").status == 204
    assert api.post("/alerting-profiles", PROFILE).status == 201


def test_default_profile_limit_is_200(api: ApiClient) -> None:
    from secnotify.settings import get_settings

    assert get_settings().max_profiles == 200


def test_a_well_formed_token_we_did_not_sign_is_refused(api: ApiClient) -> None:
    import base64

    for i in range(3):
        create(api, name=f"p{i}")
    token = api.get("/alerting-profiles?limit=1").json()["nextToken"]
    assert api.get(f"/alerting-profiles?limit=1&nextToken={token}").status == 200
    blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    forged_raw = blob[16:].replace(b"PROFILE#", b"PROFILE#zz")
    forged = base64.urlsafe_b64encode(blob[:16] + forged_raw).decode().rstrip("=")
    resp = api.get(f"/alerting-profiles?limit=1&nextToken={forged}")
    assert resp.status == 400 and "nextToken" in resp.json()["message"]


def test_weak_if_match_never_matches(api: ApiClient) -> None:
    created = create(api)
    resp = api.put(f"/alerting-profiles/{created['id']}", {"name": "x"}, headers={"If-Match": 'W/"1"'})
    assert resp.status == 412


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"[" * 100_000, "nested too deeply"),
        (b'{"name": ' + b"9" * 5000 + b"}", "not valid JSON"),
        (b"", "body"),
    ],
)
def test_bodies_that_break_parsers_are_400(api: ApiClient, raw: bytes, fragment: str) -> None:
    resp = api.request("POST", "/alerting-profiles", raw=raw)
    assert resp.status == 400, resp.text
    assert fragment in resp.json()["message"]


# ---- attacks (issue 15): enabledAttackMitigations and ATTACK_DETECTED --------------------------

ALL_MITIGATIONS = ["NONE_BLOCKING_DISABLED", "BLOCKED_WITH_EXCEPTION", "NONE_ALLOWLISTED"]
MERGE = {"Content-Type": "application/merge-patch+json"}


def test_a_profile_takes_no_attacks_by_default(api: ApiClient) -> None:
    body = api.post("/alerting-profiles", {"name": "before attacks"}).json()
    assert body["enabledAttackMitigations"] == []
    assert "ATTACK_DETECTED" not in body["enabledTriggerEvents"]


def test_an_attack_profile_round_trips_through_get_put_patch_and_export(api: ApiClient) -> None:
    created = create(
        api,
        name="attacks",
        enabledTriggerEvents=["SECURITY_PROBLEM_OPENED", "ATTACK_DETECTED"],
        enabledAttackMitigations=["NONE_BLOCKING_DISABLED"],
    )
    path = f"/alerting-profiles/{created['id']}"
    assert created["enabledAttackMitigations"] == ["NONE_BLOCKING_DISABLED"]
    assert api.get(path).json() == created
    # What GET returned is a valid PUT body.
    assert api.put(path, created).status == 200
    patched = api.request("PATCH", path, {"enabledAttackMitigations": ALL_MITIGATIONS}, headers=MERGE)
    assert patched.status == 200, patched.text
    assert patched.json()["enabledAttackMitigations"] == ALL_MITIGATIONS
    exported = api.get("/config/export").json()
    (profile,) = [p for p in exported["profiles"] if p["name"] == "attacks"]
    assert profile["enabledAttackMitigations"] == ALL_MITIGATIONS


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"enabledTriggerEvents": ["ATTACK_DETECTED"]}, "enabledAttackMitigations is empty"),
        (
            {"enabledTriggerEvents": ["ATTACK_DETECTED"], "enabledAttackMitigations": []},
            "enabledAttackMitigations is empty",
        ),
        ({"enabledAttackMitigations": ["EXPLOITED"]}, "enabledAttackMitigations"),
        ({"enabledAttackMitigations": ["NONE_ALLOWLISTED", "NONE_ALLOWLISTED"]}, "NONE_ALLOWLISTED twice"),
        ({"enabledAttackMitigations": "NONE_ALLOWLISTED"}, "enabledAttackMitigations"),
        ({"enabledAttackMitigations": [*ALL_MITIGATIONS, "NONE_ALLOWLISTED"]}, "enabledAttackMitigations"),
    ],
)
def test_bad_attack_settings_get_400(api: ApiClient, body: dict[str, Any], words: str) -> None:
    resp = api.post("/alerting-profiles", {"name": "bad", **body})
    assert resp.status == 400, resp.text
    assert words in resp.json()["message"]


def test_patching_the_attack_trigger_in_without_a_mitigation_is_a_400(api: ApiClient) -> None:
    created = create(api, name="problems only")
    path = f"/alerting-profiles/{created['id']}"
    resp = api.request("PATCH", path, {"enabledTriggerEvents": ["ATTACK_DETECTED"]}, headers=MERGE)
    assert resp.status == 400 and "enabledAttackMitigations" in resp.json()["message"]
    assert api.get(path).json() == created


def test_openapi_lists_the_field_and_the_trigger(api: ApiClient) -> None:
    spec = api.get("/openapi.json").json()
    text = str(spec)
    words = ("enabledAttackMitigations", "ATTACK_DETECTED", "NONE_BLOCKING_DISABLED", "ATTACK_MITIGATION")
    for word in words:
        assert word in text, word
