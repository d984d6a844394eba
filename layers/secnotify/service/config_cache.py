"""The configuration as the dispatcher sees it, cached in the warm Lambda for a short TTL."""

from __future__ import annotations

import logging
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

logger = logging.getLogger(__name__)


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
    profiles = {p.id: p.as_model(AlertingProfile) for p in snapshot.profiles}
    integrations = [stored_integration(i, secrets) for i in snapshot.integrations]
    return Configuration(profiles, integrations)


class ConfigCache:
    """The configuration for the dispatcher's events, read at most once per TTL.

    Younger than ``ttl_s``, the cached copy is used as it is. Between ``ttl_s`` and
    ``max_age_s`` it is still used, and the first caller to see it that old starts one
    background thread that reloads it, so no event waits for a load. Past ``max_age_s`` (or
    before the first load) callers wait for a fresh load, and concurrent callers share one.
    A background load that fails is logged and tried again by the next caller; the old copy
    serves until its max age. With ``max_age_s <= ttl_s`` every reload is waited for.

    In Lambda a background thread runs only while some invocation runs: a refresh started near
    the end of one continues in the next, and the max age bounds how long that may take.
    """

    def __init__(
        self,
        repository: ConfigReader,
        secrets: SecretSealer,
        ttl_s: float,
        max_age_s: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.repository = repository
        self.secrets = secrets
        self.ttl_s = ttl_s
        self.max_age_s = ttl_s if max_age_s is None else max_age_s
        self.clock = clock
        self._lock = threading.Lock()  # guards the fields below; never held during a load
        self._load_lock = threading.Lock()  # one load at a time, in the background or not
        self._value: Configuration | None = None
        self._loaded_at = 0.0
        self._loads = 0  # completed loads: a waiting caller knows whether one finished meanwhile
        self._refresher: threading.Thread | None = None
        self.refresh_failures = 0  # background loads that failed since the last success

    def get(self) -> Configuration:
        with self._lock:
            value, age, loads = self._value, self.clock() - self._loaded_at, self._loads
            if value is not None and age < self.ttl_s:
                return value
            if value is not None and age < self.max_age_s:
                if self._refresher is None:
                    self._refresher = threading.Thread(
                        target=self._refresh, name="config-refresh", daemon=True
                    )
                    self._refresher.start()
                return value
        return self._load_waiting(loads)

    def _load_waiting(self, loads_seen: int) -> Configuration:
        with self._load_lock:
            with self._lock:
                # A load that completed while this caller waited (a background one, or another
                # caller's) is as fresh as one of its own.
                if self._loads != loads_seen and self._value is not None:
                    return self._value
            started = self.clock()
            value = load_configuration(self.repository, self.secrets)
            self._store(value, started)
            return value

    def _refresh(self) -> None:
        try:
            with self._load_lock:
                started = self.clock()
                try:
                    value = load_configuration(self.repository, self.secrets)
                except Exception as exc:  # any failure: the old copy serves until its max age
                    with self._lock:
                        self.refresh_failures += 1
                        failures, age = self.refresh_failures, self.clock() - self._loaded_at
                    # The type only: a message could quote a stored value.
                    logger.warning(
                        "configuration refresh failed; the cached copy serves until its max age, "
                        "the next event tries again",
                        extra={
                            "error": type(exc).__name__,
                            "failures": failures,
                            "age_s": round(age, 1),
                            "max_age_s": self.max_age_s,
                        },
                    )
                else:
                    self._store(value, started)
        finally:
            with self._lock:
                self._refresher = None

    def _store(self, value: Configuration, started: float) -> None:
        with self._lock:
            # Dated from the start of its read: nothing in it is older than that.
            self._value, self._loaded_at = value, started
            self._loads += 1
            self.refresh_failures = 0

    def wait_for_refresh(self, timeout_s: float) -> bool:
        """Wait for a background refresh, if one runs; False if it is still running."""
        with self._lock:
            refresher = self._refresher
        if refresher is not None:
            refresher.join(timeout_s)
            return not refresher.is_alive()
        return True

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
        """Forget the cached copy: the next caller waits for a fresh load."""
        with self._lock:
            self._value = None
