"""Schemathesis against our own OpenAPI document, served by the real config API handler.

The API runs on a free loopback port (``local.api_server.serve_api``) on a stack provisioned on
the moto server. Every operation gets positive and negative generated cases; path ids are
swapped for real seeded ids half of the time, so routes with ids do more than answer 404.
Nothing raises inside the Hypothesis loop: every failing case is collected, and the test fails
at the end listing all of them (method, path, body, status, what broke).

Sends stay on loopback: test-send and redeliver only ever get the id of an integration whose
URL is a local receiver (or a random id, which is a 404); integrations the fuzzer creates or
rewrites are never sent to, since their ids are never used for a send.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import free_port, load_event
from tests.integration.servers import Receiver

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES_PER_MODE = 45  # x 2 modes x 16 operations with inputs, plus /placeholders: > 1,000 cases
MIN_CASES = 1000


def _seed(base: str, receiver_url: str) -> dict[str, str]:
    """Real ids for the path parameters: profiles and integrations, and one delivery record."""

    def post(path: str, body: Any) -> dict[str, Any]:
        resp = requests.post(base + path, json=body, timeout=10)
        assert resp.status_code == 201, resp.text
        data: dict[str, Any] = resp.json()
        return data

    every = {"enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED", "SECURITY_PROBLEM_RESOLVED"]}
    profile = post("/alerting-profiles", {"name": "in use", **every})["id"]
    spare = post("/alerting-profiles", {"name": "spare", **every})["id"]

    def integration(name: str) -> str:
        body = {
            "displayName": name,
            "alertingProfileId": profile,
            "webhook": {
                "url": receiver_url,
                "headers": [{"name": "Content-Type", "value": "application/json"}],
                "payload": '{"text": "{Title}"}',
            },
        }
        return str(post("/integrations", body)["id"])

    send, spare_integration = integration("sends to the local receiver"), integration("spare")
    from functions.dispatcher.app import lambda_handler
    from local.lambda_runtime import LocalContext

    lambda_handler(load_event("eventbridge/opened.json"), LocalContext())
    items = requests.get(f"{base}/integrations/{send}/deliveries", timeout=10).json()["items"]
    assert items, "the seed event left no delivery record"
    return {
        "profile": profile,
        "spare_profile": spare,
        "send": send,
        "spare_integration": spare_integration,
        "delivery": items[0]["deliveryId"],
    }


def _real_ids(method: str, path: str, ids: dict[str, str]) -> dict[str, str]:
    """Which seeded ids an operation's path parameters may take."""
    if path.startswith("/alerting-profiles/"):
        return {"profile_id": ids["profile"] if method == "GET" else ids["spare_profile"]}
    if path.startswith("/integrations/{integration_id}"):
        # Only GET and the send routes get the integration that points at the receiver, so a
        # fuzzed PUT can never point a send at an arbitrary URL.
        rewrites = method in ("PUT", "DELETE")
        out = {"integration_id": ids["spare_integration"] if rewrites else ids["send"]}
        if "{delivery_id}" in path:
            out["delivery_id"] = ids["delivery"]
        return out
    return {}


def _with_real_references(case: Any, ids: dict[str, str], receiver_url: str) -> None:
    """Give a generated integration body a real profile, a valid template and the local receiver."""
    body = case.body
    if not isinstance(body, dict):
        return
    body["alertingProfileId"] = ids["profile"]
    if isinstance(body.get("webhook"), dict):
        body["webhook"]["url"] = receiver_url
        body["webhook"]["payload"] = '{"text": "{Title}"}'
        body["webhook"]["headers"] = [{"name": "Content-Type", "value": "application/json"}]


def _describe(case: Any, response: requests.Response | None, error: str) -> dict[str, Any]:
    body = case.body if not isinstance(case.body, bytes) else case.body.decode(errors="replace")
    if type(body).__name__ == "NotSet":
        body = None
    try:
        shown = json.dumps(body, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        shown = repr(body)
    return {
        "method": case.method.upper(),
        "path": case.formatted_path,
        "query": case.query,
        "body": shown[:800],
        "status": response.status_code if response is not None else None,
        "response": response.text[:400] if response is not None else None,
        "error": error[:1500],
    }


# One test for every operation's cases: over 2,000 requests through the local stack, longer than
# the default limit on a busy machine (the limit then fired inside Hypothesis as a "flaky" case).
@pytest.mark.timeout(900)
def test_generated_requests_get_no_5xx_and_documented_responses(stack: Any, record_property: Any) -> None:
    from local.api_server import serve_api

    port = free_port()
    server = serve_api(port=port)
    base = f"http://127.0.0.1:{port}"
    failures: list[dict[str, Any]] = []
    per_operation: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    try:
        with Receiver() as rx:
            ids = _seed(base, rx.url("/fuzz"))
            ctx = {"ids": ids, "receiver_url": rx.url("/fuzz"), "base": base}
            schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
            session = requests.Session()
            for result in schema.get_all_operations():
                if not isinstance(result, Ok):
                    failures.append({"operation": "?", "error": f"invalid operation: {result.err()}"})
                    continue
                operation = result.ok()
                real = _real_ids(operation.method.upper(), operation.path, ids)
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    _run(operation, mode, real, ctx, session, failures, per_operation, statuses)
            received = len(rx.requests)
            # Nothing but the seeded integration may have been sent to (its URL is the receiver).
            elsewhere = _deliveries_elsewhere(base, ids["send"])
    finally:
        server.shutdown()
        server.server_close()

    total = sum(per_operation.values())
    summary = {
        "cases": total,
        "per operation": dict(per_operation),
        "statuses": dict(statuses),
        "failures": len(failures),
    }
    print("schemathesis:", json.dumps(summary, indent=1))
    record_property("openapi_fuzz", summary)
    report = json.dumps(summary) + "\n" + json.dumps(failures[:40], indent=1, ensure_ascii=False)
    assert received > 0 and not elsewhere, f"{report}\nsent elsewhere: {elsewhere}"
    assert not failures, report
    assert total >= MIN_CASES, report
    # Each operation was exercised, and routes with ids reached real items too.
    assert len(per_operation) >= 15 and all(n > 0 for n in per_operation.values()), report
    assert any(k.endswith(" 200") and "{" in k for k in statuses), report


def _deliveries_elsewhere(base: str, send_id: str) -> dict[str, int]:
    out: dict[str, int] = {}
    token = None
    while True:
        params = {"limit": "100", **({"nextToken": token} if token else {})}
        page = requests.get(f"{base}/integrations", params=params, timeout=10).json()
        for item in page["items"]:
            if item["id"] != send_id:
                records = requests.get(f"{base}/integrations/{item['id']}/deliveries", timeout=10).json()
                if records["items"]:
                    out[item["id"]] = len(records["items"])
        token = page.get("nextToken")
        if not token:
            return out


def _make_realistic(case: Any, path: str, real: dict[str, str], ctx: dict[str, Any]) -> None:
    """Point a generated case at items that exist, so it reaches more than the 404s."""
    if real:
        case.path_parameters = {**(case.path_parameters or {}), **real}
    writes_integration = case.method.upper() in ("POST", "PUT")
    if writes_integration and path in ("/integrations", "/integrations/{integration_id}"):
        _with_real_references(case, ctx["ids"], ctx["receiver_url"])


def _run(
    operation: Any,
    mode: GenerationMode,
    real: dict[str, str],
    ctx: dict[str, Any],
    session: requests.Session,
    failures: list[dict[str, Any]],
    per_operation: Counter[str],
    statuses: Counter[str],
) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    try:
        strategy = operation.as_strategy(generation_mode=mode)
    except Exception as exc:
        if mode is GenerationMode.NEGATIVE:
            return
        raise AssertionError(f"{label}: no strategy: {exc}") from exc

    @settings(
        max_examples=EXAMPLES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, use_real=st.booleans())
    def check(case: Any, use_real: bool) -> None:
        if use_real and mode is GenerationMode.POSITIVE:
            _make_realistic(case, operation.path, real, ctx)
        response = None
        try:
            response = case.call(base_url=ctx["base"], session=session, timeout=30)
            case.validate_response(response, checks=CHECKS)
        except (Exception, BaseExceptionGroup) as exc:  # every failure is collected, not just the first
            failures.append({"operation": label, "mode": mode.value, **_describe(case, response, str(exc))})
        per_operation[label] += 1
        if response is not None:
            statuses[f"{label} {response.status_code}"] += 1

    try:
        check()
    except Unsatisfiable:
        # An operation without inputs (GET /placeholders) has nothing to make invalid.
        if mode is not GenerationMode.NEGATIVE or operation.body or list(operation.iter_parameters()):
            failures.append({"operation": label, "mode": mode.value, "error": "no case could be generated"})
    except Exception as exc:
        failures.append({"operation": label, "mode": mode.value, "error": f"generation: {exc!r}"[:1500]})
