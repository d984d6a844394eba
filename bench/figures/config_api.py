"""Figure 6: the config API handler against the storage calls it makes."""

import json
from collections.abc import Callable
from typing import Any

from bench.figures.common import Figure
from bench.infra import alternate, median, ms

_BODY = json.dumps({"name": "bench api", "enabledRiskLevels": ["CRITICAL", "HIGH"]}).encode()


def _handler_side() -> tuple[Callable[[int], None], Callable[[int], None]]:
    """Create and get through the Lambda handler, with API Gateway proxy events."""
    from functions.config_api.app import lambda_handler
    from local.lambda_runtime import LocalContext, apigw_event

    created: list[str] = []

    def call(method: str, path: str, body: bytes, expect: int) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"} if body else {}
        out: dict[str, Any] = lambda_handler(apigw_event(method, path, headers, body), LocalContext())
        if out["statusCode"] != expect:
            raise RuntimeError(f"{method} {path} failed: {out}")
        return out

    def create(count: int) -> None:
        for _ in range(count):
            # Names are unique within a stack: each profile gets its own.
            body = _BODY.replace(b'"bench api"', f'"bench api {len(created)}"'.encode())
            created.append(json.loads(call("POST", "/alerting-profiles", body, 201)["body"])["id"])

    def get(count: int) -> None:
        for i in range(count):
            call("GET", f"/alerting-profiles/{created[i]}", b"", 200)

    return create, get


def _storage_side() -> tuple[Callable[[int], None], Callable[[int], None]]:
    """The same writes and reads made by the configuration repository alone: the floor the
    handler's routing, validation and serialisation sit on."""
    from secnotify.models.profile import AlertingProfileInput
    from secnotify.service.common import new_id, now_iso
    from secnotify.service.ports.config import ConfigKind
    from secnotify.service.wiring import api_services

    # The repository the handler writes through: name locks and audit entries included.
    repository = api_services().profiles.config
    doc = AlertingProfileInput.model_validate(json.loads(_BODY)).model_dump(mode="json")
    created: list[str] = []

    def create(count: int) -> None:
        for _ in range(count):
            item_id = new_id()
            named = {**doc, "name": f"bench storage {len(created)}"}
            repository.create_profile(
                item_id, {**named, "createdAt": now_iso(), "updatedAt": now_iso()}, 10**6
            )
            created.append(item_id)

    def get(count: int) -> None:
        for i in range(count):
            repository.get_config_item(ConfigKind.PROFILE, created[i])

    return create, get


def config_api(rounds: int, chunk: int) -> Figure:
    fig = Figure(
        6, f"Config API: create + get of a profile, handler vs its storage calls ({rounds * chunk} each)"
    )
    api_create, api_get = _handler_side()
    raw_create, raw_get = _storage_side()
    for warm in (api_create, raw_create, api_get, raw_get):
        warm(3)
    create_a, create_b = alternate(api_create, raw_create, chunk, rounds)
    get_a, get_b = alternate(api_get, raw_get, chunk, rounds)
    per = {
        "api_create": median(create_a) / chunk,
        "raw_create": median(create_b) / chunk,
        "api_get": median(get_a) / chunk,
        "raw_get": median(get_b) / chunk,
    }
    create_ratio = per["api_create"] / per["raw_create"]
    get_ratio = per["api_get"] / per["raw_get"]
    fig.lines += [
        f"create: handler {ms(per['api_create'])}, repository create_profile (one TransactWriteItems) "
        f"{ms(per['raw_create'])} -> {create_ratio:.2f}",
        f"get:    handler {ms(per['api_get'])}, repository GetItem {ms(per['raw_get'])} -> {get_ratio:.2f}",
        "handler = functions.config_api.app.lambda_handler with API Gateway proxy events (apigw_event); "
        "medians per request over chunks, alternating",
    ]
    fig.ratio = create_ratio
    fig.ratio_label = f"create {create_ratio:.2f}, get {get_ratio:.2f}"
    fig.target = "none (info)"
    fig.summary = (
        f"create {ms(per['api_create'])} vs {ms(per['raw_create'])}; "
        f"get {ms(per['api_get'])} vs {ms(per['raw_get'])}"
    )
    return fig
