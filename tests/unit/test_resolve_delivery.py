"""Resolving at another URL, delivered (README "Resolving at another URL"): the dispatcher on
in-memory ports and a fake clock, sending for real to local receivers. A resolved notification
takes the resolved route with the same headers, signature and guard; the reference a 2xx answer
carries is kept per (problem, integration) and fills ``{Receiver[name]}``; one not kept yet
waits on the ladder and ends FAILED with "missing receiver reference"."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import urllib3
from standardwebhooks.webhooks import Webhook

from secnotify.delivery import SsrfGuard, WebhookSender, generate_secret
from secnotify.models.delivery import AttemptStatus, DeadLetterKind, NotificationState, RecordKind
from secnotify.models.integration import Integration
from secnotify.service.notify import Notifier
from secnotify.service.ports.receivers import StoredReference
from secnotify.service.secret_fields import seal_integration
from secnotify.settings import Settings
from secnotify.sources import parse_eventbridge
from tests.fakes.dispatcher import PROFILE, Harness, harness
from tests.fakes.ledger import InMemoryDeliveryLog
from tests.fakes.receivers import InMemoryReceiverReferences
from tests.fakes.secrets import InMemorySecrets
from tests.integration.servers import Receiver, Reply

EVENTS = Path(__file__).resolve().parents[2] / "events" / "eventbridge"
PROBLEM = "11497873967941161718"  # the samples' securityProblemId
CREATED = Reply(
    status=201, body=b'{"id": "10000", "key": "SEC-1", "self": "https://jira/rest/api/3/issue/10000"}'
)
COMMENT_PATH = "/rest/api/3/issue/{Receiver[issueKey]}/comment"
RESOLVED_PAYLOAD = '{"body": "{SecurityProblemId} resolved, see {Receiver[issueKey]}"}'
MISSING = "missing receiver reference"


def sample(name: str) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text(encoding="utf-8"))
    return {**raw, "id": str(uuid.uuid4())}


def jira_webhook(url: str, **changes: Any) -> dict[str, Any]:
    return {
        "url": url,
        "headers": [
            {"name": "Content-Type", "value": "application/json"},
            {"name": "Authorization", "value": "Basic dXNlcjp0b2tlbi1zZWNyZXQ=", "secret": True},
        ],
        "payload": '{"fields": {"summary": "{Title}"}}',
        "resolved": {"path": COMMENT_PATH, "payload": RESOLVED_PAYLOAD},
        "receiverReference": {"name": "issueKey", "pointer": "/key"},
        **changes,
    }


def add(h: Harness, name: str, webhook: dict[str, Any], **doc: Any) -> None:
    """An integration stored as the API stores it: its secrets sealed."""
    full = {"displayName": name, "alertingProfileId": PROFILE, "webhook": webhook, **doc}
    sealed = seal_integration(full, name, InMemorySecrets())
    h.config.add_integration(name, PROFILE, webhook["url"], **sealed)


@pytest.fixture
def h() -> Iterator[Harness]:
    for made in harness(ladder=(0.0, 5.0, 30.0)):
        made.config.add_profile(
            PROFILE, enabledTriggerEvents=["SECURITY_PROBLEM_OPENED", "SECURITY_PROBLEM_RESOLVED"]
        )
        yield made


def records(h: Harness, name: str) -> list[Any]:
    return sorted((r for r in h.log.all() if r.integrationId == name), key=lambda r: r.deliveryId)


def test_create_keeps_the_key_and_resolve_comments_on_that_issue(h: Harness) -> None:
    signing = generate_secret()
    with Receiver(default=CREATED) as rx:
        add(h, "jira", jira_webhook(rx.url("/rest/api/3/issue")), signingSecret=signing)
        opened, resolved = sample("opened"), sample("resolved")
        assert h.handle(opened).counts
        assert h.references.get(PROBLEM, "jira") == StoredReference("issueKey", "SEC-1", 1767268800.0)
        rx.default = Reply(status=201, body=b'{"id": "20000"}')
        h.handle(resolved)
        create, comment = rx.wait_for(2)
    assert create.path == "/rest/api/3/issue"
    assert comment.path == "/rest/api/3/issue/SEC-1/comment"
    assert json.loads(comment.body) == {"body": "S-1234 resolved, see SEC-1"}
    # The same headers and signing as the integration's URL gets.
    assert comment.header("Authorization") == "Basic dXNlcjp0b2tlbi1zZWNyZXQ="
    assert comment.header("Content-Type") == "application/json"
    stamp = datetime.fromtimestamp(int(comment.header("webhook-timestamp") or 0), UTC)
    expected = Webhook(signing).sign(comment.header("webhook-id") or "", stamp, comment.body.decode())
    assert comment.header("webhook-signature") == expected
    states = h.states(resolved["id"])
    assert states["jira"].status is NotificationState.DELIVERED
    # The comment's answer has no /key: the reference kept stays, and the resolve record says nothing.
    assert h.references.get(PROBLEM, "jira") is not None
    assert [r.error for r in records(h, "jira")] == [None, None]


def test_a_resolve_before_any_reference_retries_then_fails_missing_receiver_reference(h: Harness) -> None:
    with Receiver(default=CREATED) as rx:
        add(h, "jira", jira_webhook(rx.url("/rest/api/3/issue")))
        resolved = sample("resolved")
        h.handle(resolved)
        assert h.states(resolved["id"])["jira"].status is NotificationState.RETRY_SCHEDULED
        h.drain(5.0)
        h.drain(30.0)
        assert rx.requests == []  # nothing was ever sent
    state = h.states(resolved["id"])["jira"]
    assert state.status is NotificationState.FAILED and state.attempt == 3
    trail = [(r.attempt, r.status, r.error) for r in records(h, "jira")]
    assert trail == [
        (1, AttemptStatus.RETRYING, MISSING),
        (2, AttemptStatus.RETRYING, MISSING),
        (3, AttemptStatus.FAILED, MISSING),
    ]
    (dead,) = h.dead(DeadLetterKind.NOTIFICATION)
    assert dead["integrationId"] == "jira"


def test_a_reference_kept_while_the_resolve_waits_is_used_by_its_next_attempt(h: Harness) -> None:
    with Receiver(default=CREATED) as rx:
        add(h, "jira", jira_webhook(rx.url("/rest/api/3/issue")))
        resolved = sample("resolved")
        h.handle(resolved)  # EventBridge does not keep order: the resolve came first
        h.handle(sample("opened"))
        h.drain(5.0)
        create, comment = rx.wait_for(2)
    assert (create.path, comment.path) == ("/rest/api/3/issue", "/rest/api/3/issue/SEC-1/comment")
    assert h.states(resolved["id"])["jira"].status is NotificationState.DELIVERED


def test_other_notifications_keep_the_url_and_the_main_payload(h: Harness) -> None:
    h.config.add_profile(PROFILE, enabledTriggerEvents=["NEW_MANAGEMENT_ZONE_AFFECTED"])
    with Receiver(default=Reply(body=b'{"key": "SEC-7"}')) as rx:
        add(h, "jira", jira_webhook(rx.url("/rest/api/3/issue")))
        h.handle(sample("zone-added"))
        (req,) = rx.wait_for(1)
    assert req.path == "/rest/api/3/issue" and "fields" in json.loads(req.body)
    assert h.references.get(PROBLEM, "jira") == StoredReference("issueKey", "SEC-7", 1767268800.0)


def test_a_resolved_notification_without_a_route_goes_to_the_url_and_keeps_nothing(h: Harness) -> None:
    with Receiver(default=CREATED) as rx:
        add(h, "plain", jira_webhook(rx.url("/hook"), resolved=None))
        h.handle(sample("resolved"))
        (req,) = rx.wait_for(1)
    assert req.path == "/hook" and "fields" in json.loads(req.body)
    # Only the answer to a notification that does not resolve is a reference.
    assert h.references.get(PROBLEM, "plain") is None


def test_the_resolved_url_goes_through_the_ssrf_guard(h: Harness) -> None:
    h.dispatcher._pool.shutdown(wait=True)
    h.dispatcher = h.build(h.settings.replace(ssrf_allow_cidrs=()))
    with Receiver(default=CREATED) as rx:
        add(h, "jira", jira_webhook(rx.url("/rest/api/3/issue")))
        h.references.put(PROBLEM, "jira", StoredReference("issueKey", "SEC-1", 0.0))
        h.handle(sample("resolved"))
        assert rx.requests == []
    (record,) = records(h, "jira")
    assert record.status is AttemptStatus.FAILED and record.error == "blocked: 127.0.0.1 is loopback"


@pytest.mark.parametrize(
    ("answer", "note"),
    [
        (b"<html>created</html>", "the answer is not JSON"),
        (b'{"key": NaN}', "the answer is not JSON"),
        (b'{"id": "1"}', "the answer has no value at /key"),
        (b'{"key": true}', "the value at /key is true/false, not a string or number"),
    ],
)
def test_an_answer_without_a_reference_is_delivered_and_says_so(h: Harness, answer: bytes, note: str) -> None:
    with Receiver(default=Reply(status=201, body=answer)) as rx:
        add(h, "jira", jira_webhook(rx.url("/rest/api/3/issue")))
        opened = sample("opened")
        h.handle(opened)
        rx.wait_for(1)
    assert h.states(opened["id"])["jira"].status is NotificationState.DELIVERED
    (record,) = records(h, "jira")
    assert record.status is AttemptStatus.SUCCEEDED and record.error == f"receiver reference not kept: {note}"
    assert h.references.get(PROBLEM, "jira") is None


def test_a_number_is_kept_as_written_and_a_later_answer_replaces_it(h: Harness) -> None:
    with Receiver(default=Reply(body=b'{"alert": {"id": 10001}}')) as rx:
        add(
            h,
            "ops",
            jira_webhook(
                rx.url("/v2/alerts"),
                receiverReference={"name": "alertId", "pointer": "/alert/id"},
                resolved=None,
            ),
        )
        h.handle(sample("opened"))
        assert h.references.get(PROBLEM, "ops") == StoredReference("alertId", "10001", 1767268800.0)
        rx.default = Reply(body=b'{"alert": {"id": "A-2"}}')
        h.handle(sample("reopened"))
        rx.wait_for(2)
    assert h.references.get(PROBLEM, "ops") == StoredReference("alertId", "A-2", 1767268800.0)


def test_a_value_holding_a_secret_is_never_kept(h: Harness) -> None:
    with Receiver(default=Reply(body=b'{"key": "token-secret"}')) as rx:
        add(
            h,
            "jira",
            jira_webhook(rx.url("/rest/api/3/issue"), payload='{"t": "{Secret[token]}"}'),
            secrets=[{"name": "token", "value": "token-secret"}],
        )
        h.handle(sample("opened"))
        rx.wait_for(1)
    assert h.references.get(PROBLEM, "jira") is None
    (record,) = records(h, "jira")
    assert record.error == "receiver reference not kept: the value holds one of the integration's secrets"


def test_a_reference_under_another_name_is_missing(h: Harness) -> None:
    with Receiver(default=CREATED) as rx:
        add(h, "jira", jira_webhook(rx.url("/rest/api/3/issue")))
        # Kept before the integration's reference was renamed: not the one its templates name.
        h.references.put(PROBLEM, "jira", StoredReference("ticket", "OLD-1", 0.0))
        resolved = sample("resolved")
        h.handle(resolved)
        assert rx.requests == []
    (record,) = records(h, "jira")
    assert (record.status, record.error) == (AttemptStatus.RETRYING, MISSING)


def test_a_secret_in_the_resolved_path_is_filled_in_and_masked_in_the_record(h: Harness) -> None:
    token = "path-token-5f3e2d1c"
    echo = Reply(status=302, headers=(("Location", f"/login?next=/hooks/{token}/resolve"),))
    with Receiver(default=echo) as rx:
        webhook = jira_webhook(
            rx.url("/hooks/open"),
            resolved={"path": "/hooks/{Secret[token]}/resolve/{SecurityProblemId}", "payload": "{}"},
        )
        add(h, "hook", webhook, secrets=[{"name": "token", "value": token}])
        h.handle(sample("resolved"))
        (req,) = rx.wait_for(1)
    assert req.path == f"/hooks/{token}/resolve/S-1234"
    (record,) = records(h, "hook")
    assert record.error == "redirect to /login?next=/hooks/***/resolve not followed"
    assert token not in record.model_dump_json()


# ---- test-send and redelivery through the notifier --------------------------------------------


def notifier(references: InMemoryReceiverReferences) -> Notifier:
    cfg = Settings().replace(ssrf_allow_cidrs=("127.0.0.0/8",))
    guard = SsrfGuard.from_settings(cfg, resolver=lambda host, port: ["127.0.0.1"])
    sender = WebhookSender(cfg, pool=urllib3.PoolManager(), guard=guard)
    return Notifier(InMemoryDeliveryLog(), cfg, sender=sender, references=references)


def stored(url: str) -> Integration:
    doc = {"id": "jira", "displayName": "jira", "alertingProfileId": "p", "webhook": jira_webhook(url)}
    return Integration.model_validate({**doc, "version": 1, "createdAt": "x", "updatedAt": "x"})


def test_a_test_send_renders_the_sample_and_keeps_nothing() -> None:
    references = InMemoryReceiverReferences()
    resolved = parse_eventbridge(sample("resolved"))
    with Receiver(default=CREATED) as rx:
        out = notifier(references).attempt(
            resolved, stored(rx.url("/rest/api/3/issue")), 1, kind=RecordKind.TEST
        )
        opened = parse_eventbridge(sample("opened"))
        notifier(references).attempt(opened, stored(rx.url("/rest/api/3/issue")), 1, kind=RecordKind.TEST)
        comment, _create = rx.wait_for(2)
    assert out.outcome.delivered and out.record.error is None
    assert comment.path == "/rest/api/3/issue/RECEIVER-REF/comment"
    assert json.loads(comment.body) == {"body": "S-1234 resolved, see RECEIVER-REF"}
    assert references.get(PROBLEM, "jira") is None  # a test never stands for a real problem


def test_a_redelivery_uses_the_kept_reference_and_fails_at_once_without_one() -> None:
    references = InMemoryReceiverReferences()
    resolved = parse_eventbridge(sample("resolved"))
    with Receiver(default=CREATED) as rx:
        first = notifier(references).attempt(
            resolved, stored(rx.url("/rest/api/3/issue")), 1, kind=RecordKind.REDELIVERY
        )
        assert (first.record.status, first.record.error) == (AttemptStatus.FAILED, MISSING)
        references.put(PROBLEM, "jira", StoredReference("issueKey", "SEC-5", 0.0))
        again = notifier(references).attempt(
            resolved, stored(rx.url("/rest/api/3/issue")), 1, kind=RecordKind.REDELIVERY
        )
        (req,) = rx.wait_for(1)
    assert again.outcome.delivered and req.path == "/rest/api/3/issue/SEC-5/comment"


def test_a_test_sent_again_is_still_a_test_for_references() -> None:
    references = InMemoryReceiverReferences()
    with Receiver(default=CREATED) as rx:
        url = rx.url("/rest/api/3/issue")
        out = notifier(references).attempt(
            parse_eventbridge(sample("resolved")),
            stored(url),
            1,
            kind=RecordKind.REDELIVERY,
            test_marker="true",
        )
        notifier(references).attempt(
            parse_eventbridge(sample("opened")),
            stored(url),
            1,
            kind=RecordKind.REDELIVERY,
            test_marker="true",
        )
        comment, _create = rx.wait_for(2)
    assert out.outcome.delivered and comment.path == "/rest/api/3/issue/RECEIVER-REF/comment"
    assert references.get(PROBLEM, "jira") is None


class _Broken(InMemoryReceiverReferences):
    def get(self, problem_id: str, integration_id: str) -> StoredReference | None:
        raise ConnectionError("store down")

    def put(self, problem_id: str, integration_id: str, reference: StoredReference) -> bool:
        raise ConnectionError("store down")


def test_a_store_that_fails_delays_a_resolve_and_never_fails_a_delivery() -> None:
    with Receiver(default=CREATED) as rx:
        url = rx.url("/rest/api/3/issue")
        resolve = notifier(_Broken()).attempt(parse_eventbridge(sample("resolved")), stored(url), 1)
        create = notifier(_Broken()).attempt(parse_eventbridge(sample("opened")), stored(url), 1)
        rx.wait_for(1)
    assert resolve.outcome.retryable and resolve.record.status is AttemptStatus.RETRYING
    assert resolve.record.error == "receiver reference could not be read (ConnectionError)"
    assert create.outcome.delivered and create.record.status is AttemptStatus.SUCCEEDED
    assert create.record.error == "receiver reference not kept: storage error (ConnectionError)"
