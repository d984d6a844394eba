"""Config API Lambda: REST routes for alerting profiles and integrations (SPEC 5)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from secnotify import __version__
from secnotify.http_api import DELETED, json_response, ok, register_error_handlers, screen_body
from secnotify.models.api import (
    DeliveryList,
    IntegrationList,
    PlaceholderList,
    PreviewRequest,
    PreviewResult,
    ProfileList,
    TestSendRequest,
    TestSendResult,
)
from secnotify.models.integration import IntegrationInput, IntegrationView
from secnotify.models.profile import AlertingProfile, AlertingProfileInput
from secnotify.service.wiring import api_services
from secnotify.templating import PLACEHOLDERS

logger = Logger()
tracer = Tracer()
# No Metrics here: the API publishes none, and log_metrics on an empty set warns on every call.
app = APIGatewayRestResolver(enable_validation=True)
app.enable_swagger(path="/swagger", title="secnotify", version=__version__)

Id = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100.")]
Token = Annotated[str | None, Query(max_length=2048, description="Opaque token from the previous page.")]


register_error_handlers(app, logger)


# ---- alerting profiles -----------------------------------------------------------------


@app.get("/alerting-profiles", responses=ok(ProfileList), tags=["Alerting profiles"])
def list_profiles(limit: Limit = 50, nextToken: Token = None) -> Response[ProfileList]:
    items, token = api_services().profiles.page(limit, nextToken)
    return json_response(ProfileList(items=items, nextToken=token))


@app.post("/alerting-profiles", responses=ok(AlertingProfile, "Created", 201), tags=["Alerting profiles"])
def create_profile(body: Annotated[AlertingProfileInput, Body()]) -> Response[AlertingProfile]:
    profile = api_services().profiles.create(body)
    return json_response(profile, 201, profile.version)


@app.get("/alerting-profiles/<profile_id>", responses=ok(AlertingProfile), tags=["Alerting profiles"])
def get_profile(profile_id: Id) -> Response[AlertingProfile]:
    profile = api_services().profiles.get(profile_id)
    return json_response(profile, version=profile.version)


@app.put("/alerting-profiles/<profile_id>", responses=ok(AlertingProfile), tags=["Alerting profiles"])
def replace_profile(
    profile_id: Id, body: Annotated[AlertingProfileInput, Body()]
) -> Response[AlertingProfile]:
    if_match = app.current_event.headers.get("If-Match")
    profile = api_services().profiles.replace(profile_id, body, if_match)
    return json_response(profile, version=profile.version)


@app.delete(
    "/alerting-profiles/<profile_id>",
    responses=DELETED,
    tags=["Alerting profiles"],
)
def delete_profile(profile_id: Id) -> Response[None]:
    api_services().profiles.delete(profile_id)
    return Response(status_code=204)


# ---- integrations ----------------------------------------------------------------------


@app.get("/integrations", responses=ok(IntegrationList), tags=["Integrations"])
def list_integrations(limit: Limit = 50, nextToken: Token = None) -> Response[IntegrationList]:
    items, token = api_services().integrations.page(limit, nextToken)
    return json_response(IntegrationList(items=items, nextToken=token))


@app.post("/integrations", responses=ok(IntegrationView, "Created", 201), tags=["Integrations"])
def create_integration(body: Annotated[IntegrationInput, Body()]) -> Response[IntegrationView]:
    view = api_services().integrations.create(body)
    return json_response(view, 201, view.version)


@app.post("/integrations/preview", responses=ok(PreviewResult), tags=["Integrations"])
def preview(body: Annotated[PreviewRequest, Body()]) -> Response[PreviewResult]:
    result = api_services().integrations.preview(body.integrationId, body.integration, body.event)
    return json_response(PreviewResult.model_validate(result))


@app.get("/integrations/<integration_id>", responses=ok(IntegrationView), tags=["Integrations"])
def get_integration(integration_id: Id) -> Response[IntegrationView]:
    view = api_services().integrations.get(integration_id)
    return json_response(view, version=view.version)


@app.put("/integrations/<integration_id>", responses=ok(IntegrationView), tags=["Integrations"])
def replace_integration(
    integration_id: Id, body: Annotated[IntegrationInput, Body()]
) -> Response[IntegrationView]:
    if_match = app.current_event.headers.get("If-Match")
    view = api_services().integrations.replace(integration_id, body, if_match)
    return json_response(view, version=view.version)


@app.delete(
    "/integrations/<integration_id>",
    responses=DELETED,
    tags=["Integrations"],
)
def delete_integration(integration_id: Id) -> Response[None]:
    api_services().integrations.delete(integration_id)
    return Response(status_code=204)


@app.post("/integrations/<integration_id>/test", responses=ok(TestSendResult), tags=["Integrations"])
def test_send(
    integration_id: Id, body: Annotated[TestSendRequest | None, Body()] = None
) -> Response[TestSendResult]:
    result = api_services().integrations.test_send(integration_id, body.event if body else None)
    return json_response(TestSendResult.model_validate(result))


@app.get("/integrations/<integration_id>/deliveries", responses=ok(DeliveryList), tags=["Delivery log"])
def list_deliveries(integration_id: Id, limit: Limit = 50, nextToken: Token = None) -> Response[DeliveryList]:
    items, token = api_services().integrations.deliveries(integration_id, limit, nextToken)
    return json_response(DeliveryList.model_validate({"items": items, "nextToken": token}))


@app.post(
    "/integrations/<integration_id>/deliveries/<delivery_id>/redeliver",
    responses=ok(TestSendResult),
    tags=["Delivery log"],
)
def redeliver(integration_id: Id, delivery_id: Id) -> Response[TestSendResult]:
    result = api_services().integrations.redeliver(integration_id, delivery_id)
    return json_response(TestSendResult.model_validate(result))


# ---- reference -------------------------------------------------------------------------


@app.get("/placeholders", responses=ok(PlaceholderList), tags=["Reference"])
def placeholders() -> Response[PlaceholderList]:
    items = [{"name": p.name, "description": p.description, "example": p.example} for p in PLACEHOLDERS]
    return json_response(PlaceholderList.model_validate({"items": items}))


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(title="secnotify", version=__version__),
    )


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
# capture_response=False: a create or rotate response carries the signing secret.
@tracer.capture_lambda_handler(capture_response=False)
@screen_body
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
