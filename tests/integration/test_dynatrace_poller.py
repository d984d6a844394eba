"""The Dynatrace poller against the local fake (real HTTP) and the moto endpoint (DynamoDB,
Secrets Manager, EventBridge over real HTTP): what reaches the bus, once, whatever fails."""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from local.dynatrace_fake import DynatraceFake
from secnotify.settings import Settings
from secnotify.sources.dynatrace import wiring
from secnotify.sources.dynatrace.poller import Poller, PollReport

pytestmark = pytest.mark.moto


class Crash(Exception):
    """The process dying at a checkpoint."""


@dataclass
class Env:
    fake: DynatraceFake
    stack: Any
    settings: Settings
    tap_url: str
    sqs: Any
    seen: list[dict[str, Any]]

    def poller(self, checkpoint: Callable[[str], None] | None = None, **changes: Any) -> Poller:
        settings = self.settings.replace(**changes) if changes else self.settings
        return wiring.build_poller(settings, checkpoint or (lambda point: None))

    def poll(self, **changes: Any) -> PollReport:
        return self.poller(**changes).poll()

    def bus(self, wait_for: int = 0, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Every event the poller put on the bus so far (a tap rule copies them to a queue)."""
        deadline = time.monotonic() + timeout
        while True:
            resp = self.sqs.receive_message(QueueUrl=self.tap_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            for message in resp.get("Messages", []):
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.tap_url, ReceiptHandle=message["ReceiptHandle"])
            if len(self.seen) >= wait_for and (not resp.get("Messages") or time.monotonic() > deadline):
                return list(self.seen)
            if time.monotonic() > deadline:
                return list(self.seen)
            if not resp.get("Messages"):
                time.sleep(0.05)


@pytest.fixture
def env(stack: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    endpoint, region = stack.endpoint_url, stack.region
    fake = DynatraceFake(token=f"dt0c01.{uuid.uuid4().hex}.secret")
    fake.serve()
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint, region_name=region)
    arn = secrets.create_secret(Name=f"dt-{uuid.uuid4().hex[:8]}", SecretString=fake.token)["ARN"]
    events = boto3.client("events", endpoint_url=endpoint, region_name=region)
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=region)
    tap = f"tap-{uuid.uuid4().hex[:8]}"
    tap_url = sqs.create_queue(QueueName=tap)["QueueUrl"]
    tap_arn = sqs.get_queue_attributes(QueueUrl=tap_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    # Every test's events share the bus: each test tells its own apart by its random ids.
    pattern = {"source": [stack.source_name], "detail": {"origin": ["dynatrace"]}}
    events.put_rule(Name=tap, EventBusName=stack.event_bus_name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=tap, EventBusName=stack.event_bus_name, Targets=[{"Id": "tap", "Arn": tap_arn}])
    settings = Settings.from_environment(
        {
            **stack.environment(),
            "DYNATRACE_ENVIRONMENT_URL": fake.url,
            "DYNATRACE_TOKEN_SECRET_ARN": arn,
            "DYNATRACE_ALLOW_LOOPBACK_HTTP": "true",
            "EVENT_BUS_NAME": stack.event_bus_name,
            "EVENT_SOURCE_NAME": stack.source_name,
        }
    )
    wiring.reset()
    yield Env(fake=fake, stack=stack, settings=settings, tap_url=tap_url, sqs=sqs, seen=[])
    wiring.reset()
    events.remove_targets(Rule=tap, EventBusName=stack.event_bus_name, Ids=["tap"])
    events.delete_rule(Name=tap, EventBusName=stack.event_bus_name)
    sqs.delete_queue(QueueUrl=tap_url)
    secrets.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    fake.shutdown()


def new_id() -> str:
    return str(random.randrange(10**18, 10**19))


def ours(env: Env, ids: set[str]) -> list[tuple[str, str]]:
    """(detail-type, dedupKey) of the events about ``ids``, in bus order."""
    return [
        (e["detail-type"], e["detail"]["dedupKey"])
        for e in env.bus()
        if e["detail"].get("securityProblemId", e["detail"].get("attackId")) in ids
    ]


def test_the_first_poll_records_what_exists_and_notifies_nothing(env: Env) -> None:
    env.fake.load_examples()
    env.fake.open(new_id())
    report = env.poll()
    assert report.complete and report.baseline
    assert report.events_put == 0 and report.problems_listed == 1  # the examples are older than 30 days
    assert env.bus() == []
    again = env.poll()
    assert again.complete and not again.baseline and again.events_put == 0


def test_open_risk_change_resolve_and_reopen_reach_the_bus_once_each_in_order(env: Env) -> None:
    env.poll()
    pid = new_id()
    env.fake.add_entity("PROCESS_GROUP-0A9A52EA262BC039", "easytravel-backend", "PROCESS_GROUP")
    env.fake.open(
        pid, risk_level="HIGH", risk_score=8.1, affected=["PROCESS_GROUP-0A9A52EA262BC039", "HOST-77"]
    )
    assert env.poll().events_put == 1
    env.fake.change_assessment(pid, "CRITICAL", 9.8)
    env.fake.change_assessment(pid, "CRITICAL", 9.9)  # same level: no notification
    env.fake.mute(pid)
    env.fake.mute(pid, muted=False)
    assert env.poll().events_put == 1
    env.fake.resolve(pid)
    env.fake.reopen(pid)
    assert env.poll().events_put == 2
    assert env.poll().events_put == 0  # nothing new
    got = [e for e in env.bus(wait_for=4) if e["detail"]["securityProblemId"] == pid]
    assert [e["detail-type"] for e in got] == [
        "Security Problem Opened",
        "Security Problem Risk Level Changed",
        "Security Problem Resolved",
        "Security Problem Reopened",
    ]
    opened, risk = got[0]["detail"], got[1]["detail"]
    assert opened["origin"] == "dynatrace" and opened["dedupKey"].startswith(f"{pid}:")
    assert opened["dedupKey"].endswith(":SECURITY_PROBLEM_CREATED")
    assert opened["affectedEntities"] == [
        {"id": "PROCESS_GROUP-0A9A52EA262BC039", "name": "easytravel-backend", "type": "PROCESS_GROUP"},
        {"id": "HOST-77", "name": "HOST-77", "type": "HOST"},  # unknown to the API: the id stays
    ]
    assert opened["riskAssessment"]["riskLevel"] == "HIGH"
    assert (risk["riskAssessment"]["riskLevel"], risk["riskAssessment"]["riskScore"]) == ("CRITICAL", 9.8)
    assert opened["description"].startswith("A crafted lookup")
    assert [e["detail"]["status"] for e in got] == ["OPEN", "OPEN", "RESOLVED", "OPEN"]
    assert all(e["source"] == env.stack.source_name for e in got)


def test_many_changed_problems_are_read_page_by_page_with_page_keys(env: Env) -> None:
    env.poll()
    ids = {new_id() for _ in range(7)}
    for pid in ids:
        env.fake.open(pid)
    report = env.poll(dynatrace_page_size=3)
    assert report.complete and report.events_put == 7
    assert report.pages >= 3 + 1  # problems in pages of 3, then one page of attacks
    assert sorted(t for t, _ in ours(env, ids)) == ["Security Problem Opened"] * 7


@pytest.mark.parametrize("crash_at", [1, 2, 3])
def test_a_poll_that_dies_after_a_page_loses_and_repeats_nothing(env: Env, crash_at: int) -> None:
    env.poll()
    ids = {new_id() for _ in range(7)}
    for pid in ids:
        env.fake.open(pid)
    pages = 0

    def die_after_page(point: str) -> None:
        nonlocal pages
        if point == "page":
            pages += 1
            if pages == crash_at:
                raise Crash()

    with pytest.raises(Crash):
        env.poller(die_after_page, dynatrace_page_size=3).poll()
    rest = env.poll(dynatrace_page_size=3)
    assert rest.complete
    got = ours(env, ids)
    assert len(got) == 7 and len(set(got)) == 7, got


def test_a_poll_that_dies_between_put_events_and_the_state_write_puts_the_same_keys_again(env: Env) -> None:
    """The one window the poller cannot close alone: the change is on the bus, the state is not
    written. The next poll puts the same change with the same dedupKey, which the dispatcher
    uses for exactly-once (tests/e2e/test_local_stack_dynatrace.py checks the sink)."""
    env.poll()
    pid = new_id()
    env.fake.open(pid)

    def die_after_put(point: str) -> None:
        if point == "put":
            raise Crash()

    with pytest.raises(Crash):
        env.poller(die_after_put).poll()
    env.poll()
    got = ours(env, {pid})
    assert len(got) == 2 and got[0] == got[1] and got[0][0] == "Security Problem Opened"


def test_a_500_mid_poll_stops_the_poll_and_the_next_one_delivers_everything(env: Env) -> None:
    env.poll()
    first, second = new_id(), new_id()
    env.fake.open(first)
    env.fake.open(second)
    env.fake.fail_next(500, path=f"/api/v2/securityProblems/{first}/events")
    stopped = env.poll()
    assert not stopped.complete and "500" in stopped.stopped_by
    resumed = env.poll()
    assert resumed.complete
    got = ours(env, {first, second})
    assert sorted(got) == sorted(set(got)) and len(got) == 2


def test_429s_are_waited_out_within_the_poll(env: Env) -> None:
    env.poll()
    pid = new_id()
    env.fake.open(pid)
    env.fake.fail_next(429, path="/api/v2/securityProblems", headers={"Retry-After": "0"})
    env.fake.fail_next(429, path="/api/v2/securityProblems", headers={"X-RateLimit-Reset": "0"})
    report = env.poll()
    assert report.complete and report.throttled == 2 and report.events_put == 1


def test_a_spent_request_budget_ends_the_poll_and_later_polls_catch_up(env: Env) -> None:
    env.poll()
    ids = {new_id() for _ in range(5)}
    for pid in ids:
        env.fake.open(pid)
    reports = []
    for _ in range(6):
        reports.append(env.poll(dynatrace_request_budget=5))
        if reports[-1].complete:
            break
    assert not reports[0].complete and "budget" in reports[0].stopped_by
    assert reports[-1].complete
    assert all(r.requests <= 5 for r in reports)
    got = ours(env, ids)
    assert len(got) == 5 and len(set(got)) == 5


def test_entity_names_are_cached_and_without_entities_read_the_ids_stay(env: Env) -> None:
    env.poll()
    env.fake.add_entity("HOST-B64B6B9CB11E2244", "db-host", "HOST")
    a, b, c = new_id(), new_id(), new_id()
    env.fake.open(a, affected=["HOST-B64B6B9CB11E2244"])
    env.fake.open(b, affected=["HOST-B64B6B9CB11E2244"])
    env.poll()
    assert env.fake.request_count("/api/v2/entities/") == 1
    wiring.reset()  # a cold start, and a token without entities.read
    env.fake.open(c, affected=["HOST-B64B6B9CB11E2244"])
    env.fake.fail_next(403, path="/api/v2/entities/")
    env.poll()
    names = {e["detail"]["securityProblemId"]: e["detail"]["affectedEntities"][0]["name"] for e in env.bus(3)}
    assert (names[a], names[b], names[c]) == ("db-host", "db-host", "HOST-B64B6B9CB11E2244")


def test_attacks_are_put_once_per_new_attack_or_state(env: Env) -> None:
    env.poll()
    attack = new_id()
    env.fake.attack(attack, state="EXPLOITED")
    assert env.poll().attacks_put == 1
    assert env.poll().attacks_put == 0
    env.fake.set_attack_state(attack, "BLOCKED")
    assert env.poll().attacks_put == 1
    got = [e for e in env.bus(2) if e["detail"].get("attackId") == attack]
    assert [e["detail-type"] for e in got] == ["Security Attack Detected"] * 2
    assert [e["detail"]["state"] for e in got] == ["EXPLOITED", "BLOCKED"]
    assert got[0]["detail"]["url"] == f"{env.fake.url}/ui/security/attack/{attack}"
    assert got[1]["detail"]["dedupKey"].endswith(":ATTACK_BLOCKED")


def test_a_hostile_problem_is_skipped_and_the_others_still_arrive(env: Env) -> None:
    env.poll()
    good = new_id()
    env.fake.open(good)
    env.fake.open("999")
    with env.fake.lock:
        env.fake.problems["999"].summary["securityProblemId"] = "../../entities/HOST-1"
    report = env.poll()
    assert report.complete and report.unreadable == 1
    assert [t for t, _ in ours(env, {good})] == ["Security Problem Opened"]


def test_an_old_problem_the_baseline_never_listed_notifies_its_new_change_not_its_history(env: Env) -> None:
    pid = new_id()
    env.fake.open(pid)
    env.fake.resolve(pid)
    forty_days_ms = 40 * 86_400_000
    with env.fake.lock:  # it opened and resolved long ago: older than the first poll looks
        problem = env.fake.problems[pid]
        for name in ("firstSeenTimestamp", "lastUpdatedTimestamp", "lastOpenedTimestamp"):
            problem.summary[name] -= forty_days_ms
        for event in problem.events:
            event["timestamp"] -= forty_days_ms
    assert env.poll().problems_listed == 0
    env.poll()  # the cursor moves past the baseline's overlap
    env.fake.reopen(pid)
    assert env.poll().events_put == 1
    assert [t for t, _ in ours(env, {pid})] == ["Security Problem Reopened"]


def test_an_attack_too_large_for_the_bus_is_skipped_and_the_others_still_arrive(env: Env) -> None:
    env.poll()
    huge, fine = new_id(), new_id()
    env.fake.attack(huge, displayName="x" * 300_000)
    env.fake.attack(fine)
    report = env.poll()
    assert report.complete and report.unreadable == 1 and report.attacks_put == 1
    assert [t for t, _ in ours(env, {huge, fine})] == ["Security Attack Detected"]
