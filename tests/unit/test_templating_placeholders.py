"""Placeholder catalogue and values (README "Payload templates")."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree

import pytest

from secnotify.models.common import EventRiskLevel, TriggerEvent
from secnotify.models.event import (
    AffectedEntity,
    ManagementZone,
    SecurityEvent,
    Tag,
    sample_attack_event,
    sample_event,
)
from secnotify.templating import PLACEHOLDERS, PlaceholderInfo, TemplateError, compile_template

SPEC_NAMES = [
    "SecurityProblemId",
    "Title",
    "Description",
    "CvssScore",
    "DavisSecurityScore",
    "Severity",
    "SecurityProblemUrl",
    "AffectedEntities",
    "ManagementZones",
    "Tags",
    "Tags[key]",
    "Exposed",
    "DataAssetsReachable",
    "SensitiveDataReachable",
    "ExploitAvailable",
    "Status",
    "TriggerEvent",
    "RiskLevel",
    "CveIds",
    "Technology",
    "EventId",
    "EventTime",
    "Timestamp",
    "Source",
    "AccountId",
    "Region",
    "FindingType",
    "FixAvailable",
    "ConsoleUrl",
    "ProblemKey",
    "AttackDisplayId",
    "AttackType",
    "Type",
    "AttackState",
    "AttackUrl",
    "EntryPoint",
    "VulnerabilityName",
    "ProcessGroupId",
    "Secret[name]",
    "Receiver[name]",
]

SAMPLE_VALUES = {
    "SecurityProblemId": "S-1234",
    "Title": "Remote Code Execution in log4j-core",
    "Description": 'JNDI lookup in "log4j-core" lets a remote attacker run code.\nUpgrade to 2.17.1.',
    "CvssScore": "10.0",
    "DavisSecurityScore": "10.0",
    "Severity": "Critical",
    "SecurityProblemUrl": "https://example.com/security/problem/11497873967941161718",
    "AffectedEntities": '[{"id": "PROCESS_GROUP-1A2B", "name": "orders-service", "type": "PROCESS_GROUP"}]',
    "ManagementZones": "production",
    "Tags": "owner:team-a, pci",
    "Tags[owner]": "team-a",
    "Exposed": "true",
    "DataAssetsReachable": "true",
    "SensitiveDataReachable": "true",
    "ExploitAvailable": "true",
    "Status": "OPEN",
    "TriggerEvent": "SECURITY_PROBLEM_OPENED",
    "RiskLevel": "CRITICAL",
    "CveIds": "CVE-2021-44228",
    "Technology": "JAVA",
    "EventId": "00000000-0000-4000-8000-000000000001",
    "EventTime": "2026-01-01T12:00:00Z",
    "Timestamp": "2026-01-01T12:00:00Z",
    "Source": "Amazon Inspector",
    "AccountId": "123456789012",
    "Region": "eu-west-1",
    "FindingType": "PACKAGE_VULNERABILITY",
    "FixAvailable": "YES",
    "ConsoleUrl": "https://console.aws.amazon.com/inspector/v2/home?region=eu-west-1#/findings",
    "ProblemKey": "11497873967941161718",
    # an attack's, shown (and rendered here) for the sample attack; empty for the sample problem
    **(
        ATTACK_VALUES := {
            "AttackDisplayId": "A-4321",
            "AttackType": "SQL_INJECTION",
            "Type": "SQL_INJECTION",
            "AttackState": "EXPLOITED",
            "AttackUrl": "https://example.com/ui/security/attack/ATTACK-7C2E5F9A1B3D4E6F",
            "EntryPoint": "com.example.orders.OrderController.search(String)",
            "VulnerabilityName": "SQL injection in OrderRepository.find",
            "ProcessGroupId": "PROCESS_GROUP-1A2B",
        }
    ),
    # what a preview shows for any secret, here the value of a secret called `name`
    "Secret[name]": "***",
    # what a preview or a test-send shows for any receiver reference
    "Receiver[name]": "RECEIVER-REF",
}
SECRETS = {"name": "***"}
RECEIVER = {"name": "RECEIVER-REF"}


def _event(**update: object) -> SecurityEvent:
    return sample_event().model_copy(update=update)


def _raw(template: str, event: SecurityEvent | None = None) -> str:
    return compile_template(template, "text/plain").render(event or sample_event(), SECRETS, RECEIVER)


def test_catalogue_names_in_spec_order() -> None:
    assert [p.name for p in PLACEHOLDERS] == SPEC_NAMES
    for info in PLACEHOLDERS:
        assert info.description
    assert "alias" in next(p for p in PLACEHOLDERS if p.name == "SensitiveDataReachable").description.lower()


NON_STRING = {
    "CvssScore",
    "DavisSecurityScore",
    "AffectedEntities",
    "Exposed",
    "DataAssetsReachable",
    "SensitiveDataReachable",
    "ExploitAvailable",
}


@pytest.mark.parametrize("info", PLACEHOLDERS, ids=lambda p: p.name)
def test_every_placeholder_renders_sample_event(info: PlaceholderInfo) -> None:
    key = "Tags[owner]" if info.name == "Tags[key]" else info.name
    expected = SAMPLE_VALUES[key]
    event = sample_attack_event() if key in ATTACK_VALUES else sample_event()
    assert _raw("{" + key + "}", event) == expected
    assert info.example == expected
    # the same value in every context: JSON string, bare JSON value, XML, and as a Jinja variable
    as_string = compile_template('{"v": "{' + key + '}"}', "application/json").render(
        event, SECRETS, RECEIVER
    )
    assert json.loads(as_string)["v"] == expected
    bare = compile_template('{"v": {' + key + "}}", "application/json").render(event, SECRETS, RECEIVER)
    assert json.loads(bare)["v"] == (json.loads(expected) if key in NON_STRING else expected)
    xml = compile_template("<v>{" + key + "}</v>", "application/xml").render(event, SECRETS, RECEIVER)
    assert ElementTree.fromstring(xml).text == expected  # noqa: S314 - our own output
    if info.name == "Secret[name]":
        assert _raw("{{ Secret.name }}") == _raw("{{ Secret['name'] }}") == expected
    elif info.name == "Receiver[name]":
        assert _raw("{{ Receiver.name }}") == _raw("{{ Receiver['name'] }}") == expected
    elif info.name != "Tags[key]":
        assert _raw("{{ " + key + " }}", event) == expected


def test_bare_json_kinds() -> None:
    body = compile_template(
        '{"cvss": {CvssScore}, "davis": {DavisSecurityScore}, "exposed": {Exposed}, '
        '"exploit": {ExploitAvailable}, "e": {AffectedEntities}, "title": {Title}, '
        '"zones": {ManagementZones}}',
        "application/json",
    ).render(_event(base_risk_score=7.25, risk_score=None, public_exploit="NOT_AVAILABLE"))
    assert json.loads(body) == {
        "cvss": 7.2,
        "davis": None,
        "exposed": True,
        "exploit": False,
        "e": [{"id": "PROCESS_GROUP-1A2B", "name": "orders-service", "type": "PROCESS_GROUP"}],
        "title": "Remote Code Execution in log4j-core",
        "zones": "production",
    }
    assert '"cvss": 7.2,' in body


def test_scores_one_decimal_and_empty_when_unknown() -> None:
    assert _raw("{CvssScore}|{DavisSecurityScore}", _event(base_risk_score=9.87, risk_score=4.0)) == "9.9|4.0"
    assert _raw("[{CvssScore}|{DavisSecurityScore}]", _event(base_risk_score=None, risk_score=None)) == "[|]"
    assert _raw("{CvssScore}", _event(base_risk_score=float("nan"))) == ""


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (EventRiskLevel.CRITICAL, "Critical"),
        (EventRiskLevel.HIGH, "High"),
        (EventRiskLevel.MEDIUM, "Medium"),
        (EventRiskLevel.LOW, "Low"),
        (EventRiskLevel.NONE, "None"),
    ],
)
def test_severity_title_case(level: EventRiskLevel, severity: str) -> None:
    assert _raw("{Severity} {RiskLevel}", _event(risk_level=level)) == f"{severity} {level.value}"


def test_tags() -> None:
    event = _event(tags=(Tag(key="owner", value="team-b"), Tag(key="pci"), Tag(key="env", value="")))
    assert _raw("{Tags}", event) == "owner:team-b, pci, env"
    assert _raw("[{Tags[owner]}][{Tags[pci]}][{Tags[absent]}][{Tags[env]}]", event) == "[team-b][][][]"
    body = compile_template(
        '{"owner": {Tags[owner]}, "pci": {Tags[pci]}, "absent": "{Tags[absent]}"}', "application/json"
    ).render(event)
    assert json.loads(body) == {"owner": "team-b", "pci": None, "absent": ""}
    assert _raw(
        "{Tags[team:name with spaces]}", _event(tags=(Tag(key="team:name with spaces", value="x"),))
    ) == ("x")
    assert _raw("{Tags}", _event(tags=())) == ""


def test_jinja_tags_lookup() -> None:
    assert _raw("{{ Tags['owner'] }}|{{ Tags.owner }}|{{ Tags['absent'] }}|{{ Tags }}") == (
        "team-a|team-a||owner:team-a, pci"
    )


def test_alias_follows_data_assets() -> None:
    template = "{DataAssetsReachable} {SensitiveDataReachable}"
    assert _raw(template, _event(data_assets="REACHABLE")) == "true true"
    assert _raw(template, _event(data_assets="NOT_REACHABLE")) == "false false"


def test_booleans() -> None:
    event = _event(exposure="ADJACENT_NETWORK", public_exploit="NOT_AVAILABLE", data_assets="")
    assert _raw("{Exposed} {ExploitAvailable} {DataAssetsReachable}", event) == "false false false"


def test_joined_lists_and_extras() -> None:
    event = _event(
        management_zones=(ManagementZone(id="1", name="prod"), ManagementZone(id="2", name="eu-west")),
        cve_ids=("CVE-1", "CVE-2"),
        affected_entities=(),
        status="RESOLVED",
        trigger=TriggerEvent.SECURITY_PROBLEM_RESOLVED,
    )
    assert _raw("{ManagementZones}|{CveIds}|{AffectedEntities}|{Status}|{TriggerEvent}", event) == (
        "prod, eu-west|CVE-1, CVE-2|[]|RESOLVED|SECURITY_PROBLEM_RESOLVED"
    )
    entities = (AffectedEntity(id="a", name="n", type="t"), AffectedEntity(id="b"))
    assert json.loads(_raw("{AffectedEntities}", _event(affected_entities=entities))) == [
        {"id": "a", "name": "n", "type": "t"},
        {"id": "b", "name": "", "type": ""},
    ]


def test_event_time_is_utc_iso() -> None:
    cet = timezone(timedelta(hours=1))
    assert _raw("{EventTime}", _event(event_time=datetime(2026, 3, 1, 13, 30, tzinfo=cet))) == (
        "2026-03-01T12:30:00Z"
    )
    assert _raw("{EventTime}", _event(event_time=datetime(2026, 3, 1, 13, 30, 5))) == "2026-03-01T13:30:05Z"


def test_unknown_placeholders_named_and_known_listed() -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template('{"a": "{Foo}",\n "b": {titel}, "c": "{Tags}"}', "application/json")
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.unknown == ("Foo", "titel")
    assert "{Foo}" in err.message and "{titel}" in err.message
    assert "did you mean {Title}" in err.message
    for name in SPEC_NAMES:
        assert "{" + name + "}" in err.message.split("Known placeholders:")[1]
    assert (err.line, err.column) == (1, 8)


def test_unknown_placeholder_in_jinja_template() -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template("{{ Title }}\n{Nope}", "text/plain")
    assert caught.value.unknown == ("Nope",)
    assert caught.value.line == 2


def test_unknown_indexed_placeholders() -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template("{Title[x]} {Labels[a]}", "text/plain")
    assert caught.value.unknown == ("Title[x]", "Labels[a]")


@pytest.mark.parametrize(
    "template",
    ['{"a": {"b": 1}}', "{ }", '{"a":1}', "{}", "{1}", "{ Title }", "{Title ", "{Tags[]}", "{{}", "x}"],
)
def test_braces_that_are_not_placeholders(template: str) -> None:
    if "{{" in template:
        with pytest.raises(TemplateError):
            compile_template(template, "text/plain")
        return
    assert _raw(template) == template


def test_jinja_braces_are_not_placeholders() -> None:
    assert _raw("{{Title}}|{{ Title }}|{Title}") == "|".join([SAMPLE_VALUES["Title"]] * 3)
    assert compile_template("{{Title}}", "text/plain").placeholders == frozenset()
    assert compile_template("{Title} {Tags[owner]}", "text/plain").placeholders == {"Title", "Tags[owner]"}


# ---- attacks -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ATTACK_VALUES))
def test_attack_placeholders_are_empty_for_a_problem(name: str) -> None:
    assert _raw("{" + name + "}") == ""
    assert "empty for a security problem" in next(p for p in PLACEHOLDERS if p.name == name).description


def test_problem_placeholders_for_an_attack() -> None:
    """What README "Attacks" promises for the problem placeholders of an attack."""
    attack = sample_attack_event()
    empty = [
        "SecurityProblemId",
        "Description",
        "CvssScore",
        "DavisSecurityScore",
        "SecurityProblemUrl",
        "Status",
    ]
    empty += ["CveIds", "Tags", "Source", "AccountId", "Region", "FindingType", "FixAvailable", "ConsoleUrl"]
    for name in empty:
        assert _raw("{" + name + "}", attack) == "", name
    assert (
        _raw("{Title}|{Technology}|{ManagementZones}", attack)
        == "SQL injection on orders-service|JAVA|production"
    )
    assert _raw("{TriggerEvent}|{RiskLevel}|{Severity}", attack) == "ATTACK_DETECTED|NONE|None"
    assert _raw("{Exposed}|{ExploitAvailable}", attack) == "false|false"
    assert json.loads(_raw("{AffectedEntities}", attack))[0]["id"] == "PROCESS_GROUP-1A2B"
    # The attack's own id keys it at a receiver, as a problem's id does.
    assert _raw("{ProblemKey}", attack) == "ATTACK-7C2E5F9A1B3D4E6F"
    assert _raw("{Timestamp}", attack) == _raw("{EventTime}", attack) == "2026-01-01T12:00:00Z"


HOSTILE = 'a "b" \\ c\n</v><x>&amp; {Title} {{ 7*7 }} \u2028'


@pytest.mark.parametrize("name", sorted(ATTACK_VALUES))
def test_attack_placeholders_are_escaped_like_any_other(name: str) -> None:
    text = HOSTILE
    fields = {
        "AttackDisplayId": "attack_display_id",
        "AttackType": "attack_type",
        "Type": "attack_type",
        "AttackState": "attack_state",
        "AttackUrl": "attack_url",
        "EntryPoint": "entry_point",
        "VulnerabilityName": "vulnerability_name",
        "ProcessGroupId": "process_group_id",
    }
    event = sample_attack_event().model_copy(update={fields[name]: text})
    out = compile_template('{"v": "{' + name + '}", "w": {' + name + "}}", "application/json").render(
        event, SECRETS, RECEIVER
    )
    assert json.loads(out) == {"v": text, "w": text}
    xml = compile_template("<v>{" + name + "}</v>", "application/xml").render(event, SECRETS, RECEIVER)
    assert ElementTree.fromstring(xml).text == text  # noqa: S314 - our own output
