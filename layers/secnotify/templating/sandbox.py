"""The hardened Jinja2 environment: immutable sandbox plus time and size budgets (README "Payload templates").

The sandbox already blocks ``__dunder__`` access and mutation of lists/dicts. What it does not
bound is work: ``'a' * 10**9``, ``'x'.center(10**9)``, nested loops with no output, macros
that double their output. Every operator, call, filter and loop iteration that can amplify
work goes through a check (in ``guards``), and the clock is looked at on each of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from jinja2 import StrictUndefined, nodes, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, safe_range

from secnotify.templating.guards import (
    BUDGET,
    FILTER_GUARDS,
    check_binop,
    check_format_string,
    check_int,
    check_plain,
    check_str_method,
    max_chars,
    str_len_items,
    tick,
    too_big,
)

_INT_CAPPED_FILTERS = frozenset({"center", "indent", "wordwrap", "batch", "slice", "truncate"})
# Filters that turn their input into text (a repr, for an object)
_TEXT_FILTERS = frozenset(
    {
        "string", "pprint", "e", "escape", "forceescape", "safe", "upper", "lower", "title",
        "capitalize", "trim", "center", "truncate", "wordwrap", "replace", "indent", "striptags",
        "urlize", "urlencode", "wordcount", "format", "xmlattr",
    }
)  # fmt: skip


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    guard = FILTER_GUARDS.get(name)
    capped = name in _INT_CAPPED_FILTERS
    text = name in _TEXT_FILTERS

    @functools.wraps(func)  # keeps jinja_pass_arg, so Jinja passes context/env as before
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if BUDGET.get() is None:
            # Jinja folds filters on constants while compiling (Filter.as_const): a template
            # must only ever run inside a render, under its budget, never at compile time.
            raise nodes.Impossible()
        tick()
        if text and len(args) > skip:
            check_plain(args[skip])
        if capped:
            for value in (*args[skip + 1 :], *kwargs.values()):
                check_int(value)
        if guard is not None and len(args) > skip:
            rest = list(args[skip:])
            guard(rest, kwargs)
            args = (*args[:skip], *rest)
        return func(*args, **kwargs)

    return wrapper


def _guarded_iter(value: Any) -> Iterator[Any]:
    budget = BUDGET.get()
    for item in value:
        if budget is not None:
            budget.tick()
        yield item


@pass_context
def _iter_filter(_context: Context, value: Any) -> Iterator[Any]:
    return _guarded_iter(value)


@pass_context
def _finalize(_context: Context, value: Any) -> Any:
    # Needing the context, it stops the code generator from evaluating constant output at
    # compile time (visit_Output folds children only when finalize works without context).
    return value


@pass_context
def _concat_filter(_context: Context, values: list[Any]) -> str:
    items, total = str_len_items(values)
    if total > max_chars():
        raise too_big("concatenation")
    return "".join(items)


class SecnotifyEnvironment(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        tick()
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        fmt = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            tick()
            check_format_string(fmt)
            check_plain(list(args))
            check_plain(kwargs)
            return wrapped(*args, **kwargs)

        return checked

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        tick()
        owner = getattr(obj, "__self__", None)
        if isinstance(owner, str | bytes) and not isinstance(obj, type):
            name = getattr(obj, "__name__", "")
            args = check_str_method(name, owner if isinstance(owner, str) else "", args, kwargs)
        elif obj is not safe_range and isinstance(owner, list | tuple | dict):
            for value in (*args, *kwargs.values()):
                check_int(value)
        return super().call(context, obj, *args, **kwargs)


def make_environment() -> SecnotifyEnvironment:
    env = SecnotifyEnvironment(
        autoescape=False,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=False,
        # No constant folding: the optimizer would run template code at compile time, outside
        # the render budget (and on save, in the API process).
        optimized=False,
        finalize=_finalize,
    )
    # lipsum(n) builds its whole text before anything is counted; nobody needs it in a payload
    env.globals.pop("lipsum", None)
    env.filters = {name: _guard_filter(name, func) for name, func in env.filters.items()}
    env.filters["_sn_iter"] = _iter_filter
    env.filters["_sn_concat"] = _concat_filter
    return env


GLOBAL_NAMES: frozenset[str] = frozenset(make_environment().globals)
