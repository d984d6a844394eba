"""Size and time checks for the Jinja sandbox: the render budget, and the bounds on values,
operators, string methods and filter arguments that could amplify work."""

from __future__ import annotations

import re
import string
import time
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2.runtime import Undefined

from secnotify.templating.errors import RenderBudgetExceeded, TemplateError

MAX_INT_ARG = 10_000  # widths/counts passed to padding-style functions
MAX_INT_BITS = 100_000
MAX_ITEMS = 100_000


@dataclass
class Budget:
    # The deadline is in this thread's CPU time: a busy machine or a busy fan-out pool must not
    # make a good template fail, while a runaway one still stops.
    deadline: float
    max_chars: int
    produced: int = 0

    def tick(self) -> None:
        if time.thread_time() > self.deadline:
            raise RenderBudgetExceeded("template rendering took too long and was stopped")

    def add(self, chars: int) -> None:
        self.produced += chars
        # captured text (macros, set blocks) is output again later, hence the factor two
        if self.produced > 2 * self.max_chars:
            raise RenderBudgetExceeded(f"rendered payload exceeds {self.max_chars} bytes")


BUDGET: ContextVar[Budget | None] = ContextVar("secnotify_render_budget", default=None)


def tick() -> None:
    budget = BUDGET.get()
    if budget is not None:
        budget.tick()


def max_chars() -> int:
    budget = BUDGET.get()
    return budget.max_chars if budget is not None else 1_048_576


def too_big(what: str) -> TemplateError:
    return RenderBudgetExceeded(f"{what} would exceed the {max_chars()} byte output limit")


_PLAIN_SCALARS = (str, int, float, type(None))


def check_plain(value: Any) -> None:
    """Refuse anything but strings, numbers, booleans, None and lists/mappings of them.

    ``str()`` of a function, method, range, generator or loop object is its repr, often with a
    memory address: such a value must never reach the payload, whatever turned it into text.
    """
    if isinstance(value, (*_PLAIN_SCALARS, Undefined)):
        return  # StrictUndefined raises where it is used
    seen: set[int] = set()  # `[x] * 3000` holds one object 3000 times: look at it once
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, (*_PLAIN_SCALARS, Undefined)):
            continue
        if type(item) in (list, tuple, dict):
            if id(item) in seen:
                continue
            seen.add(id(item))
            todo.extend(item.items() if isinstance(item, dict) else item)
            continue
        raise TemplateError(
            f"a {type(item).__name__} value cannot be output or turned into text; "
            "templates output strings, numbers, booleans, lists and mappings (e.g. add |list)"
        )


def check_int(value: Any) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT_ARG:
        raise TemplateError(f"argument {value} is too large (at most {MAX_INT_ARG})")


def _sized(value: Any) -> bool:
    return isinstance(value, str | bytes | list | tuple)


def _check_length(length: int, text: bool, what: str) -> None:
    if length > (max_chars() if text else MAX_ITEMS):
        raise too_big(what)


def _bits(number: int) -> int:
    return max(1, number.bit_length())


_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")


def check_format_string(fmt: str) -> None:
    """Refuse ``%``/``str.format`` widths that would allocate huge strings."""
    for match in _PRINTF_SPEC.finditer(fmt):
        for part in match.groups():
            if part == "*" or (part is not None and int(part) > MAX_INT_ARG):
                raise TemplateError("format width or precision is too large")
    if "{" not in fmt:
        return
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise TemplateError(f"bad format string: {exc}") from None
    for _literal, _field, spec, _conversion in fields:
        if not spec:
            continue
        if "{" in spec:
            raise TemplateError("nested format specifications are not allowed")
        if any(int(n) > MAX_INT_ARG for n in re.findall(r"\d+", spec)):
            raise TemplateError("format width or precision is too large")


def check_binop(operator: str, left: Any, right: Any) -> None:
    if operator == "*":
        if _sized(left) and isinstance(right, int):
            _check_sequence_product(left, right)
        elif _sized(right) and isinstance(left, int):
            _check_sequence_product(right, left)
        elif isinstance(left, int) and isinstance(right, int) and _bits(left) + _bits(right) > MAX_INT_BITS:
            raise RenderBudgetExceeded("number too large")
    elif operator == "**":
        if (
            isinstance(left, int)
            and isinstance(right, int)
            and right > 0
            and _bits(left) * right > MAX_INT_BITS
        ):
            raise RenderBudgetExceeded("number too large")
    elif operator == "+":
        if _sized(left) and _sized(right) and type(left) is type(right):
            _check_length(len(left) + len(right), isinstance(left, str | bytes), "concatenation")
    elif operator == "%" and isinstance(left, str):
        check_format_string(left)
        check_plain(right)


def _check_sequence_product(seq: Any, times: int) -> None:
    if times > 0:
        _check_length(len(seq) * times, isinstance(seq, str | bytes), "repetition")


def str_len_items(values: Iterable[Any]) -> tuple[list[str], int]:
    items = []
    total = 0
    for i, value in enumerate(values):
        if i >= MAX_ITEMS:
            raise RenderBudgetExceeded("too many items")
        check_plain(value)
        text = str(value)
        items.append(text)
        total += len(text)
    return items, total


def _check_join(separator: str, values: Any) -> list[str]:
    items, total = str_len_items(values)
    if total + len(separator) * max(0, len(items) - 1) > max_chars():
        raise too_big("join")
    return items


def _check_replace(text: str, old: str, new: str, count: Any = -1) -> None:
    hits = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        hits = min(hits, count)
    if len(text) + hits * max(0, len(new) - len(old)) > max_chars():
        raise too_big("replace")


def check_str_method(name: str, text: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    for value in (*args, *kwargs.values()):
        check_int(value)
    if name in ("format", "format_map"):
        check_format_string(text)
        check_plain(list(args))
        check_plain(kwargs)
    elif name == "replace" and len(args) >= 2 and isinstance(args[0], str) and isinstance(args[1], str):
        _check_replace(text, *args[:3])
    elif name == "join" and args:
        return (_check_join(text, args[0]), *args[1:])
    elif name == "expandtabs":
        size = args[0] if args else kwargs.get("tabsize", 8)
        if isinstance(size, int) and len(text) + text.count("\t") * size > max_chars():
            raise too_big("expandtabs")
    elif name == "translate" and args and isinstance(args[0], dict):
        longest = max((len(v) for v in args[0].values() if isinstance(v, str)), default=1)
        if len(text) * longest > max_chars():
            raise too_big("translate")
    return args


# --- filter guards -------------------------------------------------------------------------


def _guard_indent(args: list[Any], kwargs: dict[str, Any]) -> None:
    text = str(args[0])
    width = args[1] if len(args) > 1 else kwargs.get("width", 4)
    unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
    if len(text) + unit * (text.count("\n") + 1) > max_chars():
        raise too_big("indent")


def _guard_join(args: list[Any], kwargs: dict[str, Any]) -> None:
    separator = args[1] if len(args) > 1 else kwargs.get("d", "")
    attribute = args[2] if len(args) > 2 else kwargs.get("attribute")
    if attribute is None:
        args[0] = _check_join(str(separator), args[0])


def _guard_replace(args: list[Any], kwargs: dict[str, Any]) -> None:
    if len(args) >= 3:
        count = args[3] if len(args) > 3 else kwargs.get("count")
        _check_replace(str(args[0]), str(args[1]), str(args[2]), -1 if count is None else count)


def _guard_format(args: list[Any], kwargs: dict[str, Any]) -> None:
    check_format_string(str(args[0]))
    check_plain(args[1:])
    check_plain(kwargs)


def _guard_wordwrap(args: list[Any], kwargs: dict[str, Any]) -> None:
    wrapstring = args[3] if len(args) > 3 else kwargs.get("wrapstring")
    text = str(args[0])
    if isinstance(wrapstring, str) and len(text) * (len(wrapstring) + 1) > max_chars():
        raise too_big("wordwrap")


FILTER_GUARDS: dict[str, Callable[[list[Any], dict[str, Any]], None]] = {
    "indent": _guard_indent,
    "join": _guard_join,
    "replace": _guard_replace,
    "format": _guard_format,
    "wordwrap": _guard_wordwrap,
}
