"""Create on a local AWS endpoint (moto server) the stateful resources that template.yaml declares.

The template is the single source of truth: table keys, queue settings, the dispatcher's
EventBridge rule and the function environment are all read from it, so the local stack cannot
drift from what ``sam deploy`` creates. Lambda, API Gateway, KMS, logs and alarms have no local
counterpart; the local runner plays the functions and drains the rule's inbox queue instead.

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
import yaml
from botocore.exceptions import ClientError

TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "template.yaml"
DISPATCHER = "DispatcherFunction"
CONFIG_API = "ConfigApiFunction"
# moto's fixed account; only used to resolve ${AWS::AccountId} in local values.
LOCAL_ACCOUNT_ID = "123456789012"
# The local sink listens on loopback, so the demo must be allowed to reach it.
LOCAL_SSRF_ALLOW_CIDRS = "127.0.0.0/8,::1/128"
LOCAL_PARAMETER_DEFAULTS: dict[str, str] = {"SsrfAllowCidrs": LOCAL_SSRF_ALLOW_CIDRS}

_SHORT_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
)


class CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that turns CloudFormation short tags into their long ``Fn::`` form."""


def _node_value(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)


def _add_tag(tag: str, key: str) -> None:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {key: _node_value(loader, node)}

    CfnLoader.add_constructor(f"!{tag}", construct)


def _construct_get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _node_value(loader, node)
    if isinstance(value, str):
        logical_id, _, attribute = value.partition(".")
        value = [logical_id, attribute]
    return {"Fn::GetAtt": value}


_add_tag("Ref", "Ref")
_add_tag("Condition", "Condition")
for _tag in _SHORT_TAGS:
    _add_tag(_tag, f"Fn::{_tag}")
CfnLoader.add_constructor("!GetAtt", _construct_get_att)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """template.yaml as plain data, intrinsic functions in their long form (``{"Ref": ...}``)."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=CfnLoader)  # noqa: S506 - CfnLoader derives from SafeLoader
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation template")
    return data


class _NoValue:
    """``AWS::NoValue``: the property it sits in is dropped."""


NO_VALUE = _NoValue()


def resolve_parameters(
    template: Mapping[str, Any], overrides: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Parameter values as CloudFormation would see them: the overrides, else the defaults."""
    declared: Mapping[str, Any] = template.get("Parameters", {})
    unknown = sorted(set(overrides or {}) - set(declared))
    if unknown:
        raise ValueError(f"unknown template parameter(s): {', '.join(unknown)}")
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if overrides and name in overrides:
            value = str(overrides[name])
        elif "Default" in spec:
            value = str(spec["Default"])
        else:
            raise ValueError(f"parameter {name} has no default and no value was given")
        allowed = spec.get("AllowedValues")
        if allowed is not None and value not in {str(a) for a in allowed}:
            raise ValueError(f"parameter {name}={value!r} is not one of {allowed}")
        pattern = spec.get("AllowedPattern")
        if pattern is not None and not re.fullmatch(pattern, value):
            raise ValueError(f"parameter {name}={value!r} does not match {pattern}")
        values[name] = value
    return values


_SUB_VARIABLE = re.compile(r"\$\{([^}]+)\}")


@dataclass
class Resolver:
    """Evaluates the intrinsic functions of one template for the local stack.

    ``resources`` maps a logical id to its local attributes; ``"Ref"`` is what ``!Ref`` gives.
    Anything without a local counterpart raises ``LookupError`` naming it, so a template change the
    local stack cannot follow fails loudly instead of producing a wrong environment.
    """

    template: Mapping[str, Any]
    parameters: Mapping[str, str]
    region: str = "us-east-1"
    stack_name: str = "secnotify"
    resources: dict[str, dict[str, str]] = field(default_factory=dict)

    def pseudo(self, name: str) -> Any:
        pseudo: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": LOCAL_ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.stack_name,
            "AWS::NoValue": NO_VALUE,
        }
        if name not in pseudo:
            raise LookupError(f"pseudo parameter {name} has no local value")
        return pseudo[name]

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.pseudo(name)
        if name in self.parameters:
            return self.parameters[name]
        return self.get_att(name, "Ref")

    def get_att(self, logical_id: str, attribute: str) -> str:
        attributes = self.resources.get(logical_id)
        if attributes is None or attribute not in attributes:
            what = "!Ref" if attribute == "Ref" else f"!GetAtt .{attribute}"
            raise LookupError(f"{what} {logical_id}: no local counterpart")
        return attributes[attribute]

    def condition(self, name: str) -> bool:
        conditions: Mapping[str, Any] = self.template.get("Conditions", {})
        if name not in conditions:
            raise LookupError(f"condition {name} is not declared")
        return bool(self.value(conditions[name]))

    def sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], {k: self.value(v) for k, v in argument[1].items()}
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, _, attribute = name.partition(".")
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def value(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.value(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (key, argument), *_ = node.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition":
                return self.condition(argument)
            if key == "Fn::GetAtt":
                return self.get_att(argument[0], argument[1])
            if key == "Fn::Sub":
                return self.sub(argument)
            if key == "Fn::If":
                name, when_true, when_false = argument
                return self.value(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.value(a) for a in argument)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.value(argument[0])
            if key == "Fn::And":
                return all(self.value(a) for a in argument)
            if key == "Fn::Or":
                return any(self.value(a) for a in argument)
            if key == "Fn::Join":
                separator, items = argument
                return str(separator).join(str(i) for i in self.value(items))
            if key == "Fn::Split":
                separator, text = argument
                return str(self.value(text)).split(separator)
            if key == "Fn::Select":
                index, items = argument
                return self.value(items)[int(self.value(index))]
            if key.startswith("Fn::"):
                raise LookupError(f"{key} is not supported by the local provisioner")
        resolved = {key: self.value(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}


def _kebab(logical_id: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", logical_id).lower()


def function_environment(template: Mapping[str, Any], resolver: Resolver, function: str) -> dict[str, str]:
    """The environment a function gets in AWS: Globals, then the function's own, resolved."""
    merged: dict[str, Any] = dict(
        template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    resource = template["Resources"][function]
    merged.update(resource.get("Properties", {}).get("Environment", {}).get("Variables", {}))
    resolved = resolver.value(merged)
    return {name: str(value) for name, value in resolved.items()}


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

    def environment(self, function: str = DISPATCHER) -> dict[str, str]:
        """Environment variables template.yaml gives ``function``, resolved for the local stack."""
        if function not in self.function_environments:
            raise KeyError(f"no function {function} in the template")
        return dict(self.function_environments[function])


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
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NotFoundException":
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
        for logical_id, resource in resolver.template["Resources"].items()
        if resource["Type"] == "AWS::SQS::Queue"
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


def provision(
    endpoint_url: str,
    region: str = "us-east-1",
    parameters: dict[str, str] | None = None,
    prefix: str = "secnotify",
    template_path: Path | str = TEMPLATE_PATH,
) -> LocalStack:
    """Create (or bring up to date) the template's table, queues and dispatcher rule on ``endpoint_url``.

    Every EventBridge rule of the dispatcher targets one SQS queue, ``<prefix>-dispatcher-inbox``,
    which the local runner drains into the dispatcher handler. Safe to run again on the same endpoint.
    """
    template = load_template(template_path)
    values = resolve_parameters(template, {**LOCAL_PARAMETER_DEFAULTS, **(parameters or {})})
    resolver = Resolver(template=template, parameters=values, region=region, stack_name=prefix)
    session = _session(region)
    kms = session.client("kms", endpoint_url=endpoint_url)
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::KMS::Key":
            key_id, arn = _ensure_kms_key(kms, f"alias/{prefix}-{_kebab(logical_id)}")
            resolver.resources[logical_id] = {"Ref": key_id, "Arn": arn, "KeyId": key_id}

    dynamodb = session.client("dynamodb", endpoint_url=endpoint_url)
    sqs = session.client("sqs", endpoint_url=endpoint_url)
    events = session.client("events", endpoint_url=endpoint_url)

    tables = [lid for lid, res in template["Resources"].items() if res["Type"] == "AWS::DynamoDB::Table"]
    for logical_id in tables:
        _provision_table(dynamodb, resolver, logical_id, f"{prefix}-{_kebab(logical_id)}")
    _provision_queues(sqs, resolver, prefix)

    inbox_url, inbox_arn = _provision_inbox(sqs, resolver, prefix)
    rule_events = [
        (event_id, event["Properties"])
        for event_id, event in template["Resources"][DISPATCHER]["Properties"].get("Events", {}).items()
        if event["Type"] == "EventBridgeRule"
    ]
    if not rule_events:
        raise ValueError(f"{DISPATCHER} has no EventBridgeRule event in the template")
    rule_names: list[str] = []
    rule_arns: list[str] = []
    bus_names: list[str] = []
    for event_id, properties in rule_events:
        bus = str(resolver.value(properties.get("EventBusName", "default")))
        _ensure_event_bus(events, bus)
        name = f"{prefix}-{_kebab(DISPATCHER)}-{_kebab(event_id)}"
        pattern = resolver.value(properties["Pattern"])
        rule_arn = events.put_rule(
            Name=name, EventBusName=bus, EventPattern=json.dumps(pattern), State="ENABLED"
        )["RuleArn"]
        events.put_targets(
            Rule=name, EventBusName=bus, Targets=[{"Id": "dispatcher-inbox", "Arn": inbox_arn}]
        )
        rule_names.append(name)
        rule_arns.append(str(rule_arn))
        bus_names.append(bus)
    _allow_rule_to_send(sqs, inbox_url, inbox_arn, rule_arns)

    environments = {
        logical_id: function_environment(template, resolver, logical_id)
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    table_logical = tables[0]
    return LocalStack(
        endpoint_url=endpoint_url,
        region=region,
        table_name=resolver.get_att(table_logical, "Ref"),
        retry_queue_url=resolver.get_att("RetryQueue", "Ref"),
        dead_letter_queue_url=resolver.get_att("DeadLetterQueue", "Ref"),
        inbox_queue_url=inbox_url,
        event_bus_name=bus_names[0],
        source_name=values["SourceName"],
        rule_name=rule_names[0],
        function_environments=environments,
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
    summary = {k: v for k, v in vars(stack).items() if k != "function_environments"}
    summary["environment"] = stack.environment()
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
