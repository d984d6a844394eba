"""Jinja is imported only when a template needs it: plain templates keep it off the cold start.

Each check runs in a fresh interpreter, because this test process has long imported Jinja.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SLACK_EVENT = ROOT / "events" / "api" / "integration-slack.json"

_PROBE = """
import json, sys
from secnotify.templating import (
    PLACEHOLDERS, CompiledTemplate, TemplateError, compile_template, is_json_content_type,
    is_xml_content_type, render_preview, validate_template,
)
from secnotify.models.event import sample_event

JINJA = ("jinja2", "markupsafe")
def loaded():
    return sorted(name for name in JINJA if name in sys.modules)

template = json.load(open(sys.argv[1], encoding="utf-8"))["webhook"]["payload"]
out = {"after_import": loaded()}
compiled = compile_template(template, "application/json")
out["seed_body"] = compiled.render(sample_event())
out["seed_uses_jinja"] = compiled.uses_jinja
out["seed_errors"] = [str(e) for e in validate_template(template, "application/json")]
out["after_seed"] = loaded()
out["jinja_body"] = compile_template("{{ Title }}", "application/json").render(sample_event())
out["after_jinja"] = loaded()
print(json.dumps(out))
"""


def _probe() -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers"), str(ROOT)])}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(SLACK_EVENT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_plain_seed_template_never_imports_jinja_but_a_jinja_template_does() -> None:
    from secnotify.models.event import sample_event

    out = _probe()
    assert out["after_import"] == []
    assert out["seed_uses_jinja"] is False
    assert out["seed_errors"] == []
    # the plain path really rendered the seed template
    text = json.loads(out["seed_body"])["text"]
    assert f"Title: *{sample_event().title}*" in text
    assert out["after_seed"] == []
    assert json.loads(out["jinja_body"]) == sample_event().title
    assert out["after_jinja"] == ["jinja2", "markupsafe"]
