"""Each integration version's send state (screened headers, signing key, masker) is worked out
once and reused by every send, replaced when the version changes, and bounded in number; the
sends stay exactly what they were: same headers, valid signatures, secrets masked."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3
from standardwebhooks.webhooks import Webhook

from secnotify.delivery import SendState, SendStateCache, SsrfGuard, WebhookSender, generate_secret
from secnotify.models.event import sample_event
from secnotify.models.integration import Integration
from secnotify.service.notify import Notifier, send_state
from secnotify.settings import Settings
from tests.fakes.ledger import InMemoryDeliveryLog
from tests.integration.servers import Receiver, Reply

TOKEN = "Bearer tok-5a4b3c2d1e0f9876"


def make_notifier(**changes: object) -> Notifier:
    cfg = Settings().replace(ssrf_allow_cidrs=("127.0.0.0/8",), **changes)
    guard = SsrfGuard.from_settings(cfg, resolver=lambda host, port: ["127.0.0.1"])
    sender = WebhookSender(cfg, pool=urllib3.PoolManager(), guard=guard)
    return Notifier(InMemoryDeliveryLog(), cfg, sender=sender)


def integration(rx: Receiver, version: int, team: str = "blue", **changes: Any) -> Integration:
    doc: dict[str, Any] = {
        "id": "int-1",
        "displayName": "hook",
        "alertingProfileId": "prof-1",
        "webhook": {
            "url": rx.url("/hook"),
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Authorization", "value": TOKEN, "secret": True},
                {"name": "X-Team", "value": team},
            ],
            "payload": '{"title": "{Title}"}',
        },
        "signingSecret": None,
        "version": version,
        "createdAt": "2026-01-01T00:00:00Z",
        "updatedAt": "2026-01-01T00:00:00Z",
    }
    doc.update(changes)
    return Integration.model_validate(doc)


@pytest.fixture
def rx():
    with Receiver() as receiver:
        yield receiver


def test_an_edit_sends_the_new_versions_headers(rx: Receiver) -> None:
    notifier = make_notifier()
    event = sample_event()
    for version, team in ((1, "blue"), (1, "blue"), (2, "red"), (2, "red")):
        assert notifier.attempt(event, integration(rx, version, team), 1).outcome.delivered
    assert [r.header("X-Team") for r in rx.wait_for(4)] == ["blue", "blue", "red", "red"]
    assert len(notifier.send_states) == 1  # one entry per integration, replaced on the edit


def test_one_version_is_prepared_once_and_reused(rx: Receiver) -> None:
    notifier = make_notifier()
    item = integration(rx, 3)
    for _ in range(3):
        assert notifier.attempt(sample_event(), item, 1).outcome.delivered

    def must_not_build() -> SendState:
        raise AssertionError("the state of version 3 was built again")

    kept = notifier.send_states.get(item.id, 3, must_not_build)
    assert kept.wire_headers["X-Team"] == "blue"
    assert notifier.send_states.get(item.id, 4, lambda: send_state(item)) is not kept


def test_a_rotated_signing_secret_signs_with_the_new_key(rx: Receiver) -> None:
    notifier = make_notifier()
    old, new = generate_secret(), generate_secret()
    for version, secret in ((1, old), (1, old), (2, new)):
        item = integration(rx, version, signingSecret=secret)
        assert notifier.attempt(sample_event(), item, 1).outcome.delivered
    got = rx.wait_for(3)
    for request, secret in zip(got, (old, old, new), strict=True):
        headers = dict(request.headers)
        assert Webhook(secret).verify(request.body, headers) == json.loads(request.body)


def test_an_echoed_secret_is_masked_on_every_send_from_the_cached_state(rx: Receiver) -> None:
    notifier = make_notifier()
    secret = generate_secret()
    item = integration(rx, 1, signingSecret=secret)
    echo = f"denied: {TOKEN} {secret}".encode()
    rx.reply(Reply(status=401, body=echo), Reply(status=401, body=echo))
    for _ in range(2):
        attempt = notifier.attempt(sample_event(), item, 1)
        assert attempt.record.responseBody == "denied: *** ***"
        assert "tok-5a4b3c2d1e0f9876" not in attempt.record.model_dump_json()
        assert secret.removeprefix("whsec_") not in attempt.record.model_dump_json()


def test_a_header_that_cannot_be_sent_is_refused_on_every_send(rx: Receiver) -> None:
    notifier = make_notifier()
    item = integration(rx, 1, team="blue\r\nX-Injected: 1")
    for _ in range(2):
        outcome = notifier.attempt(sample_event(), item, 1).outcome
        assert (outcome.delivered, outcome.retryable) == (False, False)
        assert outcome.error == "header X-Team has a value with control characters or line breaks"
    assert rx.requests == []


def test_the_cache_keeps_at_most_its_size_least_recently_used_first() -> None:
    cache = SendStateCache(max_entries=3)
    states = {key: send_state_for(key) for key in "abcde"}
    for key in "abc":
        cache.get(key, 1, lambda k=key: states[k])
    cache.get("a", 1, lambda: states["a"])  # a is now the most recently used
    for key in "de":
        cache.get(key, 1, lambda k=key: states[k])
    assert len(cache) == 3
    built: list[str] = []
    for key in "ade":
        cache.get(key, 1, lambda k=key: built.append(k) or states[k])
    assert built == []  # a, d, e kept; b and c went first
    cache.get("b", 1, lambda: built.append("b") or states["b"])
    assert built == ["b"]


def test_the_notifier_keeps_one_state_per_configurable_integration() -> None:
    assert make_notifier(max_integrations=7).send_states.max_entries == 7


def send_state_for(key: str) -> SendState:
    from secnotify.delivery import prepare_send

    return prepare_send((("X-Key", key),), None, frozenset())
