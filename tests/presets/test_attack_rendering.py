"""Every preset renders an attack as an attack (README "Presets"): it says so, with the attack's
display id, its state in words, what it hit and a link to it; the receiver's severity or priority
follows the state (exploited the most urgent, blocked lower, allowlisted the lowest); and no row of
a security problem (status, risk, CVSS, CVEs) appears, empty or not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from secnotify.models.event import SecurityEvent
from secnotify.sources import parse_eventbridge
from tests.conftest import load_event
from tests.presets.test_preset_rendering import render

STATES = {"EXPLOITED": "Exploited", "BLOCKED": "Blocked", "ALLOWLISTED": "Allowlisted"}
# The receiver's most urgent level for an exploited attack, a lower one for a blocked attack, the
# lowest for an allowlisted one (Jira: the first, third and fourth of the preset's priorities).
URGENCY = {
    "slack": {"EXPLOITED": "#B01C2E", "BLOCKED": "#F2C744", "ALLOWLISTED": "#3A7BD5"},
    "teams": {"EXPLOITED": "Attention", "BLOCKED": "Warning", "ALLOWLISTED": "Accent"},
    "pagerduty": {"EXPLOITED": "critical", "BLOCKED": "warning", "ALLOWLISTED": "info"},
    "opsgenie": {"EXPLOITED": "P1", "BLOCKED": "P3", "ALLOWLISTED": "P5"},
    "jira": {"EXPLOITED": "Highest", "BLOCKED": "Medium", "ALLOWLISTED": "Low"},
    "splunk-hec": {"EXPLOITED": "Critical", "BLOCKED": "Medium", "ALLOWLISTED": "Low"},
}
NAMES = sorted(URGENCY)
PROBLEM_ROWS = ("Status", "Risk", "CVSS", "CVEs", "Public exploit", "Exploit", "Security problem")
PROBLEM_KEYS = {
    "status", "risk_level", "riskLevel", "risk_score", "riskScore", "cvss_score", "cvssScore", "cve_ids",
    "cve", "exposed", "exploit_available", "exploitAvailable", "security_problem_id", "securityProblemId",
}  # fmt: skip


def _attack(state: str, sample: str = "attack-exploited") -> SecurityEvent:
    event = parse_eventbridge(load_event(f"eventbridge/{sample}.json"))
    return event.model_copy(update={"attack_state": state})


def urgency(name: str, body: Any) -> str:
    """The severity, priority or colour the receiver goes by."""
    if name == "slack":
        return str(body["attachments"][0]["color"])
    if name == "teams":
        return str(body["attachments"][0]["content"]["body"][0]["color"])
    if name == "pagerduty":
        return str(body["payload"]["severity"])
    if name == "opsgenie":
        return str(body["priority"])
    if name == "jira":
        return str(body["fields"]["priority"]["name"])
    return str(body["event"]["severity"])


def rows(name: str, body: Any) -> list[tuple[str, str]]:
    """The labelled rows a person reads, as ``(label, value)``."""
    if name == "slack":
        blocks = body["attachments"][0]["blocks"]
        texts = [f["text"] for b in blocks for f in b.get("fields", [])]
        return [(t.split("\n", 1)[0].strip("*"), t.split("\n", 1)[1]) for t in texts]
    if name == "teams":
        content = body["attachments"][0]["content"]["body"]
        return [(f["title"], f["value"]) for e in content if e["type"] == "FactSet" for f in e["facts"]]
    if name == "opsgenie":
        lines = body["description"].split("\n")[1:]
        return [tuple(line.split(": ", 1)) for line in lines if ": " in line]  # type: ignore[misc]
    if name == "jira":
        doc = body["fields"]["description"]["content"]
        heading = next(n for n in doc if n.get("content") == [{"type": "text", "text": "Details"}])
        details = doc[doc.index(heading) + 1]
        texts = [i["content"][0]["content"][0]["text"] for i in details["content"]]
        return [tuple(t.split(": ", 1)) for t in texts]  # type: ignore[misc]
    data = body["payload"]["custom_details"] if name == "pagerduty" else body["event"]
    return [(k, json.dumps(v)) for k, v in data.items()]


def headline(name: str, body: Any) -> str:
    """What a person reads first: the message, heading, summary or title."""
    if name == "slack":
        return str(body["attachments"][0]["blocks"][0]["text"]["text"])
    if name == "teams":
        return str(body["attachments"][0]["content"]["body"][0]["text"])
    if name == "pagerduty":
        return str(body["payload"]["summary"])
    if name == "opsgenie":
        return str(body["message"])
    if name == "jira":
        return str(body["fields"]["summary"])
    return f"{body['event']['trigger']} {body['event']['state']}"


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("name", NAMES)
def test_an_attack_renders_as_an_attack_with_its_id_state_and_link(name: str, state: str) -> None:
    event = _attack(state)
    body = render(name, event)
    text = json.dumps(body, ensure_ascii=False)
    assert "attack" in headline(name, body).lower(), headline(name, body)
    for shown in ("A-4321", event.attack_url, event.entry_point, event.vulnerability_name):
        assert shown in text, (name, shown)
    word = state if name == "splunk-hec" else STATES[state]  # Splunk keeps the value, typed
    assert word in text, (name, word)


@pytest.mark.parametrize("state", list(STATES))
@pytest.mark.parametrize("name", NAMES)
def test_an_attacks_severity_or_priority_follows_its_state(name: str, state: str) -> None:
    assert urgency(name, render(name, _attack(state))) == URGENCY[name][state]


@pytest.mark.parametrize("sample", ["attack-exploited", "attack-allowlisted", "attack-hostile"])
@pytest.mark.parametrize("name", NAMES)
def test_an_attack_shows_no_problem_row_and_no_empty_row(name: str, sample: str) -> None:
    body = render(name, _attack("BLOCKED", sample))
    labelled = rows(name, body)
    assert labelled, name
    for label, value in labelled:
        assert label not in PROBLEM_ROWS and label not in PROBLEM_KEYS, (name, label)
        if name not in ("pagerduty", "splunk-hec"):  # typed fields keep their place, empty or not
            assert value.strip(), (name, label)
    assert "[None]" not in json.dumps(body) and "security problem" not in json.dumps(body).lower()
    if name == "opsgenie":  # details are a table of text in the alert: no empty line
        assert all(body["details"].values()) and PROBLEM_KEYS.isdisjoint(body["details"])


@pytest.mark.parametrize("name", NAMES)
def test_a_hostile_attack_link_is_never_made_a_link(name: str) -> None:
    body = render(name, _attack("EXPLOITED", "attack-hostile"))
    text = json.dumps(body, ensure_ascii=False)
    assert "attack" in headline(name, body).lower()
    if name == "splunk-hec":  # data for a SIEM, never a link: kept as the event gave it
        assert body["event"]["url"].startswith("javascript:")
    else:
        assert "javascript:" not in text, name


def test_pagerduty_triggers_an_attack_on_its_attack_id_and_opsgenie_aliases_it() -> None:
    event = _attack("EXPLOITED")
    pagerduty = render("pagerduty", event)
    assert (pagerduty["event_action"], pagerduty["dedup_key"]) == ("trigger", event.attack_id)
    assert render("opsgenie", event)["alias"] == event.attack_id
