"""Configuration as code: export, apply with its plan, dry run and prune, and the round trip from
one stack to another (a second table on the same moto server). Through the real config API
handler, as a client calls it."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import uuid
from typing import Any

import boto3
import pytest

from tests.conftest import ApiClient
from tests.integration.test_api_integrations import SECRET, SEED_TEMPLATE

SIGNING = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
API_KEY = "k3y-0123456789abcdef-config"
PAGER_KEY = "Bearer pager-0123456789"
REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def use_stack(created: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the API handler at another provisioned stack."""
    from secnotify.service import wiring

    for key, value in created.environment().items():
        monkeypatch.setenv(key, value)
    wiring.reset()


def new_stack(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from local.provision import provision

    created = provision(moto_endpoint, prefix=f"t{uuid.uuid4().hex[:10]}")
    use_stack(created, monkeypatch)
    return created


def hook(url: str, *headers: dict[str, Any], payload: str = SEED_TEMPLATE) -> dict[str, Any]:
    return {
        "url": url,
        "headers": [{"name": "Content-Type", "value": "application/json"}, *headers],
        "payload": payload,
    }


def seed(api: ApiClient) -> dict[str, str]:
    """Two profiles and three integrations: secret headers, a signing secret, one disabled."""

    def post(path: str, body: dict[str, Any]) -> str:
        resp = api.post(path, body)
        assert resp.status == 201, resp.text
        return str(resp.json()["id"])

    prod = post(
        "/alerting-profiles",
        {"name": "Production", "enabledRiskLevels": ["CRITICAL", "HIGH"], "managementZone": "production"},
    )
    every = post(
        "/alerting-profiles",
        {"name": "Everything", "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED", "RISK_LEVEL_CHANGED"]},
    )
    return {
        "Slack": post(
            "/integrations",
            {
                "displayName": "Slack",
                "alertingProfileId": prod,
                "webhook": hook(
                    "https://hooks.example.com/services/T000/B000",
                    {"name": "Authorization", "value": SECRET, "secret": True},
                    {"name": "X-Team", "value": "security"},
                ),
                "signingSecret": SIGNING,
            },
        ),
        "Pager duty": post(
            "/integrations",
            {
                "displayName": "Pager duty",
                "alertingProfileId": every,
                "webhook": hook(
                    "https://events.example.com/v2/enqueue",
                    {"name": "X-Api-Key", "value": API_KEY, "secret": True},
                    {"name": "X-Routing", "value": PAGER_KEY, "secret": True},
                ),
            },
        ),
        "Archive": post(
            "/integrations",
            {
                "displayName": "Archive",
                "enabled": False,
                "alertingProfileId": every,
                "webhook": hook("https://archive.example.com/in", payload='{"t": "{Title}"}'),
            },
        ),
    }


SECRETS = {
    "SECNOTIFY_SLACK_HEADER_AUTHORIZATION": SECRET,
    "SECNOTIFY_SLACK_SIGNING_SECRET": SIGNING,
    "SECNOTIFY_PAGER_DUTY_HEADER_X_API_KEY": API_KEY,
    "SECNOTIFY_PAGER_DUTY_HEADER_X_ROUTING": PAGER_KEY,
}


def resolve(document: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """What the command line does: each reference it has a value for, filled in."""
    text = json.dumps(document)
    return dict(json.loads(REF.sub(lambda m: values.get(m.group(1), m.group(0)), text)))


def export(api: ApiClient) -> dict[str, Any]:
    resp = api.get("/config/export")
    assert resp.status == 200, resp.text
    return dict(resp.json())


def apply(api: ApiClient, document: dict[str, Any], query: str = "") -> dict[str, Any]:
    resp = api.post(f"/config/apply{query}", document)
    assert resp.status == 200, resp.text
    return dict(resp.json())


def plan(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(i["kind"], i["name"], i["action"]) for i in result["items"]]


def versions(api: ApiClient) -> dict[str, int]:
    out = {p["name"]: p["version"] for p in api.get("/alerting-profiles").json()["items"]}
    out.update({i["displayName"]: i["version"] for i in api.get("/integrations").json()["items"]})
    return out


def stored_secrets(name_to_id: dict[str, str]) -> dict[str, list[str | None]]:
    from secnotify.service.wiring import api_services

    out: dict[str, list[str | None]] = {}
    for name, item_id in name_to_id.items():
        stored = api_services().integrations.get_stored(item_id)
        out[name] = [h.value for h in stored.webhook.headers if h.secret] + [stored.signingSecret]
    return out


def ids_by_name(api: ApiClient) -> dict[str, str]:
    return {i["displayName"]: i["id"] for i in api.get("/integrations").json()["items"]}


# ---- export ----------------------------------------------------------------------------------


def test_export_names_objects_sorts_them_and_writes_references_for_every_secret(api: ApiClient) -> None:
    seed(api)
    resp = api.get("/config/export")
    assert resp.status == 200, resp.text
    for value in (SECRET, SIGNING, API_KEY, PAGER_KEY):
        assert value not in resp.text
    doc = resp.json()
    assert doc["apiVersion"] == "secnotify/v1" and doc["kind"] == "Configuration"
    assert [p["name"] for p in doc["profiles"]] == ["Everything", "Production"]
    assert [i["displayName"] for i in doc["integrations"]] == ["Archive", "Pager duty", "Slack"]
    for server_field in ('"id"', '"version"', '"createdAt"', '"updatedAt"', "alertingProfileId"):
        assert server_field not in resp.text
    assert doc["profiles"][1] == {
        "name": "Production",
        "enabled": True,
        "enabledRiskLevels": ["CRITICAL", "HIGH"],
        "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED"],
        "managementZone": "production",
        "enabledAttackMitigations": [],
    }
    archive, pager, slack = doc["integrations"]
    assert archive["enabled"] is False and archive["alertingProfile"] == "Everything"
    assert "signingSecret" not in archive and "secrets" not in archive
    assert slack["alertingProfile"] == "Production"
    assert slack["signingSecret"] == "${SECNOTIFY_SLACK_SIGNING_SECRET}"
    assert slack["webhook"]["headers"] == [
        {"name": "Content-Type", "value": "application/json"},
        {"name": "Authorization", "value": "${SECNOTIFY_SLACK_HEADER_AUTHORIZATION}", "secret": True},
        {"name": "X-Team", "value": "security"},
    ]
    # Every run of characters outside [A-Z0-9] becomes one underscore, in both names.
    assert [h["value"] for h in pager["webhook"]["headers"][1:]] == [
        "${SECNOTIFY_PAGER_DUTY_HEADER_X_API_KEY}",
        "${SECNOTIFY_PAGER_DUTY_HEADER_X_ROUTING}",
    ]
    assert set(REF.findall(resp.text)) == set(SECRETS)
    # Stable: the same stack exports the same bytes.
    assert api.get("/config/export").text == resp.text


def _legacy_put(table: str, endpoint: str, kind: str, doc: dict[str, Any]) -> str:
    """An item as written before names were unique: straight into the table."""
    from secnotify.storage.keys import config_key, dumps

    item_id = str(uuid.uuid4())
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    item = {
        **config_key(kind, item_id),  # type: ignore[arg-type]
        "kind": {"S": kind},
        "id": {"S": item_id},
        "version": {"N": "1"},
        "doc": {"S": dumps(doc)},
    }
    client.put_item(TableName=table, Item=item)
    return item_id


def test_existing_duplicate_names_make_export_and_apply_fail_naming_them(api: ApiClient, stack: Any) -> None:
    ids = seed(api)
    first = api.get(f"/alerting-profiles/{api.get('/alerting-profiles').json()['items'][0]['id']}").json()
    doc = {k: first[k] for k in ("name", "enabled", "enabledRiskLevels", "enabledTriggerEvents")}
    doc |= {"createdAt": first["createdAt"], "updatedAt": first["updatedAt"]}
    twin = _legacy_put(stack.table_name, stack.endpoint_url, "PROFILE", doc)

    for resp in (api.get("/config/export"), api.post("/config/apply?dryRun=true", export_free())):
        assert resp.status == 409, resp.text
        message = resp.json()["message"]
        assert f"alerting profiles named {first['name']!r}" in message
        assert first["id"] in message and twin in message
        assert ids["Slack"] not in message


def export_free() -> dict[str, Any]:
    return {"apiVersion": "secnotify/v1", "kind": "Configuration", "profiles": [], "integrations": []}


def test_two_integrations_whose_names_make_one_token_export_each_with_its_own_references(
    api: ApiClient, stack: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = api.post("/alerting-profiles", {"name": "p"}).json()["id"]
    values = {"Slack prod": "Bearer prod-space-0123456789", "Slack-prod": "Bearer prod-dash-0123456789"}
    for name, value in values.items():
        body = {
            "displayName": name,
            "alertingProfileId": pid,
            "webhook": hook(
                "https://hooks.example.com/x", {"name": "Authorization", "value": value, "secret": True}
            ),
            "signingSecret": SIGNING,
        }
        assert api.post("/integrations", body).status == 201
    api.post(
        "/integrations",
        {
            "displayName": "Pager duty",
            "alertingProfileId": pid,
            "webhook": hook(
                "https://x.example.com/in", {"name": "X-Api-Key", "value": API_KEY, "secret": True}
            ),
        },
    )
    resp = api.get("/config/export")
    assert resp.status == 200, resp.text
    document = resp.json()
    refs = {i["displayName"]: REF.findall(json.dumps(i)) for i in document["integrations"]}
    # The shared token gets the first 6 hex digits of the SHA-256 of each exact name; a token
    # nobody shares stays plain.
    for name in values:
        token = "SLACK_PROD_" + hashlib.sha256(name.encode()).hexdigest()[:6].upper()
        assert refs[name] == [f"SECNOTIFY_{token}_HEADER_AUTHORIZATION", f"SECNOTIFY_{token}_SIGNING_SECRET"]
    assert refs["Pager duty"] == ["SECNOTIFY_PAGER_DUTY_HEADER_X_API_KEY"]
    assert api.get("/config/export").text == resp.text
    for value in values.values():
        assert value not in resp.text

    filled = {refs[name][0]: value for name, value in values.items()}
    filled |= {refs[name][1]: SIGNING for name in values} | {refs["Pager duty"][0]: API_KEY}
    new_stack(moto_endpoint, monkeypatch)
    result = apply(api, resolve(document, filled))
    assert result["applied"] is True
    assert [(n, a) for _k, n, a in plan(result)] == [
        ("p", "create"),
        ("Pager duty", "create"),
        ("Slack prod", "create"),
        ("Slack-prod", "create"),
    ]
    assert export(api) == document
    secrets = stored_secrets(ids_by_name(api))
    assert secrets["Slack prod"] == [values["Slack prod"], SIGNING]
    assert secrets["Slack-prod"] == [values["Slack-prod"], SIGNING]
    # Still references, they keep what is stored.
    assert {a for _k, _n, a in plan(apply(api, document))} == {"unchanged"}


def test_export_refuses_two_secrets_of_one_integration_that_would_share_a_reference(api: ApiClient) -> None:
    pid = api.post("/alerting-profiles", {"name": "p"}).json()["id"]
    body = {
        "displayName": "Slack",
        "alertingProfileId": pid,
        "webhook": hook(
            "https://hooks.example.com/x",
            {"name": "X-Key", "value": SECRET, "secret": True},
            {"name": "X_Key", "value": API_KEY, "secret": True},
        ),
    }
    resp = api.post("/integrations", body)
    assert resp.status == 201, resp.text
    resp = api.get("/config/export")
    assert resp.status == 409, resp.text
    message = resp.json()["message"]
    assert "${SECNOTIFY_SLACK_HEADER_X_KEY}" in message
    assert "header X-Key" in message and "header X_Key" in message
    assert SECRET not in resp.text and API_KEY not in resp.text


# ---- the round trip ---------------------------------------------------------------------------


def test_export_apply_to_an_empty_stack_and_export_again_round_trips(
    api: ApiClient, stack: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = seed(api)
    before_secrets = stored_secrets(seeded)
    document = export(api)

    new_stack(moto_endpoint, monkeypatch)
    assert api.get("/integrations").json()["items"] == []
    result = apply(api, resolve(document, SECRETS))
    assert result["applied"] is True and result["pending"] == 0
    assert plan(result) == [
        ("profile", "Everything", "create"),
        ("profile", "Production", "create"),
        ("integration", "Archive", "create"),
        ("integration", "Pager duty", "create"),
        ("integration", "Slack", "create"),
    ]
    for value in SECRETS.values():
        assert value not in json.dumps(result)
    assert export(api) == document
    # The secrets arrived, each where it belongs.
    assert stored_secrets(ids_by_name(api)) == before_secrets


def test_applying_twice_changes_nothing_the_second_time(
    api: ApiClient, stack: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api)
    document = export(api)
    resolved = resolve(document, SECRETS)
    new_stack(moto_endpoint, monkeypatch)
    apply(api, resolved)
    first = versions(api)
    signing_before = api.get(f"/integrations/{ids_by_name(api)['Slack']}").json()

    for again in (resolved, document):  # values given again, or still references: both keep
        result = apply(api, again)
        assert {action for _kind, _name, action in plan(result)} == {"unchanged"}, result
        assert all(item["changes"] == [] for item in result["items"])
        assert versions(api) == first
    assert api.get(f"/integrations/{ids_by_name(api)['Slack']}").json() == signing_before
    assert export(api) == document


# ---- plans, dry runs, prune ------------------------------------------------------------------


def test_a_dry_run_answers_the_plan_with_field_paths_and_writes_nothing(api: ApiClient, stack: Any) -> None:
    ids = seed(api)
    document = export(api)
    changed = copy.deepcopy(document)
    slack = changed["integrations"][2]
    slack["enabled"] = False
    slack["webhook"]["headers"][1]["value"] = "Bearer a-new-token-0123456789"
    changed["profiles"][1]["enabledRiskLevels"] = ["CRITICAL"]
    changed["profiles"].append({"name": "Staging"})
    before = versions(api)
    before_secrets = stored_secrets(ids)

    resp = api.post("/config/apply?dryRun=true", changed)
    assert resp.status == 200, resp.text
    assert "a-new-token" not in resp.text and SECRET not in resp.text
    result = resp.json()
    assert result["applied"] is False and result["pending"] == 3
    items = {(i["kind"], i["name"]): (i["action"], i["changes"]) for i in result["items"]}
    assert items[("profile", "Production")] == ("update", ["enabledRiskLevels"])
    assert items[("profile", "Staging")][0] == "create"
    assert items[("profile", "Everything")] == ("unchanged", [])
    assert items[("integration", "Slack")] == ("update", ["enabled", "webhook.headers[1].value"])
    assert items[("integration", "Archive")] == ("unchanged", [])
    assert versions(api) == before and stored_secrets(ids) == before_secrets
    assert "Staging" not in versions(api)

    # The same document without dryRun does what the plan said.
    assert apply(api, changed)["items"] == result["items"]
    after = versions(api)
    assert after["Slack"] == before["Slack"] + 1 and after["Production"] == before["Production"] + 1
    assert after["Archive"] == before["Archive"] and "Staging" in after
    assert stored_secrets(ids)["Slack"][0] == "Bearer a-new-token-0123456789"


def test_prune_deletes_what_the_document_does_not_name_integrations_first(api: ApiClient) -> None:
    seed(api)
    document = export(api)
    # Everything (the profile) and both integrations using it are left out.
    smaller = copy.deepcopy(document)
    smaller["profiles"] = [p for p in smaller["profiles"] if p["name"] == "Production"]
    smaller["integrations"] = [i for i in smaller["integrations"] if i["displayName"] == "Slack"]

    without = apply(api, smaller)
    assert {action for _k, _n, action in plan(without)} == {"unchanged"}
    assert len(versions(api)) == 5

    result = apply(api, smaller, "?prune=true")
    assert plan(result) == [
        ("profile", "Production", "unchanged"),
        ("integration", "Slack", "unchanged"),
        ("integration", "Archive", "delete"),
        ("integration", "Pager duty", "delete"),
        ("profile", "Everything", "delete"),
    ]
    assert set(versions(api)) == {"Production", "Slack"}
    assert export(api) == smaller


def test_prune_refuses_an_integration_whose_profile_it_would_delete(api: ApiClient) -> None:
    seed(api)
    document = export(api)
    document["profiles"] = [p for p in document["profiles"] if p["name"] == "Production"]
    # Without prune, a profile the stack has may be used though the document leaves it out.
    assert apply(api, document)["applied"] is True
    resp = api.post("/config/apply?prune=true", document)
    assert resp.status == 400, resp.text
    fields = {e["field"] for e in resp.json()["errors"]}
    assert fields == {"integrations[0].alertingProfile", "integrations[1].alertingProfile"}
    assert "no alerting profile named Everything" in resp.json()["message"]
    assert len(versions(api)) == 5


# ---- names are matched as the name locks match them --------------------------------------------


def profile_ids(api: ApiClient) -> dict[str, str]:
    return {p["name"]: p["id"] for p in api.get("/alerting-profiles").json()["items"]}


def test_a_name_in_another_case_is_the_stored_object_renamed_in_the_plan_and_the_apply(
    api: ApiClient,
) -> None:
    prod = api.post("/alerting-profiles", {"name": "Prod"}).json()["id"]
    document = {**export_free(), "profiles": [{"name": "Alpha"}, {"name": "prod"}]}

    dry = apply(api, document, "?dryRun=true")
    expected = [("profile", "Alpha", "create"), ("profile", "prod", "update")]
    assert plan(dry) == expected
    assert dry["items"][1]["changes"] == ["name"]
    assert set(profile_ids(api)) == {"Prod"}

    real = apply(api, document)
    assert real["items"] == dry["items"] and real["applied"] is True
    assert profile_ids(api) == {"Alpha": profile_ids(api)["Alpha"], "prod": prod}
    assert {a for _k, _n, a in plan(apply(api, document, "?dryRun=true"))} == {"unchanged"}


def test_two_names_of_a_document_that_differ_only_in_case_are_a_400_naming_both(api: ApiClient) -> None:
    profiles = {**export_free(), "profiles": [{"name": "Beta"}, {"name": "beta"}]}
    integrations = {
        **export_free(),
        "profiles": [{"name": "p"}],
        "integrations": [
            {"displayName": name, "alertingProfile": "p", "webhook": hook("https://x.example.com/in")}
            for name in ("Team  Hook", "team hook")
        ],
    }
    for document, where in ((profiles, "profiles[{}].name"), (integrations, "integrations[{}].displayName")):
        for query in ("?dryRun=true", ""):
            resp = api.post(f"/config/apply{query}", document)
            assert resp.status == 400, resp.text
            errors = resp.json()["errors"]
            assert [e["field"] for e in errors] == [where.format(0), where.format(1)]
            for error in errors:
                assert "is named 2 times" in error["message"]
                assert where.format(0) in error["message"] and where.format(1) in error["message"]
            assert versions(api) == {}


def test_fixing_the_case_of_names_in_git_and_applying_with_prune_renames_them(api: ApiClient) -> None:
    ids = seed(api)
    prod = profile_ids(api)["Production"]
    document = export(api)
    document["profiles"][1]["name"] = "production"
    slack = document["integrations"][2]
    slack["displayName"] = "SLACK"
    # The reference to the profile is a name too, matched the same way.
    document["integrations"][1]["alertingProfile"] = "EVERYTHING"
    before = versions(api)

    dry = apply(api, document, "?dryRun=true&prune=true")
    assert [(i["kind"], i["name"], i["action"], i["changes"]) for i in dry["items"]] == [
        ("profile", "Everything", "unchanged", []),
        ("profile", "production", "update", ["name"]),
        ("integration", "Archive", "unchanged", []),
        ("integration", "Pager duty", "unchanged", []),
        ("integration", "SLACK", "update", ["displayName"]),
    ]
    assert versions(api) == before

    real = apply(api, document, "?prune=true")
    assert real["items"] == dry["items"] and real["applied"] is True
    assert profile_ids(api)["production"] == prod
    assert ids_by_name(api)["SLACK"] == ids["Slack"]
    # The secrets stayed with the renamed integration, kept through their references.
    assert stored_secrets({"SLACK": ids["Slack"]})["SLACK"] == [SECRET, SIGNING]
    after = export(api)
    assert [p["name"] for p in after["profiles"]] == ["Everything", "production"]
    assert after["integrations"][2]["alertingProfile"] == "production"
    assert {a for _k, _n, a in plan(apply(api, document, "?prune=true"))} == {"unchanged"}


# ---- nothing is applied unless all of it can be ------------------------------------------------


def test_a_reference_without_a_value_on_create_is_an_error_naming_it_and_nothing_is_applied(
    api: ApiClient, stack: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(api)
    document = export(api)
    new_stack(moto_endpoint, monkeypatch)
    partly = resolve(document, {k: v for k, v in SECRETS.items() if "X_ROUTING" not in k})

    resp = api.post("/config/apply", partly)
    assert resp.status == 400, resp.text
    error = resp.json()
    assert error["field"] == "integrations[1].webhook.headers[2].value"
    assert "${SECNOTIFY_PAGER_DUTY_HEADER_X_ROUTING}" in error["message"]
    assert "Pager duty does not exist yet" in error["message"]
    for value in SECRETS.values():
        assert value not in resp.text
    assert versions(api) == {}


def test_a_reference_without_a_value_cannot_follow_a_new_origin(api: ApiClient) -> None:
    ids = seed(api)
    document = export(api)
    slack = document["integrations"][2]
    slack["webhook"]["url"] = "https://attacker.example.net/hook"
    before = versions(api)

    resp = api.post("/config/apply", document)
    assert resp.status == 400, resp.text
    errors = resp.json()["errors"]
    assert {e["field"] for e in errors} == {
        "integrations[2].webhook.headers[1].value",
        "integrations[2].signingSecret",
    }
    assert all("origin changes from https://hooks.example.com:443" in e["message"] for e in errors)
    assert "${SECNOTIFY_SLACK_SIGNING_SECRET}" in resp.text
    assert versions(api) == before

    # With the values supplied, the move is an update like a PUT with them.
    result = apply(api, resolve(document, SECRETS))
    slack_item = next(i for i in result["items"] if i["name"] == "Slack")
    assert slack_item["action"] == "update" and slack_item["changes"] == ["webhook.url"]
    assert stored_secrets(ids)["Slack"] == [SECRET, SIGNING]


def test_the_whole_document_is_checked_before_the_first_write(api: ApiClient) -> None:
    seed(api)
    document = resolve(export(api), SECRETS)
    document["profiles"].append({"name": "Fresh"})
    document["integrations"] += [
        {
            "displayName": "New and fine",
            "alertingProfile": "Fresh",
            "webhook": hook("https://fine.example.com/in"),
        },
        {
            "displayName": "Bad template",
            "alertingProfile": "Fresh",
            "webhook": hook("https://bad.example.com/in", payload='{"text": "{NoSuchPlaceholder}"}'),
        },
        {
            "displayName": "Lost",
            "alertingProfile": "Nobody",
            "webhook": hook("https://lost.example.com/in"),
        },
        {"displayName": "Archive", "alertingProfile": "Fresh", "webhook": hook("https://dup.example.com/in")},
    ]
    document["integrations"][2]["webhook"]["headers"][1]["value"] = "Bearer changed-but-never-stored"
    before = versions(api)

    resp = api.post("/config/apply", document)
    assert resp.status == 400, resp.text
    errors = resp.json()["errors"]
    by_field = {e["field"]: e for e in errors}
    assert "integrations[4].webhook.payload" in by_field  # the template check of a save
    assert by_field["integrations[4].webhook.payload"]["unknownPlaceholders"] == ["NoSuchPlaceholder"]
    assert "no alerting profile named Nobody" in by_field["integrations[5].alertingProfile"]["message"]
    assert "integrations[0].displayName" in by_field and "integrations[6].displayName" in by_field
    assert "(and " in resp.json()["message"]
    assert versions(api) == before  # not even the valid new profile, integration and change


def test_the_caps_are_checked_before_the_first_write(api: ApiClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from secnotify.service import wiring

    seed(api)
    monkeypatch.setenv("MAX_PROFILES", "3")
    wiring.reset()
    document = export(api)
    document["profiles"] += [{"name": "one"}, {"name": "two"}]
    resp = api.post("/config/apply", document)
    assert resp.status == 400, resp.text
    assert resp.json()["message"] == "profiles: the stack would hold 4; at most 3 may exist"
    assert "one" not in versions(api)
    # Pruned away, the same count fits.
    document["profiles"] = [p for p in document["profiles"] if p["name"] != "one"]
    assert apply(api, document)["applied"] is True


# ---- the signing secret ------------------------------------------------------------------------


def test_the_signing_secret_is_kept_set_rotated_and_removed_as_the_document_says(api: ApiClient) -> None:
    ids = seed(api)
    document = export(api)
    assert {a for _k, _n, a in plan(apply(api, document))} == {"unchanged"}

    rotated = "whsec_" + "A" * 32
    document["integrations"][2]["signingSecret"] = rotated
    result = apply(api, document)
    assert next(i for i in result["items"] if i["name"] == "Slack")["changes"] == ["signingSecret"]
    assert rotated not in json.dumps(result)
    assert stored_secrets(ids)["Slack"][-1] == rotated
    # A rotation like a PUT's: the replaced secret keeps signing for the default overlap.
    assert api.get(f"/integrations/{ids['Slack']}").json()["signingSecret"]["previousValidUntil"]
    assert {a for _k, _n, a in plan(apply(api, document))} == {"unchanged"}

    del document["integrations"][2]["signingSecret"]
    result = apply(api, document)
    assert next(i for i in result["items"] if i["name"] == "Slack")["changes"] == ["signingSecret"]
    assert stored_secrets(ids)["Slack"] == [SECRET, None]
    assert "signingSecret" not in export(api)["integrations"][2]


# ---- size and time ----------------------------------------------------------------------------


def thousand(secret_header: bool = False) -> dict[str, Any]:
    headers = (
        [{"name": "Authorization", "value": "Bearer t-0123456789", "secret": True}] if secret_header else []
    )
    document = export_free()
    document["profiles"] = [{"name": "p"}]
    document["integrations"] = [
        {
            "displayName": f"hook {n:04d}",
            "alertingProfile": "p",
            "webhook": hook(f"https://h{n}.example.com/", *headers),
        }
        for n in range(1000)
    ]
    return document


def test_a_thousand_integrations_fit_in_one_document_far_over_the_api_s_other_bodies(api: ApiClient) -> None:
    document = thousand(secret_header=True)
    raw = json.dumps(document).encode()
    assert 256 * 1024 < len(raw) < 3 * 1024 * 1024
    resp = api.request("POST", "/config/apply?dryRun=true", raw=raw)
    assert resp.status == 200, resp.text
    assert resp.json()["pending"] == 1001 and resp.json()["applied"] is False
    # Other routes keep the 256 KB limit.
    big = {"name": "x" * (300 * 1024)}
    assert api.post("/alerting-profiles", big).status == 413


def test_a_document_over_3_mb_is_a_413_and_nothing_is_applied(api: ApiClient) -> None:
    document = thousand()
    for item in document["integrations"]:
        item["webhook"]["payload"] = '{"text": "{Title}", "pad": "' + "x" * 3200 + '"}'
    raw = json.dumps(document).encode()
    assert len(raw) > 3 * 1024 * 1024
    resp = api.request("POST", "/config/apply", raw=raw)
    assert resp.status == 413, resp.text
    assert resp.json()["message"] == f"body: larger than {3 * 1024 * 1024} bytes"
    assert versions(api) == {}


def test_an_apply_short_of_time_stops_between_writes_and_the_same_document_finishes_it(
    api: ApiClient,
) -> None:
    from secnotify.models.config_doc import ConfigDocument
    from secnotify.service.config_code import WRITE_MARGIN_S, config_code
    from secnotify.service.wiring import api_services

    document = thousand()
    document["integrations"] = document["integrations"][:5]
    clock = iter([60.0, 60.0, 60.0, WRITE_MARGIN_S - 0.1])  # time for three writes
    service = config_code(api_services())
    parsed = ConfigDocument.model_validate(document)

    result = service.apply(parsed, dry_run=False, prune=False, time_left=lambda: next(clock))
    assert result.applied is False and result.pending == 3
    assert set(versions(api)) == {"p", "hook 0000", "hook 0001"}  # in plan order: the profile first

    result = service.apply(parsed, dry_run=False, prune=False, time_left=lambda: 60.0)
    assert result.applied is True and result.pending == 0
    assert [i.action for i in result.items] == ["unchanged"] * 3 + ["create"] * 3
    assert len(versions(api)) == 6


def test_a_document_holds_no_server_fields(api: ApiClient) -> None:
    seed(api)
    document = export(api)
    profile = api.get("/alerting-profiles").json()["items"][0]
    document["profiles"][0]["version"] = profile["version"]
    resp = api.post("/config/apply", document)
    assert resp.status == 400, resp.text
    assert resp.json()["field"].startswith("profiles[0]")
    document["profiles"][0].pop("version")
    document["integrations"][0]["id"] = "an-id"
    resp = api.post("/config/apply", document)
    assert resp.status == 400, resp.text
    assert resp.json()["field"] == "integrations[0].id"


# ---- named secrets ------------------------------------------------------------------------------

ROUTING_KEY = "R0uting-Key-0123456789abcdef"
TEAMS_SIG = "s1g%2Fvalue%3D42"


def pager_with_named_secrets(api: ApiClient) -> str:
    pid = api.post("/alerting-profiles", {"name": "pager"}).json()["id"]
    body = {
        "displayName": "PagerDuty v2",
        "alertingProfileId": pid,
        "webhook": hook(
            "https://events.example.com/v2/enqueue?sig={Secret[teamsSig]}",
            payload='{"routing_key": "{Secret[routingKey]}", "summary": "{Title}"}',
        ),
        "secrets": [{"name": "routingKey", "value": ROUTING_KEY}, {"name": "teamsSig", "value": TEAMS_SIG}],
    }
    resp = api.post("/integrations", body)
    assert resp.status == 201, resp.text
    return str(resp.json()["id"])


def test_named_secrets_are_exported_as_references_and_carried_to_another_stack(
    api: ApiClient, stack: Any, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from secnotify.service.wiring import api_services

    pager_with_named_secrets(api)
    resp = api.get("/config/export")
    assert resp.status == 200, resp.text
    assert ROUTING_KEY not in resp.text and TEAMS_SIG not in resp.text
    document = resp.json()
    (item,) = document["integrations"]
    assert item["secrets"] == [
        {"name": "routingKey", "value": "${SECNOTIFY_PAGERDUTY_V2_SECRET_ROUTINGKEY}"},
        {"name": "teamsSig", "value": "${SECNOTIFY_PAGERDUTY_V2_SECRET_TEAMSSIG}"},
    ]
    # Still references: the stack keeps its values, and nothing changes.
    assert {a for _k, _n, a in plan(apply(api, document))} == {"unchanged"}

    values = {
        "SECNOTIFY_PAGERDUTY_V2_SECRET_ROUTINGKEY": ROUTING_KEY,
        "SECNOTIFY_PAGERDUTY_V2_SECRET_TEAMSSIG": TEAMS_SIG,
    }
    new_stack(moto_endpoint, monkeypatch)
    # On an empty stack a reference without a value has nothing to keep.
    missing = api.post(
        "/config/apply", resolve(document, {k: v for k, v in values.items() if "TEAMS" not in k})
    )
    assert missing.status == 400, missing.text
    assert missing.json()["field"] == "integrations[0].secrets[1].value"
    assert "${SECNOTIFY_PAGERDUTY_V2_SECRET_TEAMSSIG}" in missing.json()["message"]
    assert ROUTING_KEY not in missing.text
    assert versions(api) == {}

    result = apply(api, resolve(document, values))
    assert plan(result)[-1] == ("integration", "PagerDuty v2", "create")
    assert export(api) == document
    stored = api_services().integrations.get_stored(ids_by_name(api)["PagerDuty v2"])
    assert [(s.name, s.value) for s in stored.secrets] == [
        ("routingKey", ROUTING_KEY),
        ("teamsSig", TEAMS_SIG),
    ]
    before = versions(api)
    assert {a for _k, _n, a in plan(apply(api, resolve(document, values)))} == {"unchanged"}
    assert versions(api) == before

    # A new value is an update naming the slot, never the value; a secret left out is removed.
    document["integrations"][0]["secrets"][0]["value"] = "an-entirely-new-routing-key"
    document["integrations"][0]["webhook"]["url"] = "https://events.example.com/v2/enqueue"
    del document["integrations"][0]["secrets"][1]
    result = apply(api, document)
    assert "an-entirely-new" not in json.dumps(result)
    assert result["items"][-1]["changes"] == ["webhook.url", "secrets"]
    stored = api_services().integrations.get_stored(stored.id)
    assert [(s.name, s.value) for s in stored.secrets] == [("routingKey", "an-entirely-new-routing-key")]
