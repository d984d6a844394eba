"""The config API's HTTP plumbing: JSON errors that name the field, the OpenAPI document and
Swagger UI as served from where the request came in, and a screen that refuses bodies the
request parser itself would choke on.

An error reaches a client by one of two paths:
- a **domain error** (``secnotify.errors``, raised by storage: not found, stale version, limit...)
  carries data only; ``ERROR_TABLE`` below gives its status and writes its words, in one place;
- an **``ApiError``** (``secnotify.service.errors``, raised by the services when they validate a
  request) carries its status and its message, and is answered as it is.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi import swagger_ui
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html
from aws_lambda_powertools.middleware_factory import lambda_handler_decorator
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from secnotify.errors import (
    DeliveryNotFound,
    DomainError,
    InvalidToken,
    ItemTooLarge,
    LimitExceeded,
    NameTaken,
    NotFound,
    ProfileInUse,
    ProfileMissing,
    Throttled,
    TransactionConflict,
    VersionConflict,
)
from secnotify.models.api import ErrorBody
from secnotify.models.common import field_path
from secnotify.models.config_doc import CONFIG_APPLY_ROUTE, MAX_DOCUMENT_BYTES
from secnotify.service.common import error_detail, etag
from secnotify.service.errors import ApiError
from secnotify.service.ports.config import ConfigKind
from secnotify.settings import get_settings


def error(status: int, message: str, headers: dict[str, str] | None = None, **details: Any) -> Response:
    body = ErrorBody(message=message, **details).model_dump(exclude_none=True)
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": {"application/json": {"model": ErrorBody}}}
    for code, text in {
        400: "Invalid request: `message` names the field and the reason, `field` is that field, and "
        "`errors` lists every problem found (validation errors, or template errors with line and column).",
        404: "No such item, or no such route.",
        409: "Conflict: the profile is in use (`integrations` names the users), the name is taken "
        "(`holderId` is the object that has it), a limit is reached, or a concurrent change touched the "
        "same items (send the request again).",
        412: "`If-Match`, or the body's `version`, names a version that is no longer current.",
        413: "The request body is larger than 256 KB.",
        415: "The body is not JSON: send `Content-Type: application/json` (a PATCH may also send "
        "`application/merge-patch+json`).",
        429: "Too many writes at once: send the same request again after `Retry-After` seconds.",
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
    """A request validation error's field, without where in the request it was (body, query...)."""
    # Only the first part says where: a field may be named `path` too (webhook.resolved.path).
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc or ())
    return field_path(parts) or ("body" if loc and loc[0] == "body" else "")


Answer = tuple[str, dict[str, Any]]
_LABELS: dict[str, str] = {ConfigKind.PROFILE: "alerting profile", ConfigKind.INTEGRATION: "integration"}


def _label(kind: str) -> str:
    return _LABELS.get(kind, kind.lower())


def _not_found(exc: NotFound) -> Answer:
    return f"no {_label(exc.kind)} with id {exc.item_id}", {}


def _no_delivery(exc: DeliveryNotFound) -> Answer:
    return f"no delivery {exc.delivery_id} for integration {exc.integration_id}", {}


def _stale(exc: VersionConflict) -> Answer:
    return f"{_label(exc.kind)} {exc.item_id} changed since version {exc.expected_version}", {}


def _concurrent(_exc: TransactionConflict) -> Answer:
    return "a concurrent change touched the same items; try again", {}


def _throttled(_exc: Throttled) -> Answer:
    return "too many writes at once; try again in a moment", {}


def _limit(exc: LimitExceeded) -> Answer:
    return f"at most {exc.max_count} {_label(exc.kind)}s may exist", {}


def _in_use(exc: ProfileInUse) -> Answer:
    names = ", ".join(f"{name} ({integration_id})" for integration_id, name in exc.users)
    message = f"alerting profile {exc.profile_id} is used by {len(exc.users)} integration(s): {names}"
    return message, {"integrations": exc.integration_ids}


def _name_taken(exc: NameTaken) -> Answer:
    holder = f"{_label(exc.kind)} {exc.holder_id}"
    message = f"{exc.field}: {holder} is already named {exc.name!r}; names are unique"
    return message, {"field": exc.field, "holderId": exc.holder_id}


def _profile_missing(exc: ProfileMissing) -> Answer:
    return f"{exc.field}: no alerting profile with id {exc.profile_id}", {"field": exc.field}


def _too_large(exc: ItemTooLarge) -> Answer:
    message = (
        f"{_label(exc.kind)}: the stored item would take {exc.size:,} bytes; the cap is {exc.cap:,} bytes"
    )
    return message, {"field": exc.field} if exc.field else {}


def _bad_token(exc: InvalidToken) -> Answer:
    return f"{exc.field}: {exc.field} is not a token this API issued", {"field": exc.field}


# The one translation of the domain errors into answers: the status, then the message and the
# body's other fields. Looked up along the class hierarchy, most specific first.
ERROR_TABLE: dict[type[DomainError], tuple[int, Callable[[Any], Answer]]] = {
    NotFound: (404, _not_found),
    DeliveryNotFound: (404, _no_delivery),
    VersionConflict: (412, _stale),  # the caller's copy is stale: read again before writing
    TransactionConflict: (409, _concurrent),  # a concurrent writer: the same request may be sent again
    Throttled: (429, _throttled),
    LimitExceeded: (409, _limit),
    ProfileInUse: (409, _in_use),
    NameTaken: (409, _name_taken),  # names are unique within a kind: the holder is named
    ProfileMissing: (400, _profile_missing),
    ItemTooLarge: (400, _too_large),
    InvalidToken: (400, _bad_token),
}
# Answers a client is told to send again after a pause, and how long, in seconds.
RETRY_AFTER: dict[type[DomainError], int] = {Throttled: 1}


def domain_error_answer(exc: DomainError) -> tuple[int, str, dict[str, Any]]:
    """Status, message and other body fields of the answer to ``exc``."""
    for cls in type(exc).__mro__:
        row = ERROR_TABLE.get(cls)
        if row is not None:
            status, body = row
            message, details = body(exc)
            return status, message, details
    raise TypeError(f"no answer for {type(exc).__name__}") from exc


def register_error_handlers(app: APIGatewayRestResolver, logger: Logger) -> None:
    """Every error is JSON with a message that names the field or the reason; never a trace."""

    @app.exception_handler(RequestValidationError)
    def _invalid(exc: RequestValidationError) -> Response:
        errors = list(exc.errors())
        first = errors[0] if errors else {}
        if first.get("type") == "json_invalid":
            return error(400, "body: not valid JSON", field="body")
        details = [error_detail(field_of(e.get("loc", ())), str(e.get("msg"))) for e in errors[:20]]
        first_detail = details[0] if details else {"field": "", "message": "invalid request"}
        field, text = first_detail["field"], first_detail["message"]
        message = f"{field}: {text}" if field else text
        return error(400, message, field=field or None, errors=details)

    @app.exception_handler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        details = {k: v for k, v in exc.details.items() if k in ErrorBody.model_fields}
        return error(exc.status, exc.message, **details)

    @app.exception_handler(DomainError)
    def _domain_error(exc: DomainError) -> Response:
        status, message, details = domain_error_answer(exc)
        retry_after = RETRY_AFTER.get(type(exc))
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return error(status, message, headers, **details)

    @app.not_found
    def _not_found(exc: Exception) -> Response:
        return error(404, f"no route for {app.current_event.http_method} {app.current_event.path}")

    @app.exception_handler(Exception)
    def _unexpected(exc: Exception) -> Response:
        logger.exception("unhandled error")
        request_id = app.lambda_context.aws_request_id
        return error(500, "internal error; the request id is in the logs", requestId=request_id)


def _early_error(status: int, message: str, field: str = "body") -> dict[str, Any]:
    body = ErrorBody(message=message, field=field)
    return {
        "statusCode": status,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": body.model_dump_json(exclude_none=True),
        "isBase64Encoded": False,
    }


MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"


def _content_type(event: dict[str, Any]) -> str | None:
    for name, value in (event.get("headers") or {}).items():
        if name.lower() == "content-type" and isinstance(value, str):
            return value
    for name, values in (event.get("multiValueHeaders") or {}).items():
        if name.lower() == "content-type" and values:
            return str(values[0])
    return None


def unsupported_type(content_type: str | None, method: str) -> str | None:
    """Why a body of this Content-Type is refused (415), or None: JSON is ``application/json`` or
    any ``+json`` type, in UTF-8; a merge patch only on PATCH, and JSON Patch nowhere."""
    if content_type is None or not content_type.strip():
        return "Content-Type: missing; a body must be sent as application/json"
    media, *params = (part.strip() for part in content_type.split(";"))
    media = media.lower()
    patch = method.upper() == "PATCH"
    if media == JSON_PATCH:
        return f"Content-Type: {JSON_PATCH} (RFC 6902) is not supported; send a merge patch as {MERGE_PATCH}"
    if media == MERGE_PATCH and not patch:
        return f"Content-Type: {MERGE_PATCH} is for PATCH; a {method.upper()} body is application/json"
    if media != "application/json" and not (media.startswith("application/") and media.endswith("+json")):
        what = media[:100] or "empty"
        allowed = f"application/json or {MERGE_PATCH}" if patch else "application/json"
        return f"Content-Type: {what} is not JSON; send the body as {allowed}"
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() not in {"utf-8", "utf8"}:
            return f"Content-Type: charset {value.strip()[:40]} is not supported; JSON bodies are UTF-8"
    return None


def _as_json(event: dict[str, Any]) -> dict[str, Any]:
    """The event with its body typed application/json for the resolver, which parses no other
    type; the type it came with was accepted as JSON already."""
    headers = {k: v for k, v in (event.get("headers") or {}).items() if k.lower() != "content-type"}
    multi = {k: v for k, v in (event.get("multiValueHeaders") or {}).items() if k.lower() != "content-type"}
    headers["Content-Type"] = content_types.APPLICATION_JSON
    multi["Content-Type"] = [content_types.APPLICATION_JSON]
    return {**event, "headers": headers, "multiValueHeaders": multi}


@lambda_handler_decorator
def screen_body(handler: Any, event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Before routing, which would parse the body first: refuse what is too big, not JSON by
    its type (415), not text, or JSON that breaks the parser itself (nesting past the recursion
    limit, 5000-digit numbers)."""
    raw = event.get("body") if isinstance(event, dict) else None
    limit = get_settings().max_request_body_bytes
    if raw and event.get("resource") == CONFIG_APPLY_ROUTE:
        limit = max(limit, MAX_DOCUMENT_BYTES)  # a whole stack's configuration
    if raw:
        if len(raw) > limit:
            return _early_error(413, f"body: larger than {limit} bytes")
        refused = unsupported_type(_content_type(event), str(event.get("httpMethod") or ""))
        if refused is not None:
            return _early_error(415, refused, field="Content-Type")
        try:
            text = base64.b64decode(raw).decode("utf-8") if event.get("isBase64Encoded") else raw
            json.loads(text)
        except (UnicodeDecodeError, binascii.Error):
            return _early_error(400, "body: not UTF-8 text")
        except RecursionError:
            return _early_error(400, "body: JSON nested too deeply")
        except ValueError as exc:
            return _early_error(400, f"body: not valid JSON ({str(exc)[:120]})")
        event = _as_json(event)
    result: dict[str, Any] = handler(event, context)
    return result


def caller_of(event: Any) -> tuple[str, str | None]:
    """Who sent the request, as the audit trail records it, and its request id: the IAM ARN that
    API Gateway's IAM auth verified (``requestContext.identity.userArn``), or ``local`` where no
    gateway identified anyone (the local stack)."""
    context = _mapping(event.get("requestContext")) if isinstance(event, dict) else {}
    principal = _mapping(context.get("identity")).get("userArn")
    request_id = context.get("requestId")
    return (
        principal if isinstance(principal, str) and principal else "local",
        request_id if isinstance(request_id, str) else None,
    )


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


# ---- the API's own description ------------------------------------------------------------

# API Gateway's IAM auth, as its OpenAPI import and export spell it: a SigV4-signed Authorization header.
SECURITY_SCHEMES: dict[str, Any] = {
    "sigv4": {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "x-amazon-apigateway-authtype": "awsSigv4",
        "description": "AWS Signature Version 4 (service `execute-api`), e.g. with awscurl or any AWS SDK. "
        "The local stack (`make run`) needs no signature.",
    }
}
# Powertools documents its own 422 for validation errors; this API answers them with a 400.
_UNUSED_SCHEMAS = ("HTTPValidationError", "ValidationError", "ResponseValidationError")
_documents: dict[tuple[str, str], dict[str, Any]] = {}
_SWAGGER_DIR = Path(swagger_ui.__file__).parent


def served_base(event: APIGatewayProxyEvent) -> str:
    """The path prefix the API is reached under, from the request itself: the stage on the
    execute-api endpoint (requestContext.path ``/v1/swagger`` for path ``/swagger``), a custom
    domain's base path mapping, or nothing where the API is served at the root."""
    full = str(event.request_context.path or "")
    path = str(event.path or "")
    if not path or not full.endswith(path):
        return ""
    return full[: len(full) - len(path)].rstrip("/")


def openapi_document(app: APIGatewayRestResolver, base: str, **info: Any) -> dict[str, Any]:
    """The OpenAPI document with ``servers`` for ``base``, the IAM scheme, and no phantom 422."""
    key = (str(info.get("title")), str(info.get("version")))
    cached = _documents.get(key)
    if cached is None:
        raw = app.get_openapi_json_schema(**info)
        cached = json.loads(raw)
        for item in cached.get("paths", {}).values():
            for operation in item.values():
                operation.get("responses", {}).pop("422", None)
        schemas = cached.setdefault("components", {}).setdefault("schemas", {})
        for name in _UNUSED_SCHEMAS:
            schemas.pop(name, None)
        cached["components"]["securitySchemes"] = SECURITY_SCHEMES
        cached["security"] = [{name: []} for name in SECURITY_SCHEMES]
        _documents[key] = cached
    return {**cached, "servers": [{"url": base or "/"}]}


def register_docs(app: APIGatewayRestResolver, **info: Any) -> None:
    """``GET /openapi.json`` and ``GET /swagger`` (``?format=json`` for the document alone)."""

    def document() -> dict[str, Any]:
        return openapi_document(app, served_base(app.current_event), **info)

    @app.get("/openapi.json", include_in_schema=False)
    def _openapi() -> Response[str]:
        return Response(200, content_types.APPLICATION_JSON, json.dumps(document()))

    @app.get("/swagger", include_in_schema=False)
    def _swagger() -> Response[str]:
        # "</" escaped: the document is embedded in a <script> element.
        spec = json.dumps(document()).replace("</", "<\\/")
        if (app.current_event.query_string_parameters or {}).get("format") == "json":
            return Response(200, content_types.APPLICATION_JSON, spec)
        js = (_SWAGGER_DIR / "swagger-ui-bundle.min.js").read_text(encoding="utf-8")
        css = (_SWAGGER_DIR / "swagger-ui.min.css").read_text(encoding="utf-8")
        return Response(200, "text/html", generate_swagger_html(spec, js, css, "", None))
