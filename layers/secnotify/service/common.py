"""Small helpers shared by the API use cases."""

from __future__ import annotations

import re
import uuid
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from secnotify.models.common import ServerFields, field_path
from secnotify.service.clock import SYSTEM_CLOCK
from secnotify.service.errors import BadRequest, PreconditionFailed
from secnotify.sources.attacks import ATTACK_DETAIL_TYPE

M = TypeVar("M", bound=BaseModel)

# ASCII digits only: str.isdigit() also takes "²" (int() then raises) and Arabic-Indic digits
# (which int() reads as numbers).
_VERSION_TAG = re.compile(r'"?([0-9]{1,11})"?')


def new_id() -> str:
    return str(uuid.uuid4())


def now_iso() -> str:
    return SYSTEM_CLOCK.iso()


def as_eventbridge(raw: dict[str, Any]) -> dict[str, Any]:
    """An event as preview, test-send and explain take it: a whole EventBridge event as it is,
    or just a detail of the platform's own, wrapped in one (an attack's when it has an attackId)."""
    if "detail" in raw:
        return raw
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": ATTACK_DETAIL_TYPE if "attackId" in raw else "Security Problem Opened",
        "source": "secnotify",
        "account": "000000000000",
        "time": now_iso(),
        "region": "us-east-1",
        "resources": [],
        "detail": raw,
    }


def etag(version: int) -> str:
    return f'"{version}"'


def if_match_version(header: str | None) -> int | None:
    """The version an If-Match header asks for: None when absent or ``*``, -1 when unparseable."""
    if header is None or header.strip() in {"", "*"}:
        return None
    value = header.split(",")[0].strip()
    if value.startswith("W/"):
        return -1  # If-Match compares strongly (RFC 9110): a weak tag never matches
    match = _VERSION_TAG.fullmatch(value)
    return int(match.group(1)) if match else -1


def check_if_match(header: str | None, version: int, what: str) -> None:
    """412 unless If-Match is absent, ``*``, or names the current version."""
    wanted = if_match_version(header)
    if wanted is not None and wanted != version:
        raise PreconditionFailed(f"If-Match: {what} is at version {version}, not {header}")


def check_server_fields(
    data: ServerFields, item_id: str, version: int, if_match: str | None, what: str
) -> None:
    """The server's own fields in an edit, as GET returned them: ignored, except that another id
    is a 400 and a version that is no longer current a 412. If-Match, when sent, decides instead."""
    if data.id is not None and data.id != item_id:
        raise BadRequest(
            f"id: {data.id} is not the id of {what}; leave it out or send it as GET returned it", field="id"
        )
    if if_match is not None and if_match.strip():
        check_if_match(if_match, version, what)
    elif data.version is not None and data.version != version:
        raise PreconditionFailed(
            f"version: {what} is at version {version}, not {data.version}; read it again and redo the change",
            field="version",
        )


def validated(model: type[M], doc: Any) -> M:
    """``doc`` as ``model``; a 400 worded as the API words a request body it refuses."""
    try:
        return model.model_validate(doc)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        details = [error_detail(field_path(e["loc"]), str(e["msg"])) for e in errors[:20]]
        first = details[0]
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        raise BadRequest(message, field=first["field"] or None, errors=details) from None


# A check across fields (a model validator) has no location of its own; its message starts with
# the field it is about, e.g. "webhook: an EMAIL integration has none".
_NAMED = re.compile(r"^([A-Za-z][A-Za-z0-9_.\[\]]*): ")


def error_detail(field: str, message: str) -> dict[str, str]:
    """One problem of a 400 as the API lists it: pydantic's "Value error, " dropped, and a check
    across fields named by the field its message starts with."""
    message = message.removeprefix("Value error, ")
    if field in ("", "body"):
        named = _NAMED.match(message)
        if named:
            field, message = named.group(1), message[named.end() :]
    return {"field": field, "message": message}


def error_view(error: Any) -> dict[str, Any]:
    """A template error as the API lists it."""
    view: dict[str, Any] = {"message": error.message}
    if getattr(error, "line", None) is not None:
        view["line"] = error.line
        view["column"] = error.column
    unknown = getattr(error, "unknown", ())
    if unknown:
        view["unknownPlaceholders"] = list(unknown)
    return view
