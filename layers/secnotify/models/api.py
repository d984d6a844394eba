"""Request and response shapes of the REST API that are not resources themselves.

The delivery log's ``DeliveryRecord`` lives with the rest of the delivery vocabulary."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from secnotify.matching import Reason
from secnotify.models.common import EventRiskLevel, TriggerEvent
from secnotify.models.delivery import DeliveryRecord
from secnotify.models.finding import FindingTransition
from secnotify.models.integration_api import IntegrationInput, IntegrationView
from secnotify.models.profile import AlertingProfile


class ErrorDetail(BaseModel):
    """One problem of a 400: a field that failed validation, or a template error."""

    message: str
    field: str | None = Field(
        default=None, description="Where, as a client writes it: webhook.headers[1].name."
    )
    line: int | None = Field(default=None, description="Template errors: line in the payload, from 1.")
    column: int | None = Field(default=None, description="Template errors: column in that line, from 1.")
    unknownPlaceholders: list[str] | None = None


_HOST = "header Host is set by secnotify and cannot be overridden"


class ErrorBody(BaseModel):
    """Every error answer of the API; a 400 names the field and lists each problem."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "message": f"webhook.headers[1].name: {_HOST}",
                    "field": "webhook.headers[1].name",
                    "errors": [{"message": _HOST, "field": "webhook.headers[1].name"}],
                },
                {"message": "no integration with id 42"},
            ]
        }
    )

    message: str = Field(description="What went wrong, naming the field or the reason.")
    field: str | None = Field(default=None, description="The field at fault, when there is one.")
    errors: list[ErrorDetail] | None = Field(default=None, description="Every problem found (400 only).")
    integrations: list[str] | None = Field(default=None, description="409: the integrations using a profile.")
    holderId: str | None = Field(default=None, description="409: the id of the object that has that name.")
    requestId: str | None = None


class ProfileList(BaseModel):
    items: list[AlertingProfile]
    nextToken: str | None = Field(default=None, description="Opaque; pass back to get the next page.")


class IntegrationList(BaseModel):
    items: list[IntegrationView]
    nextToken: str | None = None


class PreviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integrationId: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="A saved integration; with `integration`, the draft is checked as its edit."
    )
    integration: IntegrationInput | None = None
    event: dict[str, Any] | None = Field(
        default=None, description="An EventBridge event, or just its detail; the sample event when absent."
    )


class TemplateIssue(BaseModel):
    """A problem that would make a save refuse the draft: the template's, or any other save check's."""

    message: str
    field: str | None = Field(default=None, description="The draft's field at fault, when not the template.")
    line: int | None = None
    column: int | None = None
    unknownPlaceholders: list[str] | None = None


class PreviewResult(BaseModel):
    contentType: str
    subject: str | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description="EMAIL integrations: the subject as it would be sent (the body is the HTML part).",
    )
    body: str
    valid: bool
    errors: list[TemplateIssue]


class TestSendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: dict[str, Any] | None = None


class TestSendResult(BaseModel):
    delivered: bool
    statusCode: int | None = None
    latencyMs: float | None = None
    error: str | None = None
    responseBody: str = ""
    deliveryId: str = Field(description="The delivery record this send wrote.")
    integrationEnabled: bool = Field(
        description="Whether the integration is enabled: a disabled one can be tried out but gets no events."
    )


class DeliveryList(BaseModel):
    items: list[DeliveryRecord]
    nextToken: str | None = None


class PlaceholderView(BaseModel):
    name: str
    description: str
    example: str


class PlaceholderList(BaseModel):
    items: list[PlaceholderView]


# ---- why / why not -----------------------------------------------------------------------


class ExplainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: dict[str, Any] = Field(
        description="An event the dispatcher takes: a secnotify EventBridge event or just its detail, "
        "or an AWS Inspector, GuardDuty or Security Hub (ASFF or OCSF) finding event."
    )
    integrationId: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        default=None, description="Explain for this integration only."
    )


class ExplainItem(BaseModel):
    """What one event would do at one integration."""

    eventId: str | None = Field(
        description="The event the dispatcher would send; null for a finding that makes none (UNCHANGED)."
    )
    findingId: str | None = Field(description="The finding (or security problem) the event is about.")
    integrationId: str
    displayName: str
    matched: bool
    reason: Reason | None = Field(
        description="Null when matched; else the first that applies, in this order: "
        + ", ".join(r.value for r in Reason)
        + "."
    )
    message: str = Field(
        description="Why, for people: 'risk level MEDIUM is not among the profile's CRITICAL, HIGH'."
    )
    preview: str | None = Field(
        description="The body that would be sent (matched only; secrets masked). Null past 2 MB of previews."
    )


class ExplainedEvent(BaseModel):
    """One event the input makes: one per finding of an AWS batch."""

    eventId: str | None
    findingId: str | None
    trigger: TriggerEvent
    transition: FindingTransition | None = Field(description="AWS findings: the change the snapshot is.")
    riskLevel: EventRiskLevel
    unchanged: str | None = Field(description="Why an AWS finding makes no event, when it makes none.")
    note: str | None = None


class ExplainResult(BaseModel):
    events: list[ExplainedEvent]
    items: list[ExplainItem] = Field(description="Per event (in `events` order), per integration.")
    skipped: list[str] = Field(
        description="Why findings of a batch could not be read (the others are explained)."
    )
