"""The audit trail's description of a change: field paths, secrets compared opened and never
shown, and the caller taken from API Gateway's request context."""

from __future__ import annotations

import json
from typing import Any

import pytest

from secnotify.http_api import caller_of
from secnotify.models.audit import AuditAction
from secnotify.service.audit import Auditor, acting_as, changed_paths, current_actor
from secnotify.service.ports.audit import ConfigChange
from secnotify.service.ports.config import ConfigKind
from secnotify.service.secret_fields import seal_integration
from tests.fakes.secrets import InMemorySecrets


def test_paths_name_headers_and_secrets_by_name_and_skip_server_times() -> None:
    before = {
        "displayName": "a",
        "updatedAt": "1",
        "webhook": {"url": "u", "headers": [{"name": "X-A", "value": "1"}, {"name": "X-B", "value": "2"}]},
        "enabledTriggerEvents": ["A"],
    }
    after = {
        "displayName": "a",
        "updatedAt": "2",
        "webhook": {"url": "v", "headers": [{"name": "X-B", "value": "3"}, {"name": "X-C", "value": "4"}]},
        "enabledTriggerEvents": ["A", "B"],
        "enabled": False,
    }
    assert changed_paths(before, after) == [
        "webhook.url",
        "webhook.headers[X-A]",
        "webhook.headers[X-B].value",
        "webhook.headers[X-C]",
        "enabledTriggerEvents",
        "enabled",
    ]
    assert changed_paths(before, before) == []


def _integration(**changes: Any) -> dict[str, Any]:
    doc = {
        "displayName": "pager",
        "alertingProfileId": "p",
        "webhook": {
            "url": "https://events.example.com/v2",
            "headers": [{"name": "Authorization", "value": "Token keep-me", "secret": True}],
            "payload": "{}",
        },
        "secrets": [{"name": "routingKey", "value": "R0UT1NG"}],
        "signingSecret": "whsec_" + "A" * 32,
        "createdAt": "t",
        "updatedAt": "t",
    }
    doc.update(changes)
    return doc


def test_a_secret_is_listed_only_when_its_value_changed_and_its_value_never() -> None:
    box = InMemorySecrets()
    auditor = Auditor(box)
    sealed_before = seal_integration(_integration(), "i1", box)
    resealed = seal_integration(_integration(updatedAt="u"), "i1", box)  # same values, fresh nonces
    assert resealed["signingSecret"] != sealed_before["signingSecret"]
    same = auditor.entry(
        ConfigChange(ConfigKind.INTEGRATION, "i1", AuditAction.UPDATE, sealed_before, resealed, 2)
    )
    assert same.changes == []
    rotated = seal_integration(
        _integration(secrets=[{"name": "routingKey", "value": "N3W"}], signingSecret="whsec_" + "B" * 32),
        "i1",
        box,
    )
    changed = auditor.entry(
        ConfigChange(ConfigKind.INTEGRATION, "i1", AuditAction.UPDATE, sealed_before, rotated, 3)
    )
    assert changed.changes == ["secrets[routingKey].value", "signingSecret"]
    text = changed.model_dump_json() + same.model_dump_json()
    for value in ("R0UT1NG", "N3W", "keep-me", "AAAA", "BBBB", "sn1:"):
        assert value not in text


def test_a_secret_that_cannot_be_opened_counts_as_changed_and_stays_hidden() -> None:
    box = InMemorySecrets()
    before = seal_integration(_integration(), "i1", box)
    moved = seal_integration(_integration(), "other", box)  # sealed for another integration
    entry = Auditor(box).entry(
        ConfigChange(ConfigKind.INTEGRATION, "i1", AuditAction.UPDATE, before, moved, 2)
    )
    assert "signingSecret" in entry.changes and "sn1:" not in entry.model_dump_json()


def test_the_caller_is_the_context_of_the_request_being_served() -> None:
    assert current_actor().principal == "unknown"
    with acting_as("arn:aws:iam::1:user/a", "r1"):
        assert (current_actor().principal, current_actor().request_id) == ("arn:aws:iam::1:user/a", "r1")
        with acting_as("arn:aws:iam::1:user/b"):
            assert current_actor().principal == "arn:aws:iam::1:user/b"
        assert current_actor().principal == "arn:aws:iam::1:user/a"
    assert current_actor().principal == "unknown"


@pytest.mark.parametrize(
    ("event", "caller"),
    [
        (
            {"requestContext": {"requestId": "r", "identity": {"userArn": "arn:aws:iam::1:user/a"}}},
            ("arn:aws:iam::1:user/a", "r"),
        ),
        ({"requestContext": {"requestId": "r", "identity": {"userArn": None}}}, ("local", "r")),
        ({"requestContext": {"identity": "x", "requestId": 5}}, ("local", None)),
        ({"requestContext": []}, ("local", None)),
        ({}, ("local", None)),
        ([], ("local", None)),
    ],
)
def test_the_caller_is_the_iam_arn_api_gateway_verified_or_local(event: Any, caller: tuple[str, Any]) -> None:
    assert caller_of(json.loads(json.dumps(event))) == caller
