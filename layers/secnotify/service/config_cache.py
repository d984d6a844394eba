"""The configuration as the dispatcher sees it, cached in the warm Lambda for a short TTL."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from secnotify.errors import NotFound
from secnotify.models.integration import Integration
from secnotify.models.profile import AlertingProfile
from secnotify.service.ports.config import ConfigKind, ConfigReader
from secnotify.service.ports.secrets import SecretSealer
from secnotify.service.secret_fields import stored_integration


@dataclass(frozen=True)
class Configuration:
    profiles: dict[str, AlertingProfile]
    integrations: list[Integration]

    def integration(self, integration_id: str) -> Integration | None:
        for item in self.integrations:
            if item.id == integration_id:
                return item
        return None


def load_configuration(repository: ConfigReader, secrets: SecretSealer) -> Configuration:
    snapshot = repository.load_config()
    profiles = {
        p.id: AlertingProfile.model_validate({**p.doc, "id": p.id, "version": p.version})
        for p in snapshot.profiles
    }
    integrations = [stored_integration(i, secrets) for i in snapshot.integrations]
    return Configuration(profiles, integrations)


class ConfigCache:
    """One query per TTL, whatever the event rate; concurrent callers share one reload."""

    def __init__(
        self,
        repository: ConfigReader,
        secrets: SecretSealer,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.repository = repository
        self.secrets = secrets
        self.ttl_s = ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._value: Configuration | None = None
        self._loaded_at = 0.0

    def get(self) -> Configuration:
        with self._lock:
            if self._value is None or self.clock() - self._loaded_at >= self.ttl_s:
                self._value = load_configuration(self.repository, self.secrets)
                self._loaded_at = self.clock()
            return self._value

    def integration_now(self, integration_id: str) -> Integration | None:
        """The integration as stored now, or None once deleted: a retry can come within the TTL
        of an edit or a delete. One read; secrets are opened only when the cached copy is stale,
        and the rest of the cache stays as it is."""
        try:
            stored = self.repository.get_config_item(ConfigKind.INTEGRATION, integration_id)
        except NotFound:
            return None
        cached = self.get().integration(integration_id)
        if cached is not None and cached.version == stored.version:
            return cached
        return stored_integration(stored, self.secrets)

    def invalidate(self) -> None:
        with self._lock:
            self._value = None
