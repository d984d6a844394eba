"""Config API Lambda: REST routes for alerting profiles and integrations (README "The REST API")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import Example
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from secnotify import __version__
from secnotify.http_api import (
    DELETED,
    MERGE_PATCH,
    caller_of,
    json_response,
    ok,
    register_docs,
    register_error_handlers,
    screen_body,
)
from secnotify.matching import Reason
from secnotify.models import examples
from secnotify.models.api import (
    DeliveryList,
    ExplainRequest,
    ExplainResult,
    IntegrationList,
    PlaceholderList,
    PreviewRequest,
    PreviewResult,
    ProfileList,
    TestSendRequest,
    TestSendResult,
)
from secnotify.models.audit import AuditList
from secnotify.models.config_doc import CONFIG_APPLY_ROUTE, ApplyResult, ConfigDocument
from secnotify.models.config_doc import EXAMPLE as CONFIG_EXAMPLE
from secnotify.models.delivery import AttemptStatus, DeliveryRecord
from secnotify.models.integration_api import IntegrationInput, IntegrationView
from secnotify.models.preset_api import IntegrationCreateInput, PresetList
from secnotify.models.profile import AlertingProfile, AlertingProfileInput
from secnotify.service.audit import acting_as
from secnotify.service.config_code import config_code
from secnotify.service.presets import creation_input, preset_list
from secnotify.service.wiring import api_services
from secnotify.settings import tracing_enabled
from secnotify.templating import PLACEHOLDERS

logger = Logger()
# Built only when tracing is on: the Tracer imports the X-Ray SDK (wrapt, asyncio) even disabled.
tracer = Tracer() if tracing_enabled() else None
# No Metrics here: the API publishes none, and log_metrics on an empty set warns on every call.
app = APIGatewayRestResolver(enable_validation=True)
register_docs(
    app,
    title="secnotify",
    version=__version__,
    description=(
        "Configuration API of secnotify: alerting profiles say which security problems to hear "
        "about, integrations say where and how (a webhook URL, headers, a payload template). "
        "Every route needs IAM auth (SigV4) in AWS. Errors are JSON with a `message` naming the "
        "field or the reason; no request gets a 5xx."
    ),
)

ProfileId = Annotated[str, Path(min_length=1, max_length=64, description="The alerting profile's id.")]
IntegrationId = Annotated[str, Path(min_length=1, max_length=64, description="The integration's id.")]
DeliveryId = Annotated[str, Path(min_length=1, max_length=64, description="A delivery record's id.")]
Limit = Annotated[int, Query(ge=1, le=100, description="Page size, 1-100.")]
Token = Annotated[str | None, Query(max_length=2048, description="Opaque token from the previous page.")]
StatusFilter = Annotated[AttemptStatus | None, Query(description="Only records of this status.")]
EventIdFilter = Annotated[
    str | None, Query(min_length=1, max_length=256, description="Only records of this event.")
]
EventId = Annotated[str, Path(min_length=1, max_length=256, description="The event's id.")]


def _examples(**values: tuple[str, Any]) -> dict[str, Example]:
    return {name: Example(summary=summary, value=value) for name, (summary, value) in values.items()}


register_error_handlers(app, logger)


# ---- alerting profiles -----------------------------------------------------------------


@app.get(
    "/alerting-profiles",
    summary="List alerting profiles",
    description="Alerting profiles, a page of `limit` at a time. Pass the `nextToken` of one page to get "
    "the next; a token the API did not issue is a 400.",
    responses=ok(ProfileList),
    tags=["Alerting profiles"],
)
def list_profiles(limit: Limit = 50, nextToken: Token = None) -> Response[ProfileList]:
    items, token = api_services().profiles.page(limit, nextToken)
    return json_response(ProfileList(items=items, nextToken=token))


@app.post(
    "/alerting-profiles",
    summary="Create an alerting profile",
    description="Which security problems to hear about: risk levels, trigger events and an optional "
    "management zone (id or exact name). At most 200 profiles. The answer's `ETag` is its version.",
    responses=ok(AlertingProfile, "Created", 201),
    tags=["Alerting profiles"],
)
def create_profile(
    body: Annotated[
        AlertingProfileInput,
        Body(
            openapi_examples=_examples(
                production=("Critical and high problems in one zone", examples.PROFILE)
            )
        ),
    ],
) -> Response[AlertingProfile]:
    profile = api_services().profiles.create(body)
    return json_response(profile, 201, profile.version)


@app.get(
    "/alerting-profiles/<profile_id>",
    summary="Get an alerting profile",
    description="The profile; the `ETag` header is its version, for `If-Match` on a later `PUT` or "
    "`PATCH`. Sent back as it is, with a change, it is a valid `PUT` body.",
    responses=ok(AlertingProfile),
    tags=["Alerting profiles"],
)
def get_profile(profile_id: ProfileId) -> Response[AlertingProfile]:
    profile = api_services().profiles.get(profile_id)
    return json_response(profile, version=profile.version)


@app.put(
    "/alerting-profiles/<profile_id>",
    summary="Replace an alerting profile",
    description="Replaces the whole profile. The profile as GET returned it is a valid body: `id`, "
    "`version`, `createdAt` and `updatedAt` are ignored, except that another `id` is a 400 and a `version` "
    "that is no longer current a 412, so a change made meanwhile is refused instead of lost. `If-Match` "
    "with the `ETag` you read does the same, and wins over the body's `version`.",
    responses=ok(AlertingProfile),
    tags=["Alerting profiles"],
)
def replace_profile(
    profile_id: ProfileId,
    body: Annotated[
        AlertingProfileInput,
        Body(
            openapi_examples=_examples(
                production=("Critical and high problems in one zone", examples.PROFILE)
            )
        ),
    ],
) -> Response[AlertingProfile]:
    if_match = app.current_event.headers.get("If-Match")
    profile = api_services().profiles.replace(profile_id, body, if_match)
    return json_response(profile, version=profile.version)


@app.patch(
    "/alerting-profiles/<profile_id>",
    summary="Change an alerting profile",
    description="A JSON Merge Patch (RFC 7396; `application/merge-patch+json` or `application/json`) of "
    "the profile as GET shows it: members given replace theirs, `null` removes one (its default "
    "applies), arrays replace whole. The result is checked and saved exactly as a `PUT` of it would "
    'be, `If-Match` and `version` included. `{"enabled": false}` disables the profile.',
    responses=ok(AlertingProfile),
    tags=["Alerting profiles"],
)
def patch_profile(
    profile_id: ProfileId,
    body: Annotated[
        dict[str, Any],
        Body(
            media_type=MERGE_PATCH,
            openapi_examples=_examples(
                disable=("Disable the profile", {"enabled": False}),
                levels=("Only critical problems", {"enabledRiskLevels": ["CRITICAL"]}),
            ),
        ),
    ],
) -> Response[AlertingProfile]:
    if_match = app.current_event.headers.get("If-Match")
    profile = api_services().profiles.patch(profile_id, body, if_match)
    return json_response(profile, version=profile.version)


@app.delete(
    "/alerting-profiles/<profile_id>",
    summary="Delete an alerting profile",
    description="Deletes the profile. Refused with 409, naming them, while integrations use it.",
    responses=DELETED,
    tags=["Alerting profiles"],
)
def delete_profile(profile_id: ProfileId) -> Response[None]:
    api_services().profiles.delete(profile_id)
    return Response(status_code=204)


# ---- integrations ----------------------------------------------------------------------


@app.get(
    "/integrations",
    summary="List integrations",
    description="Integrations, a page of `limit` at a time. Secret header values are never shown "
    "(`value: null`), nor is the signing secret (`signingSecret.set` says whether there is one).",
    responses=ok(IntegrationList),
    tags=["Integrations"],
)
def list_integrations(limit: Limit = 50, nextToken: Token = None) -> Response[IntegrationList]:
    items, token = api_services().integrations.page(limit, nextToken)
    return json_response(IntegrationList(items=items, nextToken=token))


@app.post(
    "/integrations",
    summary="Create an integration",
    description="A webhook bound to an alerting profile: URL, headers (secret ones are write-only), a "
    "payload template (checked on save: unknown placeholders and JSON that cannot render are refused "
    "with line and column), and a signing secret (`signingSecret`: a `whsec_` value, or "
    "`generateSigningSecret: true`), which this answer shows once, as `signingSecretValue`. Or, in place "
    "of `webhook` and `secrets`, a `preset` (`GET /presets`) with its `presetFields`, every value the "
    'preset needs; or the platform\'s `"type": "JIRA"` with its `jiraConfiguration`, which makes the '
    "`jira` preset. Either way the result is an ordinary, editable integration; `presetOrigin` says which "
    'preset built it. Or, with `"type": "EMAIL"`, an email sent through Amazon SES: `email` with '
    "recipients, ccRecipients, bccRecipients (20 in all), a plain-text subject template and an HTML body "
    "template (a 400 while the stack's EmailSenderIdentity is empty). At most 1000 integrations.",
    responses=ok(IntegrationView, "Created", 201),
    tags=["Integrations"],
)
def create_integration(
    body: Annotated[
        IntegrationCreateInput,
        Body(
            openapi_examples=_examples(
                slack=("A Slack-style webhook with a secret header", examples.INTEGRATION),
                email=("An email through Amazon SES", examples.EMAIL_INTEGRATION),
                preset=("PagerDuty, from its preset", examples.INTEGRATION_FROM_PRESET),
                jira=("The platform's Jira type", examples.INTEGRATION_JIRA),
            )
        ),
    ],
) -> Response[IntegrationView]:
    view = api_services().integrations.create(*creation_input(body))
    return json_response(view, 201, view.version)


@app.post(
    "/integrations/preview",
    summary="Render a payload without sending it",
    description="Renders the template of a saved integration (`integrationId`) or of a draft "
    "(`integration`), for the sample event or the `event` given (a whole EventBridge event or just its "
    "detail), with the checks a save makes. `valid` and `errors` say what a save would say. "
    "Nothing is sent.",
    responses=ok(PreviewResult),
    tags=["Integrations"],
)
def preview(
    body: Annotated[
        PreviewRequest,
        Body(
            openapi_examples=_examples(
                draft=("A draft, for the sample event", {"integration": examples.INTEGRATION}),
                saved=(
                    "A saved integration, for a given event detail",
                    {"integrationId": "5c2e7f10-4b8a-4e3d-8f6a-1d9b0c7e2a31", "event": examples.EVENT_DETAIL},
                ),
            )
        ),
    ],
) -> Response[PreviewResult]:
    result = api_services().integrations.preview(body.integrationId, body.integration, body.event)
    return json_response(PreviewResult.model_validate(result))


@app.get(
    "/integrations/<integration_id>",
    summary="Get an integration",
    description="The integration, secret values hidden; the `ETag` header is its version. Sent back as "
    "it is, with a change, it is a valid `PUT` body that keeps every secret.",
    responses=ok(IntegrationView),
    tags=["Integrations"],
)
def get_integration(integration_id: IntegrationId) -> Response[IntegrationView]:
    view = api_services().integrations.get(integration_id)
    return json_response(view, version=view.version)


@app.put(
    "/integrations/<integration_id>",
    summary="Replace an integration",
    description="Replaces the whole integration. The integration as GET returned it is a valid body: "
    "a secret header listed without a value keeps the stored value, and `signingSecret` as GET showed "
    "it (or left out) keeps the signing secret, as long as the URL keeps its origin. A `whsec_` string "
    "or `generateSigningSecret: true` rotates it (shown in this answer once, as `signingSecretValue`; "
    "the previous one keeps signing for `signingSecretOverlapSeconds`, default a day); "
    '`{"remove": true}` removes it; `null` is a 400. `id`, `version`, `createdAt` and `updatedAt` are '
    "ignored, except that another `id` is a 400 and a `version` that is no longer current a 412. "
    "`If-Match` with the `ETag` you read does the same, and wins over the body's `version`.",
    responses=ok(IntegrationView),
    tags=["Integrations"],
)
def replace_integration(
    integration_id: IntegrationId,
    body: Annotated[
        IntegrationInput,
        Body(
            openapi_examples=_examples(
                keep=("Keep the stored secret header value", examples.INTEGRATION_KEEPING_SECRET),
                rotate=(
                    "Rotate the signing secret, old one valid an hour more",
                    examples.INTEGRATION_ROTATING,
                ),
            )
        ),
    ],
) -> Response[IntegrationView]:
    if_match = app.current_event.headers.get("If-Match")
    view = api_services().integrations.replace(integration_id, body, if_match)
    return json_response(view, version=view.version)


@app.patch(
    "/integrations/<integration_id>",
    summary="Change an integration",
    description="A JSON Merge Patch (RFC 7396; `application/merge-patch+json` or `application/json`) of "
    "the integration as GET shows it: members given replace theirs, `null` removes one, arrays (such "
    "as `webhook.headers`) replace whole. The result is checked and saved exactly as a `PUT` of it "
    "would be: secrets kept only while the URL keeps its origin, `If-Match` and `version` honoured. "
    '`signingSecret` is replaced whole; `{"signingSecret": null}` is a 400 (send `{"remove": true}`). '
    '`{"enabled": false}` disables the integration.',
    responses=ok(IntegrationView),
    tags=["Integrations"],
)
def patch_integration(
    integration_id: IntegrationId,
    body: Annotated[
        dict[str, Any],
        Body(
            media_type=MERGE_PATCH,
            openapi_examples=_examples(
                disable=("Disable the integration", {"enabled": False}),
                rotate=(
                    "Rotate the signing secret, the old one valid an hour more",
                    {"generateSigningSecret": True, "signingSecretOverlapSeconds": 3600},
                ),
                remove=("Stop signing deliveries", {"signingSecret": {"remove": True}}),
            ),
        ),
    ],
) -> Response[IntegrationView]:
    if_match = app.current_event.headers.get("If-Match")
    view = api_services().integrations.patch(integration_id, body, if_match)
    return json_response(view, version=view.version)


@app.delete(
    "/integrations/<integration_id>",
    summary="Delete an integration",
    description="Deletes the integration. Retries still pending for it are cancelled, not sent.",
    responses=DELETED,
    tags=["Integrations"],
)
def delete_integration(integration_id: IntegrationId) -> Response[None]:
    api_services().integrations.delete(integration_id)
    return Response(status_code=204)


@app.post(
    "/integrations/<integration_id>/test",
    summary="Send a test notification",
    description="Sends one notification now, for the sample event or the `event` given, through the "
    "real delivery path (SSRF guard, signing, timeouts), with the header `webhook-test: true` "
    "(`webhook-test: custom-event` when the event was given) and a fresh `webhook-id`. A test is "
    "never retried: a failure is logged `FAILED`. The answer names the delivery record and says "
    "whether the integration is enabled (a disabled one can be tried out but gets no events). An EMAIL "
    "integration's test mail goes through SES with `X-Secnotify-Test: true` and a subject that starts "
    "`[test]`.",
    responses=ok(TestSendResult),
    tags=["Integrations"],
)
def test_send(
    integration_id: IntegrationId,
    body: Annotated[
        TestSendRequest | None,
        Body(
            openapi_examples=_examples(
                sample=("The sample event", {}),
                custom=("An event detail of your own", {"event": examples.EVENT_DETAIL}),
            )
        ),
    ] = None,
) -> Response[TestSendResult]:
    result = api_services().integrations.test_send(integration_id, body.event if body else None)
    return json_response(TestSendResult.model_validate(result))


@app.get(
    "/integrations/<integration_id>/deliveries",
    summary="List an integration's deliveries",
    description="The delivery log, newest first: every attempt, test and redelivery, with its status ("
    + ", ".join(f"`{status}`" for status in AttemptStatus)
    + "), HTTP status, latency, the first 4 KB of the receiver's answer and, on a notification's "
    "first attempt (and each test and redelivery), the request body sent (`requestBody`, up to 64 KB; "
    "`requestBodyTruncated` says when it was cut); secrets masked. `status` and `eventId` filter the "
    "list (a page may then hold fewer than `limit` records and still have a `nextToken`). "
    "Records are kept 30 days.",
    responses=ok(DeliveryList),
    tags=["Delivery log"],
)
def list_deliveries(
    integration_id: IntegrationId,
    limit: Limit = 50,
    nextToken: Token = None,
    status: StatusFilter = None,
    eventId: EventIdFilter = None,
) -> Response[DeliveryList]:
    items, token = api_services().integrations.deliveries(integration_id, limit, nextToken, status, eventId)
    return json_response(DeliveryList.model_validate({"items": items, "nextToken": token}))


@app.post(
    "/integrations/<integration_id>/deliveries/<delivery_id>/redeliver",
    summary="Redeliver a notification",
    description="Sends the notification of that delivery record again, once, to the integration as it is "
    "now: a real notification with the same `webhook-id` (receivers that deduplicate see it once) and "
    "no `webhook-test` header. 409 when its event is no longer kept.",
    responses=ok(TestSendResult),
    tags=["Delivery log"],
)
def redeliver(integration_id: IntegrationId, delivery_id: DeliveryId) -> Response[TestSendResult]:
    result = api_services().integrations.redeliver(integration_id, delivery_id)
    return json_response(TestSendResult.model_validate(result))


# ---- why / why not -----------------------------------------------------------------------


@app.get(
    "/integrations/<integration_id>/deliveries/<delivery_id>",
    summary="Show a delivery record",
    description="One record of the delivery log, with the request body sent (`requestBody`, on a "
    "notification's first attempt, a test or a redelivery; secrets masked) and the first 4 KB of the "
    "receiver's answer.",
    responses=ok(DeliveryRecord),
    tags=["Delivery log"],
)
def get_delivery(integration_id: IntegrationId, delivery_id: DeliveryId) -> Response[DeliveryRecord]:
    return json_response(api_services().integrations.delivery(integration_id, delivery_id))


@app.get(
    "/events/<event_id>/deliveries",
    summary="List the notifications of one event",
    description="Every delivery record one event produced, across integrations: grouped by "
    "integration, each one's attempts oldest first. The event id is the one the dispatcher logs "
    "and the records carry (for an AWS finding, the id of its change, as `POST /events/explain` "
    "shows it). Records appear within a second of being written. Paged like the other lists.",
    responses=ok(DeliveryList),
    tags=["Delivery log"],
)
def list_event_deliveries(
    event_id: EventId, limit: Limit = 50, nextToken: Token = None
) -> Response[DeliveryList]:
    items, token = api_services().explain.event_deliveries(event_id, limit, nextToken)
    return json_response(DeliveryList.model_validate({"items": items, "nextToken": token}))


@app.post(
    "/events/explain",
    summary="Explain which integrations an event reaches, and why not",
    description="For an event the dispatcher takes (a secnotify EventBridge event or just its detail, "
    "or an AWS Inspector, GuardDuty or Security Hub ASFF/OCSF finding event), says for every "
    "integration whether it would be notified; if not, the first reason that applies, in this order: "
    + ", ".join(f"`{reason}`" for reason in Reason)
    + ", with a sentence saying why; if so, the body it would get (`preview`, secrets masked). An AWS "
    "finding is decided on its stored state, read but not written: a snapshot that changes nothing "
    "is `UNCHANGED`. A batch of findings explains each (items carry `eventId` and `findingId`; "
    "`events` lists them). Nothing is sent and nothing is written.",
    responses=ok(ExplainResult),
    tags=["Why / why not"],
)
def explain_event(
    body: Annotated[
        ExplainRequest,
        Body(
            openapi_examples=_examples(
                detail=("An event detail of the platform's own", {"event": examples.EVENT_DETAIL}),
            )
        ),
    ],
) -> Response[ExplainResult]:
    result = api_services().explain.explain(body.event, body.integrationId)
    return json_response(ExplainResult.model_validate(result))


# ---- audit -------------------------------------------------------------------------------


@app.get(
    "/audit",
    summary="List configuration changes",
    description="The audit trail, newest first: every create, replace, patch and delete of a profile or an "
    "integration, with who made it (the caller's IAM ARN), when, and the field paths it changed. "
    "Secret values are never recorded: a secret's path is listed when its value changed. Entries are "
    "kept 400 days.",
    responses=ok(AuditList),
    tags=["Audit"],
)
def list_audit(limit: Limit = 50, nextToken: Token = None) -> Response[AuditList]:
    items, token = api_services().audit.page(limit, nextToken)
    return json_response(AuditList(items=items, nextToken=token))


# ---- configuration as code -------------------------------------------------------------

DryRun = Annotated[bool, Query(description="Plan only: answer what would change, write nothing.")]
Prune = Annotated[
    bool, Query(description="Also delete the profiles and integrations the document does not name.")
]


@app.get(
    "/config/export",
    summary="Export the configuration",
    description="Every alerting profile and integration as one document, sorted by name, for keeping in "
    "git and applying to another stack: ids replaced by names (an integration names its profile), each "
    "secret slot a reference `${SECNOTIFY_<INTEGRATION>_<HEADER|SECRET|SIGNING>_<NAME>}` for the command "
    "line to fill, no server fields. 409, naming them, when two profiles or two integrations share a name "
    "(or two secrets a reference), or when the document would take more than 3 MB.",
    responses=ok(ConfigDocument),
    tags=["Configuration as code"],
)
def export_config() -> Response[dict[str, Any]]:
    return Response(200, content_types.APPLICATION_JSON, config_code(api_services()).export())


@app.post(
    CONFIG_APPLY_ROUTE,
    summary="Apply a configuration document",
    description="Makes the stack match the document of `GET /config/export`: each object is created, "
    "updated or left unchanged by name (`prune=true`: those not named are deleted). The whole document "
    "is checked first, each object as its POST or PUT would be; any problem is a 400 listing all of "
    "them, and nothing is written. A secret slot still holding its reference keeps the stored value "
    "(while the URL origin is unchanged). Writes go object by object, profiles before the integrations "
    "that use them; applying the same document again changes nothing. The answer is the plan; "
    "`dryRun=true` answers it without writing. A request running short of time stops between two "
    "writes and says how many are `pending`: send the same document again to finish. The body may "
    "take up to 3 MB (other routes: 256 KB).",
    responses=ok(ApplyResult),
    tags=["Configuration as code"],
)
def apply_config(
    body: Annotated[
        ConfigDocument,
        Body(
            openapi_examples=_examples(
                document=("A stack of one profile and one integration", CONFIG_EXAMPLE)
            )
        ),
    ],
    dryRun: DryRun = False,
    prune: Prune = False,
) -> Response[ApplyResult]:
    context = app.lambda_context
    result = config_code(api_services()).apply(
        body, dry_run=dryRun, prune=prune, time_left=lambda: context.get_remaining_time_in_millis() / 1000
    )
    return json_response(result)


# ---- reference -------------------------------------------------------------------------


@app.get(
    "/placeholders",
    summary="List the payload placeholders",
    description="Every placeholder a payload template may use (`{Title}`, `{Tags[key]}`...), with what "
    "it stands for and an example value. Jinja templates see the same names as variables.",
    responses=ok(PlaceholderList),
    tags=["Reference"],
)
def placeholders() -> Response[PlaceholderList]:
    items = [{"name": p.name, "description": p.description, "example": p.example} for p in PLACEHOLDERS]
    return json_response(PlaceholderList.model_validate({"items": items}))


@app.get(
    "/presets",
    summary="List the presets",
    description="Ready integrations for Slack, Microsoft Teams, PagerDuty, Opsgenie, Jira, Splunk HEC and "
    "generic JSON: each preset's name, version, the fields it needs (which are secret, which required), "
    "the receiver's documentation it follows and an example of `presetFields`. Create one with "
    '`POST /integrations` and `{"preset": name, "presetFields": {...}}`.',
    responses=ok(PresetList),
    tags=["Reference"],
)
def list_presets() -> Response[PresetList]:
    return json_response(preset_list())


def _traced(handler: Callable[..., Any]) -> Callable[..., Any]:
    # capture_response=False: a create or rotate response carries the signing secret.
    return tracer.capture_lambda_handler(handler, capture_response=False) if tracer is not None else handler


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
@_traced
@screen_body
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # Who is calling, for the audit trail of whatever this request changes.
    with acting_as(*caller_of(event)):
        return app.resolve(event, context)
