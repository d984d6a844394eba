"""A resolved route's path (README "Resolving at another URL"): ``{Placeholder}``s filled in with
their values percent-encoded whole, on the origin of the integration's URL.

A value can never add a segment, a query parameter or a fragment: every byte outside the
unreserved characters is encoded (``quote(value, safe="")``), and a value that is ``.`` or
``..`` goes as ``%2E``/``%2E%2E``, so that it cannot climb out of its segment either.
``{Secret[name]}`` is left as written: the sender fills it in after the SSRF guard vetted the
origin, as it does in ``webhook.url``, so a secret never reaches a cache keyed by the URL.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from secnotify.models.event import SecurityEvent
from secnotify.models.integration import url_origin
from secnotify.templating import placeholders
from secnotify.templating.errors import MissingReceiverReference, TemplateError
from secnotify.templating.placeholders import receiver_of, secret_of, unknown_placeholder_error
from secnotify.templating.scanner import placeholders_in

_DOT_SEGMENTS = {".": "%2E", "..": "%2E%2E"}


def encode_segment(value: str) -> str:
    """A placeholder's value as it goes into a path: percent-encoded whole."""
    encoded = quote(value, safe="", errors="replace")
    return _DOT_SEGMENTS.get(encoded, encoded)


@dataclass(frozen=True)
class CompiledPath:
    """A path with its placeholders found: ``pieces`` alternate literal text and placeholder keys
    (text, key, text, ..., text)."""

    source: str
    pieces: tuple[str, ...]
    secret_names: frozenset[str]
    receiver_names: frozenset[str]
    _getters: tuple[tuple[str, Callable[[SecurityEvent], str]], ...]

    def render(self, event: SecurityEvent, receiver: Mapping[str, str] | None = None) -> str:
        """The path for ``event``, with ``receiver`` (the references kept for its problem, by name)
        filled in; MissingReceiverReference when one it uses is not there."""
        receiver = receiver or {}
        if not self.receiver_names.issubset(receiver):
            raise MissingReceiverReference()
        values = {key: getter(event) for key, getter in self._getters}
        out = [self.pieces[0]]
        for index in range(1, len(self.pieces), 2):
            key = self.pieces[index]
            name = receiver_of(key)
            if secret_of(key) is not None:
                out.append("{" + key + "}")  # filled by the sender, after the origin is vetted
            else:
                out.append(encode_segment(receiver[name] if name is not None else values[key]))
            out.append(self.pieces[index + 1])
        return "".join(out)


@functools.lru_cache(maxsize=1024)
def compile_path(path: str) -> CompiledPath:
    """Find the placeholders of ``path`` once; TemplateError names every unknown one."""
    pieces: list[str] = []
    unknown: list[tuple[str, int, int | None]] = []
    pos = 0
    for found in placeholders_in(path):
        if found.key is None:
            unknown.append((found.written, 1, found.start + 1))
            continue
        pieces += [path[pos : found.start], found.key]
        pos = found.end
    if unknown:
        raise unknown_placeholder_error(unknown)
    pieces.append(path[pos:])
    keys = pieces[1::2]
    return CompiledPath(
        source=path,
        pieces=tuple(pieces),
        secret_names=frozenset(filter(None, map(secret_of, keys))),
        receiver_names=frozenset(filter(None, map(receiver_of, keys))),
        _getters=tuple(
            (key, placeholders.text_getter(key))
            for key in dict.fromkeys(keys)
            if placeholders.is_event_key(key)
        ),
    )


def resolved_url(url: str, path: str) -> str:
    """``path`` (rendered) on the scheme, host and port of ``url``. Refused (TemplateError) if the
    result would reach another origin, which a path checked on save never does."""
    parts = urlsplit(url)
    target = f"{parts.scheme}://{parts.netloc}{path}"
    if not path.startswith("/") or path.startswith("//") or url_origin(target) != url_origin(url):
        raise TemplateError("the resolved path would change the URL's origin")
    return target
