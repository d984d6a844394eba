"""Every preset renders every event the dispatcher understands (tests/presets/samples.py) to a body
its receiver takes (tests/presets/rules.py): the payload for every trigger, and for Jira and
Opsgenie the resolved notice's own payload. Renders go through the same compile and render path
as a delivery, with the preset's secrets filled in."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest

from secnotify.models.common import TriggerEvent
from secnotify.models.event import ManagementZone, SecurityEvent
from secnotify.presets import presets
from secnotify.templating import RenderLimits, compile_template
from secnotify.templating.path import compile_path, resolved_url
from tests.presets import rules
from tests.presets.samples import GROUPS

NAMES = sorted(presets())


@cache
def built(name: str) -> dict[str, Any]:
    preset = presets()[name]
    return preset.build(preset.example)


def render(name: str, event: SecurityEvent, part: str = "payload") -> Any:
    doc = built(name)
    hook = doc["webhook"]
    template = hook["payload"] if part == "payload" else hook["resolved"]["payload"]
    content_type = next(h["value"] for h in hook["headers"] if h["name"].lower() == "content-type")
    secrets = {s["name"]: s["value"] for s in doc.get("secrets", [])}
    body = compile_template(template, content_type, RenderLimits()).render(event, secrets)
    return json.loads(body)


def _pid(event: SecurityEvent) -> str:
    """The problem's stable id (display ids repeat across environments), an attack's id, hashed when long."""
    key = event.security_problem_id or event.display_id or event.attack_id or event.event_id
    if len(key) <= 200 and key.isprintable():
        return key
    return "sha256-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def resolved_target(name: str, event: SecurityEvent) -> str:
    """The URL the resolved notice goes to, rendered and percent-encoded as the dispatcher does."""
    hook = built(name)["webhook"]
    return resolved_url(hook["url"], compile_path(hook["resolved"]["path"]).render(event))


def _semantics(name: str, event: SecurityEvent, body: Any) -> list[str]:  # noqa: C901 - one branch a preset
    """What each preset promises beyond its receiver's rules."""
    resolved = event.trigger is TriggerEvent.SECURITY_PROBLEM_RESOLVED
    attack = event.trigger is TriggerEvent.ATTACK_DETECTED
    # An attack's severity follows its state (tests/presets/test_attack_rendering.py); a problem's its risk.
    level = (
        {"EXPLOITED": "CRITICAL", "BLOCKED": "MEDIUM"}.get(event.attack_state, "LOW")
        if attack
        else event.risk_level
    )
    problems = []
    if name == "pagerduty":
        if body["event_action"] != ("resolve" if resolved else "trigger"):
            problems.append(f"event_action {body['event_action']} for {event.trigger}")
        if body["dedup_key"] != _pid(event) or not 0 < len(body["dedup_key"]) <= 255:
            problems.append("dedup_key is not the problem id")
        if not resolved and not attack:
            details = body["payload"]["custom_details"]
            typed = (
                isinstance(details["exposed"], bool)
                and isinstance(details["cve_ids"], list)
                and (details["risk_score"] is None or isinstance(details["risk_score"], float))
            )
            if not typed:
                problems.append("custom_details lost their types")
        if not resolved:
            expected = {"CRITICAL": "critical", "HIGH": "error", "MEDIUM": "warning"}.get(level, "info")
            if body["payload"]["severity"] != expected:
                problems.append(f"severity {body['payload']['severity']} for {level}")
    elif name == "opsgenie":
        if body["alias"] != _pid(event) or not 0 < len(body["alias"]) <= 512:
            problems.append("alias is not the problem id")
        expected_close = f"/v2/alerts/{quote(body['alias'], safe='')}/close?identifierType=alias"
        if urlsplit(resolved_target(name, event))._replace(scheme="", netloc="").geturl() != expected_close:
            problems.append("the close path does not name the alias the create used")
        expected = {"CRITICAL": "P1", "HIGH": "P2", "MEDIUM": "P3"}.get(level, "P5" if attack else "P4")
        if body["priority"] != expected:
            problems.append(f"priority {body['priority']} for {level}")
    elif name == "splunk-hec":
        data = body["event"]
        said = (data["state"], event.attack_state) if attack else (data["status"], event.status)
        if said[0] != said[1] or data["trigger"] != event.trigger:
            problems.append("the event does not say its status and trigger")
        exposed = attack or isinstance(data["exposed"], bool)  # an attack has no exposure
        if not exposed or not isinstance(data["affected_entities"], list):
            problems.append("the event's fields lost their types")
    elif name == "slack":
        color = body["attachments"][0]["color"]
        if resolved != (color == "#2EB67D"):
            problems.append(f"colour {color} for {event.trigger}")
    elif name == "teams":
        first = body["attachments"][0]["content"]["body"][0]
        if resolved != (first.get("color") == "Good"):
            problems.append(f"colour {first.get('color')} for {event.trigger}")
    elif name == "jira":
        shown = event.attack_display_id or event.attack_id if attack else None
        shown = shown or event.display_id or event.security_problem_id or event.event_id
        if shown[:100] not in body["fields"]["summary"].replace("\n", " "):
            problems.append("the summary does not name the problem")
    elif name == "generic-json" and body != event.model_dump(mode="json"):
        problems.append("the body is not the normalised event")
    return problems


@pytest.mark.parametrize("group", list(GROUPS))
@pytest.mark.parametrize("name", NAMES)
def test_every_preset_renders_every_sample_to_what_its_receiver_takes(name: str, group: str) -> None:
    check = rules.CHECKS.get(name)
    resolved_check = rules.RESOLVED_CHECKS.get(name)
    failures = []
    for event in GROUPS[group]:
        label = f"{event.detail_type} ({event.event_id})"
        body = render(name, event)
        problems = (check(body) if check else []) + _semantics(name, event, body)
        if resolved_check is not None:
            problems += [f"resolved payload: {p}" for p in resolved_check(render(name, event, "resolved"))]
        failures += [f"{label}: {p}" for p in problems]
    assert failures == []


def test_the_samples_hold_every_trigger_and_source() -> None:
    events = [e for group in GROUPS.values() for e in group]
    assert {e.trigger for e in events} == set(TriggerEvent)
    assert "Security Problem Reopened" in {e.detail_type for e in events}
    assert {e.source for e in events} >= {"", "Amazon Inspector", "AWS Security Hub", "Amazon GuardDuty"}
    assert "eventbridge/hostile.json" in GROUPS


def test_slack_cuts_long_text_with_an_ellipsis_and_a_link() -> None:
    event = next(e for e in GROUPS["edge: long text"] if e.trigger is TriggerEvent.SECURITY_PROBLEM_OPENED)
    blocks = render("slack", event)["attachments"][0]["blocks"]
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    title, description = texts[0], next(t for t in texts if t.startswith("*Description*"))
    link = f"… <{event.url}|more>"
    for text in (title, description):
        assert text.endswith(link) and len(text) <= 3000, text[-80:]
    # The cut fell inside "&amp;" or "&lt;": the half escape was dropped, not sent.
    assert title[: -len(link)].endswith("a" * 10), title[-60:]
    entities = render("slack", next(iter(GROUPS["edge: many entities"])))["attachments"][0]["blocks"]
    listed = next(
        b["text"]["text"] for b in entities if b.get("text", {}).get("text", "").startswith("*Affected")
    )
    assert listed.endswith(link) and len(listed) <= 3000


def test_slack_never_mentions_or_links_from_event_text() -> None:
    event = GROUPS["edge: mention and link injection"][0]
    body = json.dumps(render("slack", event))
    assert "<!channel>" not in body and "<@U123>" not in body and "<https://evil.example|click>" not in body
    assert "&lt;!channel&gt;" in body
    # Its URL holds | and >: no button, no link.
    assert '"actions"' not in body and "evil.example/a|b" not in body.replace("&gt;", ">")


def test_teams_breaks_markdown_links_in_facts_and_shows_text_as_plain_runs() -> None:
    event = GROUPS["edge: long text"][0]
    card = render("teams", event)["attachments"][0]["content"]
    zones = next(
        f for e in card["body"] if e["type"] == "FactSet" for f in e["facts"] if f["title"] == "Zones"
    )
    assert zones["value"].startswith("zone 0 & co")
    runs = [r["text"] for e in card["body"] if e["type"] == "RichTextBlock" for r in e["inlines"]]
    assert any("[link](https://evil.example)" in r for r in runs)  # shown as typed, never a link
    # Fact values are Markdown: event text that looks like a link is shown broken, never linked.
    hostile = "[z](https://evil.example)"
    linked = event.model_copy(
        update={"management_zones": (ManagementZone(id="1", name=hostile),), "cve_ids": (hostile,)}
    )
    card = render("teams", linked)["attachments"][0]["content"]
    facts = {f["title"]: f["value"] for e in card["body"] if e["type"] == "FactSet" for f in e["facts"]}
    for title in ("Zones", "CVEs"):
        assert facts[title].replace("\u200b", "") == hostile and "](" not in facts[title], facts[title]
    markdown = [e["text"] for e in card["body"] if e["type"] == "TextBlock"] + [*facts, *facts.values()]
    assert all("](" not in text for text in markdown)


def test_pagerduty_resolves_what_it_triggered() -> None:
    for group in ("eventbridge/opened.json", "aws/inspector-active.json", "eventbridge/hostile.json"):
        events = GROUPS[group]
        opened = next(e for e in events if e.trigger is TriggerEvent.SECURITY_PROBLEM_OPENED)
        resolved = next(e for e in events if e.trigger is TriggerEvent.SECURITY_PROBLEM_RESOLVED)
        trigger, resolve = render("pagerduty", opened), render("pagerduty", resolved)
        assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
        assert trigger["dedup_key"] == resolve["dedup_key"] == _pid(opened)
        assert (
            trigger["routing_key"] == resolve["routing_key"] == presets()["pagerduty"].example["routingKey"]
        )


@pytest.mark.parametrize(
    "update",
    [
        {"display_id": ""},
        {"display_id": "S-1", "security_problem_id": ""},
        {"security_problem_id": "9" * 600},
        {"security_problem_id": "a/b?c#d e%2F.."},
        {"security_problem_id": "."},
    ],
    ids=["no-display-id", "display-id-only", "id-over-512", "reserved-characters", "dot"],
)
def test_opsgenie_closes_the_alias_it_created(update: dict[str, str]) -> None:
    opened = GROUPS["eventbridge/opened.json"][0].model_copy(update=update)
    resolved = opened.model_copy(update={"trigger": TriggerEvent.SECURITY_PROBLEM_RESOLVED})
    alias = render("opsgenie", opened)["alias"]
    assert alias and len(alias) <= 512
    assert alias == _pid(opened)
    target = urlsplit(resolved_target("opsgenie", resolved))
    assert target.query == "identifierType=alias"
    segments = target.path.split("/")
    assert segments[:3] == ["", "v2", "alerts"] and segments[4:] == ["close"]
    assert unquote(segments[3]) == alias
    assert "." not in (segments[3], "..")


@pytest.mark.parametrize("update", [{"display_id": "S-1"}, {"security_problem_id": "7" * 300}])
def test_pagerduty_dedup_key_is_the_stable_problem_id(update: dict[str, str]) -> None:
    opened = GROUPS["eventbridge/opened.json"][0].model_copy(update=update)
    other_env = opened.model_copy(update={"security_problem_id": opened.security_problem_id + "0"})
    key = render("pagerduty", opened)["dedup_key"]
    assert key == _pid(opened) and 0 < len(key) <= 255
    assert key != render("pagerduty", other_env)["dedup_key"]


def test_a_preview_of_a_preset_shows_its_secrets_masked() -> None:
    from secnotify.service.integration_edits import masked_secrets
    from secnotify.templating import render_preview

    doc = built("pagerduty")
    body, errors = render_preview(
        doc["webhook"]["payload"], "application/json", GROUPS["eventbridge/opened.json"][0], RenderLimits(),
        masked_secrets(["routingKey"]),
    )  # fmt: skip
    assert errors == [] and json.loads(body)["routing_key"] == "***"
