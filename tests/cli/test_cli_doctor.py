"""`secnotify doctor` against a CloudFormation stack on the moto server, its API the signed local
one: every check reads real resources over boto3 (rules, metric, queue, alarms, the API)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from secnotify_cli.client import Options
from secnotify_cli.doctor import run_doctor
from secnotify_cli.output import Printer
from tests.cli.conftest import Cli, write
from tests.cli.test_cli_objects import _integration, _profile
from tests.integration.servers import Receiver, closed_port


@dataclass
class DeployedStack:
    name: str
    bus: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name="us-east-1")

    def resource(self, logical_id: str) -> str:
        resources = self.client("cloudformation").list_stack_resources(StackName=self.name)
        return next(
            r["PhysicalResourceId"]
            for r in resources["StackResourceSummaries"]
            if r["LogicalResourceId"] == logical_id
        )


def _template(api_url: str, bus: str) -> dict[str, Any]:
    """What the deployed template's doctor-facing parts are: the dispatcher's rules (SAM's logical
    ids, a finding rule switched by its parameter), the queues, the topic and the outputs."""
    return {
        "Parameters": {"GuardDutyFindings": {"Type": "String", "Default": "Enabled"}},
        "Conditions": {"GuardDutyOn": {"Fn::Equals": [{"Ref": "GuardDutyFindings"}, "Enabled"]}},
        "Resources": {
            "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": bus}},
            "DispatcherFunctionSecurityEvents": {
                "Type": "AWS::Events::Rule",
                "DependsOn": "Bus",
                "Properties": {
                    "EventBusName": bus,
                    "EventPattern": {"source": ["secnotify"]},
                    "State": "ENABLED",
                },
            },
            "DispatcherFunctionGuardDutyFindingEvents": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventPattern": {"source": ["aws.guardduty"]},
                    "State": {"Fn::If": ["GuardDutyOn", "ENABLED", "DISABLED"]},
                },
            },
            "RetryQueue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "DeadLetterQueue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        },
        "Outputs": {
            "ApiUrl": {"Value": api_url},
            "TableName": {"Value": "table"},
            "EventBusName": {"Value": bus},
            "RetryQueueUrl": {"Value": {"Ref": "RetryQueue"}},
            "DeadLetterQueueUrl": {"Value": {"Ref": "DeadLetterQueue"}},
            "AlarmTopicArn": {"Value": {"Ref": "AlarmTopic"}},
        },
    }


@pytest.fixture
def deployed(cli: Cli) -> Iterator[DeployedStack]:
    stack = DeployedStack(f"sn{uuid.uuid4().hex[:10]}", f"bus{uuid.uuid4().hex[:8]}")
    cloudformation = stack.client("cloudformation")
    cloudformation.create_stack(
        StackName=stack.name,
        TemplateBody=json.dumps(_template(cli.url, stack.bus)),
        Parameters=[{"ParameterKey": "GuardDutyFindings", "ParameterValue": "Disabled"}],
    )
    # moto's CloudFormation creates no alarms: put them as CloudFormation names unnamed ones.
    cloudwatch = stack.client("cloudwatch")
    for logical_id in ("DeadLetterAlarm", "NoEventsAlarm"):
        cloudwatch.put_metric_alarm(
            AlarmName=f"{stack.name}-{logical_id}-{uuid.uuid4().hex[:12].upper()}",
            Namespace="secnotify",
            MetricName="SecurityEventsReceived",
            Statistic="Sum",
            Period=3600,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="LessThanThreshold",
        )
    yield stack
    cloudformation.delete_stack(StackName=stack.name)


def _rows(out: str) -> dict[str, tuple[str, str]]:
    rows = {}
    for line in out.splitlines()[1:]:
        status, rest = line.split(None, 1)
        check, _, reason = rest.partition("  ")
        rows[check.strip()] = (status, reason.strip())
    return rows


def test_doctor_on_a_working_stack(cli: Cli, deployed: DeployedStack, tmp_path: Any) -> None:
    deployed.client("cloudwatch").put_metric_data(
        Namespace="secnotify",
        MetricData=[
            {
                "MetricName": "SecurityEventsReceived",
                "Dimensions": [{"Name": "service", "Value": "secnotify"}],
                "Value": 3,
                "Timestamp": datetime.now(UTC) - timedelta(hours=2),
            }
        ],
    )
    pid = _profile(cli, tmp_path)
    with Receiver() as rx:
        cli.ok("integrations", "create", "-f", write(tmp_path, "i.json", _integration(pid, rx.url("/"))))
        cli.capsys.readouterr()
        from secnotify_cli.main import main

        code = main(["--stack", deployed.name, "doctor", "--test-send"])
        out = cli.capsys.readouterr().out
        rx.wait_for(1)
    rows = _rows(out)
    assert code == 0, out
    assert rows["stack outputs"][0] == "OK" and "CREATE_COMPLETE" in rows["stack outputs"][1]
    assert rows["API"] == ("OK", "signed GET /placeholders answered")
    rules = {k: v for k, v in rows.items() if k.startswith("rule ")}
    assert sorted(v for v in rules.values()) == [
        ("OK", "disabled, as GuardDutyFindings=Disabled says"),
        ("OK", "enabled"),
    ]
    assert rows["recent events"] == ("OK", "3 security event(s) received in the last 24 h")
    assert rows["dead-letter queue"] == ("OK", "empty")
    assert rows["alarms"] == ("OK", "2 alarm(s), none in ALARM")
    assert rows["test send hook"][0] == "OK" and "HTTP 200" in rows["test send hook"][1]


def test_doctor_names_each_problem_and_fails(cli: Cli, deployed: DeployedStack, tmp_path: Any) -> None:
    events = deployed.client("events")
    security_rule = deployed.resource("DispatcherFunctionSecurityEvents").rpartition("|")[2]
    events.disable_rule(Name=security_rule, EventBusName=deployed.bus)
    events.enable_rule(Name=deployed.resource("DispatcherFunctionGuardDutyFindingEvents"))
    sqs = deployed.client("sqs")
    dlq = sqs.get_queue_url(QueueName=deployed.resource("DeadLetterQueue").rsplit("/", 1)[1])["QueueUrl"]
    sqs.send_message(QueueUrl=dlq, MessageBody="{}")
    cloudwatch = deployed.client("cloudwatch")
    no_events = next(
        a
        for a in cloudwatch.describe_alarms(AlarmNamePrefix=deployed.name)["MetricAlarms"]
        if "NoEvents" in a["AlarmName"]
    )
    cloudwatch.set_alarm_state(AlarmName=no_events["AlarmName"], StateValue="ALARM", StateReason="test")
    pid = _profile(cli, tmp_path)
    sock, port = closed_port()
    try:
        cli.ok(
            "integrations",
            "create",
            "-f",
            write(tmp_path, "i.json", _integration(pid, f"http://127.0.0.1:{port}/")),
        )
        cli.capsys.readouterr()
        # A month on, no event is recent, whatever other tests have put.
        later = datetime.now(UTC) + timedelta(days=30)
        code = run_doctor(Options(stack=deployed.name), test_send=True, printer=Printer(), now=later)
    finally:
        sock.close()
    rows = _rows(cli.capsys.readouterr().out)
    assert code == 4
    assert rows[f"rule {security_rule}"] == (
        "FAIL",
        "DISABLED, but the template says ENABLED: its events are not delivered",
    )
    guard_duty = next(v for k, v in rows.items() if "GuardDuty" in k)
    assert guard_duty == ("WARN", "ENABLED, but GuardDutyFindings=Disabled says DISABLED")
    assert rows["recent events"][0] == "WARN"
    assert rows["dead-letter queue"] == ("WARN", "1 message(s) waiting: read their reason attribute")
    assert rows["alarms"] == ("FAIL", "in ALARM: NoEventsAlarm")
    assert rows["test send hook"][0] == "FAIL"


def test_doctor_without_the_stack(cli: Cli) -> None:
    from secnotify_cli.main import main

    cli.capsys.readouterr()
    code = main(["--stack", "no-such-stack", "-o", "json", "doctor"])
    (check,) = json.loads(cli.capsys.readouterr().out)
    assert code == 4
    assert (
        check["check"] == "stack outputs" and check["status"] == "FAIL" and "no-such-stack" in check["reason"]
    )
