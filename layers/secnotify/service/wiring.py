"""Builds the config API's object graph once per process (per warm Lambda), from settings; the
dispatcher's graph is built by ``dispatcher_wiring`` (re-exported here for the tests and tools
that build either)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from secnotify.service.audit import Auditor, AuditService
from secnotify.service.dispatcher_wiring import build_dispatcher, dispatcher, mail_sender
from secnotify.service.explain import ExplainService
from secnotify.service.integrations import IntegrationService
from secnotify.service.notify import Notifier
from secnotify.service.profiles import ProfileService
from secnotify.settings import get_settings
from secnotify.storage.dynamodb import open_storage
from secnotify.storage.secrets import SecretBox

__all__ = ["ApiServices", "api_services", "build_dispatcher", "dispatcher", "reset"]


@dataclass(frozen=True)
class ApiServices:
    profiles: ProfileService
    integrations: IntegrationService
    audit: AuditService
    explain: ExplainService


@lru_cache(maxsize=1)
def api_services() -> ApiServices:
    settings = get_settings()
    storage = open_storage(settings.table_name)
    secrets = SecretBox(settings.table_name, settings.kms_key_id, dynamodb=storage.client)
    # Every configuration write of the API records who made it, in its own transaction.
    config = storage.config.with_auditor(Auditor(secrets))
    integrations = IntegrationService(
        config,
        storage.ledger,
        storage.deliveries,
        settings,
        secrets,
        make_notifier=lambda: Notifier(
            storage.deliveries, settings, references=storage.references, mail=mail_sender(settings)
        ),
    )
    explain = ExplainService(
        storage.config, storage.findings, storage.ledger, secrets, storage.deliveries, settings
    )
    return ApiServices(ProfileService(config, settings), integrations, AuditService(storage.audit), explain)


def reset() -> None:
    """Forget the graph and the settings, so the next call rebuilds them from the environment."""
    get_settings.cache_clear()
    api_services.cache_clear()
    dispatcher.cache_clear()
