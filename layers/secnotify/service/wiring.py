"""Builds the object graph once per process (per warm Lambda), from settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from secnotify.delivery import WebhookSender
from secnotify.service.clock import SYSTEM_CLOCK, Clock
from secnotify.service.config_cache import ConfigCache
from secnotify.service.dispatch import Dispatcher
from secnotify.service.integrations import IntegrationService
from secnotify.service.notify import Notifier
from secnotify.service.ports.queues import DispatchQueues
from secnotify.service.profiles import ProfileService
from secnotify.settings import Settings, get_settings
from secnotify.storage.dynamodb import Storage, open_storage
from secnotify.storage.queues import Queues
from secnotify.storage.secrets import SecretBox


@dataclass(frozen=True)
class ApiServices:
    profiles: ProfileService
    integrations: IntegrationService


@lru_cache(maxsize=1)
def api_services() -> ApiServices:
    settings = get_settings()
    storage = open_storage(settings.table_name)
    secrets = SecretBox(settings.table_name, settings.kms_key_id, dynamodb=storage.client)
    integrations = IntegrationService(
        storage.config,
        storage.ledger,
        storage.deliveries,
        settings,
        secrets,
        make_notifier=lambda: Notifier(storage.deliveries, settings),
    )
    return ApiServices(ProfileService(storage.config, settings), integrations)


def build_dispatcher(
    settings: Settings,
    *,
    storage: Storage | None = None,
    queues: DispatchQueues | None = None,
    sender: WebhookSender | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> Dispatcher:
    """The dispatcher's graph; production passes only ``settings``, a benchmark or a test may
    pass its own parts. ``clock`` also drives the ledger's leases when storage is opened here."""
    storage = storage or open_storage(settings.table_name, clock=clock.wall)
    return Dispatcher(
        ledger=storage.ledger,
        queues=queues or Queues(settings.retry_queue_url, settings.dead_letter_queue_url),
        notifier=Notifier(storage.deliveries, settings, sender=sender, clock=clock),
        config=ConfigCache(
            storage.config,
            SecretBox(settings.table_name, settings.kms_key_id, dynamodb=storage.client),
            settings.config_cache_ttl_s,
            clock=clock.monotonic,
        ),
        settings=settings,
        clock=clock,
    )


@lru_cache(maxsize=1)
def dispatcher() -> Dispatcher:
    return build_dispatcher(get_settings().for_dispatcher())


def reset() -> None:
    """Forget the graph and the settings, so the next call rebuilds them from the environment."""
    get_settings.cache_clear()
    api_services.cache_clear()
    dispatcher.cache_clear()
