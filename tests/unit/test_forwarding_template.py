"""forwarding/template.yaml forwards exactly what secnotify's own rules take, to a default bus,
with the role EventBridge needs; its patterns cannot drift from template.yaml's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local.cfn import Resolver, function_events, load_template, resolve_parameters, resources_of_type

ROOT = Path(__file__).resolve().parents[2]
TARGET = "arn:aws:events:eu-west-1:111122223333:event-bus/default"


@pytest.fixture(scope="module")
def forwarding() -> dict[str, Any]:
    return load_template(ROOT / "forwarding" / "template.yaml")


@pytest.fixture(scope="module")
def main() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def finding_rules(main: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """secnotify's rules on the default bus, by the parameter that switches each."""
    rules = function_events(main, "DispatcherFunction", "EventBridgeRule")
    by_switch = {}
    for props in rules.values():
        if "State" in props:
            condition = props["State"]["Fn::If"][0]
            (parameter,) = (
                p["Ref"] for p in main["Conditions"][condition]["Fn::Equals"] if isinstance(p, dict)
            )
            by_switch[parameter] = props
    return by_switch


def forwarding_rules(forwarding: dict[str, Any]) -> dict[str, dict[str, Any]]:
    by_switch = {}
    for rule in resources_of_type(forwarding, "AWS::Events::Rule").values():
        props = rule["Properties"]
        condition = props["State"]["Fn::If"][0]
        (parameter,) = (
            p["Ref"] for p in forwarding["Conditions"][condition]["Fn::Equals"] if isinstance(p, dict)
        )
        by_switch[parameter] = props
    return by_switch


def resolver(template: dict[str, Any], **overrides: str) -> Resolver:
    return Resolver(
        template=template,
        parameters=resolve_parameters(template, {"TargetEventBusArn": TARGET, **overrides}),
        resources={
            "ForwardingRole": {"Arn": "arn:role"},
            "ForwardingDeadLetterQueue": {"Ref": "http://q/dlq", "Arn": "arn:dlq"},
        },
    )


def test_the_four_patterns_equal_secnotifys_own(forwarding: dict[str, Any], main: dict[str, Any]) -> None:
    ours, theirs = finding_rules(main), forwarding_rules(forwarding)
    assert len(ours) == 4
    assert set(theirs) == set(ours)
    for switch, props in ours.items():
        assert theirs[switch]["EventPattern"] == props["Pattern"], switch


def test_the_switches_are_secnotifys_parameters(forwarding: dict[str, Any], main: dict[str, Any]) -> None:
    for switch in finding_rules(main):
        spec, own = forwarding["Parameters"][switch], main["Parameters"][switch]
        assert (spec["AllowedValues"], spec["Default"]) == (own["AllowedValues"], own["Default"])


@pytest.mark.parametrize(
    "switch", ["InspectorFindings", "SecurityHubFindings", "SecurityHubOcsfFindings", "GuardDutyFindings"]
)
def test_a_switch_turns_off_its_rule_only(forwarding: dict[str, Any], switch: str) -> None:
    rules = forwarding_rules(forwarding)
    off = resolver(forwarding, **{switch: "Disabled"})
    states = {name: off.value(props["State"]) for name, props in rules.items()}
    assert states == {name: ("DISABLED" if name == switch else "ENABLED") for name in rules}


def test_rules_listen_on_the_default_bus_and_put_on_the_target_bus(forwarding: dict[str, Any]) -> None:
    resolved = resolver(forwarding)
    for name, props in forwarding_rules(forwarding).items():
        assert "EventBusName" not in props, f"{name}: AWS services publish on the default bus only"
        (target,) = resolved.value(props["Targets"])
        assert target["Arn"] == TARGET
        assert target["RoleArn"] == "arn:role"
        assert target["DeadLetterConfig"] == {"Arn": "arn:dlq"}
        assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def test_the_role_may_put_events_on_the_target_bus_only(forwarding: dict[str, Any]) -> None:
    role = resolver(forwarding).value(forwarding["Resources"]["ForwardingRole"]["Properties"])
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    assert statements == [{"Effect": "Allow", "Action": "events:PutEvents", "Resource": TARGET}]


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:events:eu-west-1:111122223333:event-bus/default",
        "arn:aws-us-gov:events:us-gov-west-1:111122223333:event-bus/default",
    ],
)
def test_target_is_a_default_bus(forwarding: dict[str, Any], arn: str) -> None:
    assert resolve_parameters(forwarding, {"TargetEventBusArn": arn})["TargetEventBusArn"] == arn


@pytest.mark.parametrize(
    "arn",
    [
        "",
        "default",
        # secnotify's finding rules listen on the default bus, whatever its EventBusName says.
        "arn:aws:events:eu-west-1:111122223333:event-bus/secnotify",
        "arn:aws:events:eu-west-1:1111:event-bus/default",
        "arn:aws:sqs:eu-west-1:111122223333:default",
    ],
)
def test_anything_else_is_refused(forwarding: dict[str, Any], arn: str) -> None:
    with pytest.raises(ValueError, match="TargetEventBusArn"):
        resolve_parameters(forwarding, {"TargetEventBusArn": arn})


def test_the_dead_letter_queue_takes_only_this_accounts_rules(forwarding: dict[str, Any]) -> None:
    policy = resolver(forwarding).value(
        forwarding["Resources"]["ForwardingDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    )
    allow = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert allow["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow["Condition"] == {
        "ArnLike": {"aws:SourceArn": "arn:aws:events:us-east-1:123456789012:rule/*"}
    }
