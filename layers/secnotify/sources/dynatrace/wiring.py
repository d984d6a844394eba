"""The poller as the function runs it: settings, the token secret, the table and the bus."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from secnotify.settings import Settings
from secnotify.sources.dynatrace.client import DynatraceClient
from secnotify.sources.dynatrace.poller import EntityNames, Poller, _no_checkpoint
from secnotify.storage.client import aws_client, dynamodb_client
from secnotify.storage.dynatrace import DynamoDynatraceState, EventBusPutter, TokenSecret

# Kept across warm invocations: entity names change rarely, the token is re-read every 5 minutes,
# and a client costs tens of milliseconds to build.
_entities = EntityNames()
_tokens: dict[str, TokenSecret] = {}
_clients: dict[str, Any] = {}


def _client(service: str) -> Any:
    if service not in _clients:
        _clients[service] = dynamodb_client() if service == "dynamodb" else aws_client(service)
    return _clients[service]


def build_poller(settings: Settings, checkpoint: Callable[[str], None] = _no_checkpoint) -> Poller:
    settings = settings.for_dynatrace()
    secret_id = settings.dynatrace_token_secret_arn
    token = _tokens.setdefault(secret_id, TokenSecret(secret_id))
    client = DynatraceClient(
        settings.dynatrace_environment_url,
        token.value(),
        budget=settings.dynatrace_request_budget,
        page_size=settings.dynatrace_page_size,
        allow_loopback_http=settings.dynatrace_allow_loopback_http,
        connect_timeout_s=settings.connect_timeout_s,
        read_timeout_s=settings.read_timeout_s,
    )
    return Poller(
        client,
        DynamoDynatraceState(_client("dynamodb"), settings.table_name),
        EventBusPutter(_client("events"), settings.event_bus_name, settings.event_source_name),
        entities=_entities,
        budget=settings.dynatrace_request_budget,
        checkpoint=checkpoint,
    )


def reset() -> None:
    """Forget cached entity names, tokens and clients (tests, and a local stack that restarts)."""
    _entities.cache.clear()
    _tokens.clear()
    _clients.clear()
