"""End to end through the local stack with Dynatrace: the fake's problem opened, its risk changed,
resolved and reopened -> the poller (the real handler, and the library it calls with crashes
injected) -> the bus -> the template's rule -> the dispatcher -> the sink, once each."""

from __future__ import annotations

import json
import logging
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from local.dynatrace_fake import LocalDynatrace
from local.run import start
from secnotify.service import wiring
from secnotify.settings import get_settings
from secnotify.sources.dynatrace.wiring import build_poller
from tests.conftest import load_event
from tests.e2e.conftest import http

pytestmark = pytest.mark.e2e

PAYLOAD = json.dumps(
    {
        "problem": "{SecurityProblemId}",
        "trigger": "{TriggerEvent}",
        "status": "{Status}",
        "level": "{RiskLevel}",
    }
)
STEPS: list[tuple[str, Callable[[Any, str], Any]]] = [
    ("opened", lambda fake, pid: fake.open(pid, risk_level="HIGH", risk_score=8.1)),
    ("risk raised", lambda fake, pid: fake.change_assessment(pid, "CRITICAL", 9.8)),
    ("resolved", lambda fake, pid: fake.resolve(pid)),
    ("reopened", lambda fake, pid: fake.reopen(pid)),
]
EXPECTED = [
    ("SECURITY_PROBLEM_OPENED", "OPEN", "HIGH"),
    ("RISK_LEVEL_CHANGED", "OPEN", "CRITICAL"),
    ("SECURITY_PROBLEM_RESOLVED", "RESOLVED", "CRITICAL"),
    ("SECURITY_PROBLEM_OPENED", "OPEN", "CRITICAL"),
]


class Crash(Exception):
    """The poller's process dying at a checkpoint."""


@pytest.fixture
def dynatrace(running: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalDynatrace]:
    # Pages of two, so a poll has several pages to die after.
    monkeypatch.setenv("DYNATRACE_PAGE_SIZE", "2")
    environment = running.stack.environment("DynatraceIngestFunction")
    local = LocalDynatrace(running.endpoint, running.stack.region, environment, poll_s=None).start()
    running.dynatrace = local
    yield local
    get_settings.cache_clear()


def subscribe(running: Any) -> None:
    profile = {
        **load_event("api/profile.json"),
        "name": "dynatrace lifecycle",
        "managementZone": "Easytravel",
        "enabledTriggerEvents": [
            "SECURITY_PROBLEM_OPENED",
            "SECURITY_PROBLEM_RESOLVED",
            "RISK_LEVEL_CHANGED",
        ],
    }
    status, created = http("POST", f"{running.api_url}/alerting-profiles", profile)
    assert status == 201, created
    integration = load_event("api/integration-slack.json")
    integration.update(alertingProfileId=created["id"], displayName="dynatrace to the sink")
    integration["webhook"].update(url=f"{running.sink.url}/hooks/dynatrace", payload=PAYLOAD)
    status, made = http("POST", f"{running.api_url}/integrations", integration)
    assert status == 201, made


def notifications(running: Any) -> list[dict[str, Any]]:
    with running.sink.lock:
        return [json.loads(r["body"]) for r in running.sink.received]


def settle(running: Any, expected: int, timeout: float = 30) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while len(notifications(running)) < expected and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.5)  # anything more the stack would send has had time to arrive
    return notifications(running)


def poll_with_a_crash_at_every_checkpoint(local: LocalDynatrace, points: set[str]) -> int:
    """Polls that die at the 1st, then 2nd, ... checkpoint among ``points`` until one completes;
    then a poll through the real handler. Returns how many polls died."""
    crashes = 0
    while True:
        seen = 0

        def die(point: str, target: int = crashes + 1) -> None:
            nonlocal seen
            if point in points:
                seen += 1
                if seen == target:
                    raise Crash(point)

        try:
            build_poller(get_settings(), die).poll()
        except Crash:
            crashes += 1
            continue
        break
    assert local.poll_once()["complete"]
    return crashes


def lifecycle(running: Any, local: LocalDynatrace, points: set[str]) -> tuple[str, list[int]]:
    subscribe(running)
    assert local.poll_once()["baseline"]  # the first poll takes what exists as the baseline
    pid = str(random.randrange(10**18, 10**19))
    others = [str(random.randrange(10**18, 10**19)) for _ in range(3)]
    crashes = []
    for name, step in STEPS:
        step(local.fake, pid)
        if name == "opened":
            for other in others:  # more pages, and problems the same polls carry along
                local.fake.open(other, risk_level="LOW", risk_score=2.0)
        crashes.append(poll_with_a_crash_at_every_checkpoint(local, points))
    return pid, crashes


def test_a_lifecycle_reaches_the_sink_once_each_with_a_crash_after_every_page_and_before_each_cursor(
    running: Any, dynatrace: LocalDynatrace
) -> None:
    pid, crashes = lifecycle(running, dynatrace, {"page", "cursor"})
    # 3 pages of problems (4 problems, pages of 2) + 1 of attacks + 2 cursor writes on the first;
    # later polls relist from the cursor's overlap, still at least a page and both cursors each.
    assert crashes[0] >= 5 and all(c >= 3 for c in crashes), crashes
    got = settle(running, 4)
    display = next(n["problem"] for n in got)
    assert all(n["problem"] == display for n in got)  # the LOW ones match no profile
    assert [(n["trigger"], n["status"], n["level"]) for n in got] == EXPECTED
    assert all(p["complete"] for p in dynatrace.polls)
    assert any(path.endswith(f"/{pid}/events") for path, _ in dynatrace.fake.requests)


def test_a_poller_that_dies_between_put_events_and_its_state_write_still_notifies_once_each(
    running: Any, dynatrace: LocalDynatrace
) -> None:
    _, crashes = lifecycle(running, dynatrace, {"put"})
    assert all(c >= 1 for c in crashes), crashes
    got = settle(running, 4)
    assert [(n["trigger"], n["status"], n["level"]) for n in got] == EXPECTED


def test_the_token_appears_in_no_log_line_and_no_notification(
    running: Any, dynatrace: LocalDynatrace, caplog: pytest.LogCaptureFixture
) -> None:
    subscribe(running)
    caplog.set_level(logging.INFO)  # the functions' level (POWERTOOLS_LOG_LEVEL)
    dynatrace.poll_once()
    dynatrace.fake.open(str(random.randrange(10**18, 10**19)))
    dynatrace.fake.fail_next(500, path="/api/v2/securityProblems/")
    stopped = dynatrace.poll_once()
    assert not stopped["complete"] and "500" in stopped["stopped_by"]
    assert dynatrace.poll_once()["complete"]
    settle(running, 1)
    # Every line as the functions' Powertools logger writes it (one JSON object a line).
    (handler,) = logging.getLogger("secnotify").handlers
    assert handler.formatter is not None
    logged = "\n".join(handler.formatter.format(r) for r in caplog.records)
    with running.sink.lock:
        bodies = " ".join(r["body"] + json.dumps(r["headers"]) for r in running.sink.received)
    token_secret_part = dynatrace.fake.token.rsplit(".", 1)[-1]
    assert "dynatrace poll stopped early" in logged and "answered 500" in logged
    assert token_secret_part not in logged + bodies


def test_make_run_with_dynatrace_fake_starts_the_fake_its_secret_and_the_scheduled_poller(
    moto_endpoint: str,
) -> None:
    saved = dict(os.environ)
    running = start(
        endpoint=moto_endpoint,
        api_port=0,
        sink_port=0,
        prefix=f"e{uuid.uuid4().hex[:8]}",
        dynatrace_fake=True,
    )
    try:
        local = running.dynatrace
        assert local is not None and local.poll_s == 60.0  # DynatracePollMinutes' default
        secrets = boto3.client("secretsmanager", endpoint_url=moto_endpoint, region_name=running.stack.region)
        assert secrets.get_secret_value(SecretId=local.secret_arn)["SecretString"] == local.fake.token
        assert os.environ["DYNATRACE_ENVIRONMENT_URL"] == local.fake.url
        deadline = time.monotonic() + 20
        while not local.polls and time.monotonic() < deadline:
            time.sleep(0.05)
        (first,) = local.polls  # the schedule's first poll, at once; the next one a minute later
        assert first["complete"] and first["baseline"]
        assert local.fake.request_count("/api/v2/securityProblems") == 1
    finally:
        running.stop()
        running.stack.delete()
        os.environ.clear()
        os.environ.update(saved)
        wiring.reset()
        get_settings.cache_clear()
