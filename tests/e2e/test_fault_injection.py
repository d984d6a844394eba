"""Fault injection: 500 events x 4 integrations against a receiver that fails 30% of requests.

How it is driven: each event is put, as the EventBridge envelope the rule delivers, on the local
stack's dispatcher inbox queue; separate worker processes (tests/e2e/lambda_worker.py, one per
simulated Lambda instance) hand inbox messages to the dispatcher handler one by one and the retry
queue to it as SQS batches with partial failures. 10% of the events are put on the inbox a second
time, some right after the original and some later (EventBridge delivers at least once).
The retry ladder and the retry queue's visibility timeout are compressed through configuration.

The figures are printed, attached to the test report (``record_property``, shown by ``-rA`` and
in junit XML) and put in every assertion message.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import ApiClient, load_event
from tests.e2e.faulty_receiver import FaultyReceiver, attempts_needed

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]
SEED = 20260101
EVENTS = 500
INTEGRATIONS = 4
REDELIVER_SHARE = 0.10
LADDER = "0,0.2,0.5,1,1,1,1,1,1,1"
READ_TIMEOUT_S = 0.3
HANG_S = 0.6
# Compressed like the ladder: a retry handed back (RetryNotReady) is seen again this much later.
RETRY_VISIBILITY_S = 3
INBOX_WORKERS = 3
RETRY_WORKERS = 2
DEADLINE_S = 420.0  # generous: a slow CI machine must not turn late into "lost"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
PAYLOAD = (
    '{"eventId": "{EventId}", "problem": "{SecurityProblemId}", "title": "{Title}", "risk": "{Severity}"}'
)
BASES = ("opened", "resolved", "reopened", "zone-added")


def _events(rng: random.Random) -> list[dict[str, Any]]:
    bases = [load_event(f"eventbridge/{name}.json") for name in BASES]
    out = []
    for i in range(EVENTS):
        event = json.loads(json.dumps(bases[i % len(bases)]))
        event["id"] = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        event["detail"]["displayId"] = f"S-{i}"
        event["detail"]["title"] = f"{event['detail']['title']} #{i}"
        out.append(event)
    return out


def _with_redeliveries(events: list[dict[str, Any]], rng: random.Random) -> tuple[list[str], int]:
    """Message bodies for the inbox: every event once, and a sample a second time a little later."""
    bodies = [json.dumps(e) for e in events]
    again = rng.sample(range(len(events)), int(len(events) * REDELIVER_SHARE))
    # Insert from the back so earlier positions stay valid; some land in the same batch, some far on.
    for index in sorted(again, reverse=True):
        bodies.insert(min(len(bodies), index + 1 + rng.choice((0, 3, 40, 200))), bodies[index])
    return bodies, len(again)


def _queue_backlog(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return sum(int(v) for v in attrs.values())


def _deliveries(ddb: Any, table: str, integration_id: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk",
        "ExpressionAttributeValues": {":pk": {"S": f"DELIVERIES#{integration_id}"}},
    }
    while True:
        resp = ddb.query(**kwargs)
        out += [json.loads(item["doc"]["S"]) for item in resp.get("Items", [])]
        if "LastEvaluatedKey" not in resp:
            return out
        kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def _start_workers(stack: Any, tmp: Path) -> list[tuple[subprocess.Popen[bytes], Path]]:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(["layers", "."]),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # Two states per shard: every event's claims are spread, as a large fan-out's are.
        "CLAIMS_PER_SHARD": "2",
    }
    workers = []
    roles = [("inbox", stack.inbox_queue_url)] * INBOX_WORKERS + [
        ("retry", stack.retry_queue_url)
    ] * RETRY_WORKERS
    for n, (role, queue) in enumerate(roles):
        stats = tmp / f"worker-{n}-{role}.json"
        log = open(tmp / f"worker-{n}-{role}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.e2e.lambda_worker",
                "--role",
                role,
                "--queue",
                queue,
                "--stats",
                str(stats),
            ],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        workers.append((proc, stats))
    deadline = time.monotonic() + 60
    while not all(Path(str(s) + ".ready").exists() for _, s in workers):
        for proc, _ in workers:
            assert proc.poll() is None, f"worker exited early: {_tail(tmp)}"
        assert time.monotonic() < deadline, "workers did not start within 60 s"
        time.sleep(0.05)
    return workers


def _stop_workers(workers: list[tuple[subprocess.Popen[bytes], Path]]) -> list[dict[str, Any]]:
    for proc, _ in workers:
        if proc.stdin:
            proc.stdin.close()
    out = []
    for proc, stats in workers:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.append(json.loads(stats.read_text()) if stats.exists() else {"missing": str(stats)})
    return out


def _tail(tmp: Path) -> str:
    return "\n".join(f"{p.name}: {p.read_text(errors='replace')[-1500:]}" for p in sorted(tmp.glob("*.log")))


def test_thirty_percent_failures_lose_nothing_and_duplicate_nothing(
    api: ApiClient,
    stack: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    record_property: Any,
) -> None:
    from secnotify.service import wiring
    from secnotify.service.notify import webhook_id

    monkeypatch.setenv("RETRY_LADDER_SECONDS", LADDER)
    monkeypatch.setenv("READ_TIMEOUT_SECONDS", str(READ_TIMEOUT_S))
    monkeypatch.setenv("CONNECT_TIMEOUT_SECONDS", "2")
    wiring.reset()
    sqs = boto3.client("sqs")
    ddb = boto3.client("dynamodb")
    sqs.set_queue_attributes(
        QueueUrl=stack.retry_queue_url, Attributes={"VisibilityTimeout": str(RETRY_VISIBILITY_S)}
    )
    rng = random.Random(SEED)
    events = _events(rng)
    bodies, redelivered = _with_redeliveries(events, rng)
    paths = [f"/hook/{k}" for k in range(INTEGRATIONS)]
    plan = [attempts_needed(SEED, e["id"], p) for e in events for p in paths]
    ladder_len = len(LADDER.split(","))
    # The seed is fixed, so this holds on every run; it makes "lost" and "DLQ" exact targets.
    assert max(plan) <= ladder_len, f"seed {SEED} plans {max(plan)} attempts for one notification"

    with FaultyReceiver(SEED, SECRET, HANG_S) as rx:
        profile = api.post(
            "/alerting-profiles",
            {
                "name": "everything",
                "enabledTriggerEvents": [
                    "SECURITY_PROBLEM_OPENED",
                    "SECURITY_PROBLEM_RESOLVED",
                    "NEW_MANAGEMENT_ZONE_AFFECTED",
                ],
            },
        )
        assert profile.status == 201, profile.text
        iids: dict[str, str] = {}
        for path in paths:
            resp = api.post(
                "/integrations",
                {
                    "displayName": f"faulty {path}",
                    "alertingProfileId": profile.json()["id"],
                    "signingSecret": SECRET,
                    "webhook": {
                        "url": rx.url(path),
                        "headers": [{"name": "Content-Type", "value": "application/json"}],
                        "payload": PAYLOAD,
                    },
                },
            )
            assert resp.status == 201, resp.text
            iids[resp.json()["id"]] = path
        expected = {
            webhook_id(e["id"], iid): f"{e['id']} {path}" for e in events for iid, path in iids.items()
        }

        workers = _start_workers(stack, tmp_path)
        try:
            began = time.monotonic()
            for i in range(0, len(bodies), 10):
                entries = [{"Id": str(n), "MessageBody": b} for n, b in enumerate(bodies[i : i + 10])]
                assert not sqs.send_message_batch(QueueUrl=stack.inbox_queue_url, Entries=entries).get(
                    "Failed"
                )
            quiet = 0
            while time.monotonic() - began < DEADLINE_S:
                time.sleep(0.5)
                done = len(expected.keys() & rx.accepted_ids().keys()) == len(expected)
                idle = (
                    _queue_backlog(sqs, stack.inbox_queue_url) + _queue_backlog(sqs, stack.retry_queue_url)
                    == 0
                )
                quiet = quiet + 1 if done and idle else 0
                if quiet >= 2:
                    break
            wall_s = time.monotonic() - began
        finally:
            worker_stats = _stop_workers(workers)

    records = [r for iid in iids for r in _deliveries(ddb, stack.table_name, iid)]
    successes = Counter(r["webhookId"] for r in records if r["status"] == "SUCCEEDED")
    dlq = int(
        sqs.get_queue_attributes(
            QueueUrl=stack.dead_letter_queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
    )
    st = rx.stats
    received = {wid for wid in expected if wid in st.accepted}
    errors = Counter((r.get("error") or f"HTTP {r.get('statusCode')}").split(":")[0] for r in records)
    figures = {
        "notifications expected": len(expected),
        "delivered (unique webhook-ids the receiver got)": len(received),
        "delivered (unique webhook-ids with a SUCCEEDED record)": len(set(successes) & set(expected)),
        "lost": len(expected) - len(received & set(successes)),
        "duplicates (webhook-ids recorded SUCCEEDED more than once)": sum(
            1 for n in successes.values() if n > 1
        ),
        "raw duplicates (2xx the receiver answered again for a webhook-id it had)": st.raw_duplicates,
        "total attempts (delivery records)": len(records),
        "requests the receiver saw": st.requests,
        "attempts the seed plans": sum(plan),
        "retries (attempt > 1)": sum(1 for r in records if r["attempt"] > 1),
        "DLQ": dlq,
        "wall time s": round(wall_s, 1),
        "events sent (incl. redelivered)": len(bodies),
        "events redelivered": redelivered,
        "receiver outcomes": dict(st.outcomes),
        "attempt errors": dict(errors),
        "bad signatures": st.bad_signatures,
        "unreadable requests": st.unknown,
        "retry messages handed back (RetryNotReady)": sum(
            w.get("batch_item_failures", 0) for w in worker_stats
        ),
        "handler errors": sum(w.get("handler_errors", 0) for w in worker_stats),
        "worker busy s (inbox, retry)": (
            round(sum(w.get("handler_s", 0) for w in worker_stats if w.get("role") == "inbox"), 1),
            round(sum(w.get("handler_s", 0) for w in worker_stats if w.get("role") == "retry"), 1),
        ),
    }
    report = "fault injection: " + json.dumps(figures, indent=1)
    print(report)
    record_property("fault_injection", figures)
    worker_errors = [e for w in worker_stats for e in w.get("errors", [])]

    assert figures["lost"] == 0, report
    assert figures["duplicates (webhook-ids recorded SUCCEEDED more than once)"] == 0, report
    assert set(successes) == set(expected), report
    assert dlq == 0, report
    assert st.bad_signatures == 0 and st.unknown == 0, report
    assert figures["handler errors"] == 0 and not worker_errors, f"{report}\n{worker_errors[:3]}"
    # No attempt was made after a notification's success: its SUCCEEDED record is its last attempt.
    last = Counter[str]()
    for r in records:
        last[r["webhookId"]] = max(last[r["webhookId"]], r["attempt"])
    late = [
        r["webhookId"] for r in records if r["status"] == "SUCCEEDED" and r["attempt"] != last[r["webhookId"]]
    ]
    assert not late, f"{report}\nattempts after success: {late[:5]}"
    assert wall_s < DEADLINE_S, report
