"""Content-type aware escaping, JSON validation and the preview/validate helpers
(README "Payload templates")."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st

from secnotify.models.event import SecurityEvent, Tag, sample_event
from secnotify.templating import (
    TemplateError,
    compile_template,
    is_json_content_type,
    is_xml_content_type,
    render_preview,
    validate_template,
)

NASTY = "a&b<c>d\"e'f\x00g\x08h\x0bi\x1fj\ufffek\tl\nm\U0001f600 {{7*7}} {Title}"


def _event(**update: object) -> SecurityEvent:
    return sample_event().model_copy(update=update)


@pytest.mark.parametrize(
    ("content_type", "is_json"),
    [
        ("application/json", True),
        ("APPLICATION/JSON", True),
        ("application/json; charset=utf-8", True),
        (" application/json ;charset=UTF-8", True),
        ("application/vnd.api+json", True),
        ("application/cloudevents+json; charset=utf-8", True),
        ("text/json", True),
        ("Text/JSON; charset=utf-8", True),
        ("application/x-json", True),
        ("text/x-json", True),
        ("application/jsonp", False),
        ("x-json", False),
        ("text/plain", False),
        ("application/jsonx", False),
        ("application/xml", False),
        ("", False),
    ],
)
def test_is_json_content_type(content_type: str, is_json: bool) -> None:
    assert is_json_content_type(content_type) is is_json


@pytest.mark.parametrize(
    ("content_type", "is_xml"),
    [
        ("application/xml", True),
        ("text/xml; charset=utf-8", True),
        ("application/soap+xml", True),
        ("Application/Atom+XML", True),
        ("text/html", False),
        ("application/json", False),
    ],
)
def test_is_xml_content_type(content_type: str, is_xml: bool) -> None:
    assert is_xml_content_type(content_type) is is_xml


def test_xml_escaping_gives_well_formed_xml_with_exact_text() -> None:
    template = '<alert id="{SecurityProblemId}"><title>{Title}</title><d>{{ Description }}</d></alert>'
    body = compile_template(template, "application/xml").render(
        _event(title=NASTY, description=NASTY, display_id='"><x a="')
    )
    root = ElementTree.fromstring(body)  # noqa: S314 - parsing our own output
    # characters XML 1.0 forbids become U+FFFD; everything else survives exactly
    cleaned = NASTY.replace("\x00", "\ufffd").replace("\x08", "\ufffd").replace("\x0b", "\ufffd")
    cleaned = cleaned.replace("\x1f", "\ufffd").replace("\ufffe", "\ufffd")
    assert root.find("title").text == cleaned  # type: ignore[union-attr]
    assert root.find("d").text == cleaned  # type: ignore[union-attr]
    assert root.get("id") == '"><x a="'
    assert "&amp;" in body and "&lt;c&gt;" in body and "&#39;" in body and "&quot;" in body


def test_raw_text_is_inserted_unchanged() -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "text/html"):
        body = compile_template("T={Title}|D={{ Description }}", content_type).render(
            _event(title=NASTY, description=NASTY)
        )
        assert body == f"T={NASTY}|D={NASTY}"


def test_json_string_context_tracks_escaped_quotes() -> None:
    # the \" inside the first string must not end it, so {Title} is still inside a string
    template = r'{"a": "x \"quoted\" {Title}", "b": {Title}, "c": "\\", "d": {Exposed}}'
    parsed = json.loads(compile_template(template, "application/json").render(_event(title='q"\\')))
    assert parsed == {"a": 'x "quoted" q"\\', "b": 'q"\\', "c": "\\", "d": True}


def test_placeholder_as_object_key_and_in_arrays() -> None:
    template = '{"{SecurityProblemId}": [{CvssScore}, {Title}, "{Severity}"]}'
    parsed = json.loads(compile_template(template, "application/json").render(sample_event()))
    assert parsed == {"S-1234": [10.0, "Remote Code Execution in log4j-core", "Critical"]}


def test_empty_bare_value_is_null() -> None:
    template = '{"d": {Description}, "u": {SecurityProblemUrl}, "c": {CveIds}}'
    parsed = json.loads(
        compile_template(template, "application/json").render(_event(description="", cve_ids=()))
    )
    assert parsed == {"d": None, "u": "https://example.com/security/problem/11497873967941161718", "c": None}


def test_single_pass_substitution() -> None:
    event = _event(title="{Description} {{ 7*7 }} {% for x in range(3) %}x{% endfor %}", description="D")
    for template in ("{Title}", "{{ Title }}", "{% if true %}{Title}{% endif %}"):
        assert compile_template(template, "text/plain").render(event) == event.title


def test_json_error_has_line_and_column() -> None:
    template = '{\n  "a": "{Title}"\n  "b": 1\n}'
    errors = validate_template(template, "application/json")
    assert len(errors) == 1
    assert (
        errors[0].message
        == "payload does not render to valid JSON: Expecting ',' delimiter at line 3, column 3"
    )
    assert (errors[0].line, errors[0].column) == (3, 3)
    assert errors[0].to_dict()["line"] == 3


def test_the_platform_style_unwrapped_seed_line_is_rejected_for_json() -> None:
    errors = validate_template('"text": "{Title}"', "application/json")
    assert errors and "Extra data" in errors[0].message


def test_validate_accepts_good_templates_and_other_content_types() -> None:
    assert validate_template('{"t": "{Title}", "n": {{ DavisSecurityScore }}}', "application/json") == []
    assert validate_template("not json {Title}", "text/plain") == []
    assert validate_template("<a>{Title}</a>", "text/xml") == []


def test_validate_uses_the_given_event() -> None:
    # a bare score renders null, a string context renders "" - both valid; a bad literal is not
    event = _event(base_risk_score=None)
    assert validate_template('{"c": {CvssScore}}', "application/json", event) == []
    assert validate_template('{"c": {CvssScore}x}', "application/json", event)[0].line == 1


def test_render_preview() -> None:
    body, errors = render_preview('{"t": "{Title}"}', "application/json", _event(title="hi"))
    assert (body, errors) == ('{"t": "hi"}', [])
    body, errors = render_preview("{Nope}", "application/json", sample_event())
    assert body == "" and errors[0].unknown == ("Nope",)
    body, errors = render_preview('{"t": {{ Title }} "x"}', "application/json", sample_event())
    assert body.startswith('{"t": "Remote') and "valid JSON" in errors[0].message
    body, errors = render_preview("{{ Title }", "text/plain", sample_event())
    assert body == "" and "syntax" in errors[0].message and errors[0].line == 1


def test_template_error_shape() -> None:
    err = TemplateError("bad", line=2, column=3, unknown=("X",))
    assert isinstance(err, ValueError)
    assert str(err) == "bad"
    assert err.to_dict() == {"message": "bad", "line": 2, "column": 3, "unknown": ["X"]}


def test_compiled_template_is_reusable() -> None:
    compiled = compile_template('{"t": "{Title}"}', "application/json")
    assert compile_template('{"t": "{Title}"}', "application/json") is compiled
    assert [compiled.render(_event(title=str(i))) for i in range(3)] == [
        '{"t": "0"}',
        '{"t": "1"}',
        '{"t": "2"}',
    ]
    assert not compiled.uses_jinja
    assert compile_template("{{ Title }}", "application/json").uses_jinja


def test_oversized_plain_output_is_refused() -> None:
    compiled = compile_template("{Description}", "text/plain")
    assert compiled.render(_event(description="x" * 1000)) == "x" * 1000
    with pytest.raises(TemplateError, match="exceeds 1048576 bytes"):
        compiled.render(_event(description="x" * 1_048_577))
    with pytest.raises(TemplateError, match="exceeds"):
        compiled.render(_event(description="\U0001f600" * 300_000))  # 1.2 MB in UTF-8


JSON_ALIASES = ("text/json", "application/x-json", "text/x-json", "application/json", "application/ld+json")
INJECTION_TEMPLATES = (
    '{"title": "{Title}", "bare": {Title}, "owner": "{Tags[owner]}", "tail": "x{Description}y"}',
    '{"title": "{{ Title }}", "bare": {{ Title }}, "owner": "{{ Tags.owner }}", "tail": "x{Description}y"}',
)


# Surrogates aside (JSON carries lone ones as escapes, covered elsewhere): any text at all.
_TEXT = st.text(st.characters(exclude_categories=("Cs",)))


@given(
    content_type=st.sampled_from(JSON_ALIASES),
    template=st.sampled_from(INJECTION_TEMPLATES),
    title=_TEXT,
    description=_TEXT,
    owner=_TEXT,
)
def test_event_data_cannot_inject_keys_under_any_json_content_type(
    content_type: str, template: str, title: str, description: str, owner: str
) -> None:
    event = _event(title=title, description=description, tags=(Tag(key="owner", value=owner),))
    parsed = json.loads(compile_template(template, content_type).render(event))
    # an empty placeholder is null, an empty {{ }} string "" (README "Payload templates")
    bare = title if title or "{{" in template else None
    assert parsed == {"title": title, "bare": bare, "owner": owner, "tail": f"x{description}y"}


def test_text_json_payload_is_validated_as_json_on_save() -> None:
    for content_type in ("text/json", "application/x-json"):
        errors = validate_template('{"a": {Title} "b"}', content_type)
        assert errors and "valid JSON" in errors[0].message


@pytest.mark.parametrize(
    ("template", "line", "column"),
    [
        ('{"owner": "\\{Tags[owner]}"}', 1, 13),
        ('{"a": 1,\n  "b": "\\\\\\{Title}"}', 2, 12),
        ('{"owner": "\\{{ Tags.owner }}"}', 1, 13),
        ('{"a": 1,\n  "b": "{{ 1 }}\\{Title}"}', 2, 17),
        ('{"a": [\n "\\{% if true %}{Title}{% endif %}"]}', 2, 4),
    ],
)
def test_odd_backslashes_before_a_placeholder_in_a_json_string_are_refused(
    template: str, line: int, column: int
) -> None:
    errors = validate_template(template, "application/json")
    assert errors, template
    assert "odd number of backslashes" in errors[0].message
    assert (errors[0].line, errors[0].column) == (line, column)
    assert f"line {line}, column {column}" in errors[0].message


def test_the_refused_backslash_template_really_breaks_json() -> None:
    # Why it is refused: the sample value happens to make a valid escape (\t), a quote does not.
    compiled = compile_template('{"owner": "\\{Tags[owner]}"}', "application/json")
    assert json.loads(compiled.render(sample_event())) == {"owner": "\team-a"}
    with pytest.raises(json.JSONDecodeError):
        json.loads(compiled.render(_event(tags=(Tag(key="owner", value='"'),))))


@pytest.mark.parametrize(
    "template",
    [
        '{"owner": "\\\\{Tags[owner]}"}',
        '{"owner": "\\\\{{ Tags.owner }}"}',
        '{"path": "C:\\\\{Title}\\\\x"}',
        '{"a": "\\"", "b": {Title}}',
    ],
)
def test_an_escaped_backslash_before_a_placeholder_stays_valid(template: str) -> None:
    assert validate_template(template, "application/json") == []
    event = _event(title='"}', tags=(Tag(key="owner", value='"}'),))
    json.loads(compile_template(template, "application/json").render(event))


def test_backslashes_outside_json_are_left_alone() -> None:
    for content_type in ("text/plain", "application/xml"):
        assert validate_template('<a>"\\{Title}"</a>', content_type) == []
