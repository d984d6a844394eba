"""The one scanner of template text: where the placeholders are, and whether a value lands
inside a JSON string (README "Payload templates").

The plain compiler feeds it the whole template; the Jinja rewriter feeds it the literal text of
each output node in source order, with its ``{{ }}`` values in between. Either way a value is
escaped for the position the scanner reports, and a value the JSON text would corrupt is
reported as a problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from secnotify.models.named_secrets import SECRET_NAME
from secnotify.templating.errors import TemplateError
from secnotify.templating.escaping import Mode
from secnotify.templating.placeholders import RECEIVER, SECRET, SPECS, TAGS, receiver_key, secret_key

# `{Name}` or `{Name[key]}`; names are letters only so JSON such as `{"a":1}` or `{ }` never matches.
PLACEHOLDER_RE = re.compile(r"\{([A-Za-z]+)(?:\[([^\[\]{}\r\n]+)\])?\}")

OUTSIDE, IN_STRING, AFTER_BACKSLASH = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One ``{...}`` found in literal text."""

    start: int
    end: int
    written: str  # between the braces, as written: ``Title``, ``Tags[owner]``, ``Titel``
    key: str | None  # ``Title``, ``Tags[owner]`` or ``Secret[name]``; None when no such placeholder exists


def _key(match: re.Match[str]) -> str | None:
    name, tag = match.group(1), match.group(2)
    if tag is None:
        return name if name in SPECS else None
    if name == SECRET:
        return secret_key(tag) if SECRET_NAME.match(tag) else None
    if name == RECEIVER:  # names follow the rule of secret names
        return receiver_key(tag) if SECRET_NAME.match(tag) else None
    return f"{TAGS}[{tag}]" if name == TAGS else None


def placeholders_in(text: str) -> Iterator[Placeholder]:
    """The placeholders of ``text``, in order."""
    for match in PLACEHOLDER_RE.finditer(text):
        yield Placeholder(match.start(), match.end(), match.group()[1:-1], _key(match))


def advance(state: int, text: str) -> int:
    """Feed literal template text through the JSON string/escape state machine."""
    for ch in text:
        if state == OUTSIDE:
            if ch == '"':
                state = IN_STRING
        elif state == IN_STRING:
            if ch == "\\":
                state = AFTER_BACKSLASH
            elif ch == '"':
                state = OUTSIDE
        else:
            state = IN_STRING
    return state


def _escaped_value_error(line: int, column: int | None) -> TemplateError:
    where = f"line {line}" + (f", column {column}" if column is not None else "")
    return TemplateError(
        f"{where}: a placeholder right after an odd number of backslashes inside a JSON string; "
        "the last backslash would escape the value's first character (write \\\\ for a "
        "literal backslash)",
        line=line,
        column=column,
    )


def value_column(source: str, line: int, tail: str) -> int | None:
    """The 1-based column where a value starts on ``line``, found after the literal ``tail`` that
    precedes it there (Jinja's nodes know their line, not their column)."""
    rows = source.split("\n")
    if not tail or not 0 < line <= len(rows):
        return None
    row = rows[line - 1]
    at = row.find(tail + "{")
    if at < 0:
        at = row.find(tail)
    return at + len(tail) + 1 if at >= 0 else None


class Scanner:
    """Walks a template in source order: literal text moves the JSON string state; each value
    (placeholder or ``{{ }}``) is checked against it and learns whether it is inside a string."""

    def __init__(self, mode: Mode, source: str) -> None:
        self.mode = mode
        self.source = source
        self.state = OUTSIDE
        self.problems: list[TemplateError] = []
        self.unknown: list[tuple[str, int, int | None]] = []  # (as written, line, column)
        self.used: set[str] = set()
        self._tail = ""  # literal text before the next value, on its line

    def literal(self, text: str) -> None:
        self.state = advance(self.state, text)
        self._tail = (self._tail + text).rsplit("\n", 1)[-1]

    def value(self, line: int, column: int | None = None, output: bool = True) -> bool:
        """Pass a value; True when it lands inside a JSON string. Only output values are checked
        (text captured by a macro or set block is escaped where it is finally output); without
        a column it is found from the literal text before the value."""
        in_string = self.state != OUTSIDE
        if output and self.mode == "json" and self.state == AFTER_BACKSLASH:
            # The run's last backslash would escape the value's first character (`"\\{Title}"`
            # with a title of `"` closes the string): refused on save.
            if column is None:
                column = value_column(self.source, line, self._tail)
            self.problems.append(_escaped_value_error(line, column))
        self._tail = ""
        if self.state == AFTER_BACKSLASH:
            self.state = IN_STRING
        return in_string

    def placeholder(
        self, found: Placeholder, line: int, column: int | None = None, output: bool = True
    ) -> bool:
        """Pass a placeholder as a value, noting it as used or unknown (an unknown one fails the
        compile, so its position needs no check)."""
        if found.key is None:
            self.unknown.append((found.written, line, column))
            output = False
        else:
            self.used.add(found.key)
        return self.value(line, column, output)
