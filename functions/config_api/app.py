"""Config API Lambda: REST routes for alerting profiles and integrations (SPEC 5)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.middleware_factory import lambda_handler_decorator
from aws_lambda_powertools.utilities.typing import LambdaContext

from secnotify import __version__
from secnotify.models.api import (
    DeliveryList,
    ErrorBody,
    IntegrationList,
    PlaceholderList,
    PreviewRequest,
    PreviewResult,
    ProfileList,
    TestSendRequest,
    TestSendResult,
)
from secnotify.models.integration import IntegrationInput, IntegrationView
from secnotify.models.profile import AlertingProfile, AlertingProfileInput
from secnotify.service.common import etag
from secnotify.service.errors import ApiError
from secnotify.service.wiring import api_services
from secnotify.settings import get_settings
from secnotify.storage.errors import InvalidToken, VersionConflict
from secnotify.templating import PLACEHOLDERS

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)
app.enable_swagger(path="/swagger", title="secnotify", version=__version__)

Id = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100.")]
Token = Annotated[str | None, Query(max_length=2048, description="Opaque token from the previous page.")]


def _error(status: int, message: str, **details: Any) -> Response:
    body = ErrorBody(message=message, **details).model_dump(exclude_none=True)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"model": ErrorBody}}}
    for code, text in {
        400: "Invalid request",
        404: "Not found",
        409: "Conflict",
        412: "Stale If-Match",
        413: "Body too large",
    }.items()
}


def _ok(model: type, description: str = "OK", status: int = 200) -> dict[int | str, dict[str, Any]]:
    return {
        status: {"description": description, "content": {"application/json": {"model": model}}},
        **_ERRORS,
    }


def _json(model: Any, status: int = 200, version: int | None = None) -> Response:
    headers = {"ETag": etag(version)} if version is not None else None
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump(mode="json"),
        headers=headers,
    )


# ---- errors: always JSON with a message, never a stack trace -------------------------


def _field(loc: Any) -> str:
    parts = [p for p in loc if p not in ("body", "query", "path", "header")] if loc else []
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or ("body" if loc and loc[0] == "body" else "")


@app.exception_handler(RequestValidationError)
def _invalid(exc: RequestValidationError) -> Response:
    errors = list(exc.errors())
    first = errors[0] if errors else {}
    if first.get("type") == "json_invalid":
        return _error(400, "body: not valid JSON", field="body")
    field = _field(first.get("loc", ()))
    text = str(first.get("msg", "invalid request"))
    message = f"{field}: {text}" if field else text
    details = [{"field": _field(e.get("loc", ())), "message": str(e.get("msg"))} for e in errors[:20]]
    return _error(400, message, field=field or None, errors=details)


@app.exception_handler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return _error(
        exc.status, exc.message, **{k: v for k, v in exc.details.items() if k in ErrorBody.model_fields}
    )


@app.exception_handler(VersionConflict)
def _conflict(exc: VersionConflict) -> Response:
    return _error(409, str(exc))


@app.exception_handler(InvalidToken)
def _bad_token(exc: InvalidToken) -> Response:
    return _error(400, f"nextToken: {exc}", field="nextToken")


@app.not_found
def _not_found(exc: Exception) -> Response:
    return _error(404, f"no route for {app.current_event.http_method} {app.current_event.path}")


@app.exception_handler(Exception)
def _unexpected(exc: Exception) -> Response:
    logger.exception("unhandled error")
    return _error(
        500, "internal error; the request id is in the logs", requestId=app.lambda_context.aws_request_id
    )


def _early_error(status: int, message: str) -> dict[str, Any]:
    body = ErrorBody(message=message, field="body")
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": body.model_dump_json(exclude_none=True),
        "isBase64Encoded": False,
    }


@lambda_handler_decorator
def _screen_body(handler: Any, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Before routing, which would parse the body first: refuse what is too big, not text, or
    # JSON that breaks the parser itself (nesting past the recursion limit, 5000-digit numbers).
    raw = event.get("body") if isinstance(event, dict) else None
    limit = get_settings().max_request_body_bytes
    if raw:
        if len(raw) > limit:
            return _early_error(413, f"body: larger than {limit} bytes")
        try:
            text = base64.b64decode(raw).decode("utf-8") if event.get("isBase64Encoded") else raw
            json.loads(text)
        except (UnicodeDecodeError, binascii.Error):
            return _early_error(400, "body: not UTF-8 text")
        except RecursionError:
            return _early_error(400, "body: JSON nested too deeply")
        except ValueError as exc:
            return _early_error(400, f"body: not valid JSON ({str(exc)[:120]})")
    result: dict[str, Any] = handler(event, context)
    return result


# ---- alerting profiles -----------------------------------------------------------------


@app.get("/alerting-profiles", responses=_ok(ProfileList), tags=["Alerting profiles"])
def list_profiles(limit: Limit = 50, nextToken: Token = None) -> Response[ProfileList]:
    items, token = api_services().profiles.page(limit, nextToken)
    return _json(ProfileList(items=items, nextToken=token))


@app.post("/alerting-profiles", responses=_ok(AlertingProfile, "Created", 201), tags=["Alerting profiles"])
def create_profile(body: Annotated[AlertingProfileInput, Body()]) -> Response[AlertingProfile]:
    profile = api_services().profiles.create(body)
    return _json(profile, 201, profile.version)


@app.get("/alerting-profiles/<profile_id>", responses=_ok(AlertingProfile), tags=["Alerting profiles"])
def get_profile(profile_id: Id) -> Response[AlertingProfile]:
    profile = api_services().profiles.get(profile_id)
    return _json(profile, version=profile.version)


@app.put("/alerting-profiles/<profile_id>", responses=_ok(AlertingProfile), tags=["Alerting profiles"])
def replace_profile(
    profile_id: Id, body: Annotated[AlertingProfileInput, Body()]
) -> Response[AlertingProfile]:
    if_match = app.current_event.headers.get("If-Match")
    profile = api_services().profiles.replace(profile_id, body, if_match)
    return _json(profile, version=profile.version)


@app.delete(
    "/alerting-profiles/<profile_id>",
    responses={204: {"description": "Deleted", "content": {}}, **_ERRORS},
    tags=["Alerting profiles"],
)
def delete_profile(profile_id: Id) -> Response[None]:
    api_services().profiles.delete(profile_id)
    return Response(status_code=204)


# ---- integrations ----------------------------------------------------------------------


@app.get("/integrations", responses=_ok(IntegrationList), tags=["Integrations"])
def list_integrations(limit: Limit = 50, nextToken: Token = None) -> Response[IntegrationList]:
    items, token = api_services().integrations.page(limit, nextToken)
    return _json(IntegrationList(items=items, nextToken=token))


@app.post("/integrations", responses=_ok(IntegrationView, "Created", 201), tags=["Integrations"])
def create_integration(body: Annotated[IntegrationInput, Body()]) -> Response[IntegrationView]:
    view = api_services().integrations.create(body)
    return _json(view, 201, view.version)


@app.post("/integrations/preview", responses=_ok(PreviewResult), tags=["Integrations"])
def preview(body: Annotated[PreviewRequest, Body()]) -> Response[PreviewResult]:
    result = api_services().integrations.preview(body.integrationId, body.integration, body.event)
    return _json(PreviewResult.model_validate(result))


@app.get("/integrations/<integration_id>", responses=_ok(IntegrationView), tags=["Integrations"])
def get_integration(integration_id: Id) -> Response[IntegrationView]:
    view = api_services().integrations.get(integration_id)
    return _json(view, version=view.version)


@app.put("/integrations/<integration_id>", responses=_ok(IntegrationView), tags=["Integrations"])
def replace_integration(
    integration_id: Id, body: Annotated[IntegrationInput, Body()]
) -> Response[IntegrationView]:
    if_match = app.current_event.headers.get("If-Match")
    view = api_services().integrations.replace(integration_id, body, if_match)
    return _json(view, version=view.version)


@app.delete(
    "/integrations/<integration_id>",
    responses={204: {"description": "Deleted", "content": {}}, **_ERRORS},
    tags=["Integrations"],
)
def delete_integration(integration_id: Id) -> Response[None]:
    api_services().integrations.delete(integration_id)
    return Response(status_code=204)


@app.post("/integrations/<integration_id>/test", responses=_ok(TestSendResult), tags=["Integrations"])
def test_send(
    integration_id: Id, body: Annotated[TestSendRequest | None, Body()] = None
) -> Response[TestSendResult]:
    result = api_services().integrations.test_send(integration_id, body.event if body else None)
    return _json(TestSendResult.model_validate(result))


@app.get("/integrations/<integration_id>/deliveries", responses=_ok(DeliveryList), tags=["Delivery log"])
def list_deliveries(integration_id: Id, limit: Limit = 50, nextToken: Token = None) -> Response[DeliveryList]:
    items, token = api_services().integrations.deliveries(integration_id, limit, nextToken)
    return _json(DeliveryList.model_validate({"items": items, "nextToken": token}))


@app.post(
    "/integrations/<integration_id>/deliveries/<delivery_id>/redeliver",
    responses=_ok(TestSendResult),
    tags=["Delivery log"],
)
def redeliver(integration_id: Id, delivery_id: Id) -> Response[TestSendResult]:
    result = api_services().integrations.redeliver(integration_id, delivery_id)
    return _json(TestSendResult.model_validate(result))


# ---- reference -------------------------------------------------------------------------


@app.get("/placeholders", responses=_ok(PlaceholderList), tags=["Reference"])
def placeholders() -> Response[PlaceholderList]:
    items = [{"name": p.name, "description": p.description, "example": p.example} for p in PLACEHOLDERS]
    return _json(PlaceholderList.model_validate({"items": items}))


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(title="secnotify", version=__version__),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
# capture_response=False: a create or rotate response carries the signing secret.
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@_screen_body
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
