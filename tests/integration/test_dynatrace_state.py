"""The Dynatrace poller's storage on the moto endpoint: cursor, per-problem state, token secret, bus."""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest

from secnotify.sources.dynatrace.mapping import ProblemState
from secnotify.storage.client import dynamodb_client
from secnotify.storage.dynatrace import DynamoDynatraceState, EventBusPutter, TokenSecret

pytestmark = pytest.mark.moto


def test_the_cursor_only_moves_forward(stack: Any) -> None:
    state = DynamoDynatraceState(dynamodb_client(), stack.table_name)
    assert state.cursor("problems") is None
    state.advance_cursor("problems", 2000)
    state.advance_cursor("problems", 1000)  # a slower, older poll finishing late
    assert state.cursor("problems") == 2000
    state.advance_cursor("problems", 3000)
    assert (state.cursor("problems"), state.cursor("attacks")) == (3000, None)


def test_problem_and_attack_states_round_trip_in_batches(stack: Any) -> None:
    state = DynamoDynatraceState(dynamodb_client(), stack.table_name)
    states = {str(n): ProblemState(n, n + 1, ("ASSESSMENT_CHANGED",), "OPEN", "HIGH") for n in range(130)}
    state.put_problems(states)
    assert state.problems([*states, "unknown"]) == states
    state.put_attacks({"a1": "EXPLOITED:5", "a2": "BLOCKED:6"})
    assert state.attacks(["a1", "a2", "a3"]) == {"a1": "EXPLOITED:5", "a2": "BLOCKED:6"}


@pytest.mark.parametrize(
    ("stored", "token"),
    [("dt0c01.ABC.def", "dt0c01.ABC.def"), ('{"token": " dt0c01.ABC.def "}', "dt0c01.ABC.def")],
)
def test_the_token_is_the_secret_string_or_its_token_field(stack: Any, stored: str, token: str) -> None:
    client = boto3.client("secretsmanager", endpoint_url=stack.endpoint_url, region_name=stack.region)
    arn = client.create_secret(Name=f"dt-{uuid.uuid4().hex[:8]}", SecretString=stored)["ARN"]
    secret = TokenSecret(arn, client)
    assert secret.value() == token
    assert token not in repr(secret)


@pytest.mark.parametrize("stored", ['{"apiToken": "x"}', "dt0c01 with spaces", "{not json", "\u0000"])
def test_a_secret_that_holds_no_usable_token_is_refused_without_showing_it(stack: Any, stored: str) -> None:
    client = boto3.client("secretsmanager", endpoint_url=stack.endpoint_url, region_name=stack.region)
    arn = client.create_secret(Name=f"dt-{uuid.uuid4().hex[:8]}", SecretString=stored)["ARN"]
    with pytest.raises(ValueError) as refused:
        TokenSecret(arn, client).value()
    assert stored not in str(refused.value)


def test_events_go_out_in_batches_of_ten_and_an_oversized_one_is_refused_before_any_put(stack: Any) -> None:
    events = boto3.client("events", endpoint_url=stack.endpoint_url, region_name=stack.region)
    bus = EventBusPutter(events, stack.event_bus_name, stack.source_name)
    bus.put([("Security Problem Opened", {"securityProblemId": str(n), "origin": "test"}) for n in range(23)])
    assert bus.calls == 3
    with pytest.raises(ValueError, match="larger than EventBridge accepts"):
        bus.put([("Security Problem Opened", {"x": 1}), ("Security Problem Opened", {"d": "x" * 300_000})])
    assert bus.calls == 3
