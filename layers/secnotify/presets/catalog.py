"""The presets (README "Presets"): ready integrations for the receivers people use, kept as data.

Each preset is ``data/<name>.json`` beside this module: its name, version, description, the
fields a user fills in (``presetFields``), an example of them, the sources its format follows,
and ``integration``, an integration input in which markers stand for the user's values:

- ``{{field.NAME}}``: the value of field NAME. In the URL, a header value or a secret value it
  goes in as it is; in a payload (a Jinja template) it goes in as a Jinja string literal, so a
  value is always data there, never template code.
- ``{{basic:A:B}}``: ``base64("A-value:B-value")``, the credential of an HTTP Basic header.

A payload may be written in a file of its own beside the JSON (``{"file": "slack.jinja"}``), as a
template is easier to read outside a JSON string. A field may also say:

- ``choices``: the values it takes, each standing for what its markers put in (Opsgenie's
  region ``eu`` puts in ``https://api.eu.opsgenie.com``);
- ``kind``: ``url`` (an http or https URL, used as given) or ``origin`` (a URL with nothing after
  the host and port; a trailing ``/`` is dropped, so a path can follow the marker);
- ``secretQuery``: a URL query parameter whose value is a credential (a Teams workflow's
  ``sig``): it becomes the named secret of that name, and the URL carries ``{Secret[sig]}``.

Nothing here runs when a notification is sent: a preset only builds an ordinary integration.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

from secnotify.models.integration import HEADER_VALUE_FORBIDDEN
from secnotify.models.named_secrets import MAX_SECRET_BYTES, SECRET_NAME

FieldKind = Literal["text", "url", "origin"]
_NAME = "[A-Za-z][A-Za-z0-9_]*"
_MARKER = re.compile(rf"\{{\{{(field\.({_NAME})|basic:({_NAME}):({_NAME}))\}}\}}")
_QUERY_PARAMETER = re.compile(r"(?:^|&)([^=&]+)=([^&]*)")
MAX_FIELD_CHARS = 1000  # a URL's own cap; secret fields take up to a secret's
PAYLOAD_KEYS = frozenset({"payload"})


@dataclass(frozen=True)
class PresetField:
    name: str
    secret: bool
    required: bool
    description: str
    default: str | None = None
    kind: FieldKind = "text"
    pattern: str | None = None
    hint: str | None = None  # what a value that does not match the pattern is told
    choices: Mapping[str, str] | None = None
    secret_query: str | None = None

    def problem(self, value: str) -> str | None:
        """Why ``value`` cannot be this field's value, or None."""
        limit = MAX_SECRET_BYTES if self.secret else MAX_FIELD_CHARS
        if len(value.encode("utf-8", "surrogatepass")) > limit:
            return f"must be at most {limit} bytes"
        if HEADER_VALUE_FORBIDDEN.search(value) or re.search("[\ud800-\udfff]", value):
            return "must not contain control characters, line breaks or lone surrogates"
        if self.required and not value.strip():
            return "must not be empty"
        if self.choices is not None and value not in self.choices:
            return f"must be one of {', '.join(self.choices)}"
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return self.hint or f"must match {self.pattern}"
        if self.kind in ("url", "origin"):
            return _url_problem(value, self.kind, self.secret_query)
        return None

    def put_in(self, value: str) -> str:
        """What the field's markers stand for, given its value."""
        if self.choices is not None:
            return self.choices[value]
        if self.kind == "origin":
            value = value.rstrip("/")
        if self.secret_query is not None:
            value = _with_secret_query(value, self.secret_query)[0]
        return value


def _url_problem(value: str, kind: FieldKind, secret_query: str | None) -> str | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        return f"is not a valid URL: {exc}"
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in value:
        return "must be an http:// or https:// URL naming a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials"
    # An empty "?" or "#" leaves query and fragment empty: look at the characters themselves.
    extra = parts.path not in ("", "/") or "?" in value or "#" in value or "@" in parts.netloc
    if kind == "origin" and extra:
        return f"must be the address alone, with no path or query, e.g. {parts.scheme}://{parts.netloc}"
    if secret_query is not None and _with_secret_query(value, secret_query)[1] is None:
        return f"must carry its {secret_query}= query parameter (copy the whole URL)"
    return None


def _with_secret_query(url: str, name: str) -> tuple[str, str | None]:
    """``url`` with the value of query parameter ``name`` replaced by ``{Secret[name]}``, and that
    value (None when the URL has no such parameter, or has it empty or twice)."""
    base, _, query = url.partition("?")
    query, hash_mark, fragment = query.partition("#")
    found = [m for m in _QUERY_PARAMETER.finditer(query) if m.group(1) == name]
    if len(found) != 1 or not found[0].group(2):
        return url, None
    match = found[0]
    start = match.start(2)
    rewritten = query[:start] + f"{{Secret[{name}]}}" + query[match.end(2) :]
    return f"{base}?{rewritten}{hash_mark}{fragment}", match.group(2)


@dataclass(frozen=True)
class Preset:
    name: str
    version: int
    description: str
    fields: tuple[PresetField, ...]
    integration: Mapping[str, Any]
    example: Mapping[str, str]
    sources: tuple[str, ...] = field(default=())

    def field(self, name: str) -> PresetField | None:
        return next((f for f in self.fields if f.name == name), None)

    def problems(self, given: Mapping[str, str]) -> list[tuple[str, str]]:
        """Each ``(field name, what is wrong)`` of ``given`` as this preset's fields: unknown
        names, missing required ones, values that do not fit."""
        known = ", ".join(f.name for f in self.fields)
        out = [
            (name, f"preset {self.name} has no field {name}; its fields: {known}")
            for name in given
            if self.field(name) is None
        ]
        for spec in self.fields:
            value = given.get(spec.name)
            if value is None:
                if spec.required:
                    out.append((spec.name, f"required by preset {self.name}: {spec.description}"))
                continue
            problem = spec.problem(value)
            if problem is not None:
                out.append((spec.name, problem))
        return out

    def values(self, given: Mapping[str, str]) -> dict[str, str]:
        """Every field's value: given, else its default (fields without either are left out)."""
        out = {f.name: f.default for f in self.fields if f.default is not None}
        out.update(given)
        return out

    def build(self, given: Mapping[str, str]) -> dict[str, Any]:
        """The integration input the preset makes of ``given`` (checked with :meth:`problems`
        first): markers replaced, and each ``secretQuery`` value added as a named secret."""
        values = self.values(given)
        doc: dict[str, Any] = _substitute(self.integration, self, values, in_payload=False)
        for spec in self.fields:
            if spec.secret_query is not None and spec.name in values:
                secret = _with_secret_query(values[spec.name], spec.secret_query)[1]
                doc.setdefault("secrets", []).append({"name": spec.secret_query, "value": secret})
        return doc


def _substitute(node: Any, preset: Preset, values: Mapping[str, str], in_payload: bool) -> Any:
    if isinstance(node, dict):
        return {k: _substitute(v, preset, values, in_payload or k in PAYLOAD_KEYS) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute(item, preset, values, in_payload) for item in node]
    if not isinstance(node, str):
        return node

    def marker(match: re.Match[str]) -> str:
        name, first, second = match.group(2), match.group(3), match.group(4)
        if name is not None:
            spec = preset.field(name)
            text = spec.put_in(values[name]) if spec is not None and name in values else ""
            # A payload is a Jinja template: the value goes in as a string literal, never as code.
            return json.dumps(text, ensure_ascii=False) if in_payload else text
        pair = f"{values.get(first, '')}:{values.get(second, '')}"
        return base64.b64encode(pair.encode("utf-8")).decode("ascii")

    return _MARKER.sub(marker, node)


def markers_in(text: str) -> list[str]:
    """The field names the markers of ``text`` use."""
    names: list[str] = []
    for match in _MARKER.finditer(text):
        names += [n for n in match.group(2, 3, 4) if n]
    return names


# ---- loading ------------------------------------------------------------------------------------


def _read_payloads(node: Any, folder: Any) -> Any:
    """``{"file": "x.jinja"}`` in a payload slot, replaced by that file's text."""
    if isinstance(node, dict):
        if set(node) == {"file"} and isinstance(node["file"], str):
            return folder.joinpath(node["file"]).read_text(encoding="utf-8").rstrip("\n")
        return {k: _read_payloads(v, folder) for k, v in node.items()}
    if isinstance(node, list):
        return [_read_payloads(item, folder) for item in node]
    return node


def _field(raw: Mapping[str, Any]) -> PresetField:
    return PresetField(
        name=raw["name"],
        secret=bool(raw.get("secret", False)),
        required=bool(raw.get("required", False)),
        description=raw["description"],
        default=raw.get("default"),
        kind=raw.get("kind", "text"),
        pattern=raw.get("pattern"),
        hint=raw.get("hint"),
        choices=raw.get("choices"),
        secret_query=raw.get("secretQuery"),
    )


def _preset(raw: Mapping[str, Any], folder: Any) -> Preset:
    preset = Preset(
        name=raw["name"],
        version=int(raw["version"]),
        description=raw["description"],
        fields=tuple(_field(f) for f in raw["fields"]),
        integration=_read_payloads(raw["integration"], folder),
        example=dict(raw["example"]),
        sources=tuple(raw.get("sources", ())),
    )
    for spec in preset.fields:
        if spec.secret_query is not None and not SECRET_NAME.match(spec.secret_query):
            raise ValueError(f"preset {preset.name}: {spec.name}.secretQuery is not a secret name")
    return preset


@cache
def presets() -> Mapping[str, Preset]:
    """Every preset, by name, in the order of their names."""
    folder = resources.files(__package__).joinpath("data")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            found.append(_preset(json.loads(entry.read_text(encoding="utf-8")), folder))
    return {p.name: p for p in sorted(found, key=lambda p: p.name)}
