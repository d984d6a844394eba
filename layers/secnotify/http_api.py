"""The config API's HTTP plumbing: JSON errors that name the field, OpenAPI response docs,
and a screen that refuses bodies the request parser itself would choke on."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.middleware_factory import lambda_handler_decorator
from aws_lambda_powertools.utilities.typing import LambdaContext

from secnotify.models.api import ErrorBody
from secnotify.service.common import etag
from secnotify.service.errors import ApiError
from secnotify.settings import get_settings
from secnotify.storage.errors import InvalidToken, VersionConflict


def error(status: int, message: str, **details: Any) -> Response:
    body = ErrorBody(message=message, **details).model_dump(exclude_none=True)
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=body)


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"model": ErrorBody}}}
    for code, text in {
        400: "Invalid request",
        404: "Not found",
        409: "Conflict",
        412: "Stale If-Match",
        413: "Body too large",
    }.items()
}
DELETED: dict[int | str, dict[str, Any]] = {204: {"description": "Deleted", "content": {}}, **ERRORS}


def ok(model: type, description: str = "OK", status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The documented responses of a route: its success model and the JSON errors."""
    return {status: {"description": description, "content": {"application/json": {"model": model}}}, **ERRORS}


def json_response(model: Any, status: int = 200, version: int | None = None) -> Response:
    headers = {"ETag": etag(version)} if version is not None else None
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=model.model_dump(mode="json"),
        headers=headers,
    )


def field_of(loc: Any) -> str:
    """A validation error's location as a client writes it: webhook.headers[1].name."""
    parts = [p for p in loc if p not in ("body", "query", "path", "header")] if loc else []
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or ("body" if loc and loc[0] == "body" else "")


def register_error_handlers(app: APIGatewayRestResolver, logger: Logger) -> None:
    """Every error is JSON with a message that names the field or the reason; never a trace."""

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return error(400, "body: not valid JSON", field="body")
        field = field_of(first.get("loc", ()))
        text = str(first.get("msg", "invalid request"))
        message = f"{field}: {text}" if field else text
        details = [{"field": field_of(e.get("loc", ())), "message": str(e.get("msg"))} for e in errors[:20]]
        return error(400, message, field=field or None, errors=details)

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        details = {k: v for k, v in exc.details.items() if k in ErrorBody.model_fields}
        return error(exc.status, exc.message, **details)

    @app.exception_handler(VersionConflict)
    def _conflict(exc: VersionConflict) -> Response:
        return error(409, str(exc))

    @app.exception_handler(InvalidToken)
    def _bad_token(exc: InvalidToken) -> Response:
        return error(400, f"nextToken: {exc}", field="nextToken")

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error(404, f"no route for {app.current_event.http_method} {app.current_event.path}")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        request_id = app.lambda_context.aws_request_id
        return error(500, "internal error; the request id is in the logs", requestId=request_id)


def _early_error(status: int, message: str) -> dict[str, Any]:
    body = ErrorBody(message=message, field="body")
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": body.model_dump_json(exclude_none=True),
        "isBase64Encoded": False,
    }


@lambda_handler_decorator
def screen_body(handler: Any, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Before routing, which would parse the body first: refuse what is too big, not text, or
    JSON that breaks the parser itself (nesting past the recursion limit, 5000-digit numbers)."""
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
