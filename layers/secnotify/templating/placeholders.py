"""The placeholder catalogue (README "Payload templates") and how each value is taken from a SecurityEvent.

Every placeholder has two forms:
- its *text* (what ``{Name}`` inserts) plus a static JSON kind, used by the escaping rules;
- a natural Python value for Jinja (booleans are ``bool``, scores ``float | None``,
  ``AffectedEntities`` a list of dicts), so ``{% if Exposed %}`` means what it says.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from secnotify.models.event import SecurityEvent, sample_attack_event, sample_event
from secnotify.models.named_secrets import SECRET_MASK
from secnotify.templating.errors import TemplateError

Kind = Literal["string", "number", "boolean", "array"]

TAGS = "Tags"
TAG_KEY_NAME = "Tags[key]"
SECRET = "Secret"  # noqa: S105 - a placeholder name
SECRET_KEY_NAME = "Secret[name]"  # noqa: S105 - a placeholder name
RECEIVER = "Receiver"
RECEIVER_KEY_NAME = "Receiver[name]"
# What a preview, a save's check and a test-send render for every receiver reference.
RECEIVER_SAMPLE = "RECEIVER-REF"

_PROBLEM_KEY_MAX = 200
_SURROGATES = re.compile("[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class PlaceholderInfo:
    name: str
    description: str
    example: str


def fix_surrogates(text: str) -> str:
    """Lone surrogates cannot be encoded as UTF-8; inside JSON they can be written as escapes."""
    if text.isascii() or not _SURROGATES.search(text):
        return text
    return _SURROGATES.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def dumps(value: Any) -> str:
    """JSON text for arrays/objects, readable (non-ASCII kept) yet always UTF-8 encodable."""
    return fix_surrogates(json.dumps(value, ensure_ascii=False, allow_nan=False, default=str))


def _score_text(score: float | None) -> str:
    if score is None or not math.isfinite(score):
        return ""
    return f"{score:.1f}"


def _score_value(score: float | None) -> float | None:
    if score is None or not math.isfinite(score):
        return None
    return round(score, 1)


def _entities(event: SecurityEvent) -> list[dict[str, str]]:
    return [{"id": e.id, "name": e.name, "type": e.type} for e in event.affected_entities]


def _tags_text(event: SecurityEvent) -> str:
    return ", ".join(f"{t.key}:{t.value}" if t.value else t.key for t in event.tags)


def tag_value(event: SecurityEvent, key: str) -> str:
    for tag in event.tags:
        if tag.key == key:
            return tag.value or ""
    return ""


def _event_time(event: SecurityEvent) -> str:
    when: datetime = event.event_time
    when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    text = when.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _problem_key(event: SecurityEvent) -> str:
    # Display ids repeat across environments; receivers cap keys (PagerDuty 255, Opsgenie 512).
    key = event.security_problem_id or event.display_id or event.attack_id or event.event_id
    if len(key) <= _PROBLEM_KEY_MAX and key.isprintable():
        return key
    return "sha256-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def _bool_text(flag: bool) -> str:
    return "true" if flag else "false"


def _exposed(e: SecurityEvent) -> bool:
    return e.exposure == "PUBLIC_NETWORK"


def _data_reachable(e: SecurityEvent) -> bool:
    return e.data_assets == "REACHABLE"


def _exploit(e: SecurityEvent) -> bool:
    return e.public_exploit == "AVAILABLE"


class TagsView(str):
    """``{{ Tags }}`` is the joined text, and ``{{ Tags['owner'] }}``/``{{ Tags.owner }}`` a tag value."""

    _values: dict[str, str]

    def __new__(cls, event: SecurityEvent) -> TagsView:
        obj = super().__new__(cls, _tags_text(event))
        values: dict[str, str] = {}
        for tag in event.tags:
            values.setdefault(tag.key, tag.value or "")
        obj._values = values
        return obj

    def __getitem__(self, key: Any) -> str:
        if isinstance(key, str):
            return self._values.get(key, "")
        return str.__getitem__(self, key)


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    description: str
    kind: Kind
    text: Callable[[SecurityEvent], str]
    value: Callable[[SecurityEvent], Any]
    attack: bool = False  # an attack's: the placeholder list shows the sample attack's value


def _s(name: str, description: str, getter: Callable[[SecurityEvent], str]) -> _Spec:
    return _Spec(name, description, "string", getter, getter)


def _a(name: str, description: str, getter: Callable[[SecurityEvent], str]) -> _Spec:
    """An attack's placeholder: empty for a security problem."""
    return _Spec(name, description + "; empty for a security problem", "string", getter, getter, attack=True)


def _b(name: str, description: str, getter: Callable[[SecurityEvent], bool]) -> _Spec:
    return _Spec(name, description, "boolean", lambda e: _bool_text(getter(e)), getter)


_SPECS: tuple[_Spec, ...] = (
    _s("SecurityProblemId", "The problem's display id, e.g. S-1234", lambda e: e.display_id),
    _s("Title", "The problem's title", lambda e: e.title),
    _s("Description", "The problem's description", lambda e: e.description),
    _Spec(
        "CvssScore",
        "Base risk score (CVSS) with one decimal; empty when unknown",
        "number",
        lambda e: _score_text(e.base_risk_score),
        lambda e: _score_value(e.base_risk_score),
    ),
    _Spec(
        "DavisSecurityScore",
        "Risk score with one decimal; empty when unknown",
        "number",
        lambda e: _score_text(e.risk_score),
        lambda e: _score_value(e.risk_score),
    ),
    _s(
        "Severity",
        "Risk level in title case: Critical, High, Medium, Low, None",
        lambda e: e.risk_level.value.title(),
    ),
    _s("SecurityProblemUrl", "Link to the problem", lambda e: e.url),
    _Spec(
        "AffectedEntities",
        'JSON array of {"id", "name", "type"} of the affected entities',
        "array",
        lambda e: dumps(_entities(e)),
        _entities,
    ),
    _s(
        "ManagementZones",
        "Names of the affected management zones, joined by ', '",
        lambda e: ", ".join(z.name for z in e.management_zones),
    ),
    _Spec("Tags", "Tags as key:value or key, joined by ', '", "string", _tags_text, TagsView),
    _b("Exposed", "true when the problem is exposed to the public network", _exposed),
    _b("DataAssetsReachable", "true when data assets are reachable", _data_reachable),
    _b("SensitiveDataReachable", "Alias of DataAssetsReachable", _data_reachable),
    _b("ExploitAvailable", "true when a public exploit is available", _exploit),
    _s("Status", "OPEN or RESOLVED", lambda e: e.status),
    _s("TriggerEvent", "The trigger, e.g. SECURITY_PROBLEM_OPENED", lambda e: e.trigger.value),
    _s("RiskLevel", "Risk level in capitals, e.g. CRITICAL", lambda e: e.risk_level.value),
    _s("CveIds", "CVE ids joined by ', '", lambda e: ", ".join(e.cve_ids)),
    _s("Technology", "The affected technology, e.g. JAVA", lambda e: e.technology),
    _s("EventId", "The EventBridge event id", lambda e: e.event_id),
    _s("EventTime", "The event time, ISO-8601 in UTC", _event_time),
    _s("Timestamp", "Alias of EventTime", _event_time),
    _s(
        "Source",
        "The service that reported the finding, e.g. Amazon Inspector; empty for the platform's own events",
        lambda e: e.source,
    ),
    _s(
        "AccountId",
        "The AWS account id of the finding; empty when not an AWS finding",
        lambda e: e.account_id,
    ),
    _s("Region", "The AWS region of the finding, e.g. eu-west-1", lambda e: e.region),
    _s(
        "FindingType",
        "The finding's type as its source names it, e.g. PACKAGE_VULNERABILITY",
        lambda e: e.finding_type,
    ),
    _s(
        "FixAvailable",
        "YES, NO or PARTIAL: whether a fix exists for every vulnerability; empty when unknown",
        lambda e: e.fix_available,
    ),
    _s(
        "ConsoleUrl",
        "A link to the finding in the AWS console where one can be built; else empty",
        lambda e: e.console_url,
    ),
    _s(
        "ProblemKey",
        "The problem's stable id (else its display id, an attack's id, else the event id);"
        " one over 200 characters"
        " goes as sha256- and its hex digest, so it fits any receiver's key",
        _problem_key,
    ),
    _a("AttackDisplayId", "The attack's display id, e.g. A-4321", lambda e: e.attack_display_id),
    _a("AttackType", "The attack's type, e.g. SQL_INJECTION", lambda e: e.attack_type),
    _a("Type", "Alias of AttackType", lambda e: e.attack_type),
    _a(
        "AttackState",
        "What was done about the attack: EXPLOITED, BLOCKED or ALLOWLISTED",
        lambda e: e.attack_state,
    ),
    _a("AttackUrl", "Link to the attack", lambda e: e.attack_url),
    _a("EntryPoint", "The function the attack came in through", lambda e: e.entry_point),
    _a(
        "VulnerabilityName",
        "The name of the vulnerability the attack aimed at",
        lambda e: e.vulnerability_name,
    ),
    _a("ProcessGroupId", "The id of the attacked process group", lambda e: e.process_group_id),
)

SPECS: dict[str, _Spec] = {spec.name: spec for spec in _SPECS}


def _catalogue() -> tuple[PlaceholderInfo, ...]:
    sample, attack = sample_event(), sample_attack_event()
    out: list[PlaceholderInfo] = []
    for spec in _SPECS:
        out.append(PlaceholderInfo(spec.name, spec.description, spec.text(attack if spec.attack else sample)))
        if spec.name == TAGS:
            out.append(
                PlaceholderInfo(
                    TAG_KEY_NAME,
                    "The value of tag `key`, e.g. {Tags[owner]}; empty when absent or without value",
                    tag_value(sample, "owner"),
                )
            )
    out.append(
        PlaceholderInfo(
            SECRET_KEY_NAME,
            "The value of the integration's secret `name` (see secrets), e.g. {Secret[routingKey]}; "
            "in Jinja Secret.name or Secret['name']; never shown: a preview shows ***",
            SECRET_MASK,
        )
    )
    out.append(
        PlaceholderInfo(
            RECEIVER_KEY_NAME,
            "The reference the receiver returned for this problem, kept by the integration's "
            "receiverReference, e.g. {Receiver[issueKey]}; in Jinja Receiver.name or Receiver['name']; "
            f"a preview and a test-send show {RECEIVER_SAMPLE}",
            RECEIVER_SAMPLE,
        )
    )
    return tuple(out)


PLACEHOLDERS: tuple[PlaceholderInfo, ...] = _catalogue()
KNOWN_NAMES: tuple[str, ...] = tuple(info.name for info in PLACEHOLDERS)
VARIABLE_NAMES: frozenset[str] = frozenset(SPECS)


def secret_key(name: str) -> str:
    """The placeholder key of secret ``name``: ``Secret[name]``."""
    return f"{SECRET}[{name}]"


def secret_of(key: str) -> str | None:
    """The secret name of a placeholder key, or None when it is not a secret's."""
    return key[len(SECRET) + 1 : -1] if key.startswith(SECRET + "[") else None


def receiver_key(name: str) -> str:
    """The placeholder key of receiver reference ``name``: ``Receiver[name]``."""
    return f"{RECEIVER}[{name}]"


def receiver_of(key: str) -> str | None:
    """The reference name of a placeholder key, or None when it is not a receiver reference's."""
    return key[len(RECEIVER) + 1 : -1] if key.startswith(RECEIVER + "[") else None


def is_event_key(key: str) -> bool:
    """Whether a placeholder key's value comes from the event (not a secret or a reference)."""
    return secret_of(key) is None and receiver_of(key) is None


def unknown_receiver_error(missing: list[str], declared: Iterable[str], source: str) -> TemplateError:
    """One error naming every reference a template uses that the integration does not keep."""
    names = sorted(declared)
    noun = "reference" if len(missing) == 1 else "references"
    return TemplateError(
        f"unknown receiver {noun}: {', '.join(missing)}; the integration's receiverReference: "
        f"{', '.join(names) or 'none'}",
        line=_named_line(source, RECEIVER, missing[0]),
        unknown=tuple(receiver_key(n) for n in missing),
    )


def _secret_line(source: str, name: str) -> int | None:
    return _named_line(source, SECRET, name)


def _named_line(source: str, namespace: str, name: str) -> int | None:
    use = re.search(rf"\b{namespace}\s*(?:\[\s*['\"]?{name}['\"]?\s*\]|\.\s*{name}\b)", source)
    return source.count("\n", 0, use.start()) + 1 if use else None


def unknown_secret_error(missing: list[str], held: Iterable[str], source: str) -> TemplateError:
    """One error naming every secret a template uses that the integration does not hold."""
    names = sorted(held)
    noun = "secret" if len(missing) == 1 else "secrets"
    return TemplateError(
        f"unknown {noun}: {', '.join(missing)}; the integration's secrets: {', '.join(names) or 'none'}",
        line=_secret_line(source, missing[0]),
        unknown=tuple(secret_key(n) for n in missing),
    )


def kind_of(key: str) -> Kind:
    spec = SPECS.get(key)
    return spec.kind if spec is not None else "string"


def text_getter(key: str) -> Callable[[SecurityEvent], str]:
    spec = SPECS.get(key)
    if spec is not None:
        return spec.text
    tag = key[len(TAGS) + 1 : -1]
    return lambda e: tag_value(e, tag)


def jinja_value(name: str, event: SecurityEvent) -> Any:
    return SPECS[name].value(event)


def unknown_placeholder_error(unknown: list[tuple[str, int, int | None]]) -> TemplateError:
    """One error naming every unknown ``(name, line, column)``, with a close match as a hint."""
    parts = []
    for name, line, column in unknown:
        where = f"line {line}" + (f", column {column}" if column is not None else "")
        hint = difflib.get_close_matches(name, KNOWN_NAMES, n=1)
        parts.append(f"{{{name}}} ({where}" + (f"; did you mean {{{hint[0]}}}?)" if hint else ")"))
    known = ", ".join(f"{{{n}}}" for n in KNOWN_NAMES)
    noun = "placeholder" if len(unknown) == 1 else "placeholders"
    first = unknown[0]
    return TemplateError(
        f"unknown {noun}: {', '.join(parts)}. Known placeholders: {known}",
        line=first[1],
        column=first[2],
        unknown=tuple(dict.fromkeys(n for n, _, _ in unknown)),
    )
