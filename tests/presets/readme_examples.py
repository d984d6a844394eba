"""The README's preset examples, rendered: what each preset's receiver gets for the sample event
events/eventbridge/opened.json (Jira and Opsgenie: also the resolved notice of resolved.json, at
the URL it goes to, SEC-1 standing for the issue key Jira returned), as the sink shows a request,
secrets as a preview shows them (***). The README test compares its blocks with these;
after a change to a preset, print them anew with

    PYTHONPATH=layers:. .venv/bin/python -m tests.presets.readme_examples
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from secnotify.models.event import SecurityEvent
from secnotify.presets import presets
from secnotify.service.integration_edits import masked_secrets
from secnotify.sources import parse_eventbridge
from tests.conftest import load_event

WIDTH = 100


def compact(value: Any, indent: str = "") -> str:
    """JSON with each object or array on one line when it fits in WIDTH characters."""
    flat = json.dumps(value, ensure_ascii=False)
    if len(indent) + len(flat) <= WIDTH or not isinstance(value, dict | list) or not value:
        return flat
    inner = indent + "  "
    if isinstance(value, dict):
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {compact(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    return "[\n" + ",\n".join(f"{inner}{compact(v, inner)}" for v in value) + f"\n{indent}]"


def _event(name: str) -> SecurityEvent:
    return parse_eventbridge(load_event(f"eventbridge/{name}.json"))


def example(name: str) -> str:
    """The README block of preset ``name``."""
    from secnotify.templating import render_preview

    preset = presets()[name]
    doc = preset.build(preset.example)
    hook = doc["webhook"]
    content_type = next(h["value"] for h in hook["headers"] if h["name"].lower() == "content-type")
    masks = masked_secrets(s["name"] for s in doc.get("secrets", []))
    parts = [("opened", hook["url"], hook["payload"])]
    if "resolved" in hook:
        origin = "/".join(hook["url"].split("/", 3)[:3])
        parts.append(("resolved", origin + hook["resolved"]["path"], hook["resolved"]["payload"]))
    blocks = []
    for event_name, url, template in parts:
        event = _event(event_name)
        body, errors = render_preview(template, content_type, event, secrets=masks)
        assert not errors, errors
        shown = {"{ProblemKey}": quote(event.security_problem_id, safe=""), "{Receiver[issueKey]}": "SEC-1"}
        shown |= {f"{{Secret[{n}]}}": "***" for n in masks}
        for placeholder, value in shown.items():
            url = url.replace(placeholder, value)
        headers = [f"{h['name']}: {'***' if h.get('secret') else h['value']}" for h in hook["headers"]]
        blocks.append("\n".join([f"POST {url}", *headers, "", compact(json.loads(body))]))
    return "\n\n".join(blocks)


def main() -> None:
    for name in presets():
        print(f"<!-- preset example: {name} -->\n```\n{example(name)}\n```\n")


if __name__ == "__main__":
    main()
