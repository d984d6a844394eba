"""The config API's own description of itself: the OpenAPI document, its servers as seen from
where it is served, and a cold start that has nothing to warn about."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

_COLD_START = """
import json, warnings
warnings.simplefilter("always")
from functions.config_api.app import lambda_handler
from local.lambda_runtime import LocalContext, apigw_event
result = lambda_handler(apigw_event("GET", "/placeholders", {}, b""), LocalContext())
print(json.dumps({"status": result["statusCode"]}))
"""


def test_a_cold_start_of_the_config_api_warns_about_nothing(stack: Any) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "layers"), str(ROOT)])}
    # As in AWS: metrics on (the local default turns them off).
    env.pop("POWERTOOLS_METRICS_DISABLED", None)
    done = subprocess.run(
        [sys.executable, "-W", "always", "-c", _COLD_START],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"status": 200}
    assert "No application metrics" not in done.stdout + done.stderr
    assert "Warning" not in done.stderr, done.stderr
