"""Each receiver's published rules, as checks of a rendered payload: each returns the list of rules
a body breaks (empty when it conforms). Every rule names where it is documented.

Jira's Atlassian Document Format is checked against the JSON schema Atlassian publishes in
``@atlaskit/adf-schema`` (installed by ``make preset-schemas``, an ``npm ci`` of tests/presets)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

Check = Callable[[Any], list[str]]

SLACK_BLOCKS = "https://docs.slack.dev/reference/block-kit/blocks"
SLACK_ESCAPING = "https://docs.slack.dev/messaging/formatting-message-text#escaping"
SLACK_ATTACHMENTS = "https://docs.slack.dev/messaging/formatting-message-text#when-to-use-attachments"
TEAMS_WEBHOOK = "https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using"
ADAPTIVE_CARDS = "https://adaptivecards.io/explorer/ (schema 1.5)"
PAGERDUTY = "https://developer.pagerduty.com/docs/events-api-v2/trigger-events/"
PAGERDUTY_LIMITS = "https://developer.pagerduty.com/docs/events-api-v2/overview/#size-limits"
OPSGENIE = "https://docs.opsgenie.com/docs/alert-api"
JIRA_CREATE = (
    "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-post"
)
JIRA_COMMENT = (
    "https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-comments/"
    "#api-rest-api-3-issue-issueidorkey-comment-post"
)
ADF = "@atlaskit/adf-schema json-schema/v1/full.json"
HEC_FORMAT = (
    "https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/"
    "format-events-for-http-event-collector"
)
HEC_FIELDS = (
    "https://help.splunk.com/en/splunk-enterprise/get-data-in/collect-http-event-data/"
    "automate-indexed-field-extractions-with-http-event-collector"
)

SCHEMAS = Path(__file__).resolve().parent / "node_modules"
ADF_SCHEMA = SCHEMAS / "@atlaskit" / "adf-schema" / "json-schema" / "v1" / "full.json"


def _is_text(value: Any, low: int, high: int) -> bool:
    return isinstance(value, str) and low <= len(value) <= high


def _http_url(value: Any, high: int) -> bool:
    return (
        isinstance(value, str)
        and len(value) <= high
        and re.match(r"^https?://[^\s/?#]+", value) is not None
        and not re.search(r"\s", value)
    )


# ---- Slack ----------------------------------------------------------------------------------------

_SLACK_LINK = re.compile(r"<https?://[^\s|<>]+\|[^<>]*>")
_SLACK_ENTITY = re.compile(r"&(?:amp|lt|gt);")


def _slack_text_object(obj: Any, where: str, high: int) -> list[str]:
    if not isinstance(obj, dict) or obj.get("type") not in ("mrkdwn", "plain_text"):
        return [f"{where}: a text object is mrkdwn or plain_text ({SLACK_BLOCKS})"]
    text = obj.get("text")
    if not _is_text(text, 1, high):
        return [f"{where}: text must be 1 to {high} characters, has {len(text or '')} ({SLACK_BLOCKS})"]
    if obj["type"] == "mrkdwn":
        # Event text must neither mention nor link: <, > and & only as escapes, or in our links.
        bare = _SLACK_LINK.sub("", text)
        if "<" in bare or ">" in bare or "&" in _SLACK_ENTITY.sub("", bare):
            return [f"{where}: unescaped &, < or > in mrkdwn ({SLACK_ESCAPING})"]
    return []


def _slack_block(block: Any, where: str) -> list[str]:  # noqa: C901 - one branch per block type
    kind = block.get("type") if isinstance(block, dict) else None
    problems: list[str] = []
    if kind == "header":
        text = block.get("text")
        if not isinstance(text, dict) or text.get("type") != "plain_text":
            problems.append(f"{where}: a header's text is plain_text ({SLACK_BLOCKS})")
        problems += _slack_text_object(text, f"{where}.text", 150)
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"{where}: a section needs text or fields ({SLACK_BLOCKS})")
        if "text" in block:
            problems += _slack_text_object(block["text"], f"{where}.text", 3000)
        if "fields" in block:
            fields = block["fields"]
            if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
                problems.append(f"{where}.fields: 1 to 10 items ({SLACK_BLOCKS})")
            for i, field in enumerate(fields if isinstance(fields, list) else []):
                problems += _slack_text_object(field, f"{where}.fields[{i}]", 2000)
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            problems.append(f"{where}.elements: 1 to 10 items ({SLACK_BLOCKS})")
        for i, element in enumerate(elements if isinstance(elements, list) else []):
            problems += _slack_text_object(element, f"{where}.elements[{i}]", 3000)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            problems.append(f"{where}.elements: 1 to 25 items ({SLACK_BLOCKS})")
        for i, button in enumerate(elements if isinstance(elements, list) else []):
            if not isinstance(button, dict) or button.get("type") != "button":
                problems.append(f"{where}.elements[{i}]: only buttons are used")
                continue
            problems += _slack_text_object(button.get("text"), f"{where}.elements[{i}].text", 75)
            if "url" in button and not _http_url(button["url"], 3000):
                problems.append(
                    f"{where}.elements[{i}].url: an http(s) URL of at most 3,000 ({SLACK_BLOCKS})"
                )
    elif kind != "divider":
        problems.append(f"{where}: unknown block type {kind!r}")
    return problems


def slack(body: Any) -> list[str]:
    problems = []
    if not isinstance(body, dict):
        return ["a Slack message is a JSON object"]
    if not _is_text(body.get("text"), 1, 40000):
        problems.append(f"text: the notification text, 1 to 40,000 characters ({SLACK_BLOCKS})")
    blocks = [("blocks", b) for b in body.get("blocks", [])]
    for i, attachment in enumerate(body.get("attachments", [])):
        if not re.fullmatch(r"#[0-9A-Fa-f]{6}", str(attachment.get("color", ""))):
            problems.append(f"attachments[{i}].color: a hex colour ({SLACK_ATTACHMENTS})")
        blocks += [(f"attachments[{i}].blocks", b) for b in attachment.get("blocks", [])]
    if not 1 <= len(blocks) <= 50:
        problems.append(f"a message holds 1 to 50 blocks, has {len(blocks)} ({SLACK_BLOCKS})")
    for i, (where, block) in enumerate(blocks):
        problems += _slack_block(block, f"{where}#{i}")
    return problems


# ---- Microsoft Teams: Adaptive Card 1.5 in a Workflows webhook message -------------------------

_COLORS = {"Default", "Dark", "Light", "Accent", "Good", "Warning", "Attention"}
_SIZES = {"Default", "Small", "Medium", "Large", "ExtraLarge"}
_WEIGHTS = {"Default", "Lighter", "Bolder"}
TEAMS_MAX_BYTES = 28 * 1024


def _card_text(value: Any, where: str, markdown: bool) -> list[str]:
    if not isinstance(value, str):
        return [f"{where}: a string ({ADAPTIVE_CARDS})"]
    if markdown and "](" in value:
        return [f"{where}: event text makes a Markdown link (TextBlock and Fact text are Markdown)"]
    return []


def _card_style(element: dict[str, Any], where: str) -> list[str]:
    problems = []
    for key, allowed in (("color", _COLORS), ("size", _SIZES), ("weight", _WEIGHTS)):
        if key in element and str(element[key]).title() not in {a.title() for a in allowed}:
            problems.append(f"{where}.{key}: one of {sorted(allowed)} ({ADAPTIVE_CARDS})")
    return problems


def _rich_text(element: dict[str, Any], where: str) -> list[str]:
    inlines = element.get("inlines")
    if not isinstance(inlines, list) or not inlines:
        return [f"{where}.inlines: required, TextRuns ({ADAPTIVE_CARDS})"]
    problems = []
    for i, run in enumerate(inlines):
        if isinstance(run, dict) and run.get("type") == "TextRun":
            problems += _card_text(run.get("text"), f"{where}.inlines[{i}].text", False)
            problems += _card_style(run, f"{where}.inlines[{i}]")
        elif not isinstance(run, str):
            problems.append(f"{where}.inlines[{i}]: a TextRun or a string ({ADAPTIVE_CARDS})")
    return problems


def _fact_set(element: dict[str, Any], where: str) -> list[str]:
    facts = element.get("facts")
    if not isinstance(facts, list) or not facts:
        return [f"{where}.facts: required ({ADAPTIVE_CARDS})"]
    problems = []
    for i, fact in enumerate(facts):
        if not isinstance(fact, dict) or set(fact) != {"title", "value"}:
            problems.append(f"{where}.facts[{i}]: exactly title and value ({ADAPTIVE_CARDS})")
            continue
        problems += _card_text(fact["title"], f"{where}.facts[{i}].title", True)
        problems += _card_text(fact["value"], f"{where}.facts[{i}].value", True)
    return problems


def _card_element(element: Any, where: str) -> list[str]:
    kind = element.get("type") if isinstance(element, dict) else None
    if kind == "TextBlock":
        return _card_text(element.get("text"), f"{where}.text", True) + _card_style(element, where)
    if kind == "RichTextBlock":
        return _rich_text(element, where)
    if kind == "FactSet":
        return _fact_set(element, where)
    return [f"{where}: element type {kind!r} is not one the preset uses"]


def teams(body: Any) -> list[str]:
    size = len(json.dumps(body, ensure_ascii=False).encode("utf-8"))
    problems = (
        [] if size <= TEAMS_MAX_BYTES else [f"the message takes {size} bytes, over 28 KB ({TEAMS_WEBHOOK})"]
    )
    if not isinstance(body, dict) or body.get("type") != "message":
        return [
            *problems,
            f'a Workflows webhook body is {{"type": "message", "attachments": …}} ({TEAMS_WEBHOOK})',
        ]
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return [*problems, "one attachment: the card"]
    attachment = attachments[0]
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        problems.append(
            f"attachments[0].contentType: application/vnd.microsoft.card.adaptive ({TEAMS_WEBHOOK})"
        )
    card = attachment.get("content")
    if not isinstance(card, dict) or card.get("type") != "AdaptiveCard" or card.get("version") != "1.5":
        return [*problems, f'content: {{"type": "AdaptiveCard", "version": "1.5"}} ({ADAPTIVE_CARDS})']
    body_elements = card.get("body")
    if not isinstance(body_elements, list) or not body_elements:
        problems.append(f"content.body: the card's elements ({ADAPTIVE_CARDS})")
    for i, element in enumerate(body_elements or []):
        problems += _card_element(element, f"body[{i}]")
    for i, action in enumerate(card.get("actions", [])):
        if action.get("type") != "Action.OpenUrl" or not _http_url(action.get("url"), 100_000):
            problems.append(f"actions[{i}]: Action.OpenUrl with an absolute http(s) url ({ADAPTIVE_CARDS})")
        if not _is_text(action.get("title"), 1, 200):
            problems.append(f"actions[{i}].title: a label ({ADAPTIVE_CARDS})")
    return problems


# ---- PagerDuty Events API v2 ------------------------------------------------------------------------


def _iso8601(value: Any) -> bool:
    try:
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def pagerduty(body: Any) -> list[str]:  # noqa: C901 - one check per documented field
    if not isinstance(body, dict):
        return ["an event is a JSON object"]
    problems = []
    if len(json.dumps(body).encode()) > 512 * 1024:
        problems.append(f"over 512 KB ({PAGERDUTY_LIMITS})")
    if not _is_text(body.get("routing_key"), 32, 32):
        problems.append(f"routing_key: the 32-character Integration Key ({PAGERDUTY})")
    action = body.get("event_action")
    if action not in ("trigger", "acknowledge", "resolve"):
        problems.append(f"event_action: trigger, acknowledge or resolve ({PAGERDUTY})")
    if not _is_text(body.get("dedup_key"), 1, 255):
        problems.append(
            f"dedup_key: at most 255 characters, and set, so a resolve finds its trigger ({PAGERDUTY})"
        )
    if action != "trigger":
        return problems
    payload = body.get("payload")
    if not isinstance(payload, dict):
        return [*problems, f"payload: required for a trigger ({PAGERDUTY})"]
    if not _is_text(payload.get("summary"), 1, 1024):
        problems.append(f"payload.summary: required, at most 1,024 characters ({PAGERDUTY})")
    if not _is_text(payload.get("source"), 1, 100_000):
        problems.append(f"payload.source: required ({PAGERDUTY})")
    if payload.get("severity") not in ("critical", "error", "warning", "info"):
        problems.append(f"payload.severity: critical, error, warning or info ({PAGERDUTY})")
    if "timestamp" in payload and not _iso8601(payload["timestamp"]):
        problems.append(f"payload.timestamp: ISO 8601 ({PAGERDUTY})")
    for key in ("component", "group", "class"):
        if key in payload and not _is_text(payload[key], 1, 100_000):
            problems.append(f"payload.{key}: a string ({PAGERDUTY})")
    if "custom_details" in payload and not isinstance(payload["custom_details"], dict):
        problems.append(f"payload.custom_details: an object ({PAGERDUTY})")
    for i, link in enumerate(body.get("links", [])):
        if not _http_url(link.get("href"), 100_000):
            problems.append(f"links[{i}].href: a URL ({PAGERDUTY})")
    return problems


# ---- Opsgenie Alert API --------------------------------------------------------------------------


def opsgenie_create(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["a create-alert request is a JSON object"]
    problems = []
    if not _is_text(body.get("message"), 1, 130):
        problems.append(f"message: required, at most 130 characters ({OPSGENIE})")
    for key, high in (
        ("alias", 512),
        ("description", 15000),
        ("entity", 512),
        ("source", 100),
        ("user", 100),
    ):
        if key in body and not _is_text(body[key], 0, high):
            problems.append(f"{key}: at most {high} characters ({OPSGENIE})")
    tags = body.get("tags", [])
    if not isinstance(tags, list) or len(tags) > 20 or not all(_is_text(t, 1, 50) for t in tags):
        problems.append(f"tags: at most 20, each at most 50 characters ({OPSGENIE})")
    details = body.get("details", {})
    if not isinstance(details, dict) or not all(isinstance(v, str) for v in details.values()):
        problems.append(f"details: a map of strings ({OPSGENIE})")
    elif sum(len(k) + len(v) for k, v in details.items()) > 8000:
        problems.append(f"details: at most 8,000 characters ({OPSGENIE})")
    if body.get("priority", "P3") not in ("P1", "P2", "P3", "P4", "P5"):
        problems.append(f"priority: P1 to P5 ({OPSGENIE})")
    return problems


def opsgenie_close(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["a close-alert request is a JSON object"]
    problems = []
    for key, high in (("user", 100), ("source", 100), ("note", 25000)):
        if key in body and not _is_text(body[key], 0, high):
            problems.append(f"{key}: at most {high} characters ({OPSGENIE}, close alert)")
    return problems


# ---- Jira Cloud REST API v3 --------------------------------------------------------------------------


@cache
def adf_validator() -> jsonschema.Draft4Validator:
    if not ADF_SCHEMA.is_file():
        raise AssertionError(
            f"{ADF_SCHEMA.relative_to(SCHEMAS.parents[2])} is missing: run `make preset-schemas` "
            "(npm ci in tests/presets); `make test` and `make pytest` do it"
        )
    schema = json.loads(ADF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema)


def adf(doc: Any, where: str) -> list[str]:
    problems = []
    for error in adf_validator().iter_errors(doc):
        path = "/".join(map(str, error.absolute_path))
        problems.append(f"{where}{'/' + path if path else ''}: {error.message[:300]} ({ADF})")
    return problems[:5]


def jira_create(body: Any) -> list[str]:
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(fields, dict):
        return [f"fields: the issue's fields ({JIRA_CREATE})"]
    problems = []
    if not _is_text((fields.get("project") or {}).get("key"), 1, 255):
        problems.append(f"fields.project.key ({JIRA_CREATE})")
    if not _is_text((fields.get("issuetype") or {}).get("name"), 1, 255):
        problems.append(f"fields.issuetype.name ({JIRA_CREATE})")
    summary = fields.get("summary")
    if not _is_text(summary, 1, 255) or "\n" in summary or "\r" in summary:
        problems.append(f"fields.summary: one line of at most 255 characters ({JIRA_CREATE})")
    labels = fields.get("labels", [])
    if not isinstance(labels, list) or not all(
        _is_text(x, 1, 255) and not re.search(r"\s", x) for x in labels
    ):
        problems.append(f"fields.labels: labels without spaces ({JIRA_CREATE})")
    if "priority" in fields and not _is_text((fields["priority"] or {}).get("name"), 1, 255):
        problems.append(f"fields.priority.name ({JIRA_CREATE})")
    return problems + adf(fields.get("description"), "fields.description")


def jira_comment(body: Any) -> list[str]:
    if not isinstance(body, dict) or "body" not in body:
        return [f"body: the comment, in ADF ({JIRA_COMMENT})"]
    return adf(body["body"], "body")


# ---- Splunk HTTP Event Collector ----------------------------------------------------------------------

_INDEX = re.compile(r"[a-z0-9][a-z0-9_-]*")


def splunk_hec(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["an HEC event is a JSON object"]
    problems = []
    event = body.get("event")
    if event in (None, "", {}) or not isinstance(event, dict | str):
        problems.append(f"event: required, an object or a string ({HEC_FORMAT})")
    if "time" in body and (not isinstance(body["time"], int | float) or body["time"] < 0):
        problems.append(f"time: epoch seconds, a number ({HEC_FORMAT})")
    for key in ("host", "source", "sourcetype", "index"):
        if key in body and not _is_text(body[key], 1, 100_000):
            problems.append(f"{key}: a string ({HEC_FORMAT})")
    if "index" in body and not _INDEX.fullmatch(str(body["index"])):
        problems.append(f"index: an index name ({HEC_FORMAT})")
    fields = body.get("fields", {})
    flat = isinstance(fields, dict) and all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
        for v in fields.values()
    )
    if not flat:
        problems.append(f"fields: each value a string or an array of strings, nothing nested ({HEC_FIELDS})")
    return problems


CHECKS: dict[str, Check] = {
    "slack": slack,
    "teams": teams,
    "pagerduty": pagerduty,
    "opsgenie": opsgenie_create,
    "jira": jira_create,
    "splunk-hec": splunk_hec,
}
RESOLVED_CHECKS: dict[str, Check] = {"opsgenie": opsgenie_close, "jira": jira_comment}
