"""AWS findings through the dispatcher, on in-memory ports, sending for real to local receivers:
each change notifies once, re-sends and copies from another path notify nobody."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from secnotify.models.common import TriggerEvent
from secnotify.models.delivery import DeadLetterKind
from secnotify.models.finding import FindingStatus
from secnotify.service.dispatch_result import Count
from tests.fakes.dispatcher import PROFILE, Harness, event, harness
from tests.unit.aws_samples import (
    INSPECTOR_ARN,
    INSPECTOR_REACHABILITY,
    asff_event,
    asff_finding,
    inspector_asff,
    inspector_event,
)

OPENED, RESOLVED, CHANGED = (
    TriggerEvent.SECURITY_PROBLEM_OPENED,
    TriggerEvent.SECURITY_PROBLEM_RESOLVED,
    TriggerEvent.RISK_LEVEL_CHANGED,
)
PAYLOAD = (
    '{"id": "{SecurityProblemId}", "trigger": "{TriggerEvent}", "status": "{Status}", '
    '"level": "{RiskLevel}", "source": "{Source}", "account": "{AccountId}", "region": "{Region}", '
    '"type": "{FindingType}", "fix": "{FixAvailable}", "console": "{ConsoleUrl}"}'
)


@pytest.fixture
def h() -> Iterator[Harness]:
    yield from harness()


def wants(h: Harness, *triggers: TriggerEvent) -> None:
    h.config.add_profile(PROFILE, enabledTriggerEvents=[t.value for t in triggers])


def bodies(h: Harness, name: str) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in h.receivers[name].requests]


def inspector(minute: int, status: str = "ACTIVE", severity: str = "HIGH", **detail: Any) -> dict[str, Any]:
    """The documented reachability finding as Inspector re-sends it, ``minute`` minutes later."""
    raw = inspector_event(INSPECTOR_REACHABILITY)
    raw["id"] = f"envelope-{minute}-{status}-{severity}"  # every copy has its own envelope id
    raw["detail"].update(
        findingArn=INSPECTOR_ARN,
        awsAccountId="111122223333",
        status=status,
        severity=severity,
        updatedAt=f"Thu Sep 05 13:{minute:02d}:56.334 UTC 2024",
        **detail,
    )
    return raw


def test_opened_resent_three_times_resolved_reopened_notifies_three_times(h: Harness) -> None:
    wants(h, OPENED, RESOLVED)
    h.integration("slack")
    counts = [h.handle(inspector(0)).counts]
    for minute in (1, 2, 3):  # a tag, a re-scan, a restart: the same state again
        counts.append(h.handle(inspector(minute, tags={"patched": str(minute)})).counts)
    counts.append(h.handle(inspector(4, "CLOSED")).counts)
    counts.append(h.handle(inspector(5, "ACTIVE")).counts)
    sent = [r.header("webhook-id") for r in h.receivers["slack"].requests]
    assert len(sent) == 3 and len(set(sent)) == 3
    assert [c[Count.TRANSITIONS] for c in counts] == [1, 0, 0, 0, 1, 1]
    assert [c[Count.UNCHANGED] for c in counts] == [0, 1, 1, 1, 0, 0]
    assert all(c[Count.RECEIVED] == 1 for c in counts)


def test_the_notification_carries_the_findings_own_values(h: Harness) -> None:
    wants(h, OPENED, RESOLVED)
    h.integration("siem")
    h.config.add_integration(
        "siem",
        PROFILE,
        h.receivers["siem"].url("/"),
        webhook={
            "url": h.receivers["siem"].url("/"),
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "payload": PAYLOAD,
        },
    )
    h.handle(inspector(0))
    h.handle(inspector(9, "CLOSED"))
    opened, resolved = bodies(h, "siem")
    assert opened == {
        "id": "INS-475ae5876490",
        "trigger": "SECURITY_PROBLEM_OPENED",
        "status": "OPEN",
        "level": "HIGH",
        "source": "Amazon Inspector",
        "account": "111122223333",
        "region": "eu-west-1",
        "type": "NETWORK_REACHABILITY",
        "fix": "",
        "console": "https://eu-west-1.console.aws.amazon.com/inspector/v2/home?region=eu-west-1"
        "#/findings/all?findingArn=arn%3Aaws%3Ainspector2%3Aeu-west-1%3A111122223333%3Afinding%2F"
        "c830773636319eaf8313475ae5876490",
    }
    assert (resolved["trigger"], resolved["status"]) == ("SECURITY_PROBLEM_RESOLVED", "RESOLVED")


@pytest.mark.parametrize("hub_first", [False, True], ids=["inspector-first", "security-hub-first"])
@pytest.mark.parametrize(
    "hub_updated_at", ["2024-09-05T13:10:56.334Z", "2024-09-05T13:12:26.334Z"], ids=["same-time", "hub-later"]
)
def test_one_inspector_finding_direct_and_through_security_hub_notifies_once(
    h: Harness, hub_first: bool, hub_updated_at: str
) -> None:
    wants(h, OPENED)
    h.integration("slack")
    # The same finding and update: Security Hub carries Inspector's own id, status and time.
    direct = inspector(10, severity="CRITICAL")
    hub = inspector_asff()
    hub["UpdatedAt"] = hub_updated_at
    for raw in [asff_event(hub), direct] if hub_first else [direct, asff_event(hub)]:
        h.handle(raw)
    assert len(h.receivers["slack"].requests) == 1


def test_a_risk_level_change_reaches_only_profiles_that_enable_it(h: Harness) -> None:
    wants(h, OPENED)
    h.integration("default")
    h.config.add_profile("changes", enabledTriggerEvents=[OPENED.value, CHANGED.value])
    h.integration("changes")
    h.config.add_integration("changes", "changes", h.receivers["changes"].url("/"))
    h.handle(inspector(0, severity="HIGH"))
    h.handle(inspector(1, severity="CRITICAL"))
    assert (len(h.receivers["default"].requests), len(h.receivers["changes"].requests)) == (1, 2)


def test_a_resolution_keeps_the_level_receivers_heard(h: Harness) -> None:
    # A passed control drops to INFORMATIONAL, which matches no profile: its "resolved" must
    # still reach those who were told it opened, at the level they were told.
    h.config.add_profile(
        "high", enabledRiskLevels=["HIGH"], enabledTriggerEvents=[OPENED.value, RESOLVED.value]
    )
    h.integration("high")
    h.config.add_integration("high", "high", h.receivers["high"].url("/"))
    failed = asff_finding()
    failed["Severity"] = {"Label": "HIGH", "Normalized": 70}
    passed = copy.deepcopy(failed)
    passed.update(UpdatedAt="2021-09-29T10:00:00.000Z", Severity={"Label": "INFORMATIONAL", "Normalized": 0})
    passed["Compliance"]["Status"] = "PASSED"
    h.handle(asff_event(failed))
    result = h.handle(asff_event(passed))
    assert result.counts[Count.TRANSITIONS] == 1
    assert [b["title"] for b in bodies(h, "high")] == [failed["Title"]] * 2


def test_a_workflow_change_that_keeps_updated_at_is_still_a_change(h: Harness) -> None:
    # Security Hub does not move UpdatedAt when a person resolves a finding (BatchUpdateFindings).
    wants(h, OPENED, RESOLVED)
    h.integration("slack")
    finding = asff_finding()
    finding["Severity"] = {"Label": "HIGH", "Normalized": 70}
    h.handle(asff_event(finding))
    resolved = copy.deepcopy(finding)
    resolved["Workflow"] = {"Status": "RESOLVED"}
    h.handle(asff_event(resolved))
    h.handle(asff_event(resolved))  # and again: the same change, not a new one
    assert len(h.receivers["slack"].requests) == 2
    state = h.findings.get(finding["Id"])
    assert state is not None and state.status is FindingStatus.RESOLVED


def test_a_late_copy_of_the_snapshot_before_a_workflow_change_reopens_nothing(h: Harness) -> None:
    # ProcessedAt orders what UpdatedAt cannot: the resolution, then a late copy of the old state.
    wants(h, OPENED, RESOLVED)
    h.integration("slack")
    finding = asff_finding()
    finding.update(Severity={"Label": "HIGH", "Normalized": 70}, ProcessedAt="2021-09-28T16:10:05.000Z")
    resolved = copy.deepcopy(finding)
    resolved.update(Workflow={"Status": "RESOLVED"}, ProcessedAt="2021-09-29T09:00:00.000Z")
    for raw in (finding, resolved, finding):
        h.handle(asff_event(raw))
    assert len(h.receivers["slack"].requests) == 2
    state = h.findings.get(finding["Id"])
    assert state is not None and state.status is FindingStatus.RESOLVED


def test_a_batch_sends_its_readable_findings_and_dead_letters_the_rest(h: Harness) -> None:
    wants(h, OPENED)
    h.integration("slack")
    good = asff_finding()
    good["Severity"] = {"Label": "HIGH", "Normalized": 70}
    broken = copy.deepcopy(good)
    broken["Id"] = {"not": "an id"}
    raw = asff_event(good, broken)
    result = h.handle(raw)
    assert result.counts[Count.TRANSITIONS] == 1 and result.counts[Count.UNREADABLE_FINDINGS] == 1
    assert len(h.receivers["slack"].requests) == 1
    [dead] = [d for d in h.queues.dead if d.kind is DeadLetterKind.EVENT]
    assert "findings[1]" in dead.reason and json.loads(dead.body)["id"] == raw["id"]


def test_the_platforms_own_events_are_tracked_and_still_sent(h: Harness) -> None:
    wants(h, OPENED, RESOLVED)
    h.integration("slack")
    opened = event()
    result = h.handle(opened)
    assert result.counts[Count.DELIVERED] == 1 and result.counts[Count.TRANSITIONS] == 0
    problem = opened["detail"]["securityProblemId"]
    state = h.findings.get(problem)
    assert state is not None and state.status is FindingStatus.ACTIVE
    resolved = {**event(), "detail-type": "Security Problem Resolved"}
    resolved["detail"] = {**resolved["detail"], "status": "RESOLVED", "lastUpdatedTimestamp": 1900000000000}
    h.handle(resolved)
    state = h.findings.get(problem)
    assert state is not None and state.status is FindingStatus.RESOLVED
    assert len(h.receivers["slack"].requests) == 2


def _control(n: int, minute: int, *, passed: bool = False) -> dict[str, Any]:
    finding = asff_finding()
    finding["Id"] = f"{finding['Id']}-{n:03d}"
    finding["UpdatedAt"] = f"2021-09-28T16:{minute:02d}:00.000Z"
    finding["Severity"] = {"Label": "INFORMATIONAL" if passed else "HIGH", "Normalized": 0 if passed else 70}
    finding["Compliance"]["Status"] = "PASSED" if passed else "FAILED"
    return finding


def test_a_500_finding_burst_at_steady_state_notifies_exactly_the_50_changes(h: Harness) -> None:
    wants(h, OPENED, RESOLVED)
    h.integration("slack")
    for batch in range(5):  # the first import: 500 failed controls, 500 notifications
        h.handle(asff_event(*(_control(100 * batch + i, 10) for i in range(100))))
    assert len(h.receivers["slack"].requests) == 500
    # A control re-check re-imports all 500; every tenth now passes.
    totals: dict[Count, int] = {}
    for batch in range(5):
        findings = (_control(n, 40, passed=n % 10 == 0) for n in range(100 * batch, 100 * batch + 100))
        for key, value in h.handle(asff_event(*findings)).counts.items():
            totals[key] = totals.get(key, 0) + value
    assert (totals[Count.UNCHANGED], totals[Count.TRANSITIONS]) == (450, 50)
    resolved = bodies(h, "slack")[500:]
    assert len(resolved) == 50


def test_a_baselined_finding_stays_silent_while_it_is_resent_unchanged() -> None:
    h = Harness()
    try:
        wants(h, OPENED, RESOLVED)
        h.integration("slack")
        h.dispatcher.intake.lifecycle.baseline_hours = 24  # the sample was created in 2024
        counts = [h.handle(inspector(m)).counts for m in (0, 1, 2)]
        assert [c[Count.UNCHANGED] for c in counts] == [1, 1, 1]
        h.handle(inspector(3, severity="CRITICAL"))  # its first change: now receivers hear of it
        bodies_sent = len(h.receivers["slack"].requests)
    finally:
        h.close()
    assert bodies_sent == 1


def test_an_inspector_finding_and_its_late_security_hub_copies_notify_each_change_once(h: Harness) -> None:
    # Security Hub processes Inspector's updates later than Inspector sends them: its copies must
    # be ordered by Inspector's own time, or the old state would come back.
    wants(h, OPENED, RESOLVED)
    h.integration("slack")
    h.handle(inspector(10, severity="CRITICAL"))
    h.handle(inspector(11, "CLOSED", severity="CRITICAL"))
    active, closed = inspector_asff("ACTIVE"), inspector_asff("CLOSED")
    active.update(UpdatedAt="2024-09-05T13:10:56.334Z", ProcessedAt="2024-09-05T13:12:00.000Z")
    closed.update(UpdatedAt="2024-09-05T13:11:56.334Z", ProcessedAt="2024-09-05T13:12:30.000Z")
    late = [h.handle(asff_event(active)).counts, h.handle(asff_event(closed)).counts]
    assert [c[Count.TRANSITIONS] for c in late] == [0, 0]
    assert len(h.receivers["slack"].requests) == 2  # opened and resolved, once each


def test_a_drop_to_informational_while_open_still_resolves_at_the_level_heard(h: Harness) -> None:
    wants(h, OPENED, RESOLVED)
    h.integration("slack")
    h.handle(inspector(0, severity="HIGH"))
    h.handle(inspector(1, severity="INFORMATIONAL"))
    h.handle(inspector(2, "CLOSED", severity="INFORMATIONAL"))
    assert len(h.receivers["slack"].requests) == 2


def test_a_late_copy_with_the_same_time_but_other_content_changes_nothing(h: Harness) -> None:
    # Inspector moves updatedAt with every change: a disagreeing copy at the stored time is stale.
    wants(h, OPENED, RESOLVED)
    h.integration("slack")
    h.handle(inspector(0))
    result = h.handle(inspector(0, "CLOSED"))
    assert result.counts[Count.UNCHANGED] == 1
    assert len(h.receivers["slack"].requests) == 1


def test_a_finding_id_too_long_for_a_key_is_dead_lettered_and_the_rest_go_on(h: Harness) -> None:
    wants(h, OPENED)
    h.integration("slack")
    good = asff_finding()
    good["Severity"] = {"Label": "HIGH", "Normalized": 70}
    long_id = copy.deepcopy(good)
    long_id["Id"] = "\U0001f600" * 512  # within ASFF's 512 characters, 2,048 bytes of UTF-8
    result = h.handle(asff_event(good, long_id))
    assert (result.counts[Count.TRANSITIONS], result.counts[Count.UNREADABLE_FINDINGS]) == (1, 1)
    assert len(h.receivers["slack"].requests) == 1


def test_a_platform_event_whose_id_is_too_long_to_track_is_still_delivered(h: Harness) -> None:
    h.integration("slack")
    raw = event()
    raw["detail"] = {**raw["detail"], "securityProblemId": "9" * 2100}
    assert h.handle(raw).counts[Count.DELIVERED] == 1
    assert h.findings.get("9" * 2100) is None
