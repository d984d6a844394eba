"""Request and response shapes of the REST API that are not resources themselves."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from secnotify.models.integration import IntegrationInput, IntegrationView
from secnotify.models.profile import AlertingProfile


class ErrorBody(BaseModel):
    message: str = Field(description="What went wrong, naming the field or the reason.")
    field: str | None = None
    errors: list[dict[str, Any]] | None = None
    integrations: list[str] | None = None
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
    deliveryId: str | None = None


class DeliveryRecord(BaseModel):
    deliveryId: str
    integrationId: str
    eventId: str
    webhookId: str
    kind: str
    attempt: int
    status: str
    statusCode: int | None = None
    latencyMs: float | None = None
    error: str | None = None
    responseBody: str = ""
    createdAt: str
    trigger: str | None = None
    securityProblemId: str | None = None
    nextAttemptAt: float | None = None
    redeliveryOf: str | None = None


class DeliveryList(BaseModel):
    items: list[DeliveryRecord]
    nextToken: str | None = None


class PlaceholderView(BaseModel):
    name: str
    description: str
    example: str


class PlaceholderList(BaseModel):
    items: list[PlaceholderView]
