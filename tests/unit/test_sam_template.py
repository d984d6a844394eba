"""template.yaml agrees with the code: handlers, settings, routes, table, rule, queues, outputs."""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from local.provision import NO_VALUE, Resolver, load_template, resolve_parameters
from secnotify import settings as settings_module

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_PY = Path(settings_module.__file__)

# SPEC section 5, every route with IAM auth.
SPEC_ROUTES = {
    ("GET", "/alerting-profiles"),
    ("POST", "/alerting-profiles"),
    ("GET", "/alerting-profiles/{id}"),
    ("PUT", "/alerting-profiles/{id}"),
    ("DELETE", "/alerting-profiles/{id}"),
    ("GET", "/integrations"),
    ("POST", "/integrations"),
    ("GET", "/integrations/{id}"),
    ("PUT", "/integrations/{id}"),
    ("DELETE", "/integrations/{id}"),
    ("POST", "/integrations/{id}/test"),
    ("POST", "/integrations/preview"),
    ("GET", "/integrations/{id}/deliveries"),
    ("POST", "/integrations/{id}/deliveries/{deliveryId}/redeliver"),
    ("GET", "/placeholders"),
    ("GET", "/openapi.json"),
    ("GET", "/swagger"),
}
SPEC_DETAIL_TYPES = (
    "Security Problem Opened",
    "Security Problem Reopened",
    "Security Problem Resolved",
    "Security Problem Management Zone Added",
)
# Variables whose settings default is useless in AWS, so the template must set them.
REQUIRED_FROM_RESOURCES = {
    "TABLE_NAME": {"Ref": "Table"},
    "RETRY_QUEUE_URL": {"Ref": "RetryQueue"},
    "DEAD_LETTER_QUEUE_URL": {"Ref": "DeadLetterQueue"},
    "KMS_KEY_ID": {"Fn::GetAtt": ["EncryptionKey", "Arn"]},
}
FROM_PARAMETERS = {
    "CONNECT_TIMEOUT_SECONDS": "ConnectTimeoutSeconds",
    "READ_TIMEOUT_SECONDS": "ReadTimeoutSeconds",
    "RETRY_LADDER_SECONDS": "RetryLadderSeconds",
    "SSRF_ALLOW_CIDRS": "SsrfAllowCidrs",
    "MAX_PAYLOAD_CHARS": "MaxPayloadChars",
    "FANOUT_CONCURRENCY": "FanoutConcurrency",
    "CONFIG_CACHE_TTL_SECONDS": "ConfigCacheTtlSeconds",
}
CLOUDWATCH_RETENTION_DAYS = {
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
}  # fmt: skip
POWERTOOLS_LAYER = "{{resolve:ssm:/aws/service/powertools/python/arm64/python3.13/latest}}"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {lid: res for lid, res in template["Resources"].items() if res["Type"] == kind}


def function_env(template: dict[str, Any], function: str) -> dict[str, Any]:
    merged = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    props = template["Resources"][function]["Properties"]
    merged.update(props.get("Environment", {}).get("Variables", {}))
    return merged


def settings_env_names() -> set[str]:
    """Every variable name settings.py reads: first string argument of os.environ.get and helpers."""
    tree = ast.parse(SETTINGS_PY.read_text(encoding="utf-8"))
    readers = {"_int", "_float", "_bool", "_list", "get"}
    names: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name == "get" and not (
            isinstance(func, ast.Attribute) and ast.unparse(func.value) == "os.environ"
        ):
            continue
        first = node.args[0]
        if name in readers and isinstance(first, ast.Constant) and isinstance(first.value, str):
            names.add(first.value)
    return names


def test_settings_reader_finds_names() -> None:
    # Guards the AST walk itself: if it found nothing, the subset checks below would be vacuous.
    names = settings_env_names()
    assert {"TABLE_NAME", "RETRY_LADDER_SECONDS", "SSRF_GUARD_ENABLED", "FANOUT_CONCURRENCY"} <= names


@pytest.mark.parametrize("function", ["ConfigApiFunction", "DispatcherFunction"])
def test_handler_resolves_to_lambda_handler(template: dict[str, Any], function: str) -> None:
    props = template["Resources"][function]["Properties"]
    module, _, attribute = props["Handler"].rpartition(".")
    source = ROOT / props["CodeUri"] / (module.replace(".", "/") + ".py")
    assert source.is_file(), f"{function}: handler file {source.relative_to(ROOT)} does not exist"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    defined = {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    } | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert attribute == "lambda_handler"
    assert attribute in defined, f"{source.relative_to(ROOT)} does not define {attribute}"


def test_every_function_in_template_is_checked(template: dict[str, Any]) -> None:
    assert set(resources_of(template, "AWS::Serverless::Function")) == {
        "ConfigApiFunction",
        "DispatcherFunction",
    }


@pytest.mark.parametrize("function", ["ConfigApiFunction", "DispatcherFunction"])
def test_environment_agrees_with_settings(template: dict[str, Any], function: str) -> None:
    env = function_env(template, function)
    ours = {name for name in env if not name.startswith(("POWERTOOLS_", "AWS_"))}
    read = settings_env_names()
    assert ours - read == set(), "template sets variables settings.py never reads"
    for name, value in REQUIRED_FROM_RESOURCES.items():
        assert name in read
        assert env.get(name) == value, f"{name} must be {value}"
    for name, parameter in FROM_PARAMETERS.items():
        assert name in read
        assert env.get(name) == {"Ref": parameter}, f"{name} must come from parameter {parameter}"
    assert env["POWERTOOLS_SERVICE_NAME"] == "secnotify"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "secnotify"


def test_parameter_defaults_equal_settings_defaults(template: dict[str, Any]) -> None:
    defaults = settings_module.Settings()
    params = resolve_parameters(template)
    assert float(params["ConnectTimeoutSeconds"]) == defaults.connect_timeout_s
    assert float(params["ReadTimeoutSeconds"]) == defaults.read_timeout_s
    ladder = tuple(float(x) for x in params["RetryLadderSeconds"].split(","))
    assert ladder == tuple(float(x) for x in defaults.retry_ladder_s)
    assert int(params["MaxPayloadChars"]) == defaults.max_payload_chars
    assert int(params["FanoutConcurrency"]) == defaults.fanout_concurrency
    assert float(params["ConfigCacheTtlSeconds"]) == defaults.config_cache_ttl_s
    assert params["SsrfAllowCidrs"] == ""


def test_parameters_are_documented(template: dict[str, Any]) -> None:
    expected = {
        "SourceName": "secnotify",
        "EventBusName": "default",
        "SsrfAllowCidrs": "",
        "RetryLadderSeconds": "0,5,30,120,600,1800,3600,10800,21600,43200",
        "ConnectTimeoutSeconds": "5",
        "ReadTimeoutSeconds": "10",
        "FanoutConcurrency": "64",
        "DispatcherReservedConcurrency": "0",
        "ConfigCacheTtlSeconds": "15",
        "LogRetentionDays": "30",
        "AlarmEmail": "",
        "MaxPayloadChars": "5000",
    }
    params = template["Parameters"]
    for name, default in expected.items():
        assert str(params[name]["Default"]) == default, name
    for name, spec in params.items():
        assert len(spec.get("Description", "")) > 10, f"parameter {name} needs a Description"
    retention = set(params["LogRetentionDays"]["AllowedValues"])
    assert 30 in retention
    assert retention <= CLOUDWATCH_RETENTION_DAYS


def test_globals_runtime_layers_and_tracing(template: dict[str, Any]) -> None:
    glob = template["Globals"]["Function"]
    assert glob["Runtime"] == "python3.13"
    assert glob["Architectures"] == ["arm64"]
    assert glob["Tracing"] == "Active"
    assert glob["Layers"] == [POWERTOOLS_LAYER, {"Ref": "SecnotifyLayer"}]
    layer = template["Resources"]["SecnotifyLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    content = ROOT / layer["Properties"]["ContentUri"]
    assert (content / "secnotify" / "__init__.py").is_file()
    assert (content / "requirements.txt").is_file()


def test_every_spec_route_is_an_iam_api_event(template: dict[str, Any]) -> None:
    api = template["Resources"]["Api"]["Properties"]
    assert api["StageName"] == "v1"
    assert api["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    assert api["TracingEnabled"] is True
    routes = set()
    for function, resource in resources_of(template, "AWS::Serverless::Function").items():
        for name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            assert function == "ConfigApiFunction"
            assert props["RestApiId"] == {"Ref": "Api"}, name
            assert props["Auth"]["Authorizer"] == "AWS_IAM", f"{name} is not IAM-authorised"
            routes.add((props["Method"].upper(), props["Path"]))
    assert routes == SPEC_ROUTES


def test_api_access_log_format_is_json(template: dict[str, Any]) -> None:
    setting = template["Resources"]["Api"]["Properties"]["AccessLogSetting"]
    log_group = setting["DestinationArn"]["Fn::GetAtt"]
    assert template["Resources"][log_group[0]]["Type"] == "AWS::Logs::LogGroup"
    fields = json.loads(setting["Format"])
    assert fields["requestId"] == "$context.requestId"
    assert fields["status"] == "$context.status"


def test_table_is_durable_encrypted_and_expires(template: dict[str, Any]) -> None:
    table = template["Resources"]["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]} == {
        ("pk", "S"),
        ("sk", "S"),
    }
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    sse = props["SSESpecification"]
    assert sse["SSEEnabled"] is True
    assert sse["SSEType"] == "KMS"
    key_id = sse["KMSMasterKeyId"]["Ref"]
    key = template["Resources"][key_id]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    # A retained table needs a retained key, or its data can no longer be read.
    assert key["DeletionPolicy"] == "Retain"


def test_dispatcher_rule_pattern(template: dict[str, Any]) -> None:
    events = template["Resources"]["DispatcherFunction"]["Properties"]["Events"]
    rule = events["SecurityEvents"]
    assert rule["Type"] == "EventBridgeRule"
    props = rule["Properties"]
    assert props["EventBusName"] == {"Ref": "EventBusName"}
    assert props["Pattern"] == {
        "source": [{"Ref": "SourceName"}],
        "detail-type": [{"prefix": "Security Problem"}],
    }
    prefix = props["Pattern"]["detail-type"][0]["prefix"]
    assert all(detail_type.startswith(prefix) for detail_type in SPEC_DETAIL_TYPES)
    assert props["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
    assert props["RetryPolicy"]["MaximumRetryAttempts"] >= 1


def test_retry_queue_feeds_dispatcher_and_redrives(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    dispatcher = resources["DispatcherFunction"]["Properties"]
    timeout = dispatcher.get("Timeout", template["Globals"]["Function"]["Timeout"])
    retry = resources["RetryQueue"]["Properties"]
    assert retry["VisibilityTimeout"] >= 6 * timeout
    assert retry["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert retry.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in retry
    dlq = resources["DeadLetterQueue"]["Properties"]
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    event = dispatcher["Events"]["RetryQueueEvent"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["Queue"] == {"Fn::GetAtt": ["RetryQueue", "Arn"]}
    assert event["Properties"]["BatchSize"] == 10
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


@pytest.mark.parametrize(("reserved", "expected"), [("0", NO_VALUE), ("25", "25")])
def test_reserved_concurrency_zero_means_unreserved(
    template: dict[str, Any], reserved: str, expected: object
) -> None:
    params = resolve_parameters(template, {"DispatcherReservedConcurrency": reserved})
    resolver = Resolver(template=template, parameters=params)
    node = template["Resources"]["DispatcherFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert resolver.value(node) == expected


@pytest.mark.parametrize(("email", "subscribed"), [("", False), ("sec@example.com", True)])
def test_alarm_email_is_optional(template: dict[str, Any], email: str, subscribed: bool) -> None:
    resolver = Resolver(template=template, parameters=resolve_parameters(template, {"AlarmEmail": email}))
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Properties"]["Protocol"] == "email"
    assert resolver.condition(subscription["Condition"]) is subscribed


def test_functions_have_their_own_log_groups(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    for function in ("ConfigApiFunction", "DispatcherFunction"):
        group_id = resources[function]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        group = resources[group_id]
        assert group["Type"] == "AWS::Logs::LogGroup"
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["Properties"]["LogGroupName"]["Fn::Sub"].startswith("/aws/lambda/")
    access = resources["ApiAccessLogGroup"]["Properties"]
    assert access["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_function_policies_are_scoped(template: dict[str, Any]) -> None:
    for function in ("ConfigApiFunction", "DispatcherFunction"):
        policies = template["Resources"][function]["Properties"]["Policies"]
        assert {"DynamoDBCrudPolicy": {"TableName": {"Ref": "Table"}}} in policies
        statements = [s for p in policies if "Statement" in p for s in p["Statement"]]
        assert statements, function
        for statement in statements:
            assert statement["Resource"] != "*", f"{function} {statement.get('Sid')} is unscoped"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(action.endswith(":*") or action == "*" for action in actions)
        sends = {
            json.dumps(r, sort_keys=True)
            for s in statements
            if s["Action"] == "sqs:SendMessage"
            for r in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
        }
        retry_queue = json.dumps({"Fn::GetAtt": ["RetryQueue", "Arn"]}, sort_keys=True)
        # Only the dispatcher queues anything; test-send and redeliver send synchronously.
        assert (retry_queue in sends) == (function == "DispatcherFunction")


def test_alarms_watch_dead_letters_and_failed_notifications(template: dict[str, Any]) -> None:
    resources = template["Resources"]
    topic = resources["AlarmTopic"]
    assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "EncryptionKey"}
    dlq_alarm = resources["DeadLetterAlarm"]["Properties"]
    assert dlq_alarm["Namespace"] == "AWS/SQS"
    assert dlq_alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert dlq_alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}
    ]
    assert dlq_alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert dlq_alarm["Threshold"] == 0
    failed = resources["FailedNotificationsAlarm"]["Properties"]
    assert (failed["Namespace"], failed["MetricName"]) == ("secnotify", "NotificationsFailed")
    assert failed["Dimensions"] == [{"Name": "service", "Value": "secnotify"}]
    for alarm in (dlq_alarm, failed):
        assert {"Ref": "AlarmTopic"} in alarm["AlarmActions"]


def test_outputs(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert {"ApiUrl", "TableName", "EventBusName", "RetryQueueUrl", "DeadLetterQueueUrl"} <= set(outputs)
    assert outputs["ApiUrl"]["Value"] == {
        "Fn::Sub": "https://${Api}.execute-api.${AWS::Region}.${AWS::URLSuffix}/v1"
    }
    assert outputs["TableName"]["Value"] == {"Ref": "Table"}
    assert outputs["EventBusName"]["Value"] == {"Ref": "EventBusName"}
    assert outputs["RetryQueueUrl"]["Value"] == {"Ref": "RetryQueue"}
    assert outputs["DeadLetterQueueUrl"]["Value"] == {"Ref": "DeadLetterQueue"}


def test_loader_understands_short_tags(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "Parameters:\n  P: {Type: String, Default: x}\n"
        "Conditions:\n  C: !Equals [!Ref P, x]\n"
        "Resources:\n  R:\n    Type: T\n    Properties:\n"
        "      A: !GetAtt Q.Arn\n      B: !Sub '${P}-${AWS::Region}'\n"
        "      D: !If [C, chosen, !Ref AWS::NoValue]\n      E: !Join ['-', [a, !Ref P]]\n",
        encoding="utf-8",
    )
    loaded = load_template(path)
    props = loaded["Resources"]["R"]["Properties"]
    assert props["A"] == {"Fn::GetAtt": ["Q", "Arn"]}
    resolver = Resolver(template=loaded, parameters=resolve_parameters(loaded), region="eu-west-1")
    resolved = resolver.value({k: v for k, v in props.items() if k != "A"})
    assert resolved == {"B": "x-eu-west-1", "D": "chosen", "E": "a-x"}
    other = Resolver(template=loaded, parameters=resolve_parameters(loaded, {"P": "y"}))
    assert "D" not in other.value({"D": props["D"]})
    with pytest.raises(LookupError, match="Q"):
        resolver.value(props["A"])


def test_parameter_overrides_are_validated(template: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="NoSuchParameter"):
        resolve_parameters(template, {"NoSuchParameter": "1"})
    with pytest.raises(ValueError, match="LogRetentionDays"):
        resolve_parameters(template, {"LogRetentionDays": "2"})
    with pytest.raises(ValueError, match="AlarmEmail"):
        resolve_parameters(template, {"AlarmEmail": "not-an-address"})
