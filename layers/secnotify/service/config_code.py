"""Configuration as code: every profile and integration exported as one named document, and such
a document applied through the same services a POST or PUT goes through, so every save rule holds.

An apply reads the stack once, checks the whole document (each object as its POST or PUT would
check it, profile names, duplicates, references without a value, the caps) before the first
write, and then writes object by object, each in its own transaction: profiles before the
integrations that use them, integrations before the profiles they leave. Objects are compared
with their stored secrets opened, so an apply of what is stored writes nothing; the plan names
the fields that differ, never a value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from secnotify.models.common import field_path
from secnotify.models.config_doc import (
    API_VERSION,
    DOCUMENT_KIND,
    MAX_DOCUMENT_BYTES,
    SERVER_FIELDS,
    ApplyResult,
    ConfigDocument,
    DocIntegration,
    PlanAction,
    PlanItem,
    SecretSlot,
    integration_tokens,
    is_reference,
    reference,
)
from secnotify.models.integration import Integration, show_origin, url_origin
from secnotify.models.integration_api import IntegrationInput
from secnotify.models.profile import AlertingProfile, AlertingProfileInput
from secnotify.service.common import etag
from secnotify.service.email_edits import refuse_when_email_off
from secnotify.service.errors import BadRequest, Conflict
from secnotify.service.integration_edits import apply_input
from secnotify.service.integrations import IntegrationService
from secnotify.service.ports.config import ConfigSnapshot, name_key
from secnotify.service.profiles import ProfileService
from secnotify.service.secret_fields import stored_integration

if TYPE_CHECKING:
    from secnotify.service.wiring import ApiServices

PROFILE_FIELDS = frozenset(AlertingProfileInput.model_fields) - SERVER_FIELDS
# Writes stop with this much of the request's time left: one more write and the answer fit in
# it, before API Gateway's 29 s would answer a 504 for us.
WRITE_MARGIN_S = 6.0
# Stands in for the id of a profile the same apply creates, while its integrations are checked.
_NEW_PROFILE_ID = "profile-created-by-this-apply"

Kind = Literal["profile", "integration"]


def integration_input(item: DocIntegration, profile_id: str, current: Integration | None) -> dict[str, Any]:
    """The POST or PUT body a document integration stands for, in the API's own input forms.
    A slot still holding a reference becomes the form that keeps the stored value; a signing
    secret equal to the stored one is kept too, so applying it again rotates nothing."""
    if item.webhook is None:
        email = item.email.model_dump(mode="json") if item.email is not None else None
        return {**_named(item, profile_id), "email": email}
    webhook = item.webhook.model_dump(mode="json")
    for header, given in zip(webhook["headers"], item.webhook.headers, strict=True):
        if given.secret and is_reference(given.value):
            header.pop("value")
    body: dict[str, Any] = {
        "displayName": item.displayName,
        "enabled": item.enabled,
        "type": item.type,
        "alertingProfileId": profile_id,
        "webhook": webhook,
    }
    if item.secrets:
        body["secrets"] = [
            {"name": s.name} if is_reference(s.value) else {"name": s.name, "value": s.value}
            for s in item.secrets
        ]
    stored = current.signingSecret if current is not None else None
    same_origin = current is not None and _origin(current) == url_origin(item.webhook.url)
    if item.signingSecret is None:
        if stored is not None:
            body["signingSecret"] = {"remove": True}
    elif not (is_reference(item.signingSecret) or (item.signingSecret == stored and same_origin)):
        body["signingSecret"] = item.signingSecret
    return body


def _named(item: DocIntegration, profile_id: str) -> dict[str, Any]:
    return {
        "displayName": item.displayName,
        "enabled": item.enabled,
        "type": item.type,
        "alertingProfileId": profile_id,
    }


def _origin(item: Integration | DocIntegration) -> tuple[str, str, int] | None:
    """Where a webhook integration sends; None for email."""
    return url_origin(item.webhook.url) if item.webhook is not None else None


@dataclass
class _Step:
    kind: Kind
    name: str
    action: PlanAction
    changes: list[str] = field(default_factory=list)
    item_id: str | None = None
    version: int | None = None
    profile: AlertingProfileInput | None = None
    integration: DocIntegration | None = None
    current: Integration | None = None

    def view(self) -> PlanItem:
        return PlanItem(kind=self.kind, name=self.name, action=self.action, changes=self.changes)


@dataclass
class ConfigCodeService:
    profiles: ProfileService
    integrations: IntegrationService

    # ---- export -----------------------------------------------------------------------

    def export(self) -> dict[str, Any]:
        """Every profile and integration, sorted by name, each secret slot a reference."""
        snapshot = self.integrations.config.load_config()
        profiles = [i.as_model(AlertingProfile) for i in snapshot.profiles]
        # Not opened: an export shows where secrets go, never what they are.
        integrations = [i.as_model(Integration) for i in snapshot.integrations]
        _refuse_duplicates(profiles, integrations)
        names = {p.id: p.name for p in profiles}
        tokens = integration_tokens(i.displayName for i in integrations)
        doc_integrations = [_export_integration(i, names, tokens) for i in integrations]
        _refuse_shared_references(doc_integrations)
        document = {
            "apiVersion": API_VERSION,
            "kind": DOCUMENT_KIND,
            "profiles": sorted((_profile_form(p) for p in profiles), key=lambda p: str(p["name"])),
            "integrations": sorted(doc_integrations, key=lambda i: str(i["displayName"])),
        }
        size = len(json.dumps(document).encode())
        if size > MAX_DOCUMENT_BYTES:
            raise Conflict(
                f"the configuration takes {size:,} bytes as one document; at most {MAX_DOCUMENT_BYTES:,} "
                "bytes can be exported or applied at once"
            )
        return document

    # ---- apply ------------------------------------------------------------------------

    def apply(
        self,
        document: ConfigDocument,
        dry_run: bool,
        prune: bool,
        time_left: Callable[[], float] | None = None,
    ) -> ApplyResult:
        """Plan, then (unless ``dry_run``) write. ``time_left`` (seconds) is the request's: the
        writes stop while there is still time to answer, and the answer says how many are left."""
        snapshot = self.integrations.config.load_config()
        steps = self._plan(document, snapshot, prune)
        writes = [s for s in steps if s.action is not PlanAction.UNCHANGED]
        made = 0 if dry_run else self._carry_out(writes, snapshot, time_left)
        pending = len(writes) - made
        return ApplyResult(
            items=[s.view() for s in steps], applied=not dry_run and pending == 0, pending=pending
        )

    def _plan(self, document: ConfigDocument, snapshot: ConfigSnapshot, prune: bool) -> list[_Step]:
        stored_profiles = [i.as_model(AlertingProfile) for i in snapshot.profiles]
        secrets = self.integrations.secrets
        stored_integrations = [stored_integration(i, secrets) for i in snapshot.integrations]
        _refuse_duplicates(stored_profiles, stored_integrations)
        errors: list[dict[str, Any]] = []
        errors += _duplicates_in("profiles", [p.name for p in document.profiles], "name")
        errors += _duplicates_in(
            "integrations", [i.displayName for i in document.integrations], "displayName"
        )

        # Matched by ``name_key``, as the name locks match: "prod" in the document is the stored
        # "Prod", renamed by an update, never a second object the lock would refuse mid-apply.
        profiles_by_key = {name_key(p.name): p for p in stored_profiles}
        named = {name_key(p.name): p.name for p in document.profiles}
        profile_steps = [
            _profile_step(given, profiles_by_key.get(name_key(given.name))) for given in document.profiles
        ]
        # The name each profile has once applied, by key and by stored id: an integration's
        # profile is compared by what it will be called, so a case-only rename changes no integration.
        final_names = {key: p.name for key, p in profiles_by_key.items()} | named
        profile_names = {p.id: final_names[name_key(p.name)] for p in stored_profiles}
        usable = set(named) if prune else set(named) | set(profiles_by_key)
        integrations_by_key = {name_key(i.displayName): i for i in stored_integrations}
        # For a slot left empty (``value: null``): the reference an export would have written.
        tokens = integration_tokens(i.displayName for i in document.integrations)
        integration_steps: list[_Step] = []
        for index, given in enumerate(document.integrations):
            where = f"integrations[{index}]"
            current = integrations_by_key.get(name_key(given.displayName))
            found = self._check_integration(given, current, where, usable, profiles_by_key, tokens)
            errors += found
            if not found:
                profile = final_names[name_key(given.alertingProfile)]
                desired = _resolved_form(given, current, profile)
                before = _stored_form(current, profile_names) if current is not None else None
                integration_steps.append(_integration_step(given, current, desired, before))

        deleted_integrations: list[_Step] = []
        deleted_profiles: list[_Step] = []
        if prune:
            listed = {name_key(i.displayName) for i in document.integrations}
            deleted_integrations = [
                _Step("integration", i.displayName, PlanAction.DELETE, item_id=i.id)
                for i in sorted(stored_integrations, key=lambda i: i.displayName)
                if name_key(i.displayName) not in listed
            ]
            deleted_profiles = [
                _Step("profile", p.name, PlanAction.DELETE, item_id=p.id)
                for p in sorted(stored_profiles, key=lambda p: p.name)
                if name_key(p.name) not in named
            ]
        errors += self._check_caps(
            len(usable),
            len({name_key(i.displayName) for i in document.integrations} | _kept(stored_integrations, prune)),
        )
        if errors:
            raise BadRequest(
                f"{errors[0]['message']}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
                field=errors[0].get("field"),
                errors=errors[:100],
            )
        return profile_steps + integration_steps + deleted_integrations + deleted_profiles

    def _check_integration(
        self,
        given: DocIntegration,
        current: Integration | None,
        where: str,
        usable: set[str],
        profiles_by_key: dict[str, AlertingProfile],
        tokens: dict[str, str],
    ) -> list[dict[str, Any]]:
        """Every problem a POST or PUT of this integration would have, and its missing references.
        ``usable`` and ``profiles_by_key`` are keyed by ``name_key``."""
        label = f"{where} ({given.displayName})"
        profile_key = name_key(given.alertingProfile)
        if profile_key not in usable:
            return [
                {
                    "field": f"{where}.alertingProfile",
                    "message": f"{label}.alertingProfile: no alerting profile named {given.alertingProfile}"
                    + (
                        " in the document (prune deletes the others)"
                        if profile_key in profiles_by_key
                        else ""
                    ),
                }
            ]
        missing = _missing_references(given, current, where, label, tokens)
        if missing:
            return missing
        existing = profiles_by_key.get(profile_key)
        profile_id = existing.id if existing is not None else _NEW_PROFILE_ID
        try:
            data = IntegrationInput.model_validate(integration_input(given, profile_id, current))
        except ValidationError as exc:
            return [
                {
                    "field": f"{where}.{field_path(e['loc'])}",
                    "message": f"{label}.{field_path(e['loc'])}: {e['msg']}",
                }
                for e in exc.errors()
            ]
        try:
            settings = self.integrations.settings
            if current is None:
                refuse_when_email_off(data, settings)
            apply_input(data, current, settings.max_payload_chars, self.integrations.render_limits)
        except BadRequest as exc:
            return _prefixed(exc, where, label)
        return []

    def _check_caps(self, profiles: int, integrations: int) -> list[dict[str, Any]]:
        settings = self.integrations.settings
        errors = []
        for name, count, cap in (
            ("profiles", profiles, settings.max_profiles),
            ("integrations", integrations, settings.max_integrations),
        ):
            if count > cap:
                errors.append(
                    {
                        "field": name,
                        "message": f"{name}: the stack would hold {count}; at most {cap} may exist",
                    }
                )
        return errors

    def _carry_out(
        self, steps: list[_Step], snapshot: ConfigSnapshot, time_left: Callable[[], float] | None
    ) -> int:
        """Each step one write through the services, in order, until done or out of time; the
        number made. If-Match with the version planned from: a change made meanwhile stops the
        apply (412) instead of being overwritten."""
        profile_ids = {name_key(str(i.doc.get("name"))): i.id for i in snapshot.profiles}
        for made, step in enumerate(steps):
            if time_left is not None and time_left() < WRITE_MARGIN_S:
                return made
            self._write(step, profile_ids)
        return len(steps)

    def _write(self, step: _Step, profile_ids: dict[str, str]) -> None:
        if step.action is PlanAction.DELETE:
            delete = self.profiles.delete if step.kind == "profile" else self.integrations.delete
            delete(str(step.item_id))
        elif step.profile is not None:
            data = AlertingProfileInput.model_validate(_profile_form(step.profile))
            if step.action is PlanAction.CREATE:
                profile_ids[name_key(step.name)] = self.profiles.create(data).id
            else:
                self.profiles.replace(str(step.item_id), data, etag(int(step.version or 0)))
        elif step.integration is not None:
            given = step.integration
            body = integration_input(given, profile_ids[name_key(given.alertingProfile)], step.current)
            data_i = IntegrationInput.model_validate(body)
            if step.action is PlanAction.CREATE:
                self.integrations.create(data_i)
            else:
                self.integrations.replace(str(step.item_id), data_i, etag(int(step.version or 0)))


# ---- forms compared and exported ---------------------------------------------------------


def _profile_form(profile: AlertingProfileInput) -> dict[str, Any]:
    form = profile.model_dump(mode="json", include=set(PROFILE_FIELDS))
    return {k: v for k, v in form.items() if v is not None}


def _export_integration(
    item: Integration, profile_names: dict[str, str], tokens: dict[str, str]
) -> dict[str, Any]:
    name = item.displayName
    out: dict[str, Any] = {
        "displayName": name,
        "enabled": item.enabled,
        "type": item.type,
        "alertingProfile": profile_names.get(item.alertingProfileId, item.alertingProfileId),
    }
    if item.webhook is None:
        out["email"] = item.email.model_dump(mode="json") if item.email is not None else None
        return out
    headers = []
    for h in item.webhook.headers:
        value = reference(name, SecretSlot.HEADER, h.name, tokens) if h.secret else h.value
        headers.append({"name": h.name, "value": value, **({"secret": True} if h.secret else {})})
    out |= {
        "webhook": {
            "url": item.webhook.url,
            "acceptAnyCertificate": item.webhook.acceptAnyCertificate,
            "headers": headers,
            "payload": item.webhook.payload,
            **_routes(item),
        },
    }
    if item.secrets:
        out["secrets"] = [
            {"name": s.name, "value": reference(name, SecretSlot.SECRET, s.name, tokens)}
            for s in item.secrets
        ]
    if item.signingSecret:
        out["signingSecret"] = reference(name, SecretSlot.SIGNING, tokens=tokens)
    return out


def _routes(given: DocIntegration | Integration) -> dict[str, Any]:
    """The resolved route and the receiver reference, those set (an export of an integration
    without them stays as it was)."""
    webhook = given.webhook
    if webhook is None:  # an EMAIL integration has neither
        return {}
    routes = {"resolved": webhook.resolved, "receiverReference": webhook.receiverReference}
    return {name: value.model_dump(mode="json") for name, value in routes.items() if value is not None}


def _form(
    given: DocIntegration | Integration,
    profile: str,
    headers: list[tuple[str, str | None, bool]],
    secrets: list[tuple[str, str | None]],
    signing: str | None,
) -> dict[str, Any]:
    """What an integration is, for comparing: secrets in the clear, never shown."""
    named = {
        "displayName": given.displayName,
        "enabled": given.enabled,
        "type": given.type,
        "alertingProfile": profile,
    }
    if given.webhook is None:
        email = given.email.model_dump(mode="json") if given.email is not None else None
        return {**named, "email": email}
    return {
        **named,
        "webhook": {
            "url": given.webhook.url,
            "acceptAnyCertificate": given.webhook.acceptAnyCertificate,
            "headers": [{"name": n, "value": v, "secret": s} for n, v, s in headers],
            "payload": given.webhook.payload,
            "resolved": None,
            "receiverReference": None,
            **_routes(given),
        },
        "secrets": [{"name": n, "value": v} for n, v in secrets],
        "signingSecret": signing,
    }


def _stored_form(item: Integration, profile_names: dict[str, str]) -> dict[str, Any]:
    return _form(
        item,
        profile_names.get(item.alertingProfileId, item.alertingProfileId),
        [(h.name, h.value, h.secret) for h in _headers_of(item)],
        [(s.name, s.value) for s in item.secrets],
        item.signingSecret,
    )


def _resolved_form(given: DocIntegration, current: Integration | None, profile: str) -> dict[str, Any]:
    """The document's integration with every reference replaced by the stored value it keeps
    (checked to exist by ``_missing_references``), bound to the profile named ``profile``."""
    stored_headers = {h.name.lower(): h.value for h in _headers_of(current) if h.secret} if current else {}
    stored_secrets = {s.name: s.value for s in current.secrets} if current else {}
    headers = [
        (
            h.name,
            stored_headers.get(h.name.lower()) if h.secret and is_reference(h.value) else h.value,
            h.secret,
        )
        for h in _headers_of(given)
    ]
    secrets = [
        (s.name, stored_secrets.get(s.name) if is_reference(s.value) else s.value) for s in given.secrets
    ]
    signing = given.signingSecret
    if signing is not None and is_reference(signing):
        signing = current.signingSecret if current is not None else None
    return _form(given, profile, headers, secrets, signing)


def _headers_of(item: Integration | DocIntegration) -> list[Any]:
    """A webhook integration's headers (stored or as the document gives them); none for email."""
    return list(item.webhook.headers) if item.webhook is not None else []


def _reference_slots(
    given: DocIntegration, current: Integration | None, tokens: dict[str, str]
) -> list[tuple[str, str, bool]]:
    """Each slot still holding a reference: (the reference as written, its field, whether a stored
    value exists to keep)."""
    name = given.displayName
    stored_headers = {h.name.lower() for h in _headers_of(current) if h.secret} if current else set()
    stored_secrets = {s.name for s in current.secrets} if current else set()
    slots = [
        (
            h.value or reference(name, SecretSlot.HEADER, h.name, tokens),
            f"webhook.headers[{i}].value",
            h.name.lower() in stored_headers,
        )
        for i, h in enumerate(_headers_of(given))
        if h.secret and is_reference(h.value)
    ]
    slots += [
        (
            s.value or reference(name, SecretSlot.SECRET, s.name, tokens),
            f"secrets[{i}].value",
            s.name in stored_secrets,
        )
        for i, s in enumerate(given.secrets)
        if is_reference(s.value)
    ]
    if given.signingSecret is not None and is_reference(given.signingSecret):
        slots.append(
            (given.signingSecret, "signingSecret", current is not None and current.signingSecret is not None)
        )
    return slots


def _missing_references(
    given: DocIntegration, current: Integration | None, where: str, label: str, tokens: dict[str, str]
) -> list[dict[str, Any]]:
    """Each reference without a value that has no stored value to keep, or whose stored value
    may not follow the URL to a new origin."""
    moved = ""
    before, after = (_origin(current), _origin(given)) if current is not None else (None, None)
    if before is not None and after is not None and before != after:
        moved = f"the URL origin changes from {show_origin(before)} to {show_origin(after)}"
    errors = []
    for written, slot, exists in _reference_slots(given, current, tokens):
        if current is None:
            why = f"integration {given.displayName} does not exist yet, so there is no stored value to keep"
        elif not exists:
            why = "there is no stored value to keep"
        elif moved:
            why = f"{moved}, so the stored value cannot follow"
        else:
            continue
        errors.append(
            {"field": f"{where}.{slot}", "message": f"{label}.{slot}: {written} has no value; {why}"}
        )
    return errors


def _profile_step(given: AlertingProfileInput, current: AlertingProfile | None) -> _Step:
    desired = _profile_form(given)
    if current is None:
        return _Step("profile", given.name, PlanAction.CREATE, list(desired), profile=given)
    changes = _diff(_profile_form(current), desired)
    action = PlanAction.UPDATE if changes else PlanAction.UNCHANGED
    return _Step("profile", given.name, action, changes, current.id, current.version, profile=given)


def _integration_step(
    given: DocIntegration, current: Integration | None, desired: dict[str, Any], before: dict[str, Any] | None
) -> _Step:
    if current is None or before is None:
        given_fields = [k for k, v in desired.items() if v not in (None, [])]
        return _Step("integration", given.displayName, PlanAction.CREATE, given_fields, integration=given)
    changes = _diff(before, desired)
    action = PlanAction.UPDATE if changes else PlanAction.UNCHANGED
    return _Step(
        "integration",
        given.displayName,
        action,
        changes,
        current.id,
        current.version,
        integration=given,
        current=current,
    )


def _diff(before: Any, after: Any, path: str = "") -> list[str]:
    """The paths where two forms differ; a list of another length differs as a whole."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            out += _diff(before.get(key), after.get(key), sub)
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            p
            for index, (b, a) in enumerate(zip(before, after, strict=True))
            for p in _diff(b, a, f"{path}[{index}]")
        ]
    return [] if before == after else [path]


# ---- whole-document checks --------------------------------------------------------------


def _kept(stored: list[Integration], prune: bool) -> set[str]:
    return set() if prune else {name_key(i.displayName) for i in stored}


def _duplicates_in(where: str, names: list[str], key: str) -> list[dict[str, Any]]:
    """Each name that is the same name (``name_key``) as another of the document, naming them all."""
    found: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        found.setdefault(name_key(name), []).append(index)
    errors = []
    for index, name in enumerate(names):
        same = found[name_key(name)]
        if len(same) > 1:
            listed = ", ".join(f"{where}[{i}].{key} {names[i]!r}" for i in same)
            errors.append(
                {
                    "field": f"{where}[{index}].{key}",
                    "message": f"{where}[{index}].{key}: {name!r} is named {len(same)} times in the document "
                    f"({listed}); names that differ only in case or white space are one name",
                }
            )
    return errors


def _refuse_duplicates(profiles: Iterable[AlertingProfile], integrations: Iterable[Integration]) -> None:
    """Objects are matched by name: two stored under one name cannot be told apart."""
    found = []
    for what, pairs in (
        ("alerting profiles", [(p.name, p.id) for p in profiles]),
        ("integrations", [(i.displayName, i.id) for i in integrations]),
    ):
        ids: dict[str, list[tuple[str, str]]] = {}
        for name, item_id in pairs:
            ids.setdefault(name_key(name), []).append((name, item_id))
        for _key, held in sorted(ids.items()):
            if len(held) > 1:
                spelled = " or ".join(sorted({repr(n) for n, _ in held}))
                found.append(f"{what} named {spelled}: {', '.join(sorted(i for _, i in held))}")
    if found:
        raise Conflict(
            "names must be unique to export or apply the configuration; rename or delete all but one of "
            + "; ".join(found)
        )


def _refuse_shared_references(integrations: list[dict[str, Any]]) -> None:
    """Two secret headers or named secrets of one integration whose names differ only in case or
    punctuation would share one reference (integrations' own names are told apart by
    ``integration_tokens``)."""
    slots: dict[str, list[str]] = {}
    for item in integrations:
        name = item["displayName"]
        for header in (item.get("webhook") or {}).get("headers", []):
            if header.get("secret"):
                slots.setdefault(header["value"], []).append(f"integration {name!r} header {header['name']}")
        for secret in item.get("secrets", []):
            slots.setdefault(secret["value"], []).append(f"integration {name!r} secret {secret['name']}")
        if "signingSecret" in item:
            slots.setdefault(item["signingSecret"], []).append(f"integration {name!r} signing secret")
    shared = [f"{ref} for {' and '.join(where)}" for ref, where in sorted(slots.items()) if len(where) > 1]
    if shared:
        raise Conflict(
            "each secret needs its own reference; rename the headers or secrets so that these differ "
            "in more than case or punctuation: " + "; ".join(shared)
        )


def _prefixed(exc: BadRequest, where: str, label: str) -> list[dict[str, Any]]:
    """A save's refusal, its fields placed in the document."""
    listed = exc.details.get("errors")
    if not listed:
        field = exc.details.get("field")
        return [{"field": f"{where}.{field}" if field else where, "message": f"{label}: {exc.message}"}]
    out = []
    for error in listed:
        entry = dict(error)
        inner = entry.get("field") or exc.details.get("field")
        entry["field"] = f"{where}.{inner}" if inner else where
        entry["message"] = f"{label}.{inner}: {entry['message']}" if inner else f"{label}: {entry['message']}"
        out.append(entry)
    return out


def config_code(services: ApiServices) -> ConfigCodeService:
    """The service over the API's profile and integration services (``wiring.ApiServices``)."""
    return ConfigCodeService(services.profiles, services.integrations)
