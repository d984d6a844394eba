"""What the commands print: tables and YAML for people, JSON for scripts; and the files they read."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import yaml

from secnotify_cli.errors import EXIT_USAGE, CliError

FORMATS = ("table", "json", "yaml")


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings (payload templates read as they are written)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(value: Any) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[dict[str, Any]], Any]
    width: int = 40  # longer values are cut, with an ellipsis


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list | tuple):
        text = ",".join(str(v) for v in value) or "-"
    else:
        text = " ".join(str(value).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(rows: Iterable[dict[str, Any]], columns: Sequence[Column]) -> str:
    cells = [[_cell(c.value(row), c.width) for c in columns] for row in rows]
    if not cells:
        return "(none)\n"
    widths = [max(len(c.title), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.title.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines) + "\n"


class Printer:
    """Prints one result in the chosen format."""

    def __init__(self, fmt: str = "table", out: TextIO | None = None) -> None:
        self.fmt = fmt
        self.out = out or sys.stdout

    def write(self, text: str) -> None:
        self.out.write(text if text.endswith("\n") else text + "\n")

    def rows(self, items: list[dict[str, Any]], columns: Sequence[Column]) -> None:
        if self.fmt == "json":
            self.write(to_json(items))
        elif self.fmt == "yaml":
            self.write(to_yaml(items))
        else:
            self.write(table(items, columns))

    def document(self, value: Any) -> None:
        """One object: YAML for people (the form `edit` opens), or JSON."""
        self.write(to_json(value) if self.fmt == "json" else to_yaml(value))

    def message(self, text: str, value: Any = None) -> None:
        """A line for people; with --output json, ``value`` instead (when there is one)."""
        if self.fmt == "json" and value is not None:
            self.write(to_json(value))
        elif self.fmt == "yaml" and value is not None:
            self.write(to_yaml(value))
        else:
            self.write(text)


def parse_document(text: str, source: str) -> Any:
    """YAML or JSON (JSON is YAML, but its own parser words errors better)."""
    stripped = text.lstrip()
    try:
        if stripped.startswith(("{", "[")):
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as error:
        raise CliError(f"{source}: not valid YAML or JSON: {error}", EXIT_USAGE) from None


def read_document(path: str) -> Any:
    """A YAML or JSON file; ``-`` is standard input."""
    if path == "-":
        return parse_document(sys.stdin.read(), "stdin")
    try:
        with open(path, encoding="utf-8") as handle:
            return parse_document(handle.read(), path)
    except OSError as error:
        raise CliError(f"{path}: {error.strerror}", EXIT_USAGE) from None


def read_object(path: str) -> dict[str, Any]:
    value = read_document(path)
    if not isinstance(value, dict):
        raise CliError(f"{path}: expected one object (a mapping), not {type(value).__name__}", EXIT_USAGE)
    return value
