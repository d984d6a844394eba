"""template.yaml's Dynatrace ingest: parameters, the condition, the schedule, least-privilege IAM,
and an environment the settings accept."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from local.cfn import Resolver, load_template, resolve_parameters
from secnotify.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
URL = "https://abc12345.live.dynatrace.com"
ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:dynatrace-token-AbCdEf"
FUNCTION, LOG_GROUP = "DynatraceIngestFunction", "DynatraceIngestLogGroup"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def resolver(template: dict[str, Any], **parameters: str) -> Resolver:
    return Resolver(template=template, parameters=resolve_parameters(template, parameters))


def test_the_poller_and_its_log_group_exist_only_when_the_url_is_set(template: dict[str, Any]) -> None:
    for name in (FUNCTION, LOG_GROUP):
        assert template["Resources"][name]["Condition"] == "DynatraceEnabled"
    assert template["Parameters"]["DynatraceEnvironmentUrl"]["Default"] == ""
    assert not resolver(template).condition("DynatraceEnabled")
    assert resolver(template, DynatraceEnvironmentUrl=URL, DynatraceTokenSecretArn=ARN).condition(
        "DynatraceEnabled"
    )


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("", True),
        (URL, True),
        ("https://managed.example.com/e/1a2b-3c4d", True),
        ("https://activegate.example.com:9999/e/env1/", True),
        ("http://abc12345.live.dynatrace.com", False),
        ("https://user:pw@abc12345.live.dynatrace.com", False),
        ("https://abc12345.live.dynatrace.com/?x=1", False),
    ],
)
def test_the_url_parameter_takes_https_environment_urls_only(
    template: dict[str, Any], url: str, ok: bool
) -> None:
    pattern = template["Parameters"]["DynatraceEnvironmentUrl"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, url)) is ok


@pytest.mark.parametrize(("minutes", "expression"), [("1", "rate(1 minute)"), ("5", "rate(5 minutes)")])
def test_an_eventbridge_scheduler_schedule_polls_every_dynatrace_poll_minutes(
    template: dict[str, Any], minutes: str, expression: str
) -> None:
    assert template["Parameters"]["DynatracePollMinutes"]["Default"] == 1
    event = template["Resources"][FUNCTION]["Properties"]["Events"]["Poll"]
    assert event["Type"] == "ScheduleV2"
    r = resolver(template, DynatraceEnvironmentUrl=URL, DynatracePollMinutes=minutes)
    assert r.value(event["Properties"]["ScheduleExpression"]) == expression


def test_the_poller_may_read_its_secret_put_on_its_bus_and_touch_table_items_only(
    template: dict[str, Any],
) -> None:
    props = template["Resources"][FUNCTION]["Properties"]
    r = resolver(template, DynatraceEnvironmentUrl=URL, DynatraceTokenSecretArn=ARN, EventBusName="security")
    statements = {s["Sid"]: s for policy in props["Policies"] for s in policy["Statement"]}
    assert set(statements) == {
        "PollerStateItems",
        "UseEncryptionKeyThroughDynamoDB",
        "ReadTheDynatraceToken",
        "PutCanonicalEvents",
    }
    assert statements["ReadTheDynatraceToken"]["Action"] == "secretsmanager:GetSecretValue"
    assert r.value(statements["ReadTheDynatraceToken"]["Resource"]) == ARN
    assert statements["PutCanonicalEvents"]["Action"] == "events:PutEvents"
    assert r.value(statements["PutCanonicalEvents"]["Resource"]).endswith(":event-bus/security")
    assert all(
        a.startswith("dynamodb:") and "Delete" not in a and "Scan" not in a
        for a in statements["PollerStateItems"]["Action"]
    )
    assert "kms:ViaService" in statements["UseEncryptionKeyThroughDynamoDB"]["Condition"]["StringEquals"]
    assert all(s["Effect"] == "Allow" and "*" not in str(s["Action"]) for s in statements.values())


def test_the_function_environment_is_one_the_poller_settings_accept(template: dict[str, Any]) -> None:
    props = template["Resources"][FUNCTION]["Properties"]
    r = resolver(template, DynatraceEnvironmentUrl=URL, DynatraceTokenSecretArn=ARN)
    env = {k: str(r.value(v)) for k, v in props["Environment"]["Variables"].items()}
    aliases = {field.alias for field in Settings.model_fields.values()}
    assert set(env) <= aliases
    settings = Settings.from_environment(env).for_dynatrace()
    assert (settings.dynatrace_environment_url, settings.dynatrace_token_secret_arn) == (URL, ARN)
    assert (settings.event_bus_name, settings.event_source_name) == ("default", "secnotify")
    assert settings.dynatrace_allow_loopback_http is False
    # over before the next poll starts; a failed one is not retried (the next one resumes)
    assert props["Timeout"] < 60 and props["EventInvokeConfig"]["MaximumRetryAttempts"] == 0
    assert (props["CodeUri"], props["Handler"]) == ("functions/dynatrace_ingest/", "app.lambda_handler")


def test_a_url_without_a_token_secret_is_refused_at_deploy(template: dict[str, Any]) -> None:
    rule = template["Rules"]["DynatraceNeedsItsToken"]
    assert resolver(template, DynatraceEnvironmentUrl=URL).value(rule["RuleCondition"]) is True
    assert resolver(template).value(rule["RuleCondition"]) is False
    (assertion,) = rule["Assertions"]
    assert resolver(template, DynatraceEnvironmentUrl=URL).value(assertion["Assert"]) is False
    assert resolver(template, DynatraceEnvironmentUrl=URL, DynatraceTokenSecretArn=ARN).value(
        assertion["Assert"]
    )
