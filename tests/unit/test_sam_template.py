"""template.yaml agrees with the code: handlers, settings, routes, table, rule, queues, outputs."""

from __future__ import annotations

import ast
import json
import re
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from local.cfn import NO_VALUE, Resolver, load_template, resolve_parameters, resources_of_type
from secnotify import settings as settings_module
from secnotify.sources.attacks import ATTACK_DETAIL_TYPE
from tests.unit.template_env import traced_environment

ROOT = Path(__file__).resolve().parents[2]

# SPEC section 5, every route with IAM auth.
SPEC_ROUTES = {
    ("GET", "/alerting-profiles"),
    ("POST", "/alerting-profiles"),
    ("GET", "/alerting-profiles/{id}"),
    ("PUT", "/alerting-profiles/{id}"),
    ("PATCH", "/alerting-profiles/{id}"),
    ("DELETE", "/alerting-profiles/{id}"),
    ("GET", "/integrations"),
    ("POST", "/integrations"),
    ("GET", "/integrations/{id}"),
    ("PUT", "/integrations/{id}"),
    ("PATCH", "/integrations/{id}"),
    ("DELETE", "/integrations/{id}"),
    ("POST", "/integrations/{id}/test"),
    ("POST", "/integrations/preview"),
    ("GET", "/integrations/{id}/deliveries"),
    ("POST", "/integrations/{id}/deliveries/{deliveryId}/redeliver"),
    ("GET", "/audit"),
    # issue 11: why / why not
    ("GET", "/integrations/{id}/deliveries/{deliveryId}"),
    ("POST", "/events/explain"),
    ("GET", "/events/{eventId}/deliveries"),
    ("GET", "/config/export"),
    ("POST", "/config/apply"),
    ("GET", "/placeholders"),
    # issue 13: presets
    ("GET", "/presets"),
    ("GET", "/openapi.json"),
    ("GET", "/swagger"),
}
SPEC_DETAIL_TYPES = (
    "Security Problem Opened",
    "Security Problem Reopened",
    "Security Problem Resolved",
    "Security Problem Management Zone Added",
    "Security Problem Risk Level Changed",
)
# Variables whose settings default is useless in AWS, so the template must set them.
REQUIRED_FROM_RESOURCES = {
    "TABLE_NAME": "!Ref Table",
    "RETRY_QUEUE_URL": "!Ref RetryQueue",
    "DEAD_LETTER_QUEUE_URL": "!Ref DeadLetterQueue",
    "KMS_KEY_ID": "!GetAtt EncryptionKey.Arn",
}
FROM_PARAMETERS = {
    "CONNECT_TIMEOUT_SECONDS": "ConnectTimeoutSeconds",
    "READ_TIMEOUT_SECONDS": "ReadTimeoutSeconds",
    "RETRY_LADDER_SECONDS": "RetryLadderSeconds",
    "SSRF_ALLOW_CIDRS": "SsrfAllowCidrs",
    "MAX_PAYLOAD_CHARS": "MaxPayloadChars",
    "FANOUT_CONCURRENCY": "FanoutConcurrency",
    "CONFIG_CACHE_TTL_SECONDS": "ConfigCacheTtlSeconds",
    "CONFIG_MAX_AGE_SECONDS": "ConfigMaxAgeSeconds",
    "OUTCOME_WRITE_CONCURRENCY": "OutcomeWriteConcurrency",
    "CLAIMS_PER_SHARD": "ClaimsPerShard",
    "EMAIL_SENDER_IDENTITY": "EmailSenderIdentity",
}
CLOUDWATCH_RETENTION_DAYS = {
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653
}  # fmt: skip
POWERTOOLS_SSM = re.compile(
    r"^\{\{resolve:ssm:/aws/service/powertools/python/arm64/python3\.13/([0-9][^}]*)\}\}$"
)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template(ROOT / "template.yaml")


def settings_env_names() -> set[str]:
    """Every variable name settings.py reads: the aliases of the settings model."""
    return {field.alias for field in settings_module.Settings.model_fields.values() if field.alias}


def test_settings_reader_finds_names() -> None:
    # Guards the AST walk itself: if it found nothing, the subset checks below would be vacuous.
    names = settings_env_names()
    assert {
        "TABLE_NAME",
        "RETRY_LADDER_SECONDS",
        "SSRF_ALLOW_CIDRS",
        "KMS_KEY_ID",
        "FANOUT_CONCURRENCY",
    } <= names


@pytest.mark.parametrize("function", ["ConfigApiFunction", "DispatcherFunction", "DynatraceIngestFunction"])
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
    assert set(resources_of_type(template, "AWS::Serverless::Function")) == {
        "ConfigApiFunction",
        "DispatcherFunction",
        "DynatraceIngestFunction",  # tests/unit/test_dynatrace_template.py
    }


@pytest.mark.parametrize("function", ["ConfigApiFunction", "DispatcherFunction"])
def test_environment_agrees_with_settings(template: dict[str, Any], function: str) -> None:
    env = traced_environment(template, function)
    ours = {name for name in env if not name.startswith(("POWERTOOLS_", "AWS_"))}
    read = settings_env_names()
    assert ours - read == set(), "template sets variables settings.py never reads"
    for name, value in REQUIRED_FROM_RESOURCES.items():
        assert name in read
        assert env.get(name) == value, f"{name} must be {value}"
    for name, parameter in FROM_PARAMETERS.items():
        assert name in read
        assert env.get(name) == f"!Ref {parameter}", f"{name} must come from parameter {parameter}"
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
    assert float(params["ConfigMaxAgeSeconds"]) == defaults.config_max_age_s
    assert defaults.config_max_age_s > defaults.config_cache_ttl_s  # the background refresh is on
    assert int(params["OutcomeWriteConcurrency"]) == defaults.outcome_write_concurrency
    assert int(params["ClaimsPerShard"]) == defaults.claims_per_shard
    assert params["SsrfAllowCidrs"] == ""
    assert params["EmailSenderIdentity"] == defaults.email_sender_identity == ""


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
        "ConfigMaxAgeSeconds": "60",
        "OutcomeWriteConcurrency": "6",
        "ClaimsPerShard": "250",
        "Tracing": "Active",
        "LogRetentionDays": "30",
        "AlarmEmail": "",
        "MaxPayloadChars": "5000",
        "ConfigureApiGatewayLogging": "true",
        "PowertoolsLayerArn": "",
        "RetryMaximumConcurrency": "10",
        "InspectorFindings": "Enabled",
        "SecurityHubFindings": "Enabled",
        "SecurityHubOcsfFindings": "Enabled",
        "GuardDutyFindings": "Enabled",
        "SourceBaselineHours": "0",
        "NoEventsAlarmHours": "24",
        "EmailSenderIdentity": "",
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
    assert glob["Tracing"] == {"Ref": "Tracing"}
    assert len(glob["Layers"]) == 2 and glob["Layers"][1] == {"Ref": "SecnotifyLayer"}
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
    routes = set()
    for function, resource in resources_of_type(template, "AWS::Serverless::Function").items():
        for name, event in resource["Properties"].get("Events", {}).items():
            if event["Type"] != "Api":
                continue
            props = event["Properties"]
            assert function == "ConfigApiFunction"
            assert props["RestApiId"] == {"Ref": "Api"}, name
            assert props["Auth"]["Authorizer"] == "AWS_IAM", f"{name} is not IAM-authorised"
            routes.add((props["Method"].upper(), props["Path"]))
    assert routes == SPEC_ROUTES


@pytest.mark.parametrize(("tracing", "on"), [("Active", True), ("PassThrough", False)])
def test_tracing_parameter_drives_functions_api_and_the_handlers_tracer(
    template: dict[str, Any], tracing: str, on: bool
) -> None:
    resolver = Resolver(template=template, parameters=resolve_parameters(template, {"Tracing": tracing}))
    assert resolver.value(template["Globals"]["Function"]["Tracing"]) == tracing
    assert resolver.value(template["Resources"]["Api"]["Properties"]["TracingEnabled"]) is on
    for function in ("ConfigApiFunction", "DispatcherFunction"):
        props = template["Resources"][function]["Properties"]
        assert "Tracing" not in props, f"{function} overrides the Tracing parameter"
        variables = template["Globals"]["Function"]["Environment"]["Variables"]
        variables = {**variables, **props.get("Environment", {}).get("Variables", {})}
        disabled = resolver.value(variables["POWERTOOLS_TRACE_DISABLED"])
        assert disabled == ("false" if on else "true")
    assert template["Parameters"]["Tracing"]["AllowedValues"] == ["Active", "PassThrough"]
    with pytest.raises(ValueError, match="Tracing"):
        resolve_parameters(template, {"Tracing": "Enabled"})


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
    assert table["DeletionPolicy"] == "RetainExceptOnCreate"
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
        ("eventPk", "S"),
        ("eventSk", "S"),
    }
    (by_event,) = props["GlobalSecondaryIndexes"]
    assert by_event == {
        "IndexName": "ByEvent",
        "KeySchema": [
            {"AttributeName": "eventPk", "KeyType": "HASH"},
            {"AttributeName": "eventSk", "KeyType": "RANGE"},
        ],
        # Keys only: the index costs one write unit per delivery record, whatever its body.
        "Projection": {"ProjectionType": "KEYS_ONLY"},
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
    assert key["DeletionPolicy"] == table["DeletionPolicy"]


def test_dispatcher_rule_pattern(template: dict[str, Any]) -> None:
    events = template["Resources"]["DispatcherFunction"]["Properties"]["Events"]
    rule = events["SecurityEvents"]
    assert rule["Type"] == "EventBridgeRule"
    props = rule["Properties"]
    assert props["EventBusName"] == {"Ref": "EventBusName"}
    assert props["Pattern"] == {
        "source": [{"Ref": "SourceName"}],
        "detail-type": [{"prefix": "Security Problem"}, ATTACK_DETAIL_TYPE],
    }
    prefix = props["Pattern"]["detail-type"][0]["prefix"]
    assert all(detail_type.startswith(prefix) for detail_type in SPEC_DETAIL_TYPES)
    assert not ATTACK_DETAIL_TYPE.startswith(prefix)
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
        statements = [s for p in map(_policy_of, policies) if "Statement" in p for s in p["Statement"]]
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


def _policy_of(policy: dict[str, Any]) -> dict[str, Any]:
    """A policy, or the one a condition chooses when the condition holds (``!If [C, policy, NoValue]``)."""
    return policy["Fn::If"][1] if "Fn::If" in policy else policy


SES_IDENTITY_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${EmailSenderIdentity}"
}


@pytest.mark.parametrize("function", ["ConfigApiFunction", "DispatcherFunction"])
def test_email_may_be_sent_from_the_sender_identity_only_and_only_when_it_is_set(
    template: dict[str, Any], function: str
) -> None:
    # The dispatcher sends notifications; the API sends test mails and redeliveries.
    policies = template["Resources"][function]["Properties"]["Policies"]
    conditional = [p["Fn::If"] for p in policies if "Fn::If" in p]
    ses = [
        (condition, statement, otherwise)
        for condition, chosen, otherwise in conditional
        for statement in chosen["Statement"]
        if any(str(a).startswith("ses:") for a in statement["Action"])
    ]
    assert len(ses) == 1, function
    condition, statement, otherwise = ses[0]
    assert condition == "EmailEnabled" and otherwise == {"Ref": "AWS::NoValue"}
    # SES v2 SendEmail with raw content is authorized as both actions.
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["ses:SendEmail", "ses:SendRawEmail"]
    assert statement["Resource"] == SES_IDENTITY_ARN
    unconditional = [s for p in policies if "Statement" in p for s in p["Statement"]]
    assert not any("ses:" in json.dumps(s) for s in unconditional), function


@pytest.mark.parametrize(
    ("identity", "enabled"), [("", False), ("example.com", True), ("a@example.com", True)]
)
def test_email_is_enabled_by_the_sender_identity(
    template: dict[str, Any], identity: str, enabled: bool
) -> None:
    params = resolve_parameters(template, {"EmailSenderIdentity": identity})
    resolver = Resolver(template=template, parameters=params)
    assert resolver.condition("EmailEnabled") is enabled
    conditional = [
        p for p in template["Resources"]["DispatcherFunction"]["Properties"]["Policies"] if "Fn::If" in p
    ]
    policies = resolver.value(conditional)
    granted = [s for p in policies for s in p.get("Statement", []) if "ses:SendEmail" in s["Action"]]
    expected = f"arn:aws:ses:us-east-1:{resolver.account_id}:identity/{identity}"
    assert [s["Resource"] for s in granted] == ([expected] if enabled else [])


GOOD_IDENTITIES = [
    "example.com",
    "alerts@example.com",
    "a.b+c_d%e-f@mail.sub.example.co.uk",
    "xn--bcher-kva.example",
]
BAD_IDENTITIES = [
    "*",
    "*@example.com",
    "al?rts@example.com",
    "example",
    "Alerts <alerts@example.com>",
    "alerts@example.com,b@example.com",
    "alerts @example.com",
    "alerts@example.com/x",
    "a@b@example.com",
    "-example.com",
]


@pytest.mark.parametrize("value", GOOD_IDENTITIES)
def test_email_sender_identity_pattern_takes_what_the_settings_take(
    template: dict[str, Any], value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_parameters(template, {"EmailSenderIdentity": value})["EmailSenderIdentity"] == value
    monkeypatch.setenv("EMAIL_SENDER_IDENTITY", value)
    assert settings_module.load_settings().email_sender_identity == value


@pytest.mark.parametrize("value", BAD_IDENTITIES)
def test_email_sender_identity_pattern_refuses_what_the_settings_refuse(
    template: dict[str, Any], value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No wildcard ever reaches the IAM resource ARN built from it.
    with pytest.raises(ValueError, match=r"EmailSenderIdentity=.* does not match"):
        resolve_parameters(template, {"EmailSenderIdentity": value})
    monkeypatch.setenv("EMAIL_SENDER_IDENTITY", value)
    with pytest.raises(settings_module.ConfigurationError, match=r"^EMAIL_SENDER_IDENTITY: "):
        settings_module.load_settings()


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


# ---- issue 8, section 1: a first deploy into a fresh account -------------------------------


def test_api_gateway_logging_role_is_created_by_default(template: dict[str, Any]) -> None:
    params = template["Parameters"]["ConfigureApiGatewayLogging"]
    assert params["Default"] == "true"
    assert "region" in params["Description"] and "false" in params["Description"]
    resolver = Resolver(template=template, parameters=resolve_parameters(template))
    role = template["Resources"]["ApiGatewayCloudWatchRole"]
    account = template["Resources"]["ApiGatewayAccount"]
    assert role["Condition"] == account["Condition"] == "ConfiguresApiGatewayLogging"
    assert resolver.condition("ConfiguresApiGatewayLogging") is True
    assert account["Type"] == "AWS::ApiGateway::Account"
    assert account["Properties"]["CloudWatchRoleArn"] == {"Fn::GetAtt": ["ApiGatewayCloudWatchRole", "Arn"]}
    assert role["Properties"]["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"}
    ]
    off = Resolver(
        template=template,
        parameters=resolve_parameters(template, {"ConfigureApiGatewayLogging": "false"}),
    )
    assert off.condition("ConfiguresApiGatewayLogging") is False


def test_api_gateway_role_outlives_the_stack(template: dict[str, Any]) -> None:
    # The region's account setting keeps naming the role after the stack is deleted.
    role = template["Resources"]["ApiGatewayCloudWatchRole"]
    assert role["DeletionPolicy"] == "Retain"
    assert role["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize(("configure", "waits_for_account"), [("true", True), ("false", False)])
def test_api_stage_waits_for_the_account_setting_only_when_the_stack_makes_it(
    template: dict[str, Any], configure: str, waits_for_account: bool
) -> None:
    resources = template["Resources"]
    api = resources["Api"]
    # SAM puts the DependsOn on the RestApi; the stage (AccessLogSetting) and the deployment
    # both reference the RestApi, so they come after the handle, which comes after the account.
    depends = api["DependsOn"] if isinstance(api["DependsOn"], list) else [api["DependsOn"]]
    handles = [d for d in depends if resources[d]["Type"] == "AWS::CloudFormation::WaitConditionHandle"]
    assert len(handles) == 1
    handle = resources[handles[0]]
    assert "Condition" not in handle
    params = resolve_parameters(template, {"ConfigureApiGatewayLogging": configure})
    resolver = Resolver(
        template=template, parameters=params, resources={"ApiGatewayAccount": {"Ref": "acct"}}
    )
    metadata_value = resolver.value(handle["Metadata"])
    assert ("acct" in json.dumps(metadata_value)) is waits_for_account
    # Access logs stay on either way.
    assert "Condition" not in api
    assert "DestinationArn" in api["Properties"]["AccessLogSetting"]


def test_table_and_key_are_deleted_by_a_failed_first_create_and_kept_after(template: dict[str, Any]) -> None:
    for logical_id in ("Table", "EncryptionKey"):
        resource = template["Resources"][logical_id]
        assert resource["DeletionPolicy"] == "RetainExceptOnCreate", logical_id
        assert resource["UpdateReplacePolicy"] == "Retain", logical_id


def pinned_powertools_versions() -> dict[str, str]:
    """Every pin of aws_lambda_powertools in the project's requirements files."""
    files = [*sorted((ROOT / "requirements").glob("*.txt")), ROOT / "layers" / "requirements.txt"]
    files += sorted((ROOT / "functions").glob("*/requirements.txt"))
    pins: dict[str, str] = {}
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            match = re.match(r"^aws[-_]lambda[-_]powertools(?:\[[^]]*\])?==([^\s;#]+)", line.strip(), re.I)
            if match:
                pins[str(path.relative_to(ROOT))] = match.group(1)
    return pins


def test_powertools_layer_is_the_pinned_package_version(template: dict[str, Any]) -> None:
    pins = pinned_powertools_versions()
    assert pins, "aws_lambda_powertools is pinned nowhere"
    assert len(set(pins.values())) == 1, f"requirements disagree: {pins}"
    (pinned,) = set(pins.values())
    layer = template["Globals"]["Function"]["Layers"][0]
    condition, override, published = layer["Fn::If"]
    assert condition == "HasPowertoolsLayerArn"
    assert override == {"Ref": "PowertoolsLayerArn"}
    match = POWERTOOLS_SSM.match(published)
    assert match, f"not the versioned public parameter: {published}"
    assert match.group(1) == pinned
    # What the tests run is what the layer carries.
    assert metadata.version("aws_lambda_powertools") == pinned


@pytest.mark.parametrize(
    ("override", "chosen"),
    [
        ("", "ssm"),
        ("arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:27", "arn"),
    ],
)
def test_powertools_layer_arn_parameter_overrides_the_ssm_parameter(
    template: dict[str, Any], override: str, chosen: str
) -> None:
    params = resolve_parameters(template, {"PowertoolsLayerArn": override})
    resolver = Resolver(template=template, parameters=params)
    value = resolver.value(template["Globals"]["Function"]["Layers"][0])
    if chosen == "arn":
        assert value == override
    else:
        assert POWERTOOLS_SSM.match(value)


def test_powertools_layer_arn_must_be_a_layer_arn(template: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="PowertoolsLayerArn='latest' does not match"):
        resolve_parameters(template, {"PowertoolsLayerArn": "latest"})


GOOD_CIDRS = [
    "",
    "10.1.0.0/16",
    "10.1.2.3/32,192.168.0.0/24",
    "0.0.0.0/0",
    "fd00::/8",
    "::1/128",
    "2001:db8:0:1::/64,10.0.0.0/8",
    "fe80:0:0:0:0:0:0:1/128",
]
BAD_CIDRS = [
    "10.0.0.0/33",
    "10.0.0.0",
    "256.0.0.0/8",
    "10.0.0/8",
    "10.0.0.0/8, 192.168.0.0/16",
    "10.0.0.0/8,",
    ",10.0.0.0/8",
    "::1/129",
    "fd00::/8/8",
    "everything",
    "10.0.0.0/8;rm",
]


@pytest.mark.parametrize("value", GOOD_CIDRS)
def test_ssrf_allow_cidrs_pattern_accepts_cidr_lists_the_settings_accept(
    template: dict[str, Any], value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert resolve_parameters(template, {"SsrfAllowCidrs": value})["SsrfAllowCidrs"] == value
    monkeypatch.setenv("SSRF_ALLOW_CIDRS", value)
    assert ",".join(settings_module.load_settings().ssrf_allow_cidrs) == value


@pytest.mark.parametrize("value", BAD_CIDRS)
def test_ssrf_allow_cidrs_pattern_refuses_anything_else(template: dict[str, Any], value: str) -> None:
    assert "AllowedPattern" in template["Parameters"]["SsrfAllowCidrs"]
    with pytest.raises(ValueError, match=r"SsrfAllowCidrs=.* does not match"):
        resolve_parameters(template, {"SsrfAllowCidrs": value})


# ---- issue 8, section 6: retry concurrency, alarms, one FanoutConcurrency --------------------


def samconfig_overrides() -> dict[str, str]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    items = config["default"]["deploy"]["parameters"].get("parameter_overrides", [])
    items = items.split() if isinstance(items, str) else items
    return dict(item.split("=", 1) for item in items)


def retry_concurrency_problem(params: dict[str, str]) -> str | None:
    """The rule CloudFormation cannot express (its rules cannot compare numbers)."""
    reserved = int(params["DispatcherReservedConcurrency"])
    maximum = int(params["RetryMaximumConcurrency"])
    if reserved and maximum > reserved:
        return f"RetryMaximumConcurrency {maximum} > DispatcherReservedConcurrency {reserved}"
    return None


def test_retry_queue_event_source_has_a_maximum_concurrency(template: dict[str, Any]) -> None:
    event = template["Resources"]["DispatcherFunction"]["Properties"]["Events"]["RetryQueueEvent"]
    assert event["Properties"]["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "RetryMaximumConcurrency"}}
    spec = template["Parameters"]["RetryMaximumConcurrency"]
    assert (spec["Type"], spec["Default"], spec["MinValue"], spec["MaxValue"]) == ("Number", 10, 2, 1000)
    assert "DispatcherReservedConcurrency" in spec["Description"]


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({}, None),
        ({"DispatcherReservedConcurrency": "25"}, None),
        ({"DispatcherReservedConcurrency": "10"}, None),
        (
            {"DispatcherReservedConcurrency": "5"},
            "RetryMaximumConcurrency 10 > DispatcherReservedConcurrency 5",
        ),
        ({"DispatcherReservedConcurrency": "5", "RetryMaximumConcurrency": "5"}, None),
        ({"RetryMaximumConcurrency": "1000"}, None),
    ],
)
def test_retry_concurrency_rule(
    template: dict[str, Any], overrides: dict[str, str], problem: str | None
) -> None:
    assert retry_concurrency_problem(resolve_parameters(template, overrides)) == problem


def test_shipped_configuration_keeps_the_retry_concurrency_rule(template: dict[str, Any]) -> None:
    assert retry_concurrency_problem(resolve_parameters(template)) is None
    assert retry_concurrency_problem(resolve_parameters(template, samconfig_overrides())) is None
    spec = template["Parameters"]["RetryMaximumConcurrency"]
    # Lambda's own range for MaximumConcurrency; CloudFormation refuses values outside it.
    assert (spec["MinValue"], spec["MaxValue"]) == (2, 1000)


EXPECTED_ALARMS = {
    ("AWS/Lambda", "Errors", "FunctionName", json.dumps({"Ref": "ConfigApiFunction"})),
    ("AWS/Lambda", "Errors", "FunctionName", json.dumps({"Ref": "DispatcherFunction"})),
    ("AWS/Lambda", "Throttles", "FunctionName", json.dumps({"Ref": "ConfigApiFunction"})),
    ("AWS/Lambda", "Throttles", "FunctionName", json.dumps({"Ref": "DispatcherFunction"})),
    ("AWS/ApiGateway", "5XXError", "ApiName", json.dumps({"Fn::Sub": "${AWS::StackName}-secnotify"})),
    (
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        "QueueName",
        json.dumps({"Fn::GetAtt": ["RetryQueue", "QueueName"]}),
    ),
}


def test_alarms_on_errors_throttles_api_5xx_and_retry_age(template: dict[str, Any]) -> None:
    alarms = resources_of_type(template, "AWS::CloudWatch::Alarm")
    found: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for alarm in alarms.values():
        props = alarm["Properties"]
        first = props["Dimensions"][0]
        found[(props["Namespace"], props["MetricName"], first["Name"], json.dumps(first["Value"]))] = props
    assert set(found) >= EXPECTED_ALARMS
    api_name = template["Resources"]["Api"]["Properties"]["Name"]
    for key in EXPECTED_ALARMS:
        props = found[key]
        assert {"Ref": "AlarmTopic"} in props["AlarmActions"], key
        assert props["ComparisonOperator"] == "GreaterThanThreshold"
        assert props["TreatMissingData"] == "notBreaching"
        if key[1] == "ApproximateAgeOfOldestMessage":
            assert (props["Statistic"], props["Threshold"]) == ("Maximum", 1800)
        else:
            assert (props["Statistic"], props["Threshold"]) == ("Sum", 0)
        if key[0] == "AWS/ApiGateway":
            assert props["Dimensions"][0]["Value"] == api_name
            stage = template["Resources"]["Api"]["Properties"]["StageName"]
            assert props["Dimensions"][1] == {"Name": "Stage", "Value": stage}


def test_readme_lists_every_alarm(template: dict[str, Any]) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    operations = readme.split("## Operations", 1)[1].split("\n## ", 1)[0]
    for logical_id in resources_of_type(template, "AWS::CloudWatch::Alarm"):
        assert f"`{logical_id}`" in operations, f"README Operations does not list {logical_id}"


def test_fanout_concurrency_has_one_value(template: dict[str, Any]) -> None:
    default = str(template["Parameters"]["FanoutConcurrency"]["Default"])
    assert default == str(settings_module.Settings().fanout_concurrency)
    assert samconfig_overrides().get("FanoutConcurrency", default) == default
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| `FanoutConcurrency` \| ([^|]+) \|", readme, re.M)
    assert rows == [default]
    assert f"`FanoutConcurrency` ({default})" in readme


# ---- issue 10: findings from AWS security services ------------------------------------------

# The rule of each AWS finding source: its switch, source and detail-type.
FINDING_RULES = {
    "InspectorFindingEvents": ("InspectorFindings", "aws.inspector2", "Inspector2 Finding"),
    "SecurityHubFindingEvents": (
        "SecurityHubFindings",
        "aws.securityhub",
        "Security Hub Findings - Imported",
    ),
    "SecurityHubOcsfFindingEvents": ("SecurityHubOcsfFindings", "aws.securityhub", "Findings Imported V2"),
    "GuardDutyFindingEvents": ("GuardDutyFindings", "aws.guardduty", "GuardDuty Finding"),
}


def dispatcher_rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    events = template["Resources"]["DispatcherFunction"]["Properties"]["Events"]
    return {name: e["Properties"] for name, e in events.items() if e["Type"] == "EventBridgeRule"}


def test_every_finding_source_has_a_rule_on_the_default_bus(template: dict[str, Any]) -> None:
    rules = dispatcher_rules(template)
    assert set(rules) == {"SecurityEvents", *FINDING_RULES}
    # The other parser registry entries are exactly these pairs: none is left without a rule.
    from secnotify.sources.findings import FINDING_PARSERS

    assert set(FINDING_PARSERS) == {(source, dt) for _, source, dt in FINDING_RULES.values()}
    # Not moved by EventBusName: a custom bus would make every finding rule deaf.
    resolver = Resolver(template=template, parameters=resolve_parameters(template, {"EventBusName": "ours"}))
    for name, (_, source, detail_type) in FINDING_RULES.items():
        props = rules[name]
        assert resolver.value(props.get("EventBusName", "default")) == "default", name
        assert props["Pattern"] == {"source": [source], "detail-type": [detail_type]}, name
    assert resolver.value(rules["SecurityEvents"]["EventBusName"]) == "ours"


def test_finding_rules_dead_letter_and_retry_like_the_security_events_rule(template: dict[str, Any]) -> None:
    rules = dispatcher_rules(template)
    reference = rules["SecurityEvents"]
    for name in FINDING_RULES:
        assert rules[name]["DeadLetterConfig"] == reference["DeadLetterConfig"], name
        assert rules[name]["RetryPolicy"] == reference["RetryPolicy"], name


@pytest.mark.parametrize("rule", list(FINDING_RULES))
@pytest.mark.parametrize(("switch", "state"), [("Enabled", "ENABLED"), ("Disabled", "DISABLED")])
def test_finding_rule_state_follows_its_parameter(
    template: dict[str, Any], rule: str, switch: str, state: str
) -> None:
    parameter = FINDING_RULES[rule][0]
    spec = template["Parameters"][parameter]
    assert (spec["Type"], spec["Default"], spec["AllowedValues"]) == (
        "String",
        "Enabled",
        ["Enabled", "Disabled"],
    )
    resolver = Resolver(template=template, parameters=resolve_parameters(template, {parameter: switch}))
    states = {
        name: resolver.value(props["State"])
        for name, props in dispatcher_rules(template).items()
        if name in FINDING_RULES
    }
    # The switch turns its own rule only.
    assert states == {name: (state if name == rule else "ENABLED") for name in FINDING_RULES}


def test_security_events_rule_keeps_its_pattern_and_takes_risk_level_changes(
    template: dict[str, Any],
) -> None:
    props = dispatcher_rules(template)["SecurityEvents"]
    assert "State" not in props and "Enabled" not in props
    prefix = props["Pattern"]["detail-type"][0]["prefix"]
    assert "Security Problem Risk Level Changed".startswith(prefix)


def test_source_baseline_hours_reaches_the_dispatcher_only(template: dict[str, Any]) -> None:
    spec = template["Parameters"]["SourceBaselineHours"]
    field = settings_module.Settings.model_fields["source_baseline_hours"]
    bounds = {type(m).__name__: m for m in field.metadata}
    assert (spec["Type"], float(spec["Default"])) == ("Number", field.default)
    assert (spec["MinValue"], spec["MaxValue"]) == (bounds["Ge"].ge, bounds["Le"].le)
    assert (
        traced_environment(template, "DispatcherFunction")["SOURCE_BASELINE_HOURS"]
        == "!Ref SourceBaselineHours"
    )
    assert "SOURCE_BASELINE_HOURS" not in traced_environment(template, "ConfigApiFunction")


def test_no_events_alarm_watches_the_received_events(template: dict[str, Any]) -> None:
    alarm = template["Resources"]["NoEventsAlarm"]
    assert alarm["Condition"] == "HasNoEventsAlarm"
    props = alarm["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("secnotify", "SecurityEventsReceived")
    # The dimension Powertools gives every metric, as on NotificationsFailed.
    failed = template["Resources"]["FailedNotificationsAlarm"]["Properties"]
    assert props["Dimensions"] == failed["Dimensions"] == [{"Name": "service", "Value": "secnotify"}]
    assert (props["Statistic"], props["Period"], props["Threshold"]) == ("Sum", 3600, 1)
    assert props["ComparisonOperator"] == "LessThanThreshold"
    # No datapoint is no event: silence is what this alarm is for.
    assert props["TreatMissingData"] == "breaching"
    assert props["EvaluationPeriods"] == props["DatapointsToAlarm"] == {"Ref": "NoEventsAlarmHours"}
    assert {"Ref": "AlarmTopic"} in props["AlarmActions"]
    assert "quiet week" in props["AlarmDescription"]["Fn::Sub"]


@pytest.mark.parametrize(("hours", "exists"), [("24", True), ("1", True), ("168", True), ("0", False)])
def test_no_events_alarm_hours_zero_disables_it(template: dict[str, Any], hours: str, exists: bool) -> None:
    resolver = Resolver(
        template=template, parameters=resolve_parameters(template, {"NoEventsAlarmHours": hours})
    )
    assert resolver.condition("HasNoEventsAlarm") is exists
    if exists:
        resolver.resources["AlarmTopic"] = {"Ref": "arn:topic"}
        props = resolver.value(template["Resources"]["NoEventsAlarm"]["Properties"])
        assert props["EvaluationPeriods"] == props["DatapointsToAlarm"] == hours
        assert f"for {hours} hours" in props["AlarmDescription"]


def test_no_events_alarm_hours_stay_within_cloudwatchs_seven_days(template: dict[str, Any]) -> None:
    spec = template["Parameters"]["NoEventsAlarmHours"]
    period = template["Resources"]["NoEventsAlarm"]["Properties"]["Period"]
    assert (spec["Type"], spec["Default"], spec["MinValue"]) == ("Number", 24, 0)
    assert spec["MaxValue"] * period <= 7 * 24 * 3600
    with pytest.raises(ValueError, match="NoEventsAlarmHours='169' is more than its MaxValue 168"):
        resolve_parameters(template, {"NoEventsAlarmHours": "169"})


# ---- people's managed policies ---------------------------------------------------------------

PEOPLE_POLICIES = {
    "ReadOnlyPolicy": "ReadOnlyPolicyArn",
    "OperatorPolicy": "OperatorPolicyArn",
    "AdminPolicy": "AdminPolicyArn",
}


def _api_routes(template: dict[str, Any]) -> set[tuple[str, str]]:
    events = template["Resources"]["ConfigApiFunction"]["Properties"]["Events"]
    routes = {
        (e["Properties"]["Method"].upper(), e["Properties"]["Path"])
        for e in events.values()
        if e["Type"] == "Api"
    }
    # The policy tests loop over these: an empty or partial set would make them pass vacuously.
    assert {("GET", "/audit"), ("PATCH", "/integrations/{id}"), ("POST", "/config/apply")} <= routes
    assert len(routes) >= 24, sorted(routes)
    return routes


def _allowed_arns(template: dict[str, Any], policy: str) -> list[str]:
    resolver = Resolver(
        template=template,
        parameters=resolve_parameters(template, {}),
        region="eu-west-1",
        account_id="111122223333",
        resources={"Api": {"Ref": "a1b2c3"}},
    )
    document = resolver.value(template["Resources"][policy]["Properties"]["PolicyDocument"])
    arns: list[str] = []
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
        arns += statement["Resource"]
    return arns


def _invokes(arns: list[str], method: str, path: str) -> bool:
    """Whether an ARN allows a request, as IAM matches it: ``*`` stands for any run of
    characters, ``/`` included. A path parameter is some id."""
    concrete = re.sub(r"\{[^}]+\}", "x1", path)
    request = f"arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/v1/{method}{concrete}"
    return any(re.fullmatch(".*".join(map(re.escape, arn.split("*"))), request) for arn in arns)


def test_people_policies_are_managed_policies_the_stack_outputs(template: dict[str, Any]) -> None:
    policies = resources_of_type(template, "AWS::IAM::ManagedPolicy")
    assert set(PEOPLE_POLICIES) <= set(policies)
    for policy, output in PEOPLE_POLICIES.items():
        assert template["Outputs"][output]["Value"] == {"Ref": policy}
        for arn in _allowed_arns(template, policy):
            # scoped to this API's stage in this account and region
            assert arn.startswith("arn:aws:execute-api:eu-west-1:111122223333:a1b2c3/v1/"), arn


def test_read_only_policy_invokes_every_get_route_and_nothing_else(template: dict[str, Any]) -> None:
    arns = _allowed_arns(template, "ReadOnlyPolicy")
    for method, path in _api_routes(template):
        assert _invokes(arns, method, path) is (method == "GET"), (method, path)


def test_operator_policy_cannot_put_delete_or_create(template: dict[str, Any]) -> None:
    arns = _allowed_arns(template, "OperatorPolicy")
    routes = _api_routes(template)
    for method, path in routes:
        if method in {"PUT", "DELETE"}:
            assert not _invokes(arns, method, path), (method, path)
        if method == "GET":
            assert _invokes(arns, method, path), (method, path)
    for method, path in [
        ("POST", "/integrations/{id}/test"),
        ("POST", "/integrations/{id}/deliveries/{deliveryId}/redeliver"),
        ("PATCH", "/integrations/{id}"),
    ]:
        assert _invokes(arns, method, path), (method, path)
    for method, path in [
        ("POST", "/alerting-profiles"),
        ("POST", "/integrations"),
        ("PUT", "/integrations/{id}"),
        ("DELETE", "/integrations/{id}"),
        ("DELETE", "/alerting-profiles/{id}"),
        ("PATCH", "/alerting-profiles/{id}"),
        ("POST", "/config/apply"),
    ]:
        assert not _invokes(arns, method, path), (method, path)


def test_admin_policy_invokes_every_route(template: dict[str, Any]) -> None:
    arns = _allowed_arns(template, "AdminPolicy")
    for method, path in [
        *_api_routes(template),
        ("PATCH", "/alerting-profiles/{id}"),
        ("POST", "/config/apply"),
    ]:
        assert _invokes(arns, method, path), (method, path)
    assert not _invokes(["arn:aws:execute-api:eu-west-1:111122223333:other/v1/*"], "GET", "/audit")
