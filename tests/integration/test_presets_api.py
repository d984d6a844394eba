"""The presets through the config API: GET /presets, creating from a preset or the platform's
JIRA type, the secrets a preset stores, presetOrigin across edits, and the 400s of a bad request."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from secnotify.presets import presets
from tests.conftest import ApiClient
from tests.integration.test_api_integrations import make_profile

NAMES = {"slack", "teams", "pagerduty", "opsgenie", "jira", "splunk-hec", "generic-json"}
ROUTING_KEY = "R0123456789ABCDEF0123456789ABCDE"
TEAMS_SIG = "s1gN4tur3-Value_0123456789abcdef"
TEAMS_URL = (
    "https://prod-12.westeurope.logic.azure.com:443/workflows/0a1b2c3d/triggers/manual/paths/invoke"
    f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={TEAMS_SIG}"
)
JIRA_TOKEN = "ATATT3xFfGF0-jira-api-token-value"


def _jira_site(url: str) -> dict[str, Any]:
    return {
        "preset": "jira",
        "presetFields": {"email": "a@b", "apiToken": "t", "projectKey": "SEC", "url": url},
    }


def create(api: ApiClient, profile: str, preset: str, fields: dict[str, Any], **extra: Any) -> Any:
    body = {"displayName": f"{preset} integration", "alertingProfileId": profile, "preset": preset}
    return api.post("/integrations", {**body, "presetFields": fields, **extra})


def stored(integration_id: str) -> Any:
    from secnotify.service.wiring import api_services

    return api_services().integrations.get_stored(integration_id)


def test_get_presets_lists_the_seven_with_their_fields_and_an_example(api: ApiClient) -> None:
    resp = api.get("/presets")
    assert resp.status == 200, resp.text
    items = resp.json()["items"]
    assert {i["name"] for i in items} == NAMES
    for item in items:
        assert item["version"] >= 1 and item["description"] and item["sources"]
        assert item["fields"] and all({"name", "secret", "required"} <= set(f) for f in item["fields"])
        required = {f["name"] for f in item["fields"] if f["required"]}
        assert required <= set(item["example"]), item["name"]
    by_name = {i["name"]: i for i in items}
    secret = {n: {f["name"] for f in by_name[n]["fields"] if f["secret"]} for n in by_name}
    assert secret == {
        "slack": set(),
        "teams": set(),  # its URL's sig= becomes a secret when the integration is built
        "pagerduty": {"routingKey"},
        "opsgenie": {"apiKey"},
        "jira": {"apiToken"},
        "splunk-hec": {"token"},
        "generic-json": set(),
    }
    region = next(f for f in by_name["opsgenie"]["fields"] if f["name"] == "region")
    assert region["choices"] == ["us", "eu"] and region["default"] == "us"


def test_a_pagerduty_preset_makes_an_ordinary_integration_with_the_routing_key_a_secret(
    api: ApiClient,
) -> None:
    profile = make_profile(api)
    resp = create(api, profile, "pagerduty", {"routingKey": ROUTING_KEY})
    assert resp.status == 201, resp.text
    assert ROUTING_KEY not in resp.text
    view = resp.json()
    assert view["type"] == "WEBHOOK" and view["presetOrigin"] == {
        "name": "pagerduty",
        "version": presets()["pagerduty"].version,
    }
    assert view["webhook"]["url"] == "https://events.pagerduty.com/v2/enqueue"
    content_type = {"name": "Content-Type", "value": "application/json", "secret": False}
    assert view["webhook"]["headers"] == [content_type]
    built = presets()["pagerduty"].build({"routingKey": "x"})
    assert view["webhook"]["payload"] == built["webhook"]["payload"]
    assert view["secrets"] == [{"name": "routingKey", "set": True}]
    got = api.get(f"/integrations/{view['id']}")
    assert got.status == 200 and ROUTING_KEY not in got.text
    assert got.json()["presetOrigin"] == {"name": "pagerduty", "version": presets()["pagerduty"].version}
    assert [(s.name, s.value) for s in stored(view["id"]).secrets] == [("routingKey", ROUTING_KEY)]


def test_teams_keeps_the_url_sig_as_a_secret(api: ApiClient) -> None:
    profile = make_profile(api)
    resp = create(api, profile, "teams", {"url": TEAMS_URL})
    assert resp.status == 201, resp.text
    assert TEAMS_SIG not in resp.text
    view = resp.json()
    assert view["webhook"]["url"] == TEAMS_URL.replace(TEAMS_SIG, "{Secret[sig]}")
    assert view["secrets"] == [{"name": "sig", "set": True}]
    assert [(s.name, s.value) for s in stored(view["id"]).secrets] == [("sig", TEAMS_SIG)]


def test_opsgenie_takes_the_eu_endpoint_and_a_secret_geniekey_header(api: ApiClient) -> None:
    profile = make_profile(api)
    key = "0a1b2c3d-4e5f-6789-abcd-ef0123456789"
    resp = create(api, profile, "opsgenie", {"apiKey": key, "region": "eu"})
    assert resp.status == 201, resp.text
    assert key not in resp.text
    view = resp.json()
    assert view["webhook"]["url"] == "https://api.eu.opsgenie.com/v2/alerts"
    assert {"name": "Authorization", "value": None, "secret": True} in view["webhook"]["headers"]
    auth = next(h for h in stored(view["id"]).webhook.headers if h.name == "Authorization")
    assert (auth.value, auth.secret) == (f"GenieKey {key}", True)
    us = create(api, profile, "opsgenie", {"apiKey": key}, displayName="opsgenie us")
    assert us.status == 201 and us.json()["webhook"]["url"] == "https://api.opsgenie.com/v2/alerts"


def test_jira_sends_basic_auth_in_a_secret_header_and_its_fields_in_the_payload(api: ApiClient) -> None:
    profile = make_profile(api)
    fields = {
        "url": "https://example.atlassian.net/",
        "email": "secops@example.com",
        "apiToken": JIRA_TOKEN,
        "projectKey": "SEC",
        "labels": "security,from-secnotify",
    }
    resp = create(api, profile, "jira", fields)
    assert resp.status == 201, resp.text
    assert JIRA_TOKEN not in resp.text
    view = resp.json()
    assert view["webhook"]["url"] == "https://example.atlassian.net/rest/api/3/issue"
    assert view["presetOrigin"] == {"name": "jira", "version": presets()["jira"].version}
    assert '{%- set project = "SEC" -%}' in view["webhook"]["payload"]
    assert '{%- set labels = "security,from-secnotify" -%}' in view["webhook"]["payload"]
    auth = next(h for h in stored(view["id"]).webhook.headers if h.name == "Authorization")
    expected = base64.b64encode(f"secops@example.com:{JIRA_TOKEN}".encode()).decode()
    assert (auth.value, auth.secret) == (f"Basic {expected}", True)


def test_the_platforms_jira_type_makes_the_jira_preset(api: ApiClient) -> None:
    profile = make_profile(api)
    body = {
        "displayName": "Jira from the platform",
        "alertingProfileId": profile,
        "type": "JIRA",
        "jiraConfiguration": {
            "url": "https://example.atlassian.net/rest/api/2/issue",
            "username": "secops@example.com",
            "apiToken": JIRA_TOKEN,
            "projectKey": "SEC",
            "issueType": "Vulnerability",
        },
    }
    resp = api.post("/integrations", body)
    assert resp.status == 201, resp.text
    assert JIRA_TOKEN not in resp.text
    view = resp.json()
    assert view["type"] == "WEBHOOK" and view["presetOrigin"] == {
        "name": "jira",
        "version": presets()["jira"].version,
    }
    assert view["webhook"]["url"] == "https://example.atlassian.net/rest/api/3/issue"
    assert '{%- set issue_type = "Vulnerability" -%}' in view["webhook"]["payload"]
    auth = next(h for h in stored(view["id"]).webhook.headers if h.name == "Authorization")
    assert base64.b64decode(auth.value.removeprefix("Basic ")).decode() == f"secops@example.com:{JIRA_TOKEN}"


def test_a_jira_preset_integration_shows_its_resolved_route_and_receiver_reference(api: ApiClient) -> None:
    # Stored and shown by the resolve-elsewhere part (webhook.resolved, webhook.receiverReference).
    profile = make_profile(api)
    fields = {"url": "https://example.atlassian.net", "email": "a@example.com", "apiToken": JIRA_TOKEN}
    resp = create(api, profile, "jira", {**fields, "projectKey": "SEC"})
    assert resp.status == 201, resp.text
    webhook = api.get(f"/integrations/{resp.json()['id']}").json()["webhook"]
    assert webhook["resolved"]["path"] == "/rest/api/3/issue/{Receiver[issueKey]}/comment"
    assert webhook["receiverReference"] == {"name": "issueKey", "pointer": "/key"}


def test_edits_keep_the_preset_origin_whatever_they_send(api: ApiClient) -> None:
    profile = make_profile(api)
    created = create(api, profile, "slack", {"url": "https://hooks.slack.com/services/T0/B0/xyz"}).json()
    origin = {"name": "slack", "version": presets()["slack"].version}
    shown = api.get(f"/integrations/{created['id']}").json()
    assert shown["presetOrigin"] == origin
    put = api.put(
        f"/integrations/{created['id']}",
        {**shown, "displayName": "Slack, edited", "presetOrigin": {"name": "jira", "version": 7}},
    )
    assert put.status == 200, put.text
    assert put.json()["presetOrigin"] == origin and put.json()["displayName"] == "Slack, edited"
    patch = api.request(
        "PATCH",
        f"/integrations/{created['id']}",
        {"presetOrigin": {"name": "teams", "version": 2}, "webhook": {"payload": '{"text": "{Title}"}'}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert patch.status == 200, patch.text
    assert patch.json()["presetOrigin"] == origin
    assert patch.json()["webhook"]["payload"] == '{"text": "{Title}"}'
    assert stored(created["id"]).presetOrigin is not None
    assert stored(created["id"]).presetOrigin.model_dump() == origin
    plain = api.post(
        "/integrations",
        {
            "displayName": "no preset",
            "alertingProfileId": profile,
            "webhook": shown["webhook"],
            "presetOrigin": origin,
        },
    )
    assert plain.status == 201, plain.text
    assert "presetOrigin" not in plain.json()  # read-only: a create cannot claim one


def _body(profile: str, **fields: Any) -> dict[str, Any]:
    return {"displayName": "bad", "alertingProfileId": profile, **fields}


BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("missing field", {"preset": "pagerduty", "presetFields": {}}, "presetFields.routingKey", "required"),
    ("no fields at all", {"preset": "jira"}, "presetFields.url", "required"),
    (
        "unknown field",
        {"preset": "pagerduty", "presetFields": {"routingKey": ROUTING_KEY, "severity": "x"}},
        "presetFields.severity",
        "has no field severity",
    ),
    (
        "bad routing key",
        {"preset": "pagerduty", "presetFields": {"routingKey": "short"}},
        "presetFields.routingKey",
        "32",
    ),
    ("unknown preset", {"preset": "hipchat", "presetFields": {}}, "preset", "no preset hipchat"),
    (
        "bad region",
        {"preset": "opsgenie", "presetFields": {"apiKey": "0a1b2c3d-key", "region": "apac"}},
        "presetFields.region",
        "one of us, eu",
    ),
    (
        "teams URL without sig",
        {"preset": "teams", "presetFields": {"url": "https://x.logic.azure.com/workflows/1?sv=1.0"}},
        "presetFields.url",
        "sig=",
    ),
    (
        "jira site with a path",
        _jira_site("https://x.atlassian.net/jira"),
        "presetFields.url",
        "no path",
    ),
    (
        "jira site with an empty query",
        _jira_site("https://x.atlassian.net?"),
        "presetFields.url",
        "no path",
    ),
    (
        "jira site with an empty fragment",
        _jira_site("https://x.atlassian.net/#"),
        "presetFields.url",
        "no path",
    ),
    (
        "jira site with empty userinfo",
        _jira_site("https://@x.atlassian.net"),
        "presetFields.url",
        "credentials",
    ),
    (
        "jira site with a dot path",
        _jira_site("https://x.atlassian.net/."),
        "presetFields.url",
        "no path",
    ),
    (
        "splunk URL with an empty query",
        {"preset": "splunk-hec", "presetFields": {"token": "00000000-0000-0000-0000-000000000000",
         "url": "https://hec.example.com:8088?"}},
        "presetFields.url",
        "no path",
    ),
    (
        "splunk URL with an empty fragment",
        {"preset": "splunk-hec", "presetFields": {"token": "00000000-0000-0000-0000-000000000000",
         "url": "https://hec.example.com:8088#"}},
        "presetFields.url",
        "no path",
    ),
    ("not a string", {"preset": "slack", "presetFields": {"url": 42}}, "presetFields.url", "string"),
    (
        "control characters",
        {"preset": "slack", "presetFields": {"url": "https://hooks.slack.com/\r\nX-Evil: 1"}},
        "presetFields.url",
        "control characters",
    ),
    (
        "webhook beside a preset",
        {"preset": "slack", "presetFields": {"url": "https://hooks.slack.com/x"},
         "webhook": {"url": "https://e.com", "payload": "{}",
                     "headers": [{"name": "Content-Type", "value": "application/json"}]}},
        "webhook",
        "leave it out",
    ),
    (
        "secrets beside a preset",
        {"preset": "pagerduty", "presetFields": {"routingKey": ROUTING_KEY},
         "secrets": [{"name": "routingKey", "value": "other"}]},
        "secrets",
        "presetFields",
    ),
    (
        "fields without a preset",
        {"presetFields": {"url": "https://e.com"}},
        "presetFields",
        "only with a preset",
    ),
    ("neither webhook nor preset", {}, "webhook", "required"),
    ("JIRA without its configuration", {"type": "JIRA"}, "jiraConfiguration", "required"),
    (
        "JIRA with a bad URL",
        {"type": "JIRA", "jiraConfiguration": {"url": "ftp://x", "username": "a@b.c", "apiToken": "t",
         "projectKey": "SEC", "issueType": "Bug"}},
        "jiraConfiguration.url",
        "http",
    ),
    (
        "JIRA with a lower-case project",
        {"type": "JIRA", "jiraConfiguration": {"url": "https://x.atlassian.net", "username": "a@b.c",
         "apiToken": "t", "projectKey": "sec", "issueType": "Bug"}},
        "jiraConfiguration.projectKey",
        "project key",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("case", "fields", "field", "says"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_preset_request_is_a_400_naming_the_field(
    api: ApiClient, case: str, fields: dict[str, Any], field: str, says: str
) -> None:
    profile = make_profile(api)
    resp = api.post("/integrations", _body(profile, **fields))
    assert resp.status == 400, (case, resp.text)
    body = resp.json()
    assert body["field"] == field, (case, body)
    assert says in body["message"], (case, body)
    assert api.get("/integrations").json()["items"] == []


def test_every_missing_field_is_listed(api: ApiClient) -> None:
    profile = make_profile(api)
    resp = api.post("/integrations", _body(profile, preset="jira", presetFields={"projectKey": "SEC"}))
    assert resp.status == 400
    assert [e["field"] for e in resp.json()["errors"]] == [
        "presetFields.url",
        "presetFields.email",
        "presetFields.apiToken",
    ]


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_an_edit_cannot_name_a_preset(api: ApiClient, method: str) -> None:
    profile = make_profile(api)
    created = create(api, profile, "generic-json", {"url": "https://siem.example.com/in"}).json()
    edit = {"preset": "slack", "presetFields": {"url": "https://hooks.slack.com/x"}}
    body = {**api.get(f"/integrations/{created['id']}").json(), **edit} if method == "PUT" else edit
    resp = api.request(method, f"/integrations/{created['id']}", body)
    assert resp.status == 400, resp.text
    assert resp.json()["field"] in {"preset", "presetFields"}
    assert api.get(f"/integrations/{created['id']}").json()["version"] == 1


def test_each_preset_example_creates_an_integration(api: ApiClient) -> None:
    profile = make_profile(api)
    for item in api.get("/presets").json()["items"]:
        resp = create(api, profile, item["name"], item["example"], displayName=f"example {item['name']}")
        assert resp.status == 201, (item["name"], resp.text)
        assert resp.json()["presetOrigin"] == {"name": item["name"], "version": item["version"]}
        for field in item["fields"]:
            if field["secret"]:
                assert item["example"][field["name"]] not in resp.text, (item["name"], field["name"])


def test_a_configuration_apply_keeps_the_preset_origin_and_the_export_leaves_it_out(api: ApiClient) -> None:
    profile = make_profile(api)
    created = create(api, profile, "pagerduty", {"routingKey": ROUTING_KEY}).json()
    exported = api.get("/config/export")
    assert exported.status == 200 and "presetOrigin" not in exported.text
    assert ROUTING_KEY not in exported.text
    document = exported.json()
    document["integrations"][0]["enabled"] = False
    applied = api.post("/config/apply", document)
    assert applied.status == 200, applied.text
    assert [i["action"] for i in applied.json()["items"] if i["kind"] == "integration"] == ["update"]
    after = api.get(f"/integrations/{created['id']}").json()
    assert after["enabled"] is False and after["presetOrigin"] == {
        "name": "pagerduty",
        "version": presets()["pagerduty"].version,
    }
    assert [(s.name, s.value) for s in stored(created["id"]).secrets] == [("routingKey", ROUTING_KEY)]
