"""Shared by the figures: the Figure record, the bench's events, request and integrations."""

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bench.infra import ROOT, Receiver


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


def create_integrations(receiver: Receiver, count: int) -> str:
    """One profile for opened events, ``count`` signed integrations on it, via the service layer."""
    from secnotify.models.integration import IntegrationInput
    from secnotify.models.profile import AlertingProfileInput
    from secnotify.service.wiring import api_services

    services = api_services()
    profile = services.profiles.create(
        AlertingProfileInput.model_validate(
            {"name": "bench: opened", "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED"]}
        )
    )
    for i in range(count):
        services.integrations.create(
            IntegrationInput.model_validate(
                {
                    "displayName": f"bench {i}",
                    "alertingProfileId": profile.id,
                    "generateSigningSecret": True,
                    "webhook": {
                        "url": receiver.url(f"/fanout/{i}"),
                        "headers": [
                            {"name": "Content-Type", "value": "application/json"},
                            {"name": "Authorization", "value": AUTH, "secret": True},
                        ],
                        "payload": SLACK_TEMPLATE,
                    },
                }
            )
        )
    return profile.id
