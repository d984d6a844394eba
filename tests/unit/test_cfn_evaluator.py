"""local.cfn, the pure CloudFormation evaluator: intrinsic functions, conditions, parameters, and
what it makes of the real template.yaml. No endpoint, no boto3."""

from __future__ import annotations

import ast
import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from local.cfn import (
    LOCAL_ACCOUNT_ID,
    NO_VALUE,
    TEMPLATE_PATH,
    Resolver,
    UnsupportedIntrinsic,
    function_environment,
    function_events,
    load_template,
    resolve_parameters,
    resources_of_type,
    rule_state,
)

SMALL = """\
Parameters:
  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}
  Size: {Type: Number, Default: 5, MinValue: 0, MaxValue: 168}
  Name: {Type: String, Default: "", AllowedPattern: "^$|^[a-z]+$"}
Mappings:
  Sizes:
    dev: {Memory: 128}
    prod: {Memory: 1024}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  HasName: !Not [!Equals [!Ref Name, ""]]
  ProdWithName: !And [!Condition IsProd, !Condition HasName]
  ProdOrName: !Or [!Condition IsProd, !Condition HasName]
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dlq.Arn
        maxReceiveCount: 5
  Dlq:
    Type: AWS::SQS::Queue
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !Sub "${AWS::StackName}-${Stage}-${AWS::Region}"
      Memory: !FindInMap [Sizes, !Ref Stage, Memory]
      Tags: !If [HasName, [{Key: name, Value: !Ref Name}], !Ref AWS::NoValue]
"""

# What local.provision records for each resource it creates, with made-up values.
CREATED = {
    "EncryptionKey": {"Ref": "key-id", "Arn": "arn:key", "KeyId": "key-id"},
    "Table": {"Ref": "t-table", "Arn": "arn:table"},
    "RetryQueue": {"Ref": "http://q/retry", "Arn": "arn:retry", "QueueName": "t-retry-queue"},
    "DeadLetterQueue": {"Ref": "http://q/dlq", "Arn": "arn:dlq", "QueueName": "t-dead-letter-queue"},
}


@pytest.fixture
def small(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "small.yaml"
    path.write_text(SMALL, encoding="utf-8")
    return load_template(path)


@pytest.fixture(scope="module")
def real() -> dict[str, Any]:
    return load_template(TEMPLATE_PATH)


def resolver_for(template: dict[str, Any], **overrides: str) -> Resolver:
    return Resolver(
        template=template,
        parameters=resolve_parameters(template, overrides),
        region="eu-west-1",
        stack_name="st",
        resources=copy.deepcopy(CREATED) | {"Dlq": {"Ref": "http://q/d", "Arn": "arn:d"}},
    )


# ---- loading -------------------------------------------------------------------------------


def test_short_tags_load_in_their_long_form(small: dict[str, Any]) -> None:
    assert small["Conditions"]["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert small["Conditions"]["ProdWithName"] == {
        "Fn::And": [{"Condition": "IsProd"}, {"Condition": "HasName"}]
    }
    props = small["Resources"]["Queue"]["Properties"]
    assert props["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["Dlq", "Arn"]}
    memory = small["Resources"]["Bucket"]["Properties"]["Memory"]
    assert memory == {"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}


def test_a_file_without_resources_is_not_a_template(tmp_path: Path) -> None:
    path = tmp_path / "other.yaml"
    path.write_text("name: not a stack\n", encoding="utf-8")
    with pytest.raises(ValueError, match="not a CloudFormation template"):
        load_template(path)


def test_the_loader_stays_safe(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("Resources: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(yaml.constructor.ConstructorError, match="python/object/apply"):
        load_template(path)


# ---- parameters ----------------------------------------------------------------------------


def test_parameters_take_defaults_as_strings_and_overrides_win(small: dict[str, Any]) -> None:
    assert resolve_parameters(small) == {"Stage": "dev", "Size": "5", "Name": ""}
    assert resolve_parameters(small, {"Stage": "prod", "Name": "abc"}) == {
        "Stage": "prod",
        "Size": "5",
        "Name": "abc",
    }


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"Nope": "1", "Other": "2"}, "unknown template parameter.*Nope, Other"),
        ({"Stage": "test"}, r"Stage='test' is not one of \['dev', 'prod'\]"),
        ({"Name": "ABC"}, r"Name='ABC' does not match"),
        ({"Size": "169"}, r"Size='169' is more than its MaxValue 168"),
        ({"Size": "-1"}, r"Size='-1' is less than its MinValue 0"),
        ({"Size": "many"}, r"Size='many' is not a number"),
    ],
)
def test_bad_parameter_values_are_refused(
    small: dict[str, Any], overrides: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_parameters(small, overrides)


@pytest.mark.parametrize("size", ["0", "168", "1.5"])
def test_numbers_within_their_range_are_taken(small: dict[str, Any], size: str) -> None:
    assert resolve_parameters(small, {"Size": size})["Size"] == size


def test_a_parameter_without_default_needs_a_value() -> None:
    template = {"Parameters": {"Must": {"Type": "String"}}, "Resources": {}}
    with pytest.raises(ValueError, match="Must has no default"):
        resolve_parameters(template)
    assert resolve_parameters(template, {"Must": "x"}) == {"Must": "x"}


# ---- intrinsic functions -------------------------------------------------------------------


def test_ref_gives_pseudo_parameters_parameters_and_created_resources(small: dict[str, Any]) -> None:
    resolver = resolver_for(small)
    assert resolver.value({"Ref": "AWS::Region"}) == "eu-west-1"
    assert resolver.value({"Ref": "AWS::StackName"}) == "st"
    assert resolver.value({"Ref": "AWS::AccountId"}) == LOCAL_ACCOUNT_ID
    assert resolver.value({"Ref": "AWS::Partition"}) == "aws"
    assert resolver.value({"Ref": "Size"}) == "5"
    assert resolver.value({"Ref": "Dlq"}) == "http://q/d"


def test_get_att_in_list_and_dotted_form(small: dict[str, Any]) -> None:
    resolver = resolver_for(small)
    assert resolver.value({"Fn::GetAtt": ["Dlq", "Arn"]}) == "arn:d"
    assert resolver.value({"Fn::GetAtt": "RetryQueue.QueueName"}) == "t-retry-queue"
    redrive = resolver.value(small["Resources"]["Queue"]["Properties"])
    assert redrive == {"RedrivePolicy": {"deadLetterTargetArn": "arn:d", "maxReceiveCount": 5}}


def test_sub_replaces_references_attributes_variables_and_keeps_literals(small: dict[str, Any]) -> None:
    resolver = resolver_for(small, Stage="prod")
    assert resolver.value(small["Resources"]["Bucket"]["Properties"]["BucketName"]) == "st-prod-eu-west-1"
    assert (
        resolver.value({"Fn::Sub": "${Dlq.Arn}/${!Literal}/${AWS::Region}"}) == "arn:d/${Literal}/eu-west-1"
    )
    assert resolver.value({"Fn::Sub": ["${a}-${Size}", {"a": {"Ref": "Stage"}}]}) == "prod-5"


def test_join_split_and_select(small: dict[str, Any]) -> None:
    resolver = resolver_for(small)
    assert resolver.value({"Fn::Join": [",", ["a", {"Ref": "Size"}, 3]]}) == "a,5,3"
    assert resolver.value({"Fn::Split": [",", {"Fn::Sub": "x,${Stage}"}]}) == ["x", "dev"]
    assert resolver.value({"Fn::Select": ["1", {"Fn::Split": ["-", "a-b-c"]}]}) == "b"


def test_find_in_map_follows_parameters(small: dict[str, Any]) -> None:
    memory = small["Resources"]["Bucket"]["Properties"]["Memory"]
    assert resolver_for(small).value(memory) == 128
    assert resolver_for(small, Stage="prod").value(memory) == 1024
    with pytest.raises(LookupError, match=r"!FindInMap \[Sizes, dev, Disk\]"):
        resolver_for(small).value({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Disk"]})


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, {"IsProd": False, "HasName": False, "ProdWithName": False, "ProdOrName": False}),
        ({"Stage": "prod"}, {"IsProd": True, "HasName": False, "ProdWithName": False, "ProdOrName": True}),
        ({"Name": "abc"}, {"IsProd": False, "HasName": True, "ProdWithName": False, "ProdOrName": True}),
        (
            {"Stage": "prod", "Name": "abc"},
            {"IsProd": True, "HasName": True, "ProdWithName": True, "ProdOrName": True},
        ),
    ],
)
def test_conditions_follow_parameters(
    small: dict[str, Any], overrides: dict[str, str], expected: dict[str, bool]
) -> None:
    resolver = resolver_for(small, **overrides)
    assert {name: resolver.condition(name) for name in expected} == expected


def test_equals_compares_numbers_and_strings_as_cloudformation_does(small: dict[str, Any]) -> None:
    assert resolver_for(small).value({"Fn::Equals": [{"Ref": "Size"}, 5]}) is True
    assert resolver_for(small).value({"Fn::Equals": [{"Ref": "Size"}, "05"]}) is False


def test_if_with_no_value_drops_the_property_or_list_item(small: dict[str, Any]) -> None:
    tags = {"Tags": small["Resources"]["Bucket"]["Properties"]["Tags"], "Other": 1}
    assert resolver_for(small).value(tags) == {"Other": 1}
    named = resolver_for(small, Name="abc").value(tags)
    assert named["Tags"] == [{"Key": "name", "Value": "abc"}]
    items = ["a", {"Fn::If": ["HasName", "b", {"Ref": "AWS::NoValue"}]}, "c"]
    assert resolver_for(small).value(items) == ["a", "c"]
    assert resolver_for(small).value({"Ref": "AWS::NoValue"}) is NO_VALUE


def test_evaluation_leaves_the_template_untouched(small: dict[str, Any]) -> None:
    before = copy.deepcopy(small)
    resolver_for(small, Name="abc").value(small["Resources"])
    assert small == before


# ---- errors that name what is missing ------------------------------------------------------


@pytest.mark.parametrize("function", ["Fn::ImportValue", "Fn::Base64", "Fn::NoSuchFunction"])
def test_an_unknown_intrinsic_is_refused_by_name(small: dict[str, Any], function: str) -> None:
    node = {"Outer": [{"Inner": {function: "x"}}]}
    with pytest.raises(UnsupportedIntrinsic, match=f"{function} is not supported") as raised:
        resolver_for(small).value(node)
    assert isinstance(raised.value, LookupError)
    # The message lists what is supported, so the fix is obvious.
    assert "Fn::Sub" in str(raised.value) and "Fn::If" in str(raised.value)


@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"Ref": "Bucket"}, "!Ref Bucket: no local counterpart"),
        ({"Fn::GetAtt": ["Dlq", "QueueName"]}, r"!GetAtt .QueueName Dlq: no local counterpart"),
        ({"Fn::Sub": "${Missing.Arn}"}, "!GetAtt .Arn Missing"),
        ({"Ref": "AWS::NotificationARNs"}, "pseudo parameter AWS::NotificationARNs"),
        ({"Fn::If": ["Undeclared", "a", "b"]}, "condition Undeclared is not declared"),
    ],
)
def test_a_missing_reference_names_itself(small: dict[str, Any], node: Any, message: str) -> None:
    with pytest.raises(LookupError, match=message):
        resolver_for(small).value(node)


# ---- EventBridgeRule State ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("properties", "state"),
    [
        ({}, "ENABLED"),
        ({"State": "DISABLED"}, "DISABLED"),
        ({"State": {"Fn::If": ["IsProd", "ENABLED", "DISABLED"]}}, "DISABLED"),
        ({"Enabled": False}, "DISABLED"),
        ({"Enabled": True}, "ENABLED"),
        ({"Enabled": {"Fn::Equals": [{"Ref": "Stage"}, "dev"]}}, "ENABLED"),
    ],
)
def test_rule_state_is_what_sam_gives_the_rule(small: dict[str, Any], properties: Any, state: str) -> None:
    assert rule_state(resolver_for(small), properties) == state


def test_rule_state_follows_parameters(small: dict[str, Any]) -> None:
    switched = {"State": {"Fn::If": ["IsProd", "ENABLED", "DISABLED"]}}
    assert rule_state(resolver_for(small, Stage="prod"), switched) == "ENABLED"


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"State": "enabled"}, "rule State 'enabled' is not one of"),
        ({"State": "ENABLED", "Enabled": True}, "both State and Enabled"),
    ],
)
def test_a_rule_state_sam_refuses_is_refused(small: dict[str, Any], properties: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rule_state(resolver_for(small), properties)


# ---- the real template.yaml ----------------------------------------------------------------


def test_template_declares_the_resources_the_provisioner_creates(real: dict[str, Any]) -> None:
    assert list(resources_of_type(real, "AWS::KMS::Key")) == ["EncryptionKey"]
    assert list(resources_of_type(real, "AWS::DynamoDB::Table")) == ["Table"]
    assert list(resources_of_type(real, "AWS::SQS::Queue")) == ["RetryQueue", "DeadLetterQueue"]
    functions = resources_of_type(real, "AWS::Serverless::Function")
    assert list(functions) == ["ConfigApiFunction", "DispatcherFunction", "DynatraceIngestFunction"]
    assert list(function_events(real, "DispatcherFunction", "EventBridgeRule")) == [
        "SecurityEvents",
        "InspectorFindingEvents",
        "SecurityHubFindingEvents",
        "SecurityHubOcsfFindingEvents",
        "GuardDutyFindingEvents",
    ]
    assert list(function_events(real, "DispatcherFunction", "SQS")) == ["RetryQueueEvent"]
    assert function_events(real, "ConfigApiFunction", "EventBridgeRule") == {}


@pytest.mark.parametrize("function", ["ConfigApiFunction", "DispatcherFunction"])
def test_function_environment_points_at_the_created_resources(real: dict[str, Any], function: str) -> None:
    # Only what the provisioner creates is known: any other reference would raise here.
    env = function_environment(real, resolver_for(real), function)
    assert env["TABLE_NAME"] == "t-table"
    assert env["RETRY_QUEUE_URL"] == "http://q/retry"
    assert env["DEAD_LETTER_QUEUE_URL"] == "http://q/dlq"
    assert env["KMS_KEY_ID"] == "arn:key"
    assert env["POWERTOOLS_SERVICE_NAME"] == "secnotify"
    assert env["RETRY_LADDER_SECONDS"] == "0,5,30,120,600,1800,3600,10800,21600,43200"
    assert env["CONNECT_TIMEOUT_SECONDS"] == "5"
    assert env["SSRF_ALLOW_CIDRS"] == ""
    assert all(isinstance(value, str) for value in env.values())


def test_function_environment_follows_parameter_overrides(real: dict[str, Any]) -> None:
    resolver = resolver_for(real, ConnectTimeoutSeconds="7", SsrfAllowCidrs="10.1.0.0/16")
    env = function_environment(real, resolver, "DispatcherFunction")
    assert (env["CONNECT_TIMEOUT_SECONDS"], env["SSRF_ALLOW_CIDRS"]) == ("7", "10.1.0.0/16")


def test_function_environment_adds_the_functions_own_variables_over_globals() -> None:
    template = {
        "Globals": {"Function": {"Environment": {"Variables": {"A": "global", "B": "global"}}}},
        "Resources": {
            "F": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"Environment": {"Variables": {"B": {"Ref": "AWS::Region"}, "C": 3}}},
            }
        },
    }
    resolver = Resolver(template=template, parameters={}, region="ap-south-1")
    assert function_environment(template, resolver, "F") == {"A": "global", "B": "ap-south-1", "C": "3"}


def test_dispatcher_rule_and_retry_queue_resolve(real: dict[str, Any]) -> None:
    resolver = resolver_for(real, SourceName="acme.security", EventBusName="bus")
    rule = function_events(real, "DispatcherFunction", "EventBridgeRule")["SecurityEvents"]
    assert resolver.value(rule["EventBusName"]) == "bus"
    assert resolver.value(rule["Pattern"]) == {
        "source": ["acme.security"],
        "detail-type": [{"prefix": "Security Problem"}, "Security Attack Detected"],
    }
    retry = resolver.value(real["Resources"]["RetryQueue"]["Properties"])
    assert retry["RedrivePolicy"] == {"deadLetterTargetArn": "arn:dlq", "maxReceiveCount": 5}
    outputs = {name: out["Value"] for name, out in real["Outputs"].items()}
    assert resolver.value(outputs["TableName"]) == "t-table"
    assert resolver.value(outputs["RetryQueueUrl"]) == "http://q/retry"
    with pytest.raises(LookupError, match="!Ref Api"):
        resolver.value(outputs["ApiUrl"])


def test_finding_rules_of_the_template_follow_their_switches(real: dict[str, Any]) -> None:
    rules = function_events(real, "DispatcherFunction", "EventBridgeRule")
    on = {name: rule_state(resolver_for(real), props) for name, props in rules.items()}
    assert set(on.values()) == {"ENABLED"}
    off = {
        name: rule_state(resolver_for(real, GuardDutyFindings="Disabled"), props)
        for name, props in rules.items()
    }
    assert off == {**on, "GuardDutyFindingEvents": "DISABLED"}


def test_dispatcher_settings_that_depend_on_conditions(real: dict[str, Any]) -> None:
    properties = real["Resources"]["DispatcherFunction"]["Properties"]
    dispatcher = {key: properties[key] for key in ("ReservedConcurrentExecutions", "EventInvokeConfig")}
    assert "ReservedConcurrentExecutions" not in resolver_for(real).value(dispatcher)
    reserved = resolver_for(real, DispatcherReservedConcurrency="25").value(dispatcher)
    assert reserved["ReservedConcurrentExecutions"] == "25"
    assert reserved["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"] == "arn:dlq"


# ---- purity --------------------------------------------------------------------------------


def test_the_evaluator_imports_only_the_standard_library_and_yaml() -> None:
    source = Path(sys.modules[Resolver.__module__].__file__ or "").read_text(encoding="utf-8")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported, "found no imports: the walk is broken"
    assert imported - set(sys.stdlib_module_names) == {"yaml"}
