"""Figure 7: what an AWS finding snapshot costs when it changes nothing, beside one that notifies.

Security Hub re-imports every finding of a standard when its controls are re-checked; most of
those snapshots change nothing receivers care about. On a stack of its own (one profile, one
integration, so a notified snapshot is one delivery), through the real handler:
- 500 failed controls arrive in 5 events of 100: each opens, each is notified once;
- the same 500 arrive again, unchanged: nothing may be sent;
- a re-check after a fix: 450 unchanged, 50 now passing: exactly 50 notifications.
"""

import copy
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from bench.figures.common import Figure, invoke_dispatcher
from bench.figures.dynamodb import CallCounter, counter_text
from bench.infra import ROOT, Receiver, us

_FINDING = ROOT / "tests/fixtures/aws/securityhub-asff-fsbp-control-failed.finding.json"
FINDINGS, PER_EVENT = 500, 100


def _control(base: dict[str, Any], n: int, minute: int, passed: bool = False) -> dict[str, Any]:
    finding = copy.deepcopy(base)
    finding["Id"] = f"{base['Id']}-{n:04d}"
    finding["UpdatedAt"] = f"2021-09-28T16:{minute:02d}:00.000Z"
    finding["Severity"] = {"Label": "INFORMATIONAL" if passed else "HIGH", "Normalized": 0 if passed else 70}
    finding["Compliance"] = {"Status": "PASSED" if passed else "FAILED"}
    return finding


def _imports(minute: int, passing: int = 0) -> Iterator[dict[str, Any]]:
    """One import of all the findings, as Security Hub sends it: events of 100 findings each;
    every ``passing``-th finding now passes (0: none)."""
    base = json.loads(_FINDING.read_text(encoding="utf-8"))
    for start in range(0, FINDINGS, PER_EVENT):
        findings = [
            _control(base, n, minute, passed=bool(passing) and n % passing == 0)
            for n in range(start, start + PER_EVENT)
        ]
        yield {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Security Hub Findings - Imported",
            "source": "aws.securityhub",
            "account": "123456789012",
            "time": f"2021-09-28T16:{minute:02d}:10Z",
            "region": "us-east-2",
            "resources": [],
            "detail": {"findings": findings},
        }


def _setup(receiver: Receiver) -> None:
    from secnotify.models.integration_api import IntegrationInput
    from secnotify.models.profile import AlertingProfileInput
    from secnotify.service.wiring import api_services

    services = api_services()
    profile = services.profiles.create(
        AlertingProfileInput.model_validate(
            {
                "name": "bench: findings",
                "enabledTriggerEvents": ["SECURITY_PROBLEM_OPENED", "SECURITY_PROBLEM_RESOLVED"],
            }
        )
    )
    services.integrations.create(
        IntegrationInput.model_validate(
            {
                "displayName": "bench findings",
                "alertingProfileId": profile.id,
                "webhook": {
                    "url": receiver.url("/findings"),
                    "headers": [{"name": "Content-Type", "value": "application/json"}],
                    "payload": '{"id": "{SecurityProblemId}", "trigger": "{TriggerEvent}"}',
                },
            }
        )
    )


def _run(counter: CallCounter, events: Iterator[dict[str, Any]]) -> tuple[float, dict[str, int], int]:
    """Wall seconds, summed counts and DynamoDB calls for one import."""
    counter.reset()
    totals: dict[str, int] = {}
    started = time.perf_counter()
    for event in events:
        for key, value in invoke_dispatcher(event)["counts"].items():
            totals[key] = totals.get(key, 0) + value
    return time.perf_counter() - started, totals, counter.total()


def finding_snapshots(receiver: Receiver) -> Figure:
    """Run on the stack the environment names (a fresh one: see bench.run)."""
    from secnotify.service.wiring import dispatcher

    fig = Figure(7, f"AWS findings: {FINDINGS} Security Hub snapshots, unchanged vs notified")
    _setup(receiver)
    counter = CallCounter(dispatcher().ledger.client)
    opened_s, opened, opened_calls = _run(counter, _imports(10))
    opened_detail = counter_text(counter.calls)
    same_s, same, same_calls = _run(counter, _imports(20))
    same_detail = counter_text(counter.calls)
    mixed_s, mixed, _ = _run(counter, _imports(30, passing=10))
    if opened.get("delivered") != FINDINGS or same.get("transitions", 0) or same.get("matched", 0):
        raise RuntimeError(f"unexpected counts: first {opened}, unchanged {same}")
    per_same, per_opened = same_s / FINDINGS, opened_s / FINDINGS
    fig.lines += [
        f"notified: {FINDINGS} new findings in {opened_s:.2f} s, {us(per_opened)} and "
        f"{opened_calls / FINDINGS:.1f} DynamoDB requests each ({opened_detail}), one delivery each",
        f"unchanged: the same {FINDINGS} again in {same_s:.2f} s, {us(per_same)} and "
        f"{same_calls / FINDINGS:.1f} DynamoDB requests each ({same_detail}), "
        f"{same.get('delivered', 0)} deliveries",
        f"re-check, 450 unchanged + 50 passing: {mixed.get('unchanged', 0)} unchanged, "
        f"{mixed.get('transitions', 0)} resolved, {mixed.get('delivered', 0)} delivered, in {mixed_s:.2f} s",
        "an unchanged snapshot is a consistent GetItem and a conditional PutItem (the state's time "
        "moves on, so a late older copy is recognised); no claim, no record, no webhook",
    ]
    ok = (
        same_calls / FINDINGS <= 2
        and same.get("delivered", 0) == 0
        and (mixed.get("unchanged"), mixed.get("transitions"), mixed.get("delivered")) == (450, 50, 50)
    )
    fig.ratio = per_same / per_opened
    fig.ratio_label = f"{fig.ratio:.2f} of a notified one's time"
    fig.target = "unchanged: <= 2 req, 0 webhooks; re-check 50/500"
    fig.judge(ok)
    fig.summary = f"{same_calls / FINDINGS:.1f} vs {opened_calls / FINDINGS:.1f} req/snapshot"
    return fig
