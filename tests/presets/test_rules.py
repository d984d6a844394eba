"""The receivers' rules (tests/presets/rules.py) refuse what their documentation refuses: each check
is shown a conforming body and bodies that break one rule each."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from tests.presets import rules

TEXT = {"type": "mrkdwn", "text": "ok"}
SLACK = {
    "text": "Opened",
    "attachments": [
        {
            "color": "#B01C2E",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "Opened: S-1"}},
                {"type": "section", "text": TEXT, "fields": [TEXT]},
                {"type": "section", "text": {"type": "mrkdwn", "text": "a &amp; b … <https://e.com/p|more>"}},
                {"type": "context", "elements": [TEXT]},
                {"type": "actions", "elements": [{"type": "button", "url": "https://e.com", "text": TEXT}]},
            ],
        }
    ],
}
TEAMS = {
    "type": "message",
    "attachments": [
        {
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": None,
            "content": {
                "type": "AdaptiveCard",
                "version": "1.5",
                "body": [
                    {"type": "TextBlock", "text": "Opened", "color": "Attention", "weight": "Bolder"},
                    {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": "[x](https://e.com)"}]},
                    {"type": "FactSet", "facts": [{"title": "Risk", "value": "High"}]},
                ],
                "actions": [{"type": "Action.OpenUrl", "title": "Open", "url": "https://e.com"}],
            },
        }
    ],
}
PAGERDUTY = {
    "routing_key": "R" * 32,
    "event_action": "trigger",
    "dedup_key": "S-1",
    "payload": {
        "summary": "s",
        "source": "secnotify",
        "severity": "error",
        "timestamp": "2026-01-01T12:00:00Z",
    },
}
OPSGENIE = {"message": "m", "alias": "S-1", "tags": ["a"], "details": {"k": "v"}, "priority": "P2"}
ADF_DOC = {
    "version": 1,
    "type": "doc",
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "x"}]}],
}
JIRA = {
    "fields": {
        "project": {"key": "SEC"},
        "issuetype": {"name": "Bug"},
        "summary": "Security problem S-1: x",
        "description": ADF_DOC,
        "labels": ["security"],
    }
}
HEC = {"time": 1.5, "sourcetype": "s", "index": "main", "event": {"a": 1}, "fields": {"a": "b", "c": ["d"]}}


def _with(body: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(body)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    if value is KeyError:
        del node[last]
    else:
        node[int(last) if last.isdigit() else last] = value
    return out


GOOD = [
    (rules.slack, SLACK),
    (rules.teams, TEAMS),
    (rules.pagerduty, PAGERDUTY),
    (rules.opsgenie_create, OPSGENIE),
    (rules.opsgenie_close, {"user": "secnotify", "note": "n"}),
    (rules.jira_create, JIRA),
    (rules.jira_comment, {"body": ADF_DOC}),
    (rules.splunk_hec, HEC),
]
A = "attachments.0.blocks"
C = "attachments.0.content"
D = "fields.description"
BAD = [
    ("slack section over 3,000", rules.slack, _with(SLACK, f"{A}.1.text.text", "x" * 3001)),
    ("slack field over 2,000", rules.slack, _with(SLACK, f"{A}.1.fields.0.text", "x" * 2001)),
    ("slack 11 fields", rules.slack, _with(SLACK, f"{A}.1.fields", [TEXT] * 11)),
    ("slack header over 150", rules.slack, _with(SLACK, f"{A}.0.text.text", "x" * 151)),
    ("slack empty text", rules.slack, _with(SLACK, f"{A}.3.elements.0.text", "")),
    ("slack 51 blocks", rules.slack, _with(SLACK, A, [{"type": "divider"}] * 51)),
    ("slack a mention", rules.slack, _with(SLACK, f"{A}.1.text.text", "<!channel> look")),
    ("slack a bare &", rules.slack, _with(SLACK, f"{A}.1.text.text", "a & b")),
    ("slack a button label over 75", rules.slack, _with(SLACK, f"{A}.4.elements.0.text.text", "x" * 76)),
    ("slack a script URL", rules.slack, _with(SLACK, f"{A}.4.elements.0.url", "javascript:alert(1)")),
    ("slack colour", rules.slack, _with(SLACK, "attachments.0.color", "red")),
    ("teams version 1.6", rules.teams, _with(TEAMS, f"{C}.version", "1.6")),
    ("teams a Markdown link", rules.teams, _with(TEAMS, f"{C}.body.0.text", "[x](https://e.com)")),
    ("teams a number as a fact", rules.teams, _with(TEAMS, f"{C}.body.2.facts.0.value", 9.8)),
    ("teams an unknown colour", rules.teams, _with(TEAMS, f"{C}.body.0.color", "Red")),
    ("teams over 28 KB", rules.teams, _with(TEAMS, f"{C}.body.1.inlines.0.text", "x" * 29000)),
    ("teams no type message", rules.teams, _with(TEAMS, "type", "AdaptiveCard")),
    ("teams an action without a URL", rules.teams, _with(TEAMS, f"{C}.actions.0.url", KeyError)),
    ("pagerduty severity high", rules.pagerduty, _with(PAGERDUTY, "payload.severity", "high")),
    ("pagerduty summary over 1,024", rules.pagerduty, _with(PAGERDUTY, "payload.summary", "x" * 1025)),
    ("pagerduty dedup_key over 255", rules.pagerduty, _with(PAGERDUTY, "dedup_key", "x" * 256)),
    ("pagerduty no source", rules.pagerduty, _with(PAGERDUTY, "payload.source", KeyError)),
    ("pagerduty a short routing key", rules.pagerduty, _with(PAGERDUTY, "routing_key", "abc")),
    ("pagerduty action close", rules.pagerduty, _with(PAGERDUTY, "event_action", "close")),
    ("opsgenie message over 130", rules.opsgenie_create, _with(OPSGENIE, "message", "x" * 131)),
    ("opsgenie 21 tags", rules.opsgenie_create, _with(OPSGENIE, "tags", ["t"] * 21)),
    ("opsgenie priority P0", rules.opsgenie_create, _with(OPSGENIE, "priority", "P0")),
    ("opsgenie a typed detail", rules.opsgenie_create, _with(OPSGENIE, "details.k", 1)),
    ("opsgenie close note over 25,000", rules.opsgenie_close, {"note": "x" * 25001}),
    ("jira summary of two lines", rules.jira_create, _with(JIRA, "fields.summary", "a\nb")),
    ("jira summary over 255", rules.jira_create, _with(JIRA, "fields.summary", "x" * 256)),
    ("jira a label with a space", rules.jira_create, _with(JIRA, "fields.labels", ["a b"])),
    ("jira an empty text node", rules.jira_create, _with(JIRA, f"{D}.content.0.content.0.text", "")),
    ("jira a list without items", rules.jira_create, _with(JIRA, f"{D}.content", [
        {"type": "bulletList", "content": []}])),
    ("jira a node ADF lacks", rules.jira_comment, {"body": _with(ADF_DOC, "content.0.type", "toc")}),
    ("hec a nested field", rules.splunk_hec, _with(HEC, "fields.a", {"b": "c"})),
    ("hec a number field", rules.splunk_hec, _with(HEC, "fields.a", 1)),
    ("hec time as text", rules.splunk_hec, _with(HEC, "time", "yesterday")),
    ("hec no event", rules.splunk_hec, _with(HEC, "event", KeyError)),
    ("hec an index in capitals", rules.splunk_hec, _with(HEC, "index", "Main")),
]  # fmt: skip


@pytest.mark.parametrize(("check", "body"), GOOD, ids=[c.__name__ for c, _ in GOOD])
def test_a_conforming_body_passes(check: rules.Check, body: Any) -> None:
    assert check(json.loads(json.dumps(body))) == []


@pytest.mark.parametrize(("case", "check", "body"), BAD, ids=[b[0] for b in BAD])
def test_a_body_breaking_one_rule_is_refused(case: str, check: rules.Check, body: Any) -> None:
    assert check(body), case


def test_the_adf_schema_is_atlassians_published_one() -> None:
    package = json.loads((rules.SCHEMAS / "@atlaskit" / "adf-schema" / "package.json").read_text())
    lock = json.loads((rules.SCHEMAS.parent / "package-lock.json").read_text())
    assert package["name"] == "@atlaskit/adf-schema"
    assert package["version"] == lock["packages"]["node_modules/@atlaskit/adf-schema"]["version"]
    schema = json.loads(rules.ADF_SCHEMA.read_text())
    assert schema["description"] == "Schema for Atlassian Document Format."
    assert schema["$ref"] == "#/definitions/doc_node" and len(schema["definitions"]) > 50
