"""`secnotify doctor`: is a deployed stack working, end to end? AWS services' own events cannot be
put by hand, so this is how a user knows the install works. Each check says OK, WARN or FAIL with
one line of why; any FAIL makes the exit status non-zero."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from secnotify_cli.client import API_URL_OUTPUT, Api, Options, aws_session, region_of, segment
from secnotify_cli.errors import EXIT_FAILED, EXIT_OK, CliError
from secnotify_cli.output import Column, Printer

OK, WARN, FAIL = "OK", "WARN", "FAIL"
EXPECTED_OUTPUTS = (
    API_URL_OUTPUT,
    "TableName",
    "EventBusName",
    "RetryQueueUrl",
    "DeadLetterQueueUrl",
    "AlarmTopicArn",
)
METRICS_NAMESPACE = "secnotify"
EVENTS_METRIC = "SecurityEventsReceived"
RECENT = timedelta(hours=24)


@dataclass(frozen=True)
class Check:
    check: str
    status: str
    reason: str


COLUMNS = (
    Column("STATUS", lambda r: r["status"], 4),
    Column("CHECK", lambda r: r["check"], 72),
    Column("REASON", lambda r: r["reason"], 120),
)


def _aws_message(error: Exception) -> str:
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Message") or response.get("Error", {}).get("Code") or error)
    return str(error)


def _guarded(name: str, run: Callable[[], Iterable[Check]]) -> list[Check]:
    """A check that cannot ask AWS (no permission, no such resource) fails, naming why; the others run."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return list(run())
    except (ClientError, BotoCoreError) as error:
        return [Check(name, FAIL, _aws_message(error))]
    except CliError as error:
        return [Check(name, FAIL, error.message)]


@dataclass
class Doctor:
    session: Any
    stack_name: str
    stack: dict[str, Any]
    resources: list[dict[str, Any]]
    now: datetime

    @property
    def outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self.stack.get("Outputs", [])}

    @property
    def parameters(self) -> dict[str, str]:
        return {p["ParameterKey"]: p.get("ParameterValue", "") for p in self.stack.get("Parameters", [])}

    def physical_ids(self, resource_type: str) -> list[tuple[str, str]]:
        return [
            (r["LogicalResourceId"], r["PhysicalResourceId"])
            for r in self.resources
            if r.get("ResourceType") == resource_type and r.get("PhysicalResourceId")
        ]

    # ---- checks ----------------------------------------------------------------------

    def stack_check(self) -> Iterable[Check]:
        status = str(self.stack.get("StackStatus", ""))
        missing = [key for key in EXPECTED_OUTPUTS if key not in self.outputs]
        healthy = status.endswith("_COMPLETE") and "ROLLBACK" not in status and "DELETE" not in status
        if missing:
            yield Check(
                "stack outputs", FAIL, f"{self.stack_name} ({status}) lacks output(s) {', '.join(missing)}"
            )
        elif not healthy:
            yield Check("stack outputs", FAIL, f"{self.stack_name} is {status}")
        else:
            yield Check("stack outputs", OK, f"{self.stack_name} is {status}, {len(self.outputs)} outputs")

    def _expected_state(self, logical_id: str) -> tuple[str, str]:
        # A parameter switches each finding rule: InspectorFindings, rule ...InspectorFindingEvents.
        for key, value in self.parameters.items():
            if key.endswith("Findings") and logical_id.endswith(key.removesuffix("s") + "Events"):
                return ("DISABLED" if value == "Disabled" else "ENABLED"), f"{key}={value}"
        return "ENABLED", "the template"

    def _describe_rule(self, physical_id: str) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        events = self.session.client("events")
        bus, _, name = physical_id.rpartition("|")
        for candidate in [bus] if bus else ["default", self.outputs.get("EventBusName", "default")]:
            try:
                return dict(events.describe_rule(Name=name, EventBusName=candidate))
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                    raise
        raise CliError(f"rule {name} not found")

    def rule_checks(self) -> Iterable[Check]:
        rules = self.physical_ids("AWS::Events::Rule")
        if not rules:
            yield Check("source rules", FAIL, "the stack has no EventBridge rule")
        for logical_id, physical_id in rules:
            yield from _guarded(f"rule {logical_id}", partial(self._rule, logical_id, physical_id))

    def _rule(self, logical_id: str, physical_id: str) -> Iterable[Check]:
        rule = self._describe_rule(physical_id)
        state, expected = rule.get("State", "?"), self._expected_state(logical_id)
        label = f"rule {rule.get('Name')}"
        if state == expected[0] == "ENABLED":
            yield Check(label, OK, "enabled")
        elif state == expected[0]:
            yield Check(label, OK, f"disabled, as {expected[1]} says")
        elif expected[0] == "ENABLED":
            yield Check(label, FAIL, f"{state}, but {expected[1]} says ENABLED: its events are not delivered")
        else:
            yield Check(label, WARN, f"{state}, but {expected[1]} says DISABLED")

    def events_check(self) -> Iterable[Check]:
        stats = self.session.client("cloudwatch").get_metric_statistics(
            Namespace=METRICS_NAMESPACE,
            MetricName=EVENTS_METRIC,
            Dimensions=[{"Name": "service", "Value": METRICS_NAMESPACE}],
            StartTime=self.now - RECENT,
            EndTime=self.now,
            Period=3600,
            Statistics=["Sum"],
        )
        total = sum(point.get("Sum", 0) for point in stats.get("Datapoints", []))
        if total > 0:
            yield Check("recent events", OK, f"{int(total)} security event(s) received in the last 24 h")
        else:
            yield Check(
                "recent events",
                WARN,
                "no security event received in the last 24 h: a quiet day, or a source or rule that is off",
            )

    def dead_letter_check(self) -> Iterable[Check]:
        url = self.outputs.get("DeadLetterQueueUrl")
        if not url:
            yield Check("dead-letter queue", FAIL, "no DeadLetterQueueUrl output")
            return
        attributes = self.session.client("sqs").get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        depth = int(attributes.get("ApproximateNumberOfMessages", 0))
        if depth:
            yield Check("dead-letter queue", WARN, f"{depth} message(s) waiting: read their reason attribute")
        else:
            yield Check("dead-letter queue", OK, "empty")

    def _alarm_names(self) -> dict[str, str]:
        """Alarm name -> logical id: the stack's resources, or else, where the stack does not list
        them, the names CloudFormation gives unnamed alarms: <stack>-<LogicalId>-<suffix>."""
        names = {physical: logical for logical, physical in self.physical_ids("AWS::CloudWatch::Alarm")}
        if names:
            return names
        pattern = re.compile(rf"^{re.escape(self.stack_name)}-([A-Za-z0-9]+Alarm)-[A-Z0-9]+$")
        paginator = self.session.client("cloudwatch").get_paginator("describe_alarms")
        for page in paginator.paginate(AlarmNamePrefix=f"{self.stack_name}-"):
            for alarm in page.get("MetricAlarms", []):
                match = pattern.match(alarm["AlarmName"])
                if match:
                    names[alarm["AlarmName"]] = match.group(1)
        return names

    def alarm_check(self) -> Iterable[Check]:
        names = self._alarm_names()
        if not names:
            yield Check("alarms", WARN, "the stack has no alarm")
            return
        found: list[dict[str, Any]] = []
        paginator = self.session.client("cloudwatch").get_paginator("describe_alarms")
        batch = list(names)
        for start in range(0, len(batch), 100):
            for page in paginator.paginate(AlarmNames=batch[start : start + 100]):
                found.extend(page.get("MetricAlarms", []))
        firing = [names.get(a["AlarmName"], a["AlarmName"]) for a in found if a.get("StateValue") == "ALARM"]
        missing = sorted(set(names) - {a["AlarmName"] for a in found})
        if firing:
            yield Check("alarms", FAIL, f"in ALARM: {', '.join(sorted(firing))}")
        elif missing:
            yield Check("alarms", WARN, f"not found: {', '.join(names[m] for m in missing)}")
        else:
            yield Check("alarms", OK, f"{len(found)} alarm(s), none in ALARM")


def api_check(api: Api) -> Iterable[Check]:
    api.call("GET", "/placeholders")
    yield Check("API", OK, f"{'signed ' if api.session is not None else ''}GET /placeholders answered")


def test_send_checks(api: Api) -> Iterable[Check]:
    integrations = list(api.pages("/integrations"))
    if not integrations:
        yield Check("test sends", WARN, "no integration to try")
    for item in integrations:
        label = f"test send {item.get('displayName')}"
        note = "" if item.get("enabled", True) else " (integration disabled)"
        result = api.call("POST", f"/integrations/{segment(str(item['id']))}/test", {}).json()
        if result.get("delivered"):
            yield Check(label, OK, f"HTTP {result.get('statusCode')} in {result.get('latencyMs')} ms{note}")
        else:
            reason = result.get("error") or f"HTTP {result.get('statusCode')}"
            yield Check(label, FAIL, f"{reason}{note} (delivery {result.get('deliveryId')})")


def _load(session: Any, stack_name: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    cloudformation = session.client("cloudformation")
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    resources: list[dict[str, Any]] = []
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        resources.extend(page.get("StackResourceSummaries", []))
    return stack, resources


def run_doctor(options: Options, test_send: bool, printer: Printer, now: datetime | None = None) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    session = aws_session(options)
    try:
        stack, resources = _load(session, options.stack)
    except (ClientError, BotoCoreError) as error:
        checks = [Check("stack outputs", FAIL, f"{options.stack}: {_aws_message(error)}")]
        return _report(checks, printer)
    doctor = Doctor(session, options.stack, stack, resources, now or datetime.now(UTC))
    checks = list(doctor.stack_check())
    api = _api(options, session, doctor.outputs)
    checks += _guarded("API", lambda: api_check(api)) if api else [Check("API", FAIL, "no endpoint")]
    checks += list(doctor.rule_checks())
    checks += _guarded("recent events", doctor.events_check)
    checks += _guarded("dead-letter queue", doctor.dead_letter_check)
    checks += _guarded("alarms", doctor.alarm_check)
    if test_send and api is not None:
        checks += _guarded("test sends", lambda: test_send_checks(api))
    return _report(checks, printer)


def _api(options: Options, session: Any, outputs: dict[str, str]) -> Api | None:
    url = options.endpoint or outputs.get(API_URL_OUTPUT)
    if not url:
        return None
    signed = options.sign if options.sign is not None else True
    api = Api(url.rstrip("/"), session if signed else None, timeout=options.timeout)
    if signed:
        api.region = region_of(url, session)
    return api


def _report(checks: list[Check], printer: Printer) -> int:
    printer.rows([asdict(c) for c in checks], COLUMNS)
    return EXIT_FAILED if any(c.status == FAIL for c in checks) else EXIT_OK
