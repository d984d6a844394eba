"""The Jinja render path: parse, rewrite the AST for position-aware escaping, compile, render.

Kept apart from :mod:`secnotify.templating.engine` so that importing the templating package
(and rendering plain templates, the common case) does not pay for importing Jinja and building
the sandboxed environment; the engine imports this module on the first Jinja template.

Choices worth knowing:
- Undefined variables raise (StrictUndefined); unknown top-level names are rejected at compile.
- In a bare JSON position ``Markup`` (``|tojson``, ``|safe``) is trusted as JSON text; inside a
  JSON string everything is escaped. A ``{{ }}`` string that is empty renders ``""``, while an
  empty placeholder renders ``null`` (README "Payload templates").
- ``{Title}`` inside ``{% raw %}`` is still a placeholder; ``{{ '{Title}' }}`` prints it literally.
- The JSON context is decided from the template text in source order, so quotes opened in one
  ``{% if %}`` branch and closed in another can confuse it; validation on save catches that.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from json.encoder import encode_basestring
from types import TracebackType
from typing import Any

from jinja2 import meta, nodes, pass_context
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.runtime import Context, Undefined
from markupsafe import Markup

from secnotify.models.event import SecurityEvent
from secnotify.templating import escaping, guards, placeholders, sandbox
from secnotify.templating.errors import RenderBudgetExceeded, TemplateError
from secnotify.templating.escaping import Mode
from secnotify.templating.jinja_rewrite import GuardInserter, OutputRewriter, SecretAccess
from secnotify.templating.placeholders import (
    RECEIVER,
    SECRET,
    dumps,
    fix_surrogates,
    is_event_key,
    receiver_of,
    secret_of,
    unknown_placeholder_error,
)

_TEMPLATE_FILENAME = "<payload>"
_UNSUPPORTED: dict[type[nodes.Node], str] = {
    nodes.Extends: "{% extends %}",
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.CallBlock: "{% call %}",
    nodes.FilterBlock: "{% filter %}",
}
# Nesting caps, checked on the tokens before parsing: deeper templates make Jinja's parser or
# Python's compiler fail (20 nested loops, 100 indentation levels, recursion in the parser).
MAX_BLOCK_DEPTH = 12
MAX_BRACKET_DEPTH = 32
_BLOCK_TAGS = frozenset({"for", "if", "macro", "call", "filter", "with", "autoescape", "block", "set"})
_OPENERS = frozenset({"lparen", "lbracket", "lbrace"})
_CLOSERS = frozenset({"rparen", "rbracket", "rbrace"})


class JinjaTemplate:
    """A template with Jinja syntax, compiled against the shared sandboxed environment."""

    def __init__(self, source: str, mode: Mode, max_bytes: int, timeout_s: float) -> None:
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        try:
            self._build(source, mode)
        except RecursionError:
            # A long flat chain (`|e|e|e…`, `+1+1…`) opens no block or bracket, yet makes a tree
            # as deep as itself, which every walk over it recurses through.
            raise TemplateError("template is nested too deeply (an expression chain is too long)") from None

    def _build(self, source: str, mode: Mode) -> None:
        env = _ENV
        try:
            _check_nesting(env, source)
            tree = env.parse(source, filename=_TEMPLATE_FILENAME)
        except TemplateSyntaxError as exc:
            raise TemplateError(f"template syntax error: {exc.message}", line=exc.lineno) from None
        except RecursionError:
            raise TemplateError("template is nested too deeply") from None
        access = SecretAccess()
        tree = access.visit(tree)
        self._check_names(tree)
        rewriter = OutputRewriter(mode, source)
        rewriter.visit(tree, captured=False)
        scan = rewriter.scan
        if scan.unknown:
            raise unknown_placeholder_error(scan.unknown)
        self.problems = tuple(scan.problems)
        tree = GuardInserter().visit(tree)
        tree.set_environment(env)
        try:
            code = env.compile(tree, filename=_TEMPLATE_FILENAME)
        except TemplateSyntaxError as exc:
            raise TemplateError(f"template syntax error: {exc.message}", line=exc.lineno) from None
        except (SyntaxError, RecursionError, MemoryError) as exc:
            # the nesting caps should make this unreachable; a template error, never a crash
            raise TemplateError(f"template is too complex to compile: {type(exc).__name__}") from None
        self._jinja = env.template_class.from_code(env, code, env.make_globals(None), None)
        self.used: set[str] = scan.used
        self.secret_names = frozenset(access.names) | frozenset(filter(None, map(secret_of, self.used)))
        self.receiver_names = frozenset(access.receiver_names) | frozenset(
            filter(None, map(receiver_of, self.used))
        )
        self._getters = tuple((key, placeholders.text_getter(key)) for key in self.used if is_event_key(key))

    def _check_names(self, tree: nodes.Template) -> None:
        for node in tree.find_all(tuple(_UNSUPPORTED)):
            raise TemplateError(f"{_UNSUPPORTED[type(node)]} is not supported", line=node.lineno)
        # Jinja reports a name set inside an {% if %} as undeclared; anything the template
        # assigns somewhere is its own (StrictUndefined still catches the unassigned branch)
        assigned = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
        names = _undeclared_variables(tree) - assigned
        holders = ((SECRET, "the integration's secrets"), (RECEIVER, "the receiver's references"))
        for namespace, holds in holders:
            line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == namespace), None)
            if namespace in assigned:
                raise TemplateError(f"{namespace} holds {holds}: it cannot be set", line)
            if namespace in names:
                # Every literal access became a lookup (SecretAccess); any other use would let the
                # template list or pass around the values as a whole.
                raise TemplateError(
                    f"{namespace} may only be used as {namespace}.name or {namespace}['name'] with a "
                    "literal name",
                    line=line,
                )
        # `self` is implicit in Jinja and leads to the template's internals
        names |= {n.name for n in tree.find_all(nodes.Name) if n.name == "self" and n.ctx == "load"}
        unknown = sorted(names - placeholders.VARIABLE_NAMES - sandbox.GLOBAL_NAMES - {"event"})
        if unknown:
            line = next(
                (n.lineno for n in tree.find_all(nodes.Name) if n.name in unknown and n.ctx == "load"),
                None,
            )
            known = ", ".join(["event", *placeholders.SPECS, SECRET, RECEIVER, *sorted(sandbox.GLOBAL_NAMES)])
            raise TemplateError(
                f"unknown variable{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}. "
                f"Known variables: {known}",
                line=line,
                unknown=tuple(unknown),
            )
        self._variables = tuple(sorted(names & placeholders.VARIABLE_NAMES))
        self._wants_event = "event" in names

    def _generate(
        self,
        event: SecurityEvent,
        secrets: Mapping[str, str],
        receiver: Mapping[str, str],
        budget: guards.Budget,
    ) -> str:
        context: dict[str, Any] = {name: placeholders.jinja_value(name, event) for name in self._variables}
        if self._wants_event:
            context["event"] = event.model_dump(mode="json")
        values = {key: getter(event) for key, getter in self._getters}
        values.update((placeholders.secret_key(name), value) for name, value in secrets.items())
        values.update((placeholders.receiver_key(name), value) for name, value in receiver.items())
        state = _RenderState(event, values, budget, secrets, receiver)
        context["_sn_state"] = state
        out: list[str] = []
        size = 0
        for chunk in self._jinja.generate(context):
            size += len(chunk)
            if size > self._max_bytes:
                raise RenderBudgetExceeded(f"rendered payload exceeds {self._max_bytes} bytes")
            budget.tick()
            out.append(chunk)
        return "".join(out)

    def render(
        self,
        event: SecurityEvent,
        secrets: Mapping[str, str] | None = None,
        receiver: Mapping[str, str] | None = None,
    ) -> str:
        budget = guards.Budget(time.thread_time() + self._timeout_s, self._max_bytes)
        token = guards.BUDGET.set(budget)
        try:
            return self._generate(event, secrets or {}, receiver or {}, budget)
        except TemplateError as exc:
            if exc.line is None:
                exc.line = _template_line(exc.__traceback__)
            raise
        except SecurityError as exc:
            raise TemplateError(
                f"template tried to reach something it may not: {exc}", line=_template_line(exc.__traceback__)
            ) from None
        except UndefinedError as exc:
            raise TemplateError(
                f"undefined value in template: {exc.message}", line=_template_line(exc.__traceback__)
            ) from None
        except RecursionError:
            raise TemplateError("template recursion is too deep") from None
        except MemoryError:
            raise RenderBudgetExceeded("template used too much memory") from None
        except Exception as exc:  # a template must never crash the dispatcher
            raise TemplateError(
                f"template failed to render: {type(exc).__name__}: {exc}",
                line=_template_line(exc.__traceback__),
            ) from None
        finally:
            guards.BUDGET.reset(token)


class _Tracking(meta.TrackingCodeGenerator):
    """``meta.find_undeclared_variables`` without its optimizer, which would fold constants."""

    def __init__(self, environment: Any) -> None:
        CodeGenerator.__init__(self, environment, "<introspection>", "<introspection>", optimized=False)
        self.undeclared_identifiers: set[str] = set()


def _undeclared_variables(tree: nodes.Template) -> set[str]:
    codegen = _Tracking(_ENV)
    codegen.visit(tree)
    return codegen.undeclared_identifiers


def _block_step(kind: str, value: str, after_begin: bool, in_set: bool) -> tuple[int, bool]:
    """How one token changes the block depth, and whether a ``{% set %}`` may still open a block."""
    if after_begin and kind == "name":
        if value in _BLOCK_TAGS:
            # `{% set x = 1 %}` has no end tag; only the `{% set x %}...{% endset %}` form nests
            in_set = value == "set"
            return (0 if in_set else 1), in_set
        if value.startswith("end"):
            return -1, in_set
    if in_set and kind == "block_end":
        return 1, False
    if in_set and kind == "assign":
        return 0, False
    return 0, in_set


def _check_nesting(env: sandbox.SecnotifyEnvironment, source: str) -> None:
    """Refuse blocks nested deeper than MAX_BLOCK_DEPTH and brackets deeper than MAX_BRACKET_DEPTH."""
    blocks = brackets = 0
    after_begin = in_set = False
    for token in env.lexer.tokenize(source, filename=_TEMPLATE_FILENAME):
        if token.type == "block_begin":
            after_begin = True
            continue
        step, in_set = _block_step(token.type, token.value, after_begin, in_set)
        after_begin = False
        blocks += step
        brackets += 1 if token.type in _OPENERS else -1 if token.type in _CLOSERS else 0
        if blocks > MAX_BLOCK_DEPTH:
            raise TemplateError(f"blocks are nested more than {MAX_BLOCK_DEPTH} deep", line=token.lineno)
        if brackets > MAX_BRACKET_DEPTH:
            raise TemplateError(f"brackets are nested more than {MAX_BRACKET_DEPTH} deep", line=token.lineno)


def _template_line(tb: TracebackType | None) -> int | None:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == _TEMPLATE_FILENAME:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


# --- values of Jinja expressions -----------------------------------------------------------


def to_json_value(value: Any) -> str:
    """A Jinja value as a bare JSON value; ``Markup`` (e.g. ``|tojson``) is trusted as JSON."""
    if isinstance(value, Markup):
        return str(value)
    if isinstance(value, str):
        return fix_surrogates(encode_basestring(value))
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "null"
    if isinstance(value, list | tuple | dict):
        return dumps(value)
    if isinstance(value, Undefined):
        return str(value)  # raises for StrictUndefined, "" otherwise
    return fix_surrogates(encode_basestring(str(value)))


def expression_escaper(mode: Mode, in_string: bool) -> Callable[[Any], str]:
    convert: Callable[[Any], str]
    if mode == "xml":
        convert = lambda v: escaping.xml_escape(escaping.to_text(v))  # noqa: E731
    elif mode == "raw":
        convert = escaping.to_text
    elif in_string:
        convert = lambda v: escaping.json_string_content(escaping.to_text(v))  # noqa: E731
    else:
        convert = to_json_value

    def escape(value: Any) -> str:
        if guards.BUDGET.get() is None:
            raise nodes.Impossible()  # never folded at compile time, see sandbox.make_environment
        guards.check_plain(value)
        return convert(value)

    return escape


# --- the environment and the filters the rewritten AST calls ------------------------------


class _RenderState:
    """Per-render data the rewritten template reaches through its (reserved) context."""

    __slots__ = ("budget", "event", "receiver", "secrets", "values")

    def __init__(
        self,
        event: SecurityEvent,
        values: dict[str, str],
        budget: guards.Budget,
        secrets: Mapping[str, str],
        receiver: Mapping[str, str],
    ) -> None:
        self.event = event
        self.values = values
        self.budget = budget
        self.secrets = secrets
        self.receiver = receiver


def _state(context: Context) -> _RenderState:
    # read from the parent scope so `{% set _sn_state = ... %}` in a template cannot swap it
    state = context.parent.get("_sn_state")
    if not isinstance(state, _RenderState):
        raise TemplateError("internal render state missing")
    return state


def _placeholder_filter(mode: Mode, in_string: bool) -> Callable[..., str]:
    @pass_context
    def apply(context: Context, key: str) -> str:
        text = _state(context).values[key]
        return escaping.placeholder_escaper(mode, in_string, placeholders.kind_of(key))(text)

    return apply


@pass_context
def _captured_filter(context: Context, value: Any) -> str:
    guards.check_plain(value)
    text = escaping.to_text(value)
    _state(context).budget.add(len(text))
    return text


@pass_context
def _captured_placeholder(context: Context, key: str) -> str:
    state = _state(context)
    text = state.values[key]
    state.budget.add(len(text))
    return text


@pass_context
def _secret_filter(context: Context, name: str) -> str:
    secrets = _state(context).secrets
    if name not in secrets:
        raise TemplateError(f"unknown secret: {name}")
    return secrets[name]


@pass_context
def _receiver_filter(context: Context, name: str) -> str:
    receiver = _state(context).receiver
    if name not in receiver:
        raise TemplateError(f"unknown receiver reference: {name}")
    return receiver[name]


def _make_env() -> sandbox.SecnotifyEnvironment:
    env = sandbox.make_environment()
    for mode, contexts in (("json", (True, False)), ("xml", (False,)), ("raw", (False,))):
        for in_string in contexts:
            suffix = f"{mode}_{'s' if in_string else 'v'}"
            env.filters[f"_sn_ph_{suffix}"] = _placeholder_filter(mode, in_string)  # type: ignore[arg-type]
            env.filters[f"_sn_out_{suffix}"] = expression_escaper(mode, in_string)  # type: ignore[arg-type]
    env.filters["_sn_cap"] = _captured_filter
    env.filters["_sn_ph_cap"] = _captured_placeholder
    env.filters["_sn_secret"] = _secret_filter
    env.filters["_sn_receiver"] = _receiver_filter
    return env


_ENV = _make_env()
