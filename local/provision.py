"""Create on a local AWS endpoint (moto server) the stateful resources that template.yaml declares.

The template is the single source of truth: table keys, queue settings, the dispatcher's
EventBridge rules (bus, pattern and State) and the function environment are all read from it,
so the local stack cannot drift from what ``sam deploy`` creates. ``local.cfn`` evaluates the
template; this module only creates what it describes (KMS keys, tables, queues, the
dispatcher's rules) through boto3.
Lambda, API Gateway, logs and alarms have no local counterpart; the local runner plays the
functions and drains the rule's inbox queue instead.

When the template's ``EmailSenderIdentity`` is set (the local stack sets it), that identity is
created in the endpoint's SES, which verifies it at once, as a real account would after its DNS
records or confirmation mail.

Usage: ``python -m local.provision [--endpoint-url URL] [--prefix P] [Name=Value ...]``
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from local.cfn import (
    TEMPLATE_PATH,
    Resolver,
    function_environment,
    function_events,
    load_template,
    resolve_parameters,
    resources_of_type,
    rule_state,
)

DISPATCHER = "DispatcherFunction"
CONFIG_API = "ConfigApiFunction"
# The local sink listens on loopback, so the demo must be allowed to reach it.
LOCAL_SSRF_ALLOW_CIDRS = "127.0.0.0/8,::1/128"
# Mail comes from secnotify@example.com, through the endpoint's SES.
LOCAL_EMAIL_IDENTITY = "example.com"
LOCAL_PARAMETER_DEFAULTS: dict[str, str] = {
    "SsrfAllowCidrs": LOCAL_SSRF_ALLOW_CIDRS,
    "EmailSenderIdentity": LOCAL_EMAIL_IDENTITY,
}


def _kebab(logical_id: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", logical_id).lower()


@dataclass(frozen=True)
class LocalRule:
    """One EventBridgeRule event of the dispatcher, as created locally."""

    event_id: str
    name: str
    arn: str
    bus: str
    state: str


@dataclass(frozen=True)
class LocalStack:
    """What ``provision`` created; hand ``environment()`` to the handlers you run locally."""

    endpoint_url: str
    region: str
    table_name: str
    retry_queue_url: str
    dead_letter_queue_url: str
    inbox_queue_url: str
    event_bus_name: str
    source_name: str
    rule_name: str
    function_environments: Mapping[str, Mapping[str, str]] = field(default_factory=dict, repr=False)
    # Every rule of the dispatcher, in template order; the first is ``rule_name``'s.
    rules: tuple[LocalRule, ...] = ()
    table_names: tuple[str, ...] = ()
    queue_urls: tuple[str, ...] = ()
    # The SES identity mail is sent from; empty when email is off. Shared by every stack on the
    # endpoint, so ``delete`` leaves it.
    email_identity: str = ""

    def environment(self, function: str = DISPATCHER) -> dict[str, str]:
        """Environment variables template.yaml gives ``function``, resolved for the local stack."""
        if function not in self.function_environments:
            raise KeyError(f"no function {function} in the template")
        return dict(self.function_environments[function])

    def delete(self) -> None:
        """Delete this stack's rules, queues and tables from the endpoint.

        Stacks on one endpoint share its event buses: a rule left behind goes on copying every
        matching event into an inbox nothing drains, and each copy makes the next one slower.
        """
        session = _session(self.region)
        events = session.client("events", endpoint_url=self.endpoint_url)
        for rule in self.rules:
            targets = events.list_targets_by_rule(Rule=rule.name, EventBusName=rule.bus)["Targets"]
            if targets:
                events.remove_targets(Rule=rule.name, EventBusName=rule.bus, Ids=[t["Id"] for t in targets])
            events.delete_rule(Name=rule.name, EventBusName=rule.bus)
        sqs = session.client("sqs", endpoint_url=self.endpoint_url)
        for url in self.queue_urls:
            sqs.delete_queue(QueueUrl=url)
        dynamodb = session.client("dynamodb", endpoint_url=self.endpoint_url)
        for name in self.table_names:
            dynamodb.delete_table(TableName=name)


def _session(region: str) -> boto3.Session:
    session = boto3.Session(region_name=region)
    if session.get_credentials() is None:
        # moto accepts any credentials; real endpoints use the normal chain above.
        session = boto3.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",  # noqa: S106 - moto placeholder, not a secret
            region_name=region,
        )
    return session


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


_TABLE_KEYS = (
    "KeySchema",
    "AttributeDefinitions",
    "BillingMode",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "ProvisionedThroughput",
    "StreamSpecification",
)


def _provision_table(dynamodb: Any, resolver: Resolver, logical_id: str, name: str) -> None:
    properties = resolver.template["Resources"][logical_id]["Properties"]
    request = {key: resolver.value(properties[key]) for key in _TABLE_KEYS if key in properties}
    try:
        dynamodb.describe_table(TableName=name)
    except ClientError as error:
        if _error_code(error) != "ResourceNotFoundException":
            raise
        dynamodb.create_table(TableName=name, **request)
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1})

    ttl = resolver.value(properties.get("TimeToLiveSpecification", {}))
    if ttl.get("Enabled"):
        current = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    pitr = resolver.value(properties.get("PointInTimeRecoverySpecification", {}))
    if pitr.get("PointInTimeRecoveryEnabled"):
        dynamodb.update_continuous_backups(
            TableName=name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    resolver.resources[logical_id] = {"Ref": name, "Arn": _table_arn(dynamodb, name)}


def _table_arn(dynamodb: Any, name: str) -> str:
    return str(dynamodb.describe_table(TableName=name)["Table"]["TableArn"])


_QUEUE_ATTRIBUTES = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def _cfn_attribute(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ensure_kms_key(kms: Any, alias: str) -> tuple[str, str]:
    """The stack's customer-managed key, found again by its alias on later runs."""
    try:
        meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
    except ClientError as error:
        if _error_code(error) != "NotFoundException":
            raise
        meta = kms.create_key(Description=f"secnotify local {alias}")["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
    return str(meta["KeyId"]), str(meta["Arn"])


def _ensure_queue(sqs: Any, name: str, attributes: Mapping[str, str]) -> tuple[str, str]:
    try:
        url = str(sqs.get_queue_url(QueueName=name)["QueueUrl"])
        if attributes:
            sqs.set_queue_attributes(QueueUrl=url, Attributes=dict(attributes))
    except ClientError as error:
        if _error_code(error) not in {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}:
            raise
        url = str(sqs.create_queue(QueueName=name, Attributes=dict(attributes))["QueueUrl"])
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, str(arn)


def _provision_queues(sqs: Any, resolver: Resolver, prefix: str) -> None:
    queues = {
        logical_id: resource.get("Properties", {})
        for logical_id, resource in resources_of_type(resolver.template, "AWS::SQS::Queue").items()
    }
    # Create all first, then wire redrive policies, which point at other queues' ARNs.
    for logical_id, properties in queues.items():
        attributes = {
            key: _cfn_attribute(resolver.value(properties[key]))
            for key in _QUEUE_ATTRIBUTES
            if key in properties
        }
        name = f"{prefix}-{_kebab(logical_id)}" + (".fifo" if attributes.get("FifoQueue") == "true" else "")
        url, arn = _ensure_queue(sqs, name, attributes)
        resolver.resources[logical_id] = {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}
    for logical_id, properties in queues.items():
        if "RedrivePolicy" in properties:
            redrive = resolver.value(properties["RedrivePolicy"])
            sqs.set_queue_attributes(
                QueueUrl=resolver.resources[logical_id]["Ref"],
                Attributes={"RedrivePolicy": json.dumps(redrive)},
            )


def _provision_inbox(sqs: Any, resolver: Resolver, prefix: str) -> tuple[str, str]:
    """The queue the dispatcher's rules target locally, standing in for Lambda's async event queue.

    Its redrive policy does what the function's EventInvokeConfig does in AWS: after the first
    attempt and MaximumRetryAttempts retries, the event goes to the dead-letter queue.
    """
    properties = resolver.template["Resources"][DISPATCHER]["Properties"]
    invoke = resolver.value(properties.get("EventInvokeConfig", {}))
    timeout = resolver.value(properties.get("Timeout", 30))
    redrive = {
        "deadLetterTargetArn": resolver.get_att("DeadLetterQueue", "Arn"),
        "maxReceiveCount": int(invoke.get("MaximumRetryAttempts", 2)) + 1,
    }
    attributes = {
        # An invocation runs at most the function's timeout before its message may come back.
        "VisibilityTimeout": _cfn_attribute(timeout),
        "RedrivePolicy": json.dumps(redrive),
    }
    return _ensure_queue(sqs, f"{prefix}-dispatcher-inbox", attributes)


def _allow_rule_to_send(sqs: Any, queue_url: str, queue_arn: str, rule_arns: list[str]) -> None:
    # Not enforced by moto, but needed when AWS_ENDPOINT_URL points at a real endpoint.
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DispatcherRules",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arns}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": json.dumps(policy)})


def _ensure_event_bus(events: Any, name: str) -> None:
    if name == "default":
        return
    try:
        events.create_event_bus(Name=name)
    except ClientError as error:
        if _error_code(error) != "ResourceAlreadyExistsException":
            raise


def _provision_email_identity(ses: Any, identity: str) -> None:
    """The sender identity, created unless the endpoint's SES knows it already."""
    if not identity:
        return
    try:
        ses.get_email_identity(EmailIdentity=identity)
    except ClientError as error:
        if _error_code(error) != "NotFoundException":
            raise
        ses.create_email_identity(EmailIdentity=identity)


def _provision_keys(kms: Any, resolver: Resolver, prefix: str) -> None:
    for logical_id in resources_of_type(resolver.template, "AWS::KMS::Key"):
        key_id, arn = _ensure_kms_key(kms, f"alias/{prefix}-{_kebab(logical_id)}")
        resolver.resources[logical_id] = {"Ref": key_id, "Arn": arn, "KeyId": key_id}


_INBOX_TARGET = "dispatcher-inbox"


def _route(events: Any, name: str, bus: str, state: str, inbox_arn: str) -> None:
    """Targets the inbox from an enabled rule; a disabled rule keeps no target.

    AWS does not deliver through a disabled rule, but moto does (it ignores ``State``), so only
    a rule without a target routes nothing here as it would there.
    """
    if state != "DISABLED":
        events.put_targets(Rule=name, EventBusName=bus, Targets=[{"Id": _INBOX_TARGET, "Arn": inbox_arn}])
        return
    targets = events.list_targets_by_rule(Rule=name, EventBusName=bus)["Targets"]
    if targets:
        events.remove_targets(Rule=name, EventBusName=bus, Ids=[t["Id"] for t in targets])


def _provision_rules(events: Any, resolver: Resolver, prefix: str, inbox_arn: str) -> list[LocalRule]:
    """One EventBridge rule per EventBridgeRule event of the dispatcher, on the bus the event
    names (the default bus when it names none), in the State the template gives it."""
    rule_events = function_events(resolver.template, DISPATCHER, "EventBridgeRule")
    if not rule_events:
        raise ValueError(f"{DISPATCHER} has no EventBridgeRule event in the template")
    rules: list[LocalRule] = []
    for event_id, properties in rule_events.items():
        bus = str(resolver.value(properties.get("EventBusName", "default")))
        state = rule_state(resolver, properties)
        _ensure_event_bus(events, bus)
        name = f"{prefix}-{_kebab(DISPATCHER)}-{_kebab(event_id)}"
        pattern = resolver.value(properties["Pattern"])
        rule_arn = events.put_rule(
            Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), State=state
        )["RuleArn"]
        _route(events, name, bus, state, inbox_arn)
        rules.append(LocalRule(event_id=event_id, name=name, arn=str(rule_arn), bus=bus, state=state))
    return rules


def provision(
    endpoint_url: str,
    region: str = "us-east-1",
    parameters: dict[str, str] | None = None,
    prefix: str = "secnotify",
    template_path: Path | str = TEMPLATE_PATH,
) -> LocalStack:
    """Create (or bring up to date) the template's table, queues and dispatcher rules on ``endpoint_url``.

    Every EventBridge rule of the dispatcher targets one SQS queue, ``<prefix>-dispatcher-inbox``,
    which the local runner drains into the dispatcher handler. Safe to run again on the same endpoint.
    """
    template = load_template(template_path)
    # Parameters are checked before any client exists, so bad ones leave the endpoint untouched.
    values = resolve_parameters(template, {**LOCAL_PARAMETER_DEFAULTS, **(parameters or {})})
    resolver = Resolver(template=template, parameters=values, region=region, stack_name=prefix)
    session = _session(region)
    _provision_keys(session.client("kms", endpoint_url=endpoint_url), resolver, prefix)

    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    events = session.client("events", endpoint_url=endpoint_url)

    tables = list(resources_of_type(template, "AWS::DynamoDB::Table"))
    for logical_id in tables:
        _provision_table(dynamodb, resolver, logical_id, f"{prefix}-{_kebab(logical_id)}")
    _provision_queues(sqs, resolver, prefix)

    inbox_url, inbox_arn = _provision_inbox(sqs, resolver, prefix)
    rules = _provision_rules(events, resolver, prefix, inbox_arn)
    _allow_rule_to_send(sqs, inbox_url, inbox_arn, [rule.arn for rule in rules])
    identity = values.get("EmailSenderIdentity", "")
    _provision_email_identity(session.client("sesv2", endpoint_url=endpoint_url), identity)

    environments = {
        logical_id: function_environment(template, resolver, logical_id)
        for logical_id in resources_of_type(template, "AWS::Serverless::Function")
    }
    return LocalStack(
        endpoint_url=endpoint_url,
        region=region,
        table_name=resolver.get_att(tables[0], "Ref"),
        retry_queue_url=resolver.get_att("RetryQueue", "Ref"),
        dead_letter_queue_url=resolver.get_att("DeadLetterQueue", "Ref"),
        inbox_queue_url=inbox_url,
        event_bus_name=rules[0].bus,
        source_name=values["SourceName"],
        rule_name=rules[0].name,
        function_environments=environments,
        rules=tuple(rules),
        table_names=tuple(resolver.get_att(logical_id, "Ref") for logical_id in tables),
        queue_urls=(
            *(resolver.get_att(q, "Ref") for q in resources_of_type(template, "AWS::SQS::Queue")),
            inbox_url,
        ),
        email_identity=identity,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--endpoint-url", default="http://127.0.0.1:4566")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--prefix", default="secnotify")
    parser.add_argument("overrides", nargs="*", metavar="Name=Value", help="template parameter overrides")
    args = parser.parse_args(argv)
    overrides = dict(item.split("=", 1) for item in args.overrides)
    stack = provision(args.endpoint_url, region=args.region, parameters=overrides, prefix=args.prefix)
    summary: dict[str, Any] = {
        k: v for k, v in vars(stack).items() if k not in {"function_environments", "rules"}
    }
    summary["rules"] = [vars(rule) for rule in stack.rules]
    summary["environment"] = stack.environment()
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
