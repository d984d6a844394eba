"""local.provision against a real moto server over HTTP on 127.0.0.1.

Also pins down what the local stack relies on in moto: EventBridge honours the ``prefix`` filter on
``detail-type`` and delivers matching events to an SQS target.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from local.cfn import function_events, load_template
from local.provision import LOCAL_EMAIL_IDENTITY, LOCAL_SSRF_ALLOW_CIDRS, LocalStack, provision
from local.send import send_entry
from secnotify.settings import load_settings

REGION = "us-east-1"
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template()
MATCHING = (
    "Security Problem Opened",
    "Security Problem Reopened",
    "Security Problem Resolved",
    "Security Problem Management Zone Added",
    "Security Attack Detected",
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
        "detail-type": [{"prefix": "Security Problem"}, "Security Attack Detected"],
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
    put(endpoint, "default", "secnotify", "Security Attack Detected Twice", "attacks match exactly")
    put(endpoint, "default", "aws.guardduty", "Security Problem Opened", "wrong source")

    received = drain(endpoint, stack.inbox_queue_url)
    assert sorted(body["detail-type"] for body in received) == sorted(MATCHING)
    assert {body["source"] for body in received} == {"secnotify"}
    assert {body["detail"]["securityProblemId"] for body in received} == {f"match {d}" for d in MATCHING}


def test_a_deleted_stack_leaves_nothing_that_copies_events_on_a_shared_endpoint(endpoint: str) -> None:
    gone = provision(endpoint, region=REGION, prefix=(gone_prefix := unique_prefix()))
    kept = provision(endpoint, region=REGION, prefix=(kept_prefix := unique_prefix()))
    gone.delete()

    events = client("events", endpoint)

    def rules(prefix: str) -> set[str]:
        return {r["Name"] for r in events.list_rules(EventBusName="default", NamePrefix=prefix)["Rules"]}

    assert gone.rules and not rules(gone_prefix)
    assert rules(kept_prefix) == {rule.name for rule in kept.rules if rule.bus == "default"}
    queues = set(client("sqs", endpoint).list_queues().get("QueueUrls", []))
    assert len(gone.queue_urls) == 3 and not set(gone.queue_urls) & queues
    assert set(kept.queue_urls) <= queues
    tables = set(client("dynamodb", endpoint).list_tables()["TableNames"])
    assert gone.table_names == (gone.table_name,) and gone.table_name not in tables
    assert kept.table_name in tables
    # The stack that stays still gets what its rule matches.
    put(endpoint, "default", "secnotify", "Security Problem Opened", "after the delete")
    assert [b["detail"]["securityProblemId"] for b in drain(endpoint, kept.inbox_queue_url)] == [
        "after the delete"
    ]
    kept.delete()


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
    dispatcher = TEMPLATE["Resources"]["DispatcherFunction"]["Properties"]
    declared = set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    assert set(env) == declared | set(dispatcher["Environment"]["Variables"])
    assert env["SOURCE_BASELINE_HOURS"] == "0"
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
        "rules",
    }


# ---- the AWS finding rules: on the default bus, in the State the template gives them ---------

AWS_SAMPLES = ROOT / "events" / "aws"
FINDING_SAMPLES = {
    "InspectorFindingEvents": "inspector-active.json",
    "SecurityHubFindingEvents": "securityhub-asff-active.json",
    "SecurityHubOcsfFindingEvents": "securityhub-ocsf-active.json",
    "GuardDutyFindingEvents": "guardduty-active.json",
}


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((AWS_SAMPLES / name).read_text(encoding="utf-8"))
    return event


def put_sample(endpoint: str, name: str, configured_bus: str = "default") -> None:
    """What `make send EVENT=events/aws/<name>` puts, with EVENT_BUS_NAME=configured_bus."""
    result = client("events", endpoint).put_events(Entries=[send_entry(sample(name), configured_bus)])
    # The local endpoint takes an aws.* source, which AWS refuses from PutEvents.
    assert result["FailedEntryCount"] == 0, result


def received_types(endpoint: str, queue_url: str) -> list[tuple[str, str]]:
    return sorted((b["source"], b["detail-type"]) for b in drain(endpoint, queue_url))


def test_every_dispatcher_rule_is_created_on_its_bus_in_its_state(endpoint: str) -> None:
    prefix = unique_prefix()
    bus = f"{prefix}-bus"
    stack = provision(endpoint, region=REGION, prefix=prefix, parameters={"EventBusName": bus})
    declared = function_events(TEMPLATE, "DispatcherFunction", "EventBridgeRule")
    assert [r.event_id for r in stack.rules] == list(declared)
    assert stack.rules[0].name == stack.rule_name
    events = client("events", endpoint)
    for rule in stack.rules:
        # The SourceName rule follows EventBusName; AWS services publish on the default bus only.
        assert rule.bus == (bus if rule.event_id == "SecurityEvents" else "default")
        described = events.describe_rule(Name=rule.name, EventBusName=rule.bus)
        assert described["State"] == rule.state == "ENABLED"
        if rule.event_id != "SecurityEvents":
            assert json.loads(described["EventPattern"]) == declared[rule.event_id]["Pattern"]


def test_each_aws_finding_sample_reaches_the_inbox_through_its_rule(endpoint: str) -> None:
    prefix = unique_prefix()
    stack = provision(endpoint, region=REGION, prefix=prefix, parameters={"EventBusName": f"{prefix}-bus"})
    for name in FINDING_SAMPLES.values():
        # make send with EVENT_BUS_NAME at the custom bus still puts findings on the default bus.
        put_sample(endpoint, name, configured_bus=f"{prefix}-bus")
    # Same sources, other detail-types: no rule takes them.
    put(endpoint, "default", "aws.inspector2", "Inspector2 Coverage", "coverage")
    put(endpoint, "default", "aws.securityhub", "Security Hub Insight Results", "insight")
    # The right pair on the wrong bus: AWS never publishes there, and no rule listens.
    put(endpoint, f"{prefix}-bus", "aws.guardduty", "GuardDuty Finding", "custom bus")

    assert received_types(endpoint, stack.inbox_queue_url) == sorted(
        (sample(n)["source"], sample(n)["detail-type"]) for n in FINDING_SAMPLES.values()
    )


def test_a_disabled_source_routes_nothing_and_the_others_still_route(endpoint: str) -> None:
    stack = provision(
        endpoint, region=REGION, prefix=unique_prefix(), parameters={"InspectorFindings": "Disabled"}
    )
    states = {r.event_id: r.state for r in stack.rules}
    assert states["InspectorFindingEvents"] == "DISABLED"
    assert {s for e, s in states.items() if e != "InspectorFindingEvents"} == {"ENABLED"}
    rule = next(r for r in stack.rules if r.event_id == "InspectorFindingEvents")
    assert client("events", endpoint).describe_rule(Name=rule.name)["State"] == "DISABLED"

    put_sample(endpoint, "inspector-active.json")
    put_sample(endpoint, "guardduty-active.json")
    assert received_types(endpoint, stack.inbox_queue_url) == [("aws.guardduty", "GuardDuty Finding")]


def test_a_source_switched_off_and_on_again_on_the_same_endpoint(endpoint: str) -> None:
    prefix = unique_prefix()
    provision(endpoint, region=REGION, prefix=prefix)
    off = provision(endpoint, region=REGION, prefix=prefix, parameters={"GuardDutyFindings": "Disabled"})
    put_sample(endpoint, "guardduty-active.json")
    assert drain(endpoint, off.inbox_queue_url) == []

    on = provision(endpoint, region=REGION, prefix=prefix, parameters={"GuardDutyFindings": "Enabled"})
    put_sample(endpoint, "guardduty-active.json")
    assert received_types(endpoint, on.inbox_queue_url) == [("aws.guardduty", "GuardDuty Finding")]
    rule = next(r for r in on.rules if r.event_id == "GuardDutyFindingEvents")
    targets = client("events", endpoint).list_targets_by_rule(Rule=rule.name)["Targets"]
    assert len(targets) == 1


def test_moto_delivers_through_a_disabled_rule_so_a_disabled_local_rule_keeps_no_target(
    endpoint: str,
) -> None:
    """Why provision leaves a disabled rule without its target: moto ignores State. When this
    fails, moto honours State, and the disabled rule may keep its target as in AWS."""
    prefix = unique_prefix()
    stack = provision(endpoint, region=REGION, prefix=prefix, parameters={"InspectorFindings": "Disabled"})
    rule = next(r for r in stack.rules if r.event_id == "InspectorFindingEvents")
    events = client("events", endpoint)
    assert events.list_targets_by_rule(Rule=rule.name)["Targets"] == []
    inbox_arn = client("sqs", endpoint).get_queue_attributes(
        QueueUrl=stack.inbox_queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    events.put_targets(Rule=rule.name, Targets=[{"Id": "probe", "Arn": inbox_arn}])
    assert events.describe_rule(Name=rule.name)["State"] == "DISABLED"
    put_sample(endpoint, "inspector-active.json")
    assert received_types(endpoint, stack.inbox_queue_url) == [("aws.inspector2", "Inspector2 Finding")]
    events.remove_targets(Rule=rule.name, Ids=["probe"])


# ---- the SES identity email is sent from -------------------------------------------------------


def test_the_sender_identity_is_verified_in_the_endpoints_ses(endpoint: str) -> None:
    stack = provision(endpoint, region=REGION, prefix=unique_prefix())
    assert stack.email_identity == LOCAL_EMAIL_IDENTITY
    assert stack.environment()["EMAIL_SENDER_IDENTITY"] == LOCAL_EMAIL_IDENTITY
    ses = client("sesv2", endpoint)
    assert ses.get_email_identity(EmailIdentity=LOCAL_EMAIL_IDENTITY)["VerificationStatus"] == "SUCCESS"
    # Again on the same endpoint: the identity is found, not created twice, and mail goes out from it.
    again = provision(endpoint, region=REGION, prefix=unique_prefix())
    assert again.email_identity == LOCAL_EMAIL_IDENTITY
    names = [i["IdentityName"] for i in ses.list_email_identities()["EmailIdentities"]]
    assert names.count(LOCAL_EMAIL_IDENTITY) == 1
    sent = ses.send_email(
        FromEmailAddress=f"secnotify@{LOCAL_EMAIL_IDENTITY}",
        Destination={"ToAddresses": ["secops@example.org"]},
        Content={"Raw": {"Data": b"Subject: probe\r\n\r\nprobe\r\n"}},
    )
    assert sent["MessageId"]


def test_an_empty_sender_identity_turns_email_off_and_verifies_nothing(endpoint: str) -> None:
    ses = client("sesv2", endpoint)

    def identities() -> list[str]:
        return sorted(i["IdentityName"] for i in ses.list_email_identities()["EmailIdentities"])

    before = identities()
    off = provision(endpoint, region=REGION, prefix=unique_prefix(), parameters={"EmailSenderIdentity": ""})
    assert off.email_identity == "" and off.environment()["EMAIL_SENDER_IDENTITY"] == ""
    assert identities() == before
    named = f"{unique_prefix()}.example"
    on = provision(endpoint, region=REGION, prefix=unique_prefix(), parameters={"EmailSenderIdentity": named})
    assert on.environment()["EMAIL_SENDER_IDENTITY"] == named
    assert identities() == sorted([*before, named])
