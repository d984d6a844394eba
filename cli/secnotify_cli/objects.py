"""Alerting profiles and integrations: list, get, create, edit, delete, and what only integrations do."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any

from secnotify_cli.client import MERGE_PATCH, Api, segment
from secnotify_cli.errors import EXIT_API, EXIT_FAILED, EXIT_OK, EXIT_USAGE, ApiError, CliError
from secnotify_cli.output import Column, Printer, parse_document, read_object, to_yaml


@dataclass(frozen=True)
class Kind:
    noun: str
    path: str
    name_field: str
    columns: tuple[Column, ...]


PROFILES = Kind(
    "profile",
    "/alerting-profiles",
    "name",
    (
        Column("ID", lambda r: r.get("id"), 36),
        Column("NAME", lambda r: r.get("name")),
        Column("ENABLED", lambda r: r.get("enabled")),
        Column("RISK LEVELS", lambda r: r.get("enabledRiskLevels")),
        Column("TRIGGERS", lambda r: r.get("enabledTriggerEvents"), 60),
        Column("ZONE", lambda r: r.get("managementZone"), 30),
    ),
)

INTEGRATIONS = Kind(
    "integration",
    "/integrations",
    "displayName",
    (
        Column("ID", lambda r: r.get("id"), 36),
        Column("NAME", lambda r: r.get("displayName")),
        Column("ENABLED", lambda r: r.get("enabled")),
        Column("PROFILE", lambda r: r.get("alertingProfileId"), 36),
        Column("URL", lambda r: _target(r), 60),
    ),
)


def _target(integration: dict[str, Any]) -> str | None:
    """Where an integration sends: its webhook's URL, or its email's To as a mailto: URL."""
    webhook = integration.get("webhook") or {}
    if webhook.get("url"):
        return str(webhook["url"])
    recipients = (integration.get("email") or {}).get("recipients") or []
    return "mailto:" + ",".join(map(str, recipients)) if recipients else None


def resolve(api: Api, kind: Kind, ref: str) -> tuple[str, Any]:
    """The id and the GET response of the object whose id, or else whose name, is ``ref``."""
    try:
        return ref, api.call("GET", f"{kind.path}/{segment(ref)}")
    except ApiError as error:
        if error.status not in (400, 404):
            raise
    matches = [item for item in api.pages(kind.path) if item.get(kind.name_field) == ref]
    if not matches:
        raise CliError(f"no {kind.noun} has the id or {kind.name_field} {ref!r}", EXIT_API)
    if len(matches) > 1:
        ids = ", ".join(str(m["id"]) for m in matches)
        raise CliError(f"{len(matches)} {kind.noun}s are named {ref!r}; use an id: {ids}", EXIT_API)
    object_id = str(matches[0]["id"])
    return object_id, api.call("GET", f"{kind.path}/{segment(object_id)}")


def list_objects(api: Api, kind: Kind, printer: Printer) -> int:
    printer.rows(list(api.pages(kind.path)), kind.columns)
    return EXIT_OK


def get_object(api: Api, kind: Kind, ref: str, printer: Printer) -> int:
    _, response = resolve(api, kind, ref)
    printer.document(response.json())
    return EXIT_OK


def create_object(api: Api, kind: Kind, path: str, printer: Printer) -> int:
    created = api.call("POST", kind.path, read_object(path)).json()
    printer.document(created)
    return EXIT_OK


def delete_object(api: Api, kind: Kind, ref: str, printer: Printer) -> int:
    object_id, _ = resolve(api, kind, ref)
    api.call("DELETE", f"{kind.path}/{segment(object_id)}")
    printer.message(f"deleted {kind.noun} {object_id}", {"deleted": object_id})
    return EXIT_OK


def set_enabled(api: Api, ref: str, enabled: bool, printer: Printer) -> int:
    """JSON Merge Patch of one field: nothing else is sent, so nothing else can change."""
    object_id, _ = resolve(api, INTEGRATIONS, ref)
    updated = api.call(
        "PATCH", f"/integrations/{segment(object_id)}", {"enabled": enabled}, content_type=MERGE_PATCH
    ).json()
    state = "enabled" if enabled else "disabled"
    printer.message(f"{state} integration {object_id} (version {updated.get('version')})", updated)
    return EXIT_OK


# ---- edit ------------------------------------------------------------------------------

EDIT_HEADER = (
    "# Edit, save and close to apply (a PUT with If-Match: a change made meanwhile is refused).\n"
    "# Leave it unchanged, or empty it, to change nothing.\n"
)


def _run_editor(path: str) -> None:
    command = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    try:
        status = subprocess.run([*shlex.split(command), path], check=False).returncode  # noqa: S603
    except OSError as error:
        raise CliError(f"editor {command!r}: {error.strerror}", EXIT_USAGE) from None
    if status != 0:
        raise CliError(f"editor {command!r} exited with status {status}: nothing changed", EXIT_USAGE)


def edit_object(api: Api, kind: Kind, ref: str, printer: Printer) -> int:
    object_id, response = resolve(api, kind, ref)
    current = response.json()
    etag = response.etag or f'"{current.get("version")}"'
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - kept on failure, so the edit is not lost
        "w", suffix=".yaml", prefix=f"secnotify-{kind.noun}-", delete=False, encoding="utf-8"
    )
    with handle:
        handle.write(EDIT_HEADER + to_yaml(current))
    _run_editor(handle.name)
    with open(handle.name, encoding="utf-8") as edited_file:
        edited = parse_document(edited_file.read(), handle.name)
    if edited is None or edited == current:
        os.unlink(handle.name)
        printer.message(f"{kind.noun} {object_id}: no change", {"changed": False})
        return EXIT_OK
    if not isinstance(edited, dict):
        raise CliError(f"{handle.name}: expected one object (a mapping); your edit is kept there", EXIT_USAGE)
    try:
        updated = api.call(
            "PUT", f"{kind.path}/{segment(object_id)}", edited, headers={"If-Match": etag}
        ).json()
    except ApiError as error:
        why = "someone else changed it since it was read" if error.status == 412 else error.message
        raise CliError(
            f"{kind.noun} {object_id}: {why}; your edit is kept in {handle.name}", EXIT_API
        ) from None
    os.unlink(handle.name)
    printer.document(updated)
    return EXIT_OK


# ---- test and preview ------------------------------------------------------------------


def _event(path: str | None) -> dict[str, Any]:
    return {} if path is None else {"event": read_object(path)}


def _send_result(result: dict[str, Any], printer: Printer, what: str) -> int:
    if result.get("delivered"):
        line = f"{what}: delivered, HTTP {result.get('statusCode')} in {result.get('latencyMs')} ms"
    else:
        line = f"{what}: NOT delivered: {result.get('error') or 'HTTP ' + str(result.get('statusCode'))}"
    line += f" (delivery {result.get('deliveryId')})"
    if result.get("integrationEnabled") is False:
        line += "\nnote: the integration is disabled, so it gets no events"
    printer.message(line, result)
    return EXIT_OK if result.get("delivered") else EXIT_FAILED


def test_send(api: Api, ref: str, event_path: str | None, printer: Printer) -> int:
    object_id, _ = resolve(api, INTEGRATIONS, ref)
    result = api.call("POST", f"/integrations/{segment(object_id)}/test", _event(event_path)).json()
    return _send_result(result, printer, f"test of {object_id}")


def preview(api: Api, ref: str | None, draft: str | None, event_path: str | None, printer: Printer) -> int:
    body = _event(event_path)
    if draft is not None:
        body["integration"] = read_object(draft)
    if ref is not None:
        body["integrationId"], _ = resolve(api, INTEGRATIONS, ref)
    if "integration" not in body and "integrationId" not in body:
        raise CliError("preview: name an integration, or a draft with -f FILE", EXIT_USAGE)
    result = api.call("POST", "/integrations/preview", body).json()
    if printer.fmt != "table":
        printer.document(result)
    else:
        printer.write(f"# {result.get('contentType')}\n{result.get('body', '')}")
        for issue in result.get("errors") or []:
            where = issue.get("field") or f"line {issue.get('line')}, column {issue.get('column')}"
            printer.write(f"error: {where}: {issue.get('message')}")
    return EXIT_OK if result.get("valid") else EXIT_FAILED


def redeliver(api: Api, ref: str, delivery_id: str, printer: Printer) -> int:
    object_id, _ = resolve(api, INTEGRATIONS, ref)
    path = f"/integrations/{segment(object_id)}/deliveries/{segment(delivery_id)}/redeliver"
    return _send_result(api.call("POST", path).json(), printer, f"redelivery of {delivery_id}")
