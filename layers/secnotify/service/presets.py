"""What a create request makes: an integration input as it is, or one a preset builds from
``presetFields`` (or from the platform's ``"type": "JIRA"``), with the preset it came from."""

from __future__ import annotations

import re
from collections.abc import Mapping

from secnotify.models.integration import PresetOrigin
from secnotify.models.integration_api import IntegrationInput
from secnotify.models.preset_api import IntegrationCreateInput, PresetFieldView, PresetList, PresetView
from secnotify.presets import Preset, presets
from secnotify.service.common import validated
from secnotify.service.errors import BadRequest

# What a create with a preset takes beside it, as given.
_PASSED_ON = (
    "displayName",
    "enabled",
    "alertingProfileId",
    "signingSecret",
    "generateSigningSecret",
    "signingSecretOverlapSeconds",
    "signingSecretValue",
)
# The platform's URL may be the REST API's own; the preset wants the site.
_JIRA_API_PATH = re.compile(r"^(https?://[^/?#]+)(?:/rest/api/[0-9]+(?:/issue)?)?/*$", re.IGNORECASE)
# Where each jira preset field comes from in the platform's jiraConfiguration.
_JIRA_FIELDS = {
    "url": "url",
    "email": "username",
    "apiToken": "apiToken",
    "projectKey": "projectKey",
    "issueType": "issueType",
}


def preset_list() -> PresetList:
    """``GET /presets``."""
    return PresetList(items=[_view(p) for p in presets().values()])


def _view(preset: Preset) -> PresetView:
    return PresetView(
        name=preset.name,
        version=preset.version,
        description=preset.description,
        fields=[
            PresetFieldView(
                name=f.name,
                secret=f.secret,
                required=f.required,
                description=f.description,
                default=f.default,
                choices=list(f.choices) if f.choices is not None else None,
            )
            for f in preset.fields
        ],
        example=dict(preset.example),
        sources=list(preset.sources),
    )


def creation_input(body: IntegrationCreateInput) -> tuple[IntegrationInput, PresetOrigin | None]:
    """The integration input a create stands for, and the preset that built it (None when the
    request gave ``webhook`` itself)."""
    if body.type == "JIRA":
        return _from_jira(body)
    if body.preset is not None:
        _refuse(body, ("webhook", "email", "secrets", "jiraConfiguration"), f"preset {body.preset}")
        return _build(body, _preset(body.preset), body.presetFields or {}, "presetFields.{}")
    for name, why in (
        ("presetFields", "goes only with a preset"),
        ("jiraConfiguration", 'goes only with "type": "JIRA"'),
    ):
        if getattr(body, name) is not None:
            raise BadRequest(f"{name}: {why}", field=name)
    if body.type == "WEBHOOK" and body.webhook is None:
        raise BadRequest("webhook: required (or name a preset and give its presetFields)", field="webhook")
    return body, None


def _preset(name: str) -> Preset:
    found = presets().get(name)
    if found is None:
        raise BadRequest(
            f"preset: there is no preset {name}; the presets: {', '.join(presets())}", field="preset"
        )
    return found


def _refuse(body: IntegrationCreateInput, names: tuple[str, ...], used: str) -> None:
    for name in names:
        if name in body.model_fields_set and getattr(body, name) not in (None, []):
            raise BadRequest(
                f"{name}: leave it out with {used}, which builds the webhook and its secrets; "
                "every value goes in presetFields",
                field=name,
            )


def _from_jira(body: IntegrationCreateInput) -> tuple[IntegrationInput, PresetOrigin]:
    _refuse(body, ("webhook", "email", "secrets", "preset", "presetFields"), 'type "JIRA"')
    config = body.jiraConfiguration
    if config is None:
        raise BadRequest('jiraConfiguration: required with "type": "JIRA"', field="jiraConfiguration")
    site = _JIRA_API_PATH.match(config.url)
    given = {name: getattr(config, source) for name, source in _JIRA_FIELDS.items()}
    given["url"] = site.group(1) if site else config.url
    where = {name: f"jiraConfiguration.{source}" for name, source in _JIRA_FIELDS.items()}
    return _build(body, _preset("jira"), given, "{}", where)


def _build(
    body: IntegrationCreateInput,
    preset: Preset,
    given: Mapping[str, str],
    place: str,
    where: Mapping[str, str] | None = None,
) -> tuple[IntegrationInput, PresetOrigin]:
    """``preset`` built from ``given``: each problem named by its place in the request."""
    problems = preset.problems(given)
    if problems:
        errors = [
            {"field": (where or {}).get(name) or place.format(name), "message": problem}
            for name, problem in problems
        ]
        first = errors[0]
        raise BadRequest(f"{first['field']}: {first['message']}", field=first["field"], errors=errors)
    doc = preset.build(given)
    doc.update({name: getattr(body, name) for name in _PASSED_ON if name in body.model_fields_set})
    try:
        data = validated(IntegrationInput, doc)
    except BadRequest as exc:
        raise BadRequest(f"preset {preset.name}: {exc.message}", **exc.details) from None
    return data, PresetOrigin(name=preset.name, version=preset.version)
