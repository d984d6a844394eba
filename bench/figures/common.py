"""Shared by the figures: the Figure record, the bench's events, request and integrations."""

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bench.infra import ROOT


def bench_request(url: str, body: bytes, secret: str, index: int, states: Any = None) -> Any:
    """The request figure 2 sends: the seed payload, a secret header, signed. With ``states`` (a
    ``SendStateCache``), its send state is looked up per send as the notifier does."""
    from secnotify.delivery import WebhookRequest, prepare_send

    headers = (("Content-Type", "application/json"), ("Authorization", AUTH))
    secret_names = frozenset({"authorization"})
    state = None
    if states is not None:
        state = states.get("bench-integration", 1, lambda: prepare_send(headers, secret, secret_names))
        headers, secret_names = state.headers, state.secret_header_names
    return WebhookRequest(
        url=url,
        headers=headers,
        body=body,
        accept_any_certificate=False,
        webhook_id=f"msg_{index:032d}",
        timestamp=int(time.time()),
        signing_secret=secret,
        secret_header_names=secret_names,
        state=state,
    )


SLACK_TEMPLATE: str = json.loads((ROOT / "events/api/integration-slack.json").read_text())["webhook"][
    "payload"
]
AUTH = "Bearer bench-secret-0123456789abcdef"


@dataclass
class Figure:
    number: int
    title: str
    lines: list[str] = field(default_factory=list)
    ratio: float | None = None
    ratio_label: str = ""
    target: str = ""
    verdict: str = "info"
    summary: str = ""

    def judge(self, ok: bool) -> None:
        self.verdict = "PASS" if ok else "MISS"


def event_from(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((ROOT / "events/eventbridge" / name).read_text())
    return data


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    """The same event under a new id: the claims make a repeated id a no-op."""
    return {**event, "id": str(uuid.uuid4())}


def invoke_dispatcher(event: dict[str, Any]) -> dict[str, Any]:
    from functions.dispatcher.app import lambda_handler
    from local.lambda_runtime import LocalContext

    result: dict[str, Any] = lambda_handler(event, LocalContext())
    return result


# ---- setup ---------------------------------------------------------------------------------


def batched_integrations() -> Any:
    """The config API's integration service with every save check and the sealing of
    production, whose creates are held and written by ``flush()`` in batches: moto copies the
    whole table for each operation of a transaction, so 1,000 creates one by one take minutes
    (a thousand transactions on DynamoDB itself take seconds)."""
    from secnotify.service.integrations import IntegrationService
    from secnotify.service.ports.config import ConfigKind, StoredItem
    from secnotify.service.wiring import api_services
    from secnotify.storage.conditional import batch_write
    from secnotify.storage.config_repository import DynamoConfigRepository
    from secnotify.storage.keys import counter_key

    class BatchedCreates(DynamoConfigRepository):
        pending: list[dict[str, Any]]
        profiles: dict[str, int]

        def create_integration(self, item_id: str, doc: dict[str, Any], max_count: int) -> StoredItem:
            self.pending.append(
                {"PutRequest": {"Item": self._put(ConfigKind.INTEGRATION, item_id, doc, 1)["Item"]}}
            )
            profile = doc["alertingProfileId"]
            self.profiles[profile] = self.profiles.get(profile, 0) + 1
            return StoredItem(item_id, 1, doc)

        def flush(self) -> None:
            batch_write(self.client, self.table_name, self.pending)
            count = {":n": {"N": str(len(self.pending))}}
            self.client.update_item(
                TableName=self.table_name,
                Key=counter_key(ConfigKind.INTEGRATION),
                UpdateExpression="SET n = if_not_exists(n, :zero) + :n",
                ExpressionAttributeValues={":zero": {"N": "0"}, **count},
            )
            for profile_id, n in self.profiles.items():
                self.client.update_item(**self._ref_update(profile_id, n)["Update"])
            self.pending, self.profiles = [], {}

    live = api_services().integrations
    repository = BatchedCreates(live.config.client, live.config.table_name, live.config.tokens)
    repository.pending, repository.profiles = [], {}
    service = IntegrationService(
        repository, live.events, live.deliveries_log, live.settings, live.secrets, live.make_notifier
    )
    return service, repository


def create_integrations(urls: list[str], name: str) -> str:
    """One profile for opened events and a signed integration on it per URL, via the service
    layer (creates written in batches: see ``batched_integrations``)."""
    from secnotify.models.integration_api import IntegrationInput
    from secnotify.models.profile import AlertingProfileInput
    from secnotify.service.wiring import api_services

    profile = api_services().profiles.create(
        AlertingProfileInput.model_validate(
            {"name": f"bench: {name}", "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED"]}
        )
    )
    integrations, repository = batched_integrations()
    for i, url in enumerate(urls):
        integrations.create(
            IntegrationInput.model_validate(
                {
                    "displayName": f"{name} {i}",
                    "alertingProfileId": profile.id,
                    "generateSigningSecret": True,
                    "webhook": {
                        "url": url,
                        "headers": [
                            {"name": "Content-Type", "value": "application/json"},
                            {"name": "Authorization", "value": AUTH, "secret": True},
                        ],
                        "payload": SLACK_TEMPLATE,
                    },
                }
            )
        )
    repository.flush()
    return profile.id
