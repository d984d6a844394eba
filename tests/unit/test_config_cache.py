"""The dispatcher's configuration cache: served fresh within the TTL, served stale while one
background thread reloads it up to the max age, waited for past it.

The clock is a fake one the test moves; a load the test wants to hold runs against a gate, so
nothing here sleeps to make time pass.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from secnotify.models.integration import Integration
from secnotify.service.config_cache import ConfigCache, Configuration
from secnotify.service.ports.config import ConfigSnapshot
from tests.fakes.config import InMemoryConfig
from tests.fakes.secrets import InMemorySecrets

TTL_S = 15.0
MAX_AGE_S = 60.0
WAIT_S = 10.0  # only a bound for a broken test: every wait below ends as soon as its event fires


class GatedConfig(InMemoryConfig):
    """The in-memory configuration, with loads the test can hold at a gate or make fail."""

    def __init__(self) -> None:
        super().__init__()
        self.loads_started = 0
        self.running = 0
        self.most_at_once = 0
        self.load_threads: list[str] = []
        self.entered = threading.Event()
        self.gate = threading.Event()
        self.gate.set()
        self.failures: list[Exception] = []
        self._count = threading.Lock()

    def hold(self) -> None:
        self.entered.clear()
        self.gate.clear()

    def load_config(self) -> ConfigSnapshot:
        with self._count:
            self.loads_started += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.load_threads.append(threading.current_thread().name)
            failure = self.failures.pop(0) if self.failures else None
        try:
            self.entered.set()
            assert self.gate.wait(WAIT_S), "the test never opened the gate"
            if failure is not None:
                raise failure
            return super().load_config()
        finally:
            with self._count:
                self.running -= 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def repo() -> GatedConfig:
    config = GatedConfig()
    config.add_profile("p1")
    config.add_integration("i1", "p1", "https://hooks.example.com/a")
    return config


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(repo: GatedConfig, clock: FakeClock) -> Iterator[ConfigCache]:
    built = ConfigCache(repo, InMemorySecrets(), TTL_S, MAX_AGE_S, clock=clock)
    yield built
    repo.gate.set()
    assert built.wait_for_refresh(WAIT_S)


def version(configuration: Configuration, integration_id: str = "i1") -> int:
    found = configuration.integration(integration_id)
    assert isinstance(found, Integration)
    return found.version


def test_within_the_ttl_the_cached_copy_is_served_without_a_load(
    cache: ConfigCache, repo: GatedConfig, clock: FakeClock
) -> None:
    first = cache.get()
    repo.update_integration("i1", displayName="changed")
    clock.now += TTL_S - 0.001
    assert cache.get() is first
    assert repo.loads_started == 1


def test_past_the_ttl_the_stale_copy_is_served_without_waiting_while_a_refresh_runs(
    cache: ConfigCache, repo: GatedConfig, clock: FakeClock
) -> None:
    first = cache.get()
    repo.update_integration("i1", displayName="changed")
    clock.now += TTL_S
    repo.hold()
    # The refresh is held inside its load, yet the caller has its answer: it did not wait.
    assert cache.get() is first
    assert repo.entered.wait(WAIT_S)
    assert repo.load_threads[-1] == "config-refresh"
    assert cache.get() is first  # still stale while the refresh runs
    repo.gate.set()
    assert cache.wait_for_refresh(WAIT_S)
    assert version(cache.get()) == 2
    assert repo.loads_started == 2


def test_a_refreshed_copy_is_dated_from_the_start_of_its_load(
    cache: ConfigCache, repo: GatedConfig, clock: FakeClock
) -> None:
    cache.get()
    clock.now += TTL_S
    refresh_started = clock.now
    repo.hold()
    cache.get()
    assert repo.entered.wait(WAIT_S)
    clock.now += 5  # the load takes 5 s
    repo.gate.set()
    assert cache.wait_for_refresh(WAIT_S)
    clock.now = refresh_started + TTL_S - 0.001
    cache.get()
    assert repo.loads_started == 2
    clock.now = refresh_started + TTL_S
    cache.get()
    assert repo.loads_started == 3


def test_only_one_refresh_runs_at_a_time(cache: ConfigCache, repo: GatedConfig, clock: FakeClock) -> None:
    first = cache.get()
    clock.now += TTL_S + 1
    repo.hold()
    answers: list[Configuration] = []
    callers = [threading.Thread(target=lambda: answers.append(cache.get())) for _ in range(8)]
    for caller in callers:
        caller.start()
    for caller in callers:
        caller.join(WAIT_S)
    assert repo.entered.wait(WAIT_S)
    assert answers == [first] * 8
    assert repo.loads_started == 2  # the first load and one refresh for eight stale callers
    repo.gate.set()
    assert cache.wait_for_refresh(WAIT_S)
    assert repo.most_at_once == 1


def test_past_the_max_age_a_caller_waits_for_a_fresh_load(
    cache: ConfigCache, repo: GatedConfig, clock: FakeClock
) -> None:
    cache.get()
    repo.update_integration("i1", displayName="changed")
    clock.now += MAX_AGE_S
    fresh = cache.get()
    assert version(fresh) == 2
    assert repo.load_threads[-1] == threading.current_thread().name  # loaded by the caller itself


def test_past_the_max_age_a_caller_waits_for_the_running_refresh_instead_of_loading_again(
    cache: ConfigCache, repo: GatedConfig, clock: FakeClock
) -> None:
    first = cache.get()
    repo.update_integration("i1", displayName="changed")
    clock.now += TTL_S
    repo.hold()
    assert cache.get() is first
    assert repo.entered.wait(WAIT_S)
    clock.now += MAX_AGE_S  # the refresh is still running when the copy passes its max age
    answers: list[Configuration] = []
    waiting = threading.Thread(target=lambda: answers.append(cache.get()))
    waiting.start()
    waiting.join(0.05)
    assert waiting.is_alive() and answers == []  # it waits; it is not served the old copy
    repo.gate.set()
    waiting.join(WAIT_S)
    assert [version(a) for a in answers] == [2]
    assert repo.loads_started == 2  # it shared the refresh's load


def test_a_failed_refresh_keeps_serving_the_old_copy_until_the_max_age_and_is_retried(
    cache: ConfigCache, repo: GatedConfig, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    first = cache.get()
    repo.update_integration("i1", displayName="changed")
    clock.now += TTL_S
    repo.failures.append(RuntimeError("throttled while reading s3cr3t-header-value"))
    with caplog.at_level(logging.WARNING, logger="secnotify.service.config_cache"):
        assert cache.get() is first
        assert cache.wait_for_refresh(WAIT_S)
    assert cache.refresh_failures == 1
    (record,) = [r for r in caplog.records if r.name == "secnotify.service.config_cache"]
    assert record.levelno == logging.WARNING
    assert record.__dict__["error"] == "RuntimeError"
    assert record.__dict__["failures"] == 1
    assert "s3cr3t" not in caplog.text  # the type only: a message could quote a stored value
    # Callers are unaffected, up to the max age, and the next one tries again.
    clock.now += MAX_AGE_S - TTL_S - 1
    assert cache.get() is first
    assert cache.wait_for_refresh(WAIT_S)
    assert cache.refresh_failures == 0
    assert version(cache.get()) == 2
    assert repo.loads_started == 3


def test_a_load_past_the_max_age_that_fails_reaches_the_caller(
    cache: ConfigCache, repo: GatedConfig, clock: FakeClock
) -> None:
    cache.get()
    clock.now += MAX_AGE_S
    repo.failures.append(RuntimeError("table unavailable"))
    with pytest.raises(RuntimeError, match="table unavailable"):
        cache.get()
    assert version(cache.get()) == 1  # the next caller loads again


def test_concurrent_first_callers_share_one_load(cache: ConfigCache, repo: GatedConfig) -> None:
    repo.hold()
    answers: list[Configuration] = []
    callers = [threading.Thread(target=lambda: answers.append(cache.get())) for _ in range(4)]
    for caller in callers:
        caller.start()
    assert repo.entered.wait(WAIT_S)
    repo.gate.set()
    for caller in callers:
        caller.join(WAIT_S)
    assert len(answers) == 4 and all(a is answers[0] for a in answers)
    assert repo.loads_started == 1


def test_max_age_at_the_ttl_waits_for_every_reload(repo: GatedConfig, clock: FakeClock) -> None:
    cache = ConfigCache(repo, InMemorySecrets(), TTL_S, TTL_S, clock=clock)
    cache.get()
    repo.update_integration("i1", displayName="changed")
    clock.now += TTL_S
    assert version(cache.get()) == 2
    assert repo.load_threads == [threading.current_thread().name] * 2


def test_invalidate_makes_the_next_caller_wait_for_a_load(
    cache: ConfigCache, repo: GatedConfig, clock: FakeClock
) -> None:
    cache.get()
    repo.update_integration("i1", displayName="changed")
    cache.invalidate()
    assert version(cache.get()) == 2
    assert repo.load_threads[-1] == threading.current_thread().name
