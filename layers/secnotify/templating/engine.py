"""Compile a payload template once, render it for many events (README "Payload templates").

Two render paths:
- *plain*: no ``{{``/``{%``/``{#`` in the template. Placeholders are found once at compile time
  and rendering is a join of literal text and escaped values (this runs for every delivery).
- *jinja*: the template is parsed by Jinja, then its AST is rewritten so that placeholders
  in literal text become value lookups, and every ``{{ }}`` output goes through the escaper
  for its position (inside a JSON string or a bare JSON value, XML, raw).

Either way substitution is single pass: a value that contains ``{Title}`` or ``{{7*7}}`` is
inserted as data, never re-read as template.

The Jinja path lives in :mod:`secnotify.templating.jinja_engine`, imported on the first
template that needs it: most payloads are plain, and importing Jinja and building the sandbox
would otherwise cost every dispatcher cold start tens of milliseconds.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING

from secnotify.models.event import SecurityEvent, sample_event
from secnotify.templating import escaping, placeholders
from secnotify.templating.errors import MissingReceiverReference, RenderBudgetExceeded, TemplateError
from secnotify.templating.escaping import Mode
from secnotify.templating.limits import DEFAULT_LIMITS, RenderLimits
from secnotify.templating.placeholders import (
    RECEIVER_SAMPLE,
    is_event_key,
    receiver_key,
    receiver_of,
    secret_key,
    secret_of,
    unknown_placeholder_error,
    unknown_receiver_error,
    unknown_secret_error,
)
from secnotify.templating.scanner import Scanner, placeholders_in

if TYPE_CHECKING:
    from secnotify.templating.jinja_engine import JinjaTemplate

_JINJA_MARKERS = ("{{", "{%", "{#")


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


class CompiledTemplate:
    """A template ready to render; build it with :func:`compile_template`."""

    def __init__(
        self, source: str, content_type: str, mode: Mode, limits: RenderLimits = DEFAULT_LIMITS
    ) -> None:
        self.source = source
        self.content_type = content_type
        self.mode = mode
        self.limits = limits
        self.uses_jinja = any(marker in source for marker in _JINJA_MARKERS)
        # Refused on save, yet rendered as before: a stored template keeps delivering.
        self.problems: tuple[TemplateError, ...] = ()
        # The integration secrets it uses, by name; their values come with each render, never
        # into this object, which the cache shares between integrations.
        self.secret_names: frozenset[str] = frozenset()
        # The receiver references it uses, by name; their values come with each render too.
        self.receiver_names: frozenset[str] = frozenset()
        self._max_bytes = limits.max_output_bytes
        self._timeout_s = limits.timeout_s
        if self.uses_jinja:
            self._compile_jinja()
        else:
            self._compile_plain()

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholder keys used, e.g. ``Title`` or ``Tags[owner]``."""
        return frozenset(self._used)

    # --- plain path --------------------------------------------------------------------

    def _compile_plain(self) -> None:
        source = self.source
        scan = Scanner(self.mode, source)
        found = list(placeholders_in(source))
        ends = [placeholder.start for placeholder in found[1:]]
        ends += [len(source)] if found else []
        self._head = source[: found[0].start] if found else source
        scan.literal(self._head)
        ops: list[tuple[str, Callable[[str], str], str]] = []
        for placeholder, end in zip(found, ends, strict=True):
            in_string = scan.placeholder(placeholder, *_line_col(source, placeholder.start))
            literal = source[placeholder.end : end]
            scan.literal(literal)
            if placeholder.key is not None:
                escape = escaping.placeholder_escaper(
                    self.mode, in_string, placeholders.kind_of(placeholder.key)
                )
                ops.append((placeholder.key, escape, literal))
        if scan.unknown:
            raise unknown_placeholder_error(scan.unknown)
        self.problems = tuple(scan.problems)
        self._ops = tuple(ops)
        self._used = scan.used
        self.secret_names = frozenset(filter(None, map(secret_of, self._used)))
        self.receiver_names = frozenset(filter(None, map(receiver_of, self._used)))
        self._getters = tuple((key, placeholders.text_getter(key)) for key in self._used if is_event_key(key))

    def _render_plain(
        self, event: SecurityEvent, secrets: Mapping[str, str], receiver: Mapping[str, str]
    ) -> str:
        values = {key: getter(event) for key, getter in self._getters}
        for name, value in secrets.items():
            values[secret_key(name)] = value
        for name, value in receiver.items():
            values[receiver_key(name)] = value
        parts = [self._head]
        for key, escape, literal in self._ops:
            parts.append(escape(values[key]))
            parts.append(literal)
        return "".join(parts)

    # --- jinja path --------------------------------------------------------------------

    def _compile_jinja(self) -> None:
        from secnotify.templating import jinja_engine  # deferred: see the module docstring

        self._jinja: JinjaTemplate = jinja_engine.JinjaTemplate(
            self.source, self.mode, self._max_bytes, self._timeout_s
        )
        self._used = self._jinja.used
        self.secret_names = self._jinja.secret_names
        self.receiver_names = self._jinja.receiver_names
        self.problems = self._jinja.problems

    def _render_jinja(
        self, event: SecurityEvent, secrets: Mapping[str, str], receiver: Mapping[str, str]
    ) -> str:
        # in a worker process with hard limits: see secnotify.templating.worker
        from secnotify.templating import worker

        environment = dict(self.limits.worker_environment)
        return worker.POOL.render(
            self.source,
            self.mode,
            event,
            self._max_bytes,
            self._timeout_s,
            environment,
            dict(secrets),
            dict(receiver),
        )

    def _secrets(self, given: Mapping[str, str] | None) -> Mapping[str, str]:
        """The values of the secrets this template uses, and only those (a render worker gets
        no other); a name ``given`` lacks is an error naming it."""
        if not self.secret_names:
            return {}
        given = given or {}
        missing = sorted(self.secret_names.difference(given))
        if missing:
            raise unknown_secret_error(missing, given, self.source)
        return {name: given[name] for name in self.secret_names}

    def _references(self, given: Mapping[str, str] | None) -> Mapping[str, str]:
        """The receiver references this template uses, and only those; one ``given`` lacks is not
        stored yet, which a later attempt may find."""
        if not self.receiver_names:
            return {}
        given = given or {}
        if not self.receiver_names.issubset(given):
            raise MissingReceiverReference()
        return {name: given[name] for name in self.receiver_names}

    # --- public ------------------------------------------------------------------------

    def render(
        self,
        event: SecurityEvent,
        secrets: Mapping[str, str] | None = None,
        receiver: Mapping[str, str] | None = None,
    ) -> str:
        """The payload for ``event``, with ``secrets`` (the integration's, by name) and ``receiver``
        (the references kept for the event's problem, by name) filled in; raises TemplateError on
        sandbox violations, limits or a secret ``secrets`` lacks, MissingReceiverReference for a
        reference ``receiver`` lacks."""
        values = self._secrets(secrets)
        refs = self._references(receiver)
        if self.uses_jinja:
            body = self._render_jinja(event, values, refs)
        else:
            body = self._render_plain(event, values, refs)
        if len(body) * 4 > self._max_bytes and len(body.encode("utf-8", "surrogatepass")) > self._max_bytes:
            raise RenderBudgetExceeded(f"rendered payload exceeds {self._max_bytes} bytes")
        return body


# --- public functions --------------------------------------------------------------------


# Built-in values only, so a lookup hashes and compares in C (it runs for every delivery).
_Key = tuple[str, str, int, float, tuple[tuple[str, str], ...]]


class TemplateCache:
    """The process's compiled templates, keyed by template text, content type and limits: an edit
    compiles anew, while integrations with the same template share one compile. Least recently
    used ones go past ``max_size``. Thread-safe; threads asking for a template being compiled
    wait for that compile instead of starting their own. Failed compiles are not kept."""

    def __init__(self, max_size: int = 2048) -> None:
        self.max_size = max_size
        self.compiles = 0
        self._items: OrderedDict[_Key, CompiledTemplate] = OrderedDict()
        self._pending: dict[_Key, Future[CompiledTemplate]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(
        self, template: str, content_type: str, limits: RenderLimits = DEFAULT_LIMITS
    ) -> CompiledTemplate:
        key = (template, content_type, limits.max_output_bytes, limits.timeout_s, limits.worker_environment)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
            pending = self._pending.get(key)
            if pending is None:
                pending = self._pending[key] = Future()
                self.compiles += 1
                mine = True
            else:
                mine = False
        if mine:
            self._compile(key, limits, pending)
        return pending.result()

    def _compile(self, key: _Key, limits: RenderLimits, pending: Future[CompiledTemplate]) -> None:
        template, content_type = key[0], key[1]
        try:
            compiled = CompiledTemplate(template, content_type, escaping.mode_for(content_type), limits)
        except BaseException as exc:
            with self._lock:
                del self._pending[key]
            pending.set_exception(exc)
            return
        with self._lock:
            del self._pending[key]
            self._items[key] = compiled
            while len(self._items) > self.max_size:
                self._items.popitem(last=False)
        pending.set_result(compiled)


# The one template cache of the process: the dispatcher's notifier, test-send, preview and save.
TEMPLATES = TemplateCache()


def compile_template(
    template: str, content_type: str, limits: RenderLimits = DEFAULT_LIMITS
) -> CompiledTemplate:
    """Compile once (cached in :data:`TEMPLATES`), render many times. Raises TemplateError for
    unknown placeholders/variables, unsupported tags and Jinja syntax errors."""
    return TEMPLATES.get(template, content_type, limits)


def _check_json(body: str) -> TemplateError | None:
    try:
        json.loads(body)
    except json.JSONDecodeError as exc:
        return TemplateError(
            f"payload does not render to valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            line=exc.lineno,
            column=exc.colno,
        )
    return None


def render_preview(
    template: str,
    content_type: str,
    event: SecurityEvent | None = None,
    limits: RenderLimits = DEFAULT_LIMITS,
    secrets: Mapping[str, str] | None = None,
    receiver_names: Collection[str] | None = None,
) -> tuple[str, list[TemplateError]]:
    """Body ("" when it could not render) and the problems found, for the preview endpoint.
    ``secrets`` are what ``{Secret[name]}`` renders as: the API passes masks, never values. Every
    ``{Receiver[name]}`` renders as ``RECEIVER-REF``; ``receiver_names``, when given, are the
    references the integration keeps, and any other is an error."""
    try:
        compiled = compile_template(template, content_type, limits)
        unknown = sorted(compiled.receiver_names.difference(receiver_names or ()))
        if receiver_names is not None and unknown:
            raise unknown_receiver_error(unknown, receiver_names, template)
        samples = dict.fromkeys(compiled.receiver_names, RECEIVER_SAMPLE)
        body = compiled.render(event if event is not None else sample_event(), secrets, samples)
    except TemplateError as exc:
        return "", [exc]
    problems = list(compiled.problems)
    if compiled.mode == "json":
        error = _check_json(body)
        if error is not None:
            problems.append(error)
    return body, problems


def validate_template(
    template: str,
    content_type: str,
    event: SecurityEvent | None = None,
    limits: RenderLimits = DEFAULT_LIMITS,
    secrets: Mapping[str, str] | None = None,
    receiver_names: Collection[str] | None = None,
) -> list[TemplateError]:
    """Everything wrong with a template, checked against the sample event (empty when fine)."""
    return render_preview(template, content_type, event, limits, secrets, receiver_names)[1]
