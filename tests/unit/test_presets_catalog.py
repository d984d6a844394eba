"""The preset catalogue as data: what each preset declares, what it builds from presetFields (where
secret values may go, markers, the Teams sig, Basic auth), that every payload fits the stored
payload cap, and what a create request with a preset or the platform's JIRA type becomes."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from local.cfn import load_template
from secnotify.models.integration_api import IntegrationInput
from secnotify.models.preset_api import IntegrationCreateInput
from secnotify.presets import presets
from secnotify.presets.catalog import markers_in
from secnotify.service.errors import BadRequest
from secnotify.service.integration_edits import masked_secrets
from secnotify.service.presets import creation_input, preset_list
from secnotify.templating import RenderLimits, compile_template, validate_template

ROOT = Path(__file__).resolve().parents[2]
NAMES = {"slack", "teams", "pagerduty", "opsgenie", "jira", "splunk-hec", "generic-json"}
# The longest value each field that goes into a payload may take: the payload must still fit.
LONGEST = {
    ("jira", "projectKey"): "S" * 20,
    ("jira", "issueType"): "<'&l" * 15,
    ("jira", "labels"): ",".join(["l" * 40] * 5),
    ("jira", "priorities"): ",".join(['"' * 30] * 4),
    ("splunk-hec", "index"): "i" * 80,
    ("splunk-hec", "sourcetype"): "s" * 100,
    ("splunk-hec", "source"): '"\\' * 50,
}


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    if isinstance(node, dict):
        return [pair for key, value in node.items() for pair in _strings(value, f"{path}.{key}".strip("."))]
    if isinstance(node, list):
        return [pair for i, item in enumerate(node) for pair in _strings(item, f"{path}[{i}]")]
    return [(path, node)] if isinstance(node, str) else []


def _payloads(doc: dict[str, Any]) -> list[str]:
    hook = doc["webhook"]
    return [hook["payload"]] + ([hook["resolved"]["payload"]] if "resolved" in hook else [])


def _content_type(doc: dict[str, Any]) -> str:
    return next(h["value"] for h in doc["webhook"]["headers"] if h["name"].lower() == "content-type")


def test_the_catalogue_holds_the_seven_presets() -> None:
    assert set(presets()) == NAMES
    listed = preset_list().items
    assert [p.name for p in listed] == sorted(NAMES)
    for preset in presets().values():
        assert preset.version >= 1 and preset.description and preset.sources
        assert all(s.startswith("https://") for s in preset.sources)
        assert len({f.name for f in preset.fields}) == len(preset.fields)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_marker_names_a_field_and_every_field_is_used(name: str) -> None:
    preset = presets()[name]
    used = {n for _, text in _strings(preset.integration) for n in markers_in(text)}
    declared = {f.name for f in preset.fields}
    assert used <= declared, used - declared
    assert declared <= used, declared - used
    for spec in preset.fields:
        assert not (spec.required and spec.default is not None), spec.name
        if spec.default is not None:
            assert spec.problem(spec.default) is None, (spec.name, spec.default)
    assert preset.problems(preset.example) == []


@pytest.mark.parametrize("name", sorted(NAMES))
def test_secret_values_go_only_into_secret_slots(name: str) -> None:
    preset = presets()[name]
    values = dict(preset.example)
    for spec in preset.fields:
        if spec.secret:
            values[spec.name] = f"Zq{spec.name}9SECRETv4lue0123456789abcdefghij"[:32]
    doc = preset.build(values)
    secrets = [values[f.name] for f in preset.fields if f.secret]
    allowed = {f"secrets[{i}].value" for i in range(len(doc.get("secrets", [])))}
    allowed |= {
        f"webhook.headers[{i}].value" for i, h in enumerate(doc["webhook"]["headers"]) if h.get("secret")
    }
    found = set()
    for path, text in _strings(doc):
        basic = text.startswith("Basic ")
        decoded = base64.b64decode(text.removeprefix("Basic ")).decode("utf-8", "replace") if basic else ""
        for secret in secrets:
            if secret in text or secret in decoded:
                assert path in allowed, (path, secret)
                found.add(secret)
    assert found == set(secrets)  # each one went somewhere
    assert not [t for _, t in _strings(doc) if markers_in(t)]


@pytest.mark.parametrize("name", sorted(NAMES))
def test_every_payload_fits_the_default_payload_cap_and_passes_the_save_check(name: str) -> None:
    cap = load_template(ROOT / "template.yaml")["Parameters"]["MaxPayloadChars"]["Default"]
    assert cap == 5000
    preset = presets()[name]
    values = dict(preset.example)
    for spec in preset.fields:
        used_in_payload = any(spec.name in markers_in(p) for p in _payloads(preset.integration))  # type: ignore[arg-type]
        if used_in_payload:
            values[spec.name] = LONGEST[(name, spec.name)]
            assert spec.problem(values[spec.name]) is None, spec.name
    assert preset.problems(values) == []
    doc = preset.build(values)
    names = [s["name"] for s in doc.get("secrets", [])]
    for payload in _payloads(doc):
        assert len(payload) <= cap, (name, len(payload))
        assert validate_template(payload, _content_type(doc), secrets=masked_secrets(names)) == []


def test_jira_worst_case_payload_is_the_readme_figure_and_fits_the_cap() -> None:
    # Escape-heavy values everywhere a field's pattern lets them in: " and \ cost two characters
    # in the JSON template, and labels and the issue type refuse them so the cap holds.
    preset = presets()["jira"]
    shapes = {
        "issueType": lambda c: c * 60,
        "labels": lambda c: ",".join([c * 40] * 5),
        "priorities": lambda c: ",".join([c * 30] * 4),
    }
    specs = {spec.name: spec for spec in preset.fields}
    for name in ("issueType", "labels"):
        assert specs[name].problem(shapes[name]('"')) is not None, name
        assert specs[name].problem(shapes[name]("\\")) is not None, name
    options = {
        name: [v for v in map(shape, ('"', "\\", "'", "<", "&", "l")) if specs[name].problem(v) is None]
        for name, shape in shapes.items()
    }
    longest = 0
    for issue_type in options["issueType"]:
        for labels in options["labels"]:
            for priorities in options["priorities"]:
                values = dict(preset.example, projectKey="S" * 20, issueType=issue_type, labels=labels)
                values["priorities"] = priorities
                assert preset.problems(values) == []
                longest = max(longest, *map(len, _payloads(preset.build(values))))
    assert longest <= 5000
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"is {longest:,} characters, under the default cap of 5,000" in readme.replace("\n", " ")


def test_a_payload_field_goes_in_as_data_never_as_template() -> None:
    from secnotify.models.event import sample_event

    preset = presets()["splunk-hec"]
    source = "{{ 7*7 }}\" {Title} {% raw %}\\u0041 'x' -%}"
    doc = preset.build({**preset.example, "source": source})
    secrets = {s["name"]: s["value"] for s in doc.get("secrets", [])}
    compiled = compile_template(doc["webhook"]["payload"], _content_type(doc), RenderLimits())
    assert json.loads(compiled.render(sample_event(), secrets))["source"] == source


def test_teams_moves_the_sig_into_a_secret_and_keeps_the_rest_of_the_url() -> None:
    preset = presets()["teams"]
    url = "https://x.logic.azure.com:443/workflows/1/invoke?api-version=1&sp=%2Ftriggers&sig=a%2Bb_c-9&sv=1.0"
    doc = preset.build({"url": url})
    assert doc["webhook"]["url"] == url.replace("sig=a%2Bb_c-9", "sig={Secret[sig]}")
    assert doc["secrets"] == [{"name": "sig", "value": "a%2Bb_c-9"}]
    for bad in (url.replace("&sig=a%2Bb_c-9", ""), url.replace("sig=a%2Bb_c-9", "sig="), url + "&sig=again"):
        assert preset.problems({"url": bad}) == [
            ("url", "must carry its sig= query parameter (copy the whole URL)")
        ]


def test_jira_authorization_is_basic_of_email_and_token() -> None:
    preset = presets()["jira"]
    doc = preset.build({**preset.example, "email": "é@example.com", "apiToken": "t:o:k"})
    auth = next(h for h in doc["webhook"]["headers"] if h["name"] == "Authorization")
    assert auth["secret"] is True
    assert base64.b64decode(auth["value"].removeprefix("Basic ")).decode() == "é@example.com:t:o:k"


def _create(**body: Any) -> IntegrationCreateInput:
    return IntegrationCreateInput.model_validate({"displayName": "d", "alertingProfileId": "p", **body})


@pytest.mark.parametrize(
    ("name", "path", "reference"),
    [
        ("jira", "/rest/api/3/issue/{Receiver[issueKey]}/comment", {"name": "issueKey", "pointer": "/key"}),
        ("opsgenie", "/v2/alerts/{ProblemKey}/close?identifierType=alias", None),
    ],
)
def test_jira_and_opsgenie_resolve_at_their_own_route(name: str, path: str, reference: Any) -> None:
    preset = presets()[name]
    data, origin = creation_input(_create(preset=name, presetFields=preset.example))
    assert origin is not None and (origin.name, origin.version) == (name, preset.version)
    assert data.webhook.resolved is not None and data.webhook.resolved.path == path
    assert data.webhook.resolved.payload == preset.build(preset.example)["webhook"]["resolved"]["payload"]
    got = data.webhook.receiverReference.model_dump() if data.webhook.receiverReference else None
    assert got == reference


@pytest.mark.parametrize(
    ("given", "site"),
    [
        ("https://acme.atlassian.net", "https://acme.atlassian.net/rest/api/3/issue"),
        ("https://acme.atlassian.net/", "https://acme.atlassian.net/rest/api/3/issue"),
        ("https://acme.atlassian.net/rest/api/2/issue", "https://acme.atlassian.net/rest/api/3/issue"),
        ("https://ACME.atlassian.net/rest/api/3/", "https://ACME.atlassian.net/rest/api/3/issue"),
    ],
)
def test_the_platforms_jira_url_becomes_the_site(given: str, site: str) -> None:
    config = {
        "url": given,
        "username": "a@example.com",
        "apiToken": "tok",
        "projectKey": "SEC",
        "issueType": "Task",
    }
    data, origin = creation_input(_create(type="JIRA", jiraConfiguration=config))
    assert isinstance(data, IntegrationInput) and data.type == "WEBHOOK"
    assert origin is not None and origin.name == "jira"
    assert data.webhook.url == site
    assert '{%- set issue_type = "Task" -%}' in data.webhook.payload


def test_a_plain_create_is_passed_on_as_it_is() -> None:
    webhook = {
        "url": "https://e.com/h",
        "headers": [{"name": "Content-Type", "value": "text/plain"}],
        "payload": "x",
    }
    body = _create(webhook=webhook, signingSecretValue="whsec_shown")
    data, origin = creation_input(body)
    assert data is body and origin is None


def test_presets_fields_are_checked_before_anything_is_built() -> None:
    with pytest.raises(BadRequest) as raised:
        creation_input(
            _create(preset="splunk-hec", presetFields={"url": "https://s.example.com/x", "tok": "1"})
        )
    fields = [e["field"] for e in raised.value.details["errors"]]
    assert fields == ["presetFields.tok", "presetFields.url", "presetFields.token"]
    assert re.match(
        r"presetFields\.tok: preset splunk-hec has no field tok; its fields: url, token", raised.value.message
    )


@pytest.mark.parametrize("email", ["a:b@example.com", "a@exa:mple.com", ":@b"])
def test_jira_email_refuses_a_colon_which_basic_auth_cannot_carry(email: str) -> None:
    # RFC 7617 section 2: the user-id of Basic auth must not contain a colon.
    preset = presets()["jira"]
    assert dict(preset.problems(dict(preset.example, email=email)))["email"]
    assert preset.problems(dict(preset.example, email="a.b+c@example.com")) == []


def test_a_url_is_used_as_given_and_an_origin_takes_the_path() -> None:
    generic = presets()["generic-json"].build({"url": "https://siem.example.com/in/"})
    assert generic["webhook"]["url"] == "https://siem.example.com/in/"
    splunk = presets()["splunk-hec"]
    built = splunk.build({**splunk.example, "url": "https://splunk.example.com:8088/"})
    assert built["webhook"]["url"] == "https://splunk.example.com:8088/services/collector/event"
