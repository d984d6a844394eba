"""The dispatcher's cold start imports its own graph only: the config API's services, request and
view models and save-time checks stay out of its process (they cost import time on every cold
start and the dispatcher never calls them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What only the config API uses.
API_ONLY = (
    "secnotify.service.wiring",
    "secnotify.service.integrations",
    "secnotify.service.integration_edits",
    "secnotify.service.profiles",
    "secnotify.service.common",
    "secnotify.http_api",
    "secnotify.models.api",
    "secnotify.models.integration_api",
    "secnotify.models.examples",
)

_LOADED = """
import json, sys
import functions.dispatcher.app
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after_import(code: str) -> set[str]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers"), str(ROOT)]),
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_dispatcher_handler_import_loads_none_of_the_config_apis_modules() -> None:
    loaded = _modules_after_import(_LOADED)
    assert "secnotify.service.dispatch" in loaded  # the graph it does need was imported
    assert sorted(loaded.intersection(API_ONLY)) == []


def test_the_config_api_still_reaches_the_dispatchers_graph_through_its_wiring() -> None:
    from secnotify.service import dispatcher_wiring, wiring

    assert wiring.dispatcher is dispatcher_wiring.dispatcher
    assert wiring.build_dispatcher is dispatcher_wiring.build_dispatcher


def test_neither_handler_imports_boto3_or_s3transfer_only_botocore() -> None:
    for handler in ("functions.dispatcher.app", "functions.config_api.app"):
        loaded = _modules_after_import(_LOADED.replace("functions.dispatcher.app", handler))
        assert "botocore.client" in loaded, handler
        assert sorted(m for m in loaded if m.split(".")[0] in {"boto3", "s3transfer"}) == [], handler
