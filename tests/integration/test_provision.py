"""local.provision against a real moto server over HTTP on 127.0.0.1.

Also pins down what the local stack relies on in moto: EventBridge honours the ``prefix`` filter on
``detail-type`` and delivers matching events to an SQS target.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from local.cfn import load_template
from local.provision import LOCAL_SSRF_ALLOW_CIDRS, LocalStack, provision
from secnotify.settings import load_settings

REGION = "us-east-1"
TEMPLATE = load_template()
MATCHING = (
    "Security Problem Opened",
    "Security Problem Reopened",
    "Security Problem Resolved",
    "Security Problem Management Zone Added",
)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def client(name: str, endpoint: str) -> Any:
    return boto3.client(
        name,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def unique_prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def put(endpoint: str, bus: str, source: str, detail_type: str, marker: str) -> None:
    result = client("events", endpoint).put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": source,
                "DetailType": detail_type,
                "Detail": json.dumps({"securityProblemId": marker}),
            }
        ]
    )
    assert result["FailedEntryCount"] == 0


def drain(endpoint: str, queue_url: str) -> list[dict[str, Any]]:
    sqs = client("sqs", endpoint)
    bodies: list[dict[str, Any]] = []
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def test_table_is_created_as_declared(endpoint: str) -> None:
    stack = provision(endpoint, region=REGION, prefix=unique_prefix())
    declared = TEMPLATE["Resources"]["Table"]["Properties"]
    dynamodb = client("dynamodb", endpoint)
    table = dynamodb.describe_table(TableName=stack.table_name)["Table"]
    assert table["KeySchema"] == declared["KeySchema"]
    assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
        declared["AttributeDefinitions"], key=lambda a: a["AttributeName"]
    )
    assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
    ttl = dynamodb.describe_time_to_live(TableName=stack.table_name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    backups = dynamodb.describe_continuous_backups(TableName=stack.table_name)
    pitr = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert pitr["PointInTimeRecoveryStatus"] == "ENABLED"


def test_queues_and_redrive_are_created_as_declared(endpoint: str) -> None:
    stack = provision(endpoint, region=REGION, prefix=unique_prefix())
    sqs = client("sqs", endpoint)
    retry = sqs.get_queue_attributes(QueueUrl=stack.retry_queue_url, AttributeNames=["All"])["Attributes"]
    dlq = sqs.get_queue_attributes(QueueUrl=stack.dead_letter_queue_url, AttributeNames=["All"])["Attributes"]
    declared = TEMPLATE["Resources"]
    assert retry["VisibilityTimeout"] == str(declared["RetryQueue"]["Properties"]["VisibilityTimeout"])
    assert dlq["MessageRetentionPeriod"] == str(1209600)
    redrive = json.loads(retry["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == 5


def test_rule_delivers_only_matching_events_to_the_inbox(endpoint: str) -> None:
    stack = provision(endpoint, region=REGION, prefix=unique_prefix())
    events = client("events", endpoint)
    rule = events.describe_rule(Name=stack.rule_name, EventBusName=stack.event_bus_name)
    assert json.loads(rule["EventPattern"]) == {
        "source": ["secnotify"],
        "detail-type": [{"prefix": "Security Problem"}],
    }
    targets = events.list_targets_by_rule(Rule=stack.rule_name, EventBusName=stack.event_bus_name)["Targets"]
    inbox_arn = client("sqs", endpoint).get_queue_attributes(
        QueueUrl=stack.inbox_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert [t["Arn"] for t in targets] == [inbox_arn]

    for detail_type in MATCHING:
        put(endpoint, "default", "secnotify", detail_type, f"match {detail_type}")
    put(endpoint, "default", "secnotify", "Security Finding Imported", "wrong detail-type")
    put(endpoint, "default", "secnotify", "security problem opened", "prefix is case-sensitive")
    put(endpoint, "default", "aws.guardduty", "Security Problem Opened", "wrong source")

    received = drain(endpoint, stack.inbox_queue_url)
    assert sorted(body["detail-type"] for body in received) == sorted(MATCHING)
    assert {body["source"] for body in received} == {"secnotify"}
    assert {body["detail"]["securityProblemId"] for body in received} == {f"match {d}" for d in MATCHING}


def test_custom_bus_and_source_come_from_parameters(endpoint: str) -> None:
    prefix = unique_prefix()
    bus = f"{prefix}-bus"
    stack = provision(
        endpoint,
        region=REGION,
        prefix=prefix,
        parameters={"EventBusName": bus, "SourceName": "acme.security"},
    )
    assert (stack.event_bus_name, stack.source_name) == (bus, "acme.security")
    names = {b["Name"] for b in client("events", endpoint).list_event_buses()["EventBuses"]}
    assert bus in names

    put(endpoint, bus, "acme.security", "Security Problem Opened", "on the bus")
    put(endpoint, "default", "acme.security", "Security Problem Opened", "default bus")
    put(endpoint, bus, "secnotify", "Security Problem Opened", "default source")

    received = drain(endpoint, stack.inbox_queue_url)
    assert [body["detail"]["securityProblemId"] for body in received] == ["on the bus"]


def test_provision_is_idempotent(endpoint: str) -> None:
    prefix = unique_prefix()
    bus = f"{prefix}-bus"
    first = provision(endpoint, region=REGION, prefix=prefix, parameters={"EventBusName": bus})
    sqs = client("sqs", endpoint)
    sqs.send_message(QueueUrl=first.retry_queue_url, MessageBody="kept")
    second = provision(endpoint, region=REGION, prefix=prefix, parameters={"EventBusName": bus})
    assert second == first
    assert second.environment() == first.environment()

    events = client("events", endpoint)
    rules = events.list_rules(NamePrefix=prefix, EventBusName=bus)["Rules"]
    assert [r["Name"] for r in rules] == [first.rule_name]
    targets = events.list_targets_by_rule(Rule=first.rule_name, EventBusName=bus)["Targets"]
    assert len(targets) == 1
    # Re-provisioning must not wipe what is already queued.
    kept = sqs.receive_message(QueueUrl=first.retry_queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in kept] == ["kept"]

    put(endpoint, bus, "secnotify", "Security Problem Resolved", "once")
    assert [b["detail"]["securityProblemId"] for b in drain(endpoint, first.inbox_queue_url)] == ["once"]


def test_environment_configures_settings_and_reaches_the_resources(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = provision(
        endpoint, region=REGION, prefix=unique_prefix(), parameters={"ConnectTimeoutSeconds": "7"}
    )
    env = stack.environment()
    declared = set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    assert set(env) == declared
    assert env["SSRF_ALLOW_CIDRS"] == LOCAL_SSRF_ALLOW_CIDRS
    assert stack.environment("ConfigApiFunction")["TABLE_NAME"] == stack.table_name

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    assert settings.table_name == stack.table_name
    assert settings.retry_queue_url == stack.retry_queue_url
    assert settings.dead_letter_queue_url == stack.dead_letter_queue_url
    assert settings.connect_timeout_s == 7.0
    assert settings.ssrf_allow_cidrs == ("127.0.0.0/8", "::1/128")

    # The names in the environment are the real local resources.
    client("dynamodb", endpoint).put_item(
        TableName=settings.table_name, Item={"pk": {"S": "probe"}, "sk": {"S": "probe"}}
    )
    sqs = client("sqs", endpoint)
    sqs.send_message(QueueUrl=settings.dead_letter_queue_url, MessageBody="probe")
    messages = sqs.receive_message(QueueUrl=settings.dead_letter_queue_url, MaxNumberOfMessages=10)
    assert [m["Body"] for m in messages["Messages"]] == ["probe"]


def test_ssrf_allowlist_override_wins_over_the_local_default(endpoint: str) -> None:
    stack = provision(
        endpoint, region=REGION, prefix=unique_prefix(), parameters={"SsrfAllowCidrs": "10.1.0.0/16"}
    )
    assert stack.environment()["SSRF_ALLOW_CIDRS"] == "10.1.0.0/16"


def test_bad_parameters_fail_before_touching_the_endpoint(endpoint: str) -> None:
    prefix = unique_prefix()
    with pytest.raises(ValueError, match="NoSuchParameter"):
        provision(endpoint, region=REGION, prefix=prefix, parameters={"NoSuchParameter": "x"})
    tables = client("dynamodb", endpoint).list_tables()["TableNames"]
    assert not any(name.startswith(prefix) for name in tables)


def test_local_stack_type() -> None:
    # The runner imports these names; keep them stable.
    assert {f for f in LocalStack.__dataclass_fields__} >= {
        "table_name",
        "retry_queue_url",
        "dead_letter_queue_url",
        "inbox_queue_url",
        "event_bus_name",
        "source_name",
        "rule_name",
    }
