"""Builds the object graph once per process (per warm Lambda), from settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from secnotify.service.config_cache import ConfigCache
from secnotify.service.dispatch import Dispatcher
from secnotify.service.integrations import IntegrationService
from secnotify.service.notify import Notifier
from secnotify.service.profiles import ProfileService
from secnotify.settings import get_settings
from secnotify.storage.dynamodb import DynamoStore
from secnotify.storage.queues import Queues
from secnotify.storage.secrets import SecretBox


@dataclass(frozen=True)
class ApiServices:
    profiles: ProfileService
    integrations: IntegrationService


@lru_cache(maxsize=1)
def api_services() -> ApiServices:
    settings = get_settings()
    store = DynamoStore(settings.table_name)
    secrets = SecretBox(settings.table_name, settings.kms_key_id, dynamodb=store.client)
    return ApiServices(ProfileService(store, settings), IntegrationService(store, settings, secrets))


@lru_cache(maxsize=1)
def dispatcher() -> Dispatcher:
    settings = get_settings().for_dispatcher()
    store = DynamoStore(settings.table_name)
    return Dispatcher(
        store=store,
        queues=Queues(settings.retry_queue_url, settings.dead_letter_queue_url),
        notifier=Notifier(store, settings),
        config=ConfigCache(
            store,
            SecretBox(settings.table_name, settings.kms_key_id, dynamodb=store.client),
            settings.config_cache_ttl_s,
        ),
        settings=settings,
    )


def reset() -> None:
    """Forget the graph and the settings, so the next call rebuilds them from the environment."""
    get_settings.cache_clear()
    api_services.cache_clear()
    dispatcher.cache_clear()
