"""The seed document's example template (README "Payload templates") and property tests on JSON escaping."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from secnotify.models.event import AffectedEntity, ManagementZone, SecurityEvent, Tag, sample_event
from secnotify.templating import compile_template

# Copied exactly from the seed's "Example message template" (seed/webhook-integration.txt).
SEED_LINE = r'''"text": "Notification for *{SecurityProblemId}* and *{Severity} {DavisSecurityScore}* (CVSS: {CvssScore}). \nTitle: *{Title}*\n```{Description}```\n{SecurityProblemUrl}\n* Public exploit: {ExploitAvailable}, \n* public exposure: {Exposed}, \n* sensitive data exposure: {SensitiveDataReachable}. \nRemediable entities as JSON array: ```{AffectedEntities}```  \n\n *from test system* :dynatrace: (triggered by 'all risk levels' rule)."'''  # noqa: E501
SEED_TEMPLATE = "{" + SEED_LINE + "}"

BARE_TEMPLATE = (
    '{"score": {CvssScore}, "entities": {AffectedEntities}, "exposed": {Exposed}, "title": {Title}}'
)

HOSTILE = (
    'He said "hi" \\ back\\slash \n new\r\nline \t tab \x00\x01\x1f\x7f control '
    "emoji \U0001f525\U0001f469\u200d\U0001f4bb </script><script>alert(1)</script> "
    '{{7*7}} {Title} {Description} {% if 1 %}x{% endif %} \u2028\u2029 \\u0000 ``` """ \' end'
)


def _event(**update: object) -> SecurityEvent:
    return sample_event().model_copy(update=update)


def _expected_text(event: SecurityEvent) -> str:
    """The seed text with each placeholder replaced by hand, independently of the templating code."""
    template_text = json.loads("{" + SEED_LINE + "}")["text"]
    values = {
        "SecurityProblemId": event.display_id,
        "Severity": event.risk_level.value.capitalize(),
        "DavisSecurityScore": "" if event.risk_score is None else f"{event.risk_score:.1f}",
        "CvssScore": "" if event.base_risk_score is None else f"{event.base_risk_score:.1f}",
        "Title": event.title,
        "Description": event.description,
        "SecurityProblemUrl": event.url,
        "ExploitAvailable": str(event.public_exploit == "AVAILABLE").lower(),
        "Exposed": str(event.exposure == "PUBLIC_NETWORK").lower(),
        "SensitiveDataReachable": str(event.data_assets == "REACHABLE").lower(),
        "AffectedEntities": json.dumps(
            [{"id": e.id, "name": e.name, "type": e.type} for e in event.affected_entities],
            ensure_ascii=False,
        ),
    }
    return re.sub(r"\{([A-Za-z]+)\}", lambda m: values[m.group(1)], template_text)


def test_seed_template_text_is_the_documented_one() -> None:
    assert SEED_LINE.startswith('"text": "Notification for *{SecurityProblemId}*')
    assert SEED_LINE.endswith("(triggered by 'all risk levels' rule).\"")
    assert len(SEED_LINE) == 433


def test_seed_template_renders_sample_event() -> None:
    body = compile_template(SEED_TEMPLATE, "application/json").render(sample_event())
    text = json.loads(body)["text"]
    assert text.startswith("Notification for *S-1234* and *Critical 10.0* (CVSS: 10.0). \nTitle: *Remote")
    assert "* Public exploit: true, \n* public exposure: true, \n* sensitive data exposure: true." in text
    assert text == _expected_text(sample_event())


def test_seed_template_with_hostile_values() -> None:
    event = _event(
        title=HOSTILE,
        description=HOSTILE + "\n" + HOSTILE[::-1],
        display_id='S-"1"\\',
        url='https://x.example/?a="b"&c=</script>',
        affected_entities=(AffectedEntity(id='id"1', name=HOSTILE, type="T\\\n"),),
    )
    body = compile_template(SEED_TEMPLATE, "application/json").render(event)
    parsed = json.loads(body)
    assert list(parsed) == ["text"]
    assert parsed["text"] == _expected_text(event)
    assert f"Title: *{HOSTILE}*" in parsed["text"]
    assert "{{7*7}}" in parsed["text"] and "49" not in parsed["text"]
    assert "{Title}" in parsed["text"]  # single pass: a value is never re-read as a template
    entities_text = parsed["text"].split("JSON array: ```", 1)[1].rsplit("```  \n\n *from", 1)[0]
    assert json.loads(entities_text) == [{"id": 'id"1', "name": HOSTILE, "type": "T\\\n"}]
    body.encode("utf-8")


def test_seed_template_in_charset_content_type() -> None:
    body = compile_template(SEED_TEMPLATE, "Application/JSON; charset=utf-8").render(_event(title='"'))
    assert 'Title: *"*' in json.loads(body)["text"]


def test_lone_surrogates_still_give_encodable_valid_json() -> None:
    event = _event(title="a\ud800b\udfff", affected_entities=(AffectedEntity(name="\udc00"),))
    for template in (SEED_TEMPLATE, BARE_TEMPLATE):
        body = compile_template(template, "application/json").render(event)
        body.encode("utf-8")
        json.loads(body)
    bare = json.loads(compile_template(BARE_TEMPLATE, "application/json").render(event))
    assert bare["title"] == "a\ud800b\udfff"
    assert bare["entities"][0]["name"] == "\udc00"


# --- property tests ------------------------------------------------------------------------

_text = st.text(max_size=60)
_any_text = st.text(
    st.one_of(st.characters(), st.characters(codec=None, categories=["Cs"])),
    max_size=30,
)
_score = st.one_of(st.none(), st.floats(min_value=0, max_value=10, allow_nan=False))


@st.composite
def _events(draw: st.DrawFn, text: st.SearchStrategy[str] = _text) -> SecurityEvent:
    return _event(
        title=draw(text),
        description=draw(text),
        display_id=draw(text),
        url=draw(text),
        risk_score=draw(_score),
        base_risk_score=draw(_score),
        exposure=draw(st.sampled_from(["PUBLIC_NETWORK", "ADJACENT_NETWORK", ""])),
        affected_entities=tuple(
            AffectedEntity(id=draw(text), name=draw(text), type=draw(text))
            for _ in range(draw(st.integers(0, 3)))
        ),
        management_zones=tuple(ManagementZone(id=draw(text), name=draw(text)) for _ in range(2)),
        tags=(Tag(key="owner", value=draw(text)), Tag(key=draw(text), value=draw(text))),
    )


@settings(deadline=None, max_examples=150)
@given(_events())
def test_property_seed_template_always_valid_json_with_exact_values(event: SecurityEvent) -> None:
    body = compile_template(SEED_TEMPLATE, "application/json").render(event)
    assert json.loads(body) == {"text": _expected_text(event)}


@settings(deadline=None, max_examples=150)
@given(_events())
def test_property_bare_values(event: SecurityEvent) -> None:
    body = compile_template(BARE_TEMPLATE, "application/json").render(event)
    parsed = json.loads(body)
    score = event.base_risk_score
    assert parsed["score"] == (None if score is None else float(f"{score:.1f}"))
    assert parsed["entities"] == [
        {"id": e.id, "name": e.name, "type": e.type} for e in event.affected_entities
    ]
    assert parsed["exposed"] is (event.exposure == "PUBLIC_NETWORK")
    assert parsed["title"] == (event.title or None)


@settings(deadline=None, max_examples=100)
@given(_events(_any_text))
def test_property_any_code_point_gives_encodable_json(event: SecurityEvent) -> None:
    template = (
        '{"t": "{Title} {Tags[owner]} {ManagementZones} {Tags} {AffectedEntities}", '
        '"d": {Description}, "o": {Tags[owner]}, "z": {ManagementZones}, "e": {AffectedEntities}}'
    )
    body = compile_template(template, "application/json").render(event)
    body.encode("utf-8")
    parsed = json.loads(body)
    assert parsed["d"] == (event.description or None)
    assert parsed["o"] == (event.tags[0].value or None)
    zones = ", ".join(z.name for z in event.management_zones)
    assert parsed["z"] == (zones or None)
    assert parsed["t"].startswith(f"{event.title} {event.tags[0].value} {zones} ")
    assert parsed["e"] == [{"id": e.id, "name": e.name, "type": e.type} for e in event.affected_entities]


@settings(deadline=None, max_examples=100)
@given(_events())
def test_property_jinja_output_escaped_per_context(event: SecurityEvent) -> None:
    template = (
        '{"t": "{{ Title }}|{{ Description|upper }}", "d": {{ Description }}, '
        '"names": [{% for e in AffectedEntities %}{{ e.name }}{% if not loop.last %}, {% endif %}'
        '{% endfor %}], "p": "{Title}"}'
    )
    parsed = json.loads(compile_template(template, "application/json").render(event))
    assert parsed == {
        "t": f"{event.title}|{event.description.upper()}",
        "d": event.description,
        "names": [e.name for e in event.affected_entities],
        "p": event.title,
    }
