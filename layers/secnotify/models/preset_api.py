"""The presets as the config API shows them, and the create request that may name one
(README "Presets"). Apart from ``integration_api``: only a create takes these forms."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, model_validator

from secnotify.models.integration_api import IntegrationInput, WebhookInput, check_type_fields

PRESET_NAME_PATTERN = r"^[a-z][a-z0-9-]{0,63}$"
MAX_PRESET_FIELDS = 50


class JiraConfiguration(BaseModel):
    """The platform's Jira settings (``jiraConfiguration`` of its security notification
    integrations), taken as they are and turned into the ``jira`` preset."""

    model_config = ConfigDict(extra="forbid")

    url: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="The Jira Cloud site (https://your-domain.atlassian.net) or its REST API URL."
    )
    username: Annotated[str, Field(min_length=1, max_length=1000)] = Field(
        description="The email address of the Atlassian account."
    )
    apiToken: Annotated[str, Field(min_length=1, max_length=1000)] = Field(
        repr=False, description="That account's API token: write-only, kept in a secret header."
    )
    projectKey: Annotated[str, Field(min_length=1, max_length=1000)]
    issueType: Annotated[str, Field(min_length=1, max_length=1000)]


PresetFields = Annotated[
    dict[Annotated[str, Field(max_length=64)], StrictStr], Field(max_length=MAX_PRESET_FIELDS)
]


class IntegrationCreateInput(IntegrationInput):
    """A create: an integration as PUT takes it, or a preset and its fields in place of ``webhook``
    and ``secrets``, or the platform's ``"type": "JIRA"`` with its ``jiraConfiguration``."""

    type: Literal["WEBHOOK", "EMAIL", "JIRA"] = Field(  # type: ignore[assignment]
        default="WEBHOOK",
        description='WEBHOOK; EMAIL with `email`; "JIRA" (the platform\'s Jira type) with '
        "`jiraConfiguration` makes the `jira` preset, and the integration is a WEBHOOK one.",
    )
    webhook: WebhookInput | None = Field(
        default=None, description='WEBHOOK only; required, unless `preset` or `"type": "JIRA"` builds it.'
    )
    preset: Annotated[str, Field(max_length=64, pattern=PRESET_NAME_PATTERN)] | None = Field(
        default=None,
        description="The name of a preset (`GET /presets`): it builds `webhook` and `secrets` from "
        "`presetFields`. Only on create; the integration keeps it as `presetOrigin`.",
    )
    presetFields: PresetFields | None = Field(
        default=None,
        repr=False,
        description="Every value the preset needs, by field name, the URL included; secret fields "
        "become secrets and are never shown.",
    )
    jiraConfiguration: JiraConfiguration | None = Field(
        default=None, description='With `"type": "JIRA"`: the platform\'s Jira settings.'
    )

    @model_validator(mode="after")
    def _fields_of_its_type(self) -> IntegrationCreateInput:
        # Replaces the input's own check: a preset or the JIRA type builds the webhook, and a
        # WEBHOOK create without one is refused naming the presets (service/presets.py).
        if self.type == "EMAIL" and self.preset is not None:
            raise ValueError("preset: a preset builds a WEBHOOK integration; leave out type EMAIL")
        if self.type == "EMAIL" or (self.preset is None and self.webhook is not None):
            check_type_fields(self)
        return self


class PresetFieldView(BaseModel):
    name: str
    secret: bool = Field(description="Stored write-only: as a named secret or a secret header.")
    required: bool
    description: str
    default: str | None = Field(default=None, description="The value used when the field is left out.")
    choices: list[str] | None = Field(default=None, description="The values the field takes.")


class PresetView(BaseModel):
    name: str
    version: int = Field(description="Changes when what the preset builds changes.")
    description: str
    fields: list[PresetFieldView]
    example: dict[str, str] = Field(description="`presetFields` for a create, with made-up values.")
    sources: list[str] = Field(description="The receiver's documentation the preset follows.")


class PresetList(BaseModel):
    items: list[PresetView]
