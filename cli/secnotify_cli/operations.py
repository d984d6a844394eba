"""Deliveries, explain, configuration as code, placeholders and the audit trail."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from secnotify_cli.client import Api, segment
from secnotify_cli.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, CliError
from secnotify_cli.objects import INTEGRATIONS, resolve
from secnotify_cli.output import Column, Printer, read_document, read_object

# ---- deliveries ------------------------------------------------------------------------

DELIVERY_COLUMNS = (
    Column("DELIVERY", lambda r: r.get("deliveryId"), 36),
    Column("CREATED", lambda r: r.get("createdAt"), 24),
    Column("INTEGRATION", lambda r: r.get("integrationId"), 36),
    Column("KIND", lambda r: r.get("kind"), 10),
    Column("ATTEMPT", lambda r: r.get("attempt"), 7),
    Column("STATUS", lambda r: r.get("status"), 12),
    Column("HTTP", lambda r: r.get("statusCode"), 4),
    Column("MS", lambda r: None if r.get("latencyMs") is None else round(float(r["latencyMs"]))),
    Column("ERROR", lambda r: r.get("error"), 50),
)


def list_deliveries(
    api: Api, ref: str | None, event_id: str | None, status: str | None, limit: int, printer: Printer
) -> int:
    if ref is None:
        if event_id is None:
            raise CliError("deliveries list: name an integration, or an event with --event ID", EXIT_USAGE)
        items = list(api.pages(f"/events/{segment(event_id)}/deliveries", limit=limit))
        # One event's listing has no status filter of its own: an event has few records.
        items = [i for i in items if status is None or i.get("status") == status]
    else:
        object_id, _ = resolve(api, INTEGRATIONS, ref)
        path = f"/integrations/{segment(object_id)}/deliveries"
        items = list(api.pages(path, limit=limit, status=status, eventId=event_id))
    printer.rows(items, DELIVERY_COLUMNS)
    return EXIT_OK


def show_delivery(api: Api, ref: str, delivery_id: str, printer: Printer) -> int:
    object_id, _ = resolve(api, INTEGRATIONS, ref)
    printer.document(api.get(f"/integrations/{segment(object_id)}/deliveries/{segment(delivery_id)}"))
    return EXIT_OK


# ---- explain ---------------------------------------------------------------------------

EXPLAIN_COLUMNS = (
    Column("INTEGRATION", lambda r: r.get("integrationId"), 36),
    Column("NAME", lambda r: r.get("displayName"), 30),
    Column("MATCHED", lambda r: r.get("matched")),
    Column("REASON", lambda r: r.get("reason"), 20),
    Column("MESSAGE", lambda r: r.get("message"), 70),
)


def explain(api: Api, event_path: str, printer: Printer) -> int:
    event = read_object(event_path)
    result = api.call("POST", "/events/explain", {"event": event}).json()
    if printer.fmt == "table":
        printer.rows(result.get("items", []), EXPLAIN_COLUMNS)
    else:
        printer.document(result)
    return EXIT_OK


# ---- configuration as code -------------------------------------------------------------

# A secret slot of an exported document holds exactly one reference; nothing else is filled.
REFERENCE = re.compile(r"^\$\{(SECNOTIFY_[A-Z0-9_]+)\}$")


def read_secrets_file(path: str) -> dict[str, str]:
    """``KEY=VALUE`` lines; blank lines and ``#`` comments skipped; the value is taken as written
    after the first ``=`` (no quotes removed, no variables expanded)."""
    values: dict[str, str] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
    except OSError as error:
        raise CliError(f"{path}: {error.strerror}", EXIT_USAGE) from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise CliError(f"{path}:{number}: expected KEY=VALUE", EXIT_USAGE)
        values[key] = value
    return values


def fill_references(document: Any, values: Mapping[str, str]) -> tuple[Any, list[str], list[str]]:
    """The document with every ``${SECNOTIFY_…}`` slot that has a value filled in; the names filled
    and the names left as they are (the server keeps the stored secret or says why it cannot)."""
    filled: list[str] = []
    unresolved: list[str] = []

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: walk(item) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item) for item in value]
        if isinstance(value, str):
            match = REFERENCE.match(value)
            if match:
                name = match.group(1)
                if name in values:
                    filled.append(name)
                    return values[name]
                unresolved.append(name)
        return value

    return walk(document), filled, unresolved


PLAN_COLUMNS = (
    Column("ACTION", lambda r: r.get("action"), 10),
    Column("KIND", lambda r: r.get("kind"), 12),
    Column("NAME", lambda r: r.get("name"), 40),
    Column("CHANGES", lambda r: r.get("changes"), 80),
)


def export(api: Api, printer: Printer) -> int:
    printer.document(api.get("/config/export"))
    return EXIT_OK


MAX_APPLY_ROUNDS = 20


def apply(api: Api, path: str, dry_run: bool, prune: bool, secrets_file: str | None, printer: Printer) -> int:
    document = read_document(path)
    if not isinstance(document, dict):
        raise CliError(f"{path}: expected a configuration document (a mapping)", EXIT_USAGE)
    # A file named on the command line is the more deliberate choice: it wins over the environment.
    values = {k: v for k, v in os.environ.items() if k.startswith("SECNOTIFY_")}
    if secrets_file is not None:
        values.update(read_secrets_file(secrets_file))
    document, _, unresolved = fill_references(document, values)
    query = {"dryRun": "true" if dry_run else None, "prune": "true" if prune else None}
    plan = api.call("POST", "/config/apply", document, query=query).json()
    # A large document may outrun one request: the server stops between writes and counts what is
    # pending; the same document again carries on from there (applying is idempotent).
    rounds = 1
    while not dry_run and plan.get("pending") and rounds < MAX_APPLY_ROUNDS:
        before = plan["pending"]
        plan = api.call("POST", "/config/apply", document, query=query).json()
        rounds += 1
        if plan.get("pending", 0) >= before:
            break
    if not dry_run and plan.get("pending"):
        raise CliError(
            f"apply stopped with {plan['pending']} write(s) pending after {rounds} request(s); "
            "run the same apply again to finish",
            EXIT_FAILED,
        )
    if printer.fmt != "table":
        printer.document(plan)
        return EXIT_OK
    for name in sorted(set(unresolved)):
        printer.write(f"note: ${{{name}}} has no value: the stored secret is kept where the server can")
    printer.rows(plan.get("items", []), PLAN_COLUMNS)
    printer.write("dry run: nothing written" if dry_run or not plan.get("applied") else "applied")
    return EXIT_OK


# ---- reference and audit ---------------------------------------------------------------

PLACEHOLDER_COLUMNS = (
    Column("NAME", lambda r: r.get("name"), 40),
    Column("DESCRIPTION", lambda r: r.get("description"), 70),
    Column("EXAMPLE", lambda r: r.get("example"), 40),
)


def placeholders(api: Api, printer: Printer) -> int:
    printer.rows(api.get("/placeholders").get("items", []), PLACEHOLDER_COLUMNS)
    return EXIT_OK


AUDIT_COLUMNS = (
    Column("WHEN", lambda r: r.get("at"), 24),
    Column("WHO", lambda r: r.get("principal"), 60),
    Column("ACTION", lambda r: r.get("action"), 6),
    Column("KIND", lambda r: r.get("kind"), 11),
    Column("NAME", lambda r: r.get("name"), 40),
    Column("FIELDS", lambda r: r.get("changes"), 60),
)


def audit(api: Api, limit: int, printer: Printer) -> int:
    printer.rows(list(api.pages("/audit", limit=limit)), AUDIT_COLUMNS)
    return EXIT_OK
