"""`secnotify`: the command line. ``main(argv)`` returns the exit status (see errors.py)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from secnotify_cli import __version__, doctor, objects, operations
from secnotify_cli.client import Api, Options
from secnotify_cli.errors import EXIT_INTERRUPTED, EXIT_USAGE, CliError
from secnotify_cli.output import FORMATS, Printer

DESCRIPTION = """\
Configure and check a secnotify stack. Requests are signed (SigV4, service execute-api) with
your AWS credentials: --profile, SSO, or the AWS_ environment variables.
Exit status: 0 done, 1 the API refused (its message is quoted), 2 usage or input file,
3 endpoint, stack or credentials unreachable, 4 a test send, preview or check failed."""

Handler = Callable[[Api, argparse.Namespace, Printer], int]
# `doctor` reads the stack itself, with or without an API endpoint: it has no Api handler.
NO_HANDLER: Handler | None = None


def _global_options(parser: argparse.ArgumentParser, suppress: bool) -> None:
    # Accepted before or after the command: the leaf parsers repeat them without defaults.
    default: Any = argparse.SUPPRESS if suppress else None
    group = parser.add_argument_group("connection and output")
    group.add_argument("--endpoint", default=default, help="API base URL (the local stack: unsigned)")
    group.add_argument(
        "--stack",
        default=default,
        help="CloudFormation stack whose ApiUrl output is the API (default secnotify)",
    )
    group.add_argument("--profile", default=default, help="AWS profile")
    group.add_argument("--region", default=default, help="AWS region")
    group.add_argument(
        "--sign",
        default=default,
        action=argparse.BooleanOptionalAction,
        help="sign requests to --endpoint too (LOCAL_AUTH=sigv4 does the same)",
    )
    group.add_argument("--timeout", type=float, default=default, help="seconds per request (default 30)")
    group.add_argument(
        "-o", "--output", choices=FORMATS, default=default, help="table (default), json or yaml"
    )


def _options(args: argparse.Namespace) -> Options:
    return Options(
        endpoint=getattr(args, "endpoint", None),
        stack=getattr(args, "stack", None) or os.environ.get("SECNOTIFY_STACK") or "secnotify",
        profile=getattr(args, "profile", None),
        region=getattr(args, "region", None),
        sign=getattr(args, "sign", None),
        timeout=getattr(args, "timeout", None) or 30.0,
    )


class _Commands:
    """Builds the parser tree; each leaf carries its handler in ``run``."""

    def __init__(self, root: argparse._SubParsersAction) -> None:
        self.root = root

    def leaf(
        self,
        parent: argparse._SubParsersAction,
        name: str,
        help_text: str,
        run: Handler | None,
    ) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = parent.add_parser(name, help=help_text, description=help_text)
        _global_options(parser, suppress=True)
        parser.set_defaults(run=run)
        return parser

    def group(self, name: str, help_text: str) -> argparse._SubParsersAction:
        parser = self.root.add_parser(name, help=help_text, description=help_text)
        return parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _object_commands(commands: _Commands, kind: objects.Kind, plural: str) -> argparse._SubParsersAction:
    sub = commands.group(plural, f"alerting {plural}" if kind is objects.PROFILES else plural)
    commands.leaf(sub, "list", f"list every {kind.noun}", lambda a, n, p: objects.list_objects(a, kind, p))
    ref_help = f"the {kind.noun}'s id or {kind.name_field}"
    leaf = commands.leaf(
        sub, "get", f"show one {kind.noun} (YAML)", lambda a, n, p: objects.get_object(a, kind, n.ref, p)
    )
    leaf.add_argument("ref", metavar=kind.noun.upper(), help=ref_help)
    leaf = commands.leaf(
        sub,
        "create",
        f"create {_a(kind.noun)} from a YAML or JSON file",
        lambda a, n, p: objects.create_object(a, kind, n.file, p),
    )
    leaf.add_argument("-f", "--file", required=True, help="YAML or JSON file; - for standard input")
    leaf = commands.leaf(
        sub,
        "edit",
        f"edit {_a(kind.noun)} in $EDITOR; saved with If-Match",
        lambda a, n, p: objects.edit_object(a, kind, n.ref, p),
    )
    leaf.add_argument("ref", metavar=kind.noun.upper(), help=ref_help)
    leaf = commands.leaf(
        sub, "delete", f"delete {_a(kind.noun)}", lambda a, n, p: objects.delete_object(a, kind, n.ref, p)
    )
    leaf.add_argument("ref", metavar=kind.noun.upper(), help=ref_help)
    return sub


def _integration_commands(commands: _Commands) -> None:
    sub = _object_commands(commands, objects.INTEGRATIONS, "integrations")
    for name, value in (("enable", True), ("disable", False)):
        leaf = commands.leaf(
            sub,
            name,
            f"{name} an integration (PATCH)",
            partial(_set_enabled, value),
        )
        leaf.add_argument("ref", metavar="INTEGRATION")
    leaf = commands.leaf(
        sub, "test", "send a test notification now", lambda a, n, p: objects.test_send(a, n.ref, n.event, p)
    )
    leaf.add_argument("ref", metavar="INTEGRATION")
    leaf.add_argument("--event", help="an event (YAML/JSON file) instead of the sample one")
    leaf = commands.leaf(
        sub,
        "preview",
        "render a saved integration or a draft without sending",
        lambda a, n, p: objects.preview(a, n.ref, n.file, n.event, p),
    )
    leaf.add_argument("ref", metavar="INTEGRATION", nargs="?", help="a saved integration (id or displayName)")
    leaf.add_argument("-f", "--file", help="a draft integration (YAML/JSON; - for standard input)")
    leaf.add_argument("--event", help="an event (YAML/JSON file) instead of the sample one")


def _set_enabled(enabled: bool, api: Api, args: argparse.Namespace, printer: Printer) -> int:
    return objects.set_enabled(api, args.ref, enabled, printer)


def _delivery_commands(commands: _Commands) -> None:
    sub = commands.group("deliveries", "the delivery log")
    leaf = commands.leaf(
        sub,
        "list",
        "an integration's deliveries, newest first, or one event's across integrations",
        lambda a, n, p: operations.list_deliveries(a, n.ref, n.event, n.status, n.limit, p),
    )
    leaf.add_argument("ref", metavar="INTEGRATION", nargs="?")
    leaf.add_argument("--event", metavar="ID", help="only this event's deliveries")
    leaf.add_argument("--status", help="only this status, e.g. FAILED")
    leaf.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    leaf = commands.leaf(
        sub,
        "show",
        "one delivery record, with what was sent",
        lambda a, n, p: operations.show_delivery(a, n.ref, n.delivery, p),
    )
    leaf.add_argument("ref", metavar="INTEGRATION")
    leaf.add_argument("delivery", metavar="DELIVERY_ID")
    leaf = commands.leaf(
        sub,
        "redeliver",
        "send a delivery's notification again",
        lambda a, n, p: objects.redeliver(a, n.ref, n.delivery, p),
    )
    leaf.add_argument("ref", metavar="INTEGRATION")
    leaf.add_argument("delivery", metavar="DELIVERY_ID")


def _other_commands(commands: _Commands) -> None:
    root = commands.root
    leaf = commands.leaf(
        root,
        "explain",
        "why an event does or does not reach each integration",
        lambda a, n, p: operations.explain(a, n.event, p),
    )
    leaf.add_argument("event", metavar="EVENT.json", help="an event (YAML/JSON file; - for standard input)")
    commands.leaf(
        root,
        "export",
        "the whole configuration as YAML, secrets as ${SECNOTIFY_…}",
        lambda a, n, p: operations.export(a, p),
    )
    leaf = commands.leaf(
        root,
        "apply",
        "make the stack's configuration what a document says, and print the plan",
        lambda a, n, p: operations.apply(a, n.file, n.dry_run, n.prune, n.secrets_file, p),
    )
    leaf.add_argument("file", metavar="FILE", help="YAML or JSON document (- for standard input)")
    leaf.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    leaf.add_argument("--prune", action="store_true", help="delete what the document does not name")
    leaf.add_argument(
        "--secrets-file",
        metavar="FILE",
        help="KEY=VALUE lines for ${SECNOTIFY_…} references (wins over the environment)",
    )
    commands.leaf(
        root,
        "placeholders",
        "the placeholders a payload template may use",
        lambda a, n, p: operations.placeholders(a, p),
    )
    leaf = commands.leaf(
        root, "audit", "who changed what, newest first", lambda a, n, p: operations.audit(a, n.limit, p)
    )
    leaf.add_argument("--limit", type=int, default=100, help="at most this many (default 100)")
    leaf = commands.leaf(root, "doctor", "check a deployed stack end to end", NO_HANDLER)
    leaf.add_argument(
        "--test-send", action="store_true", help="also send a test notification to each integration"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secnotify", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"secnotify {__version__}")
    _global_options(parser, suppress=False)
    commands = _Commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    _object_commands(commands, objects.PROFILES, "profiles")
    _integration_commands(commands)
    _delivery_commands(commands)
    _other_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a usage error (2)
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    printer = Printer(getattr(args, "output", None) or "table")
    try:
        options = _options(args)
        if args.command == "doctor":
            return doctor.run_doctor(options, args.test_send, printer)
        handler: Handler = args.run
        return handler(Api.connect(options), args, printer)
    except CliError as error:
        print(f"secnotify: {error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("secnotify: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
