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


def _document(api: Any, path: str, event_changes: dict[str, Any] | None = None) -> dict[str, Any]:
    from functions.config_api.app import lambda_handler
    from local.lambda_runtime import LocalContext, apigw_event

    event = apigw_event("GET", path, {}, b"")
    for key, value in (event_changes or {}).items():
        event["requestContext"][key] = value
    result = lambda_handler(event, LocalContext())
    assert result["statusCode"] == 200, result
    doc: dict[str, Any] = json.loads(result["body"])
    return doc


def test_the_served_document_names_the_stage_path_it_was_served_under(api: Any) -> None:
    # The execute-api endpoint: requestContext.path carries the stage, the resource path does not.
    for path in ("/openapi.json", "/swagger?format=json"):
        assert _document(api, path)["servers"] == [{"url": "/v1"}], path
    # A custom domain with a base path mapping, and one mapped at its root.
    mapped = {"path": "/security/openapi.json"}
    assert _document(api, "/openapi.json", mapped)["servers"] == [{"url": "/security"}]
    at_root = {"path": "/swagger"}
    assert _document(api, "/swagger?format=json", at_root)["servers"] == [{"url": "/"}]


def test_swagger_try_it_out_reaches_the_local_api(stack: Any) -> None:
    import urllib3

    from local.api_server import serve_api
    from tests.conftest import free_port

    port = free_port()
    server = serve_api(port=port)
    base = f"http://127.0.0.1:{port}"
    try:
        for doc_path in ("/swagger?format=json", "/openapi.json"):
            doc = urllib3.request("GET", base + doc_path, timeout=10).json()
            (server_entry,) = doc["servers"]
            # What Swagger UI does on "Try it out": the server URL, then the operation's path.
            url = base + server_entry["url"].rstrip("/") + "/placeholders"
            resp = urllib3.request("GET", url, timeout=10)
            assert resp.status == 200, (doc_path, url, resp.status)
            assert resp.json()["items"]
    finally:
        server.shutdown()
        server.server_close()


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in doc["paths"].items() for method, op in item.items()]


def test_every_operation_has_a_real_summary_and_description(api: Any) -> None:
    doc = _document(api, "/openapi.json")
    operations = _operations(doc)
    assert len(operations) == 24
    for method, path, op in operations:
        summary, description = op.get("summary", ""), op.get("description", "")
        assert summary and summary != f"{method} {path}", (method, path, summary)
        assert len(description) > len(summary), (method, path, description)
        for param in op.get("parameters", []):
            assert param.get("description"), (method, path, param["name"])
    assert doc["info"].get("description")


def test_request_bodies_and_errors_have_examples(api: Any) -> None:
    doc = _document(api, "/openapi.json")
    for method, path, op in _operations(doc):
        if "requestBody" in op:
            # A PATCH body is a JSON Merge Patch; every other body plain JSON.
            kind = "application/merge-patch+json" if method == "PATCH" else "application/json"
            media = op["requestBody"]["content"][kind]
            assert media.get("examples") or media.get("example"), (method, path)
    error = doc["components"]["schemas"]["ErrorBody"]
    assert error.get("examples"), error


def test_no_phantom_422_and_400_is_the_error_we_return(api: Any) -> None:
    doc = _document(api, "/openapi.json")
    text = json.dumps(doc)
    assert "422" not in text and "HTTPValidationError" not in text
    for method, path, op in _operations(doc):
        if method == "GET" and not op.get("parameters"):
            continue  # nothing to get wrong
        bad = op["responses"]["400"]
        assert bad["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, (
            path
        )
    schema = doc["components"]["schemas"]["ErrorBody"]
    assert {"message", "field", "errors"} <= set(schema["properties"]) and schema["required"] == ["message"]
    # What a 400 really looks like fits that schema, field by field.
    resp = api.post("/integrations", {"displayName": ["x"]})
    assert resp.status == 400
    body = resp.json()
    assert set(body) <= set(schema["properties"]) and {"message", "field", "errors"} <= set(body)
    detail = doc["components"]["schemas"][
        schema["properties"]["errors"]["anyOf"][0]["items"]["$ref"].split("/")[-1]
    ]
    for item in body["errors"]:
        assert set(item) <= set(detail["properties"]), item


def test_the_iam_security_scheme_applies_to_every_operation(api: Any) -> None:
    doc = _document(api, "/openapi.json")
    schemes = doc["components"]["securitySchemes"]
    assert schemes == {
        "sigv4": {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "x-amazon-apigateway-authtype": "awsSigv4",
            "description": schemes["sigv4"]["description"],
        }
    }
    assert doc["security"] == [{"sigv4": []}]
    assert all("security" not in op for _, _, op in _operations(doc))
