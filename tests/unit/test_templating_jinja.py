"""Jinja2 in payload templates: escaping of {{ }} output, sandbox, limits (README "Payload templates")."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from secnotify.models.event import AffectedEntity, SecurityEvent, sample_event
from secnotify.templating import TemplateError, compile_template, render_preview

HOSTILE = 'q"uo\\te\n</script>\x01 {{7*7}} {Title} \U0001f525'


def _event(**update: object) -> SecurityEvent:
    return sample_event().model_copy(update=update)


def _json(template: str, event: SecurityEvent | None = None) -> object:
    return json.loads(compile_template(template, "application/json").render(event or sample_event()))


def _raw(template: str, event: SecurityEvent | None = None) -> str:
    return compile_template(template, "text/plain").render(event or sample_event())


def test_loops_conditionals_filters_in_json() -> None:
    event = _event(
        title=HOSTILE,
        affected_entities=(AffectedEntity(id="1", name=HOSTILE, type="T"), AffectedEntity(id="2", name="b")),
    )
    template = """{
  "title": "{% if Exposed %}[PUBLIC] {% endif %}{{ Title | upper }}",
  "names": [{% for e in AffectedEntities %}{{ e.name }}{% if not loop.last %}, {% endif %}{% endfor %}],
  "count": {{ AffectedEntities | length }},
  "first": {{ (AffectedEntities | first).name }},
  "score": {{ DavisSecurityScore }},
  "high": {{ DavisSecurityScore >= 9 }},
  "missing": {{ CvssScore if false else none }},
  "entities": {{ AffectedEntities | tojson }},
  "zones": "{{ event.management_zones | map(attribute='name') | join(', ') }}",
  "cves": {{ event.cve_ids }}
}"""
    assert _json(template, event) == {
        "title": "[PUBLIC] " + HOSTILE.upper(),
        "names": [HOSTILE, "b"],
        "count": 2,
        "first": HOSTILE,
        "score": 10.0,
        "high": True,
        "missing": None,
        "entities": [{"id": "1", "name": HOSTILE, "type": "T"}, {"id": "2", "name": "b", "type": ""}],
        "zones": "production",
        "cves": ["CVE-2021-44228"],
    }


def test_jinja_and_placeholders_mix() -> None:
    template = '{"a": "{Title}", "b": {CvssScore}, "c": {{ Exposed }}, "d": "{{ Tags.owner }}-{Tags[owner]}"}'
    assert _json(template, _event(title=HOSTILE)) == {
        "a": HOSTILE,
        "b": 10.0,
        "c": True,
        "d": "team-a-team-a",
    }


def test_whitespace_control_and_trailing_newline() -> None:
    assert _raw("a  {{- Title -}}  b") == "aRemote Code Execution in log4j-coreb"
    assert _raw("{% if true -%}\n  x\n{%- endif %}\n") == "x\n"
    assert _raw("{# comment #}{{ Severity }}") == "Critical"


def test_xml_output_escaped() -> None:
    body = compile_template(
        "<r>{% for e in AffectedEntities %}<e>{{ e.name }}</e>{% endfor %}</r>", "application/xml"
    ).render(_event(affected_entities=(AffectedEntity(name="<b>&'\"</b>"),)))
    assert ElementTree.fromstring(body)[0].text == "<b>&'\"</b>"  # noqa: S314 - our own output


def test_raw_output_formats_values_like_placeholders() -> None:
    assert _raw("{{ Exposed }} {{ CvssScore }} {{ none }} {{ [1, 'a'] }}") == 'true 10.0  [1, "a"]'


def test_macros_and_set_blocks_escape_once_where_output() -> None:
    template = (
        '{% macro q(v) %}<{{ v }}>{% endmacro %}{% set s %}"{Title}"{% endset %}'
        '{"m": "{{ q(Title) }}", "s": {{ s }}, "n": {{ q(1) }}}'
    )
    assert _json(template, _event(title=HOSTILE)) == {
        "m": f"<{HOSTILE}>",
        "s": f'"{HOSTILE}"',
        "n": "<1>",
    }


def test_namespace_and_arithmetic() -> None:
    template = "{% set ns = namespace(n=0) %}{% for i in range(5) %}{% set ns.n = ns.n + i %}{% endfor %}"
    assert _raw(template + "{{ ns.n }} {{ 7*7 }} {{ 2**10 }} {{ '%s-%03d' % ('a', 7) }} {{ 'ab' * 3 }}") == (
        "10 49 1024 a-007 ababab"
    )


def test_undefined_is_an_error() -> None:
    with pytest.raises(TemplateError, match="undefined"):
        _raw("{{ event.no_such_field }}")
    with pytest.raises(TemplateError) as caught:
        compile_template("line one\n{{ Tittle }}", "text/plain")
    assert caught.value.unknown == ("Tittle",) and caught.value.line == 2
    assert "Known variables: event, SecurityProblemId" in caught.value.message
    assert _raw("{{ event.no_such_field | default('d') }}|{{ 'x' if event.extra is defined }}") == "d|x"


def test_syntax_error_has_line() -> None:
    with pytest.raises(TemplateError) as caught:
        compile_template("ok\n{% for x in AffectedEntities %}\n{{ x }}", "application/json")
    assert caught.value.line is not None and caught.value.line >= 2
    assert "syntax" in caught.value.message


@pytest.mark.parametrize(
    "tag",
    ["{% include 'x' %}", "{% import 'os' as os %}", "{% extends 'base' %}", "{% from 'a' import b %}",
     "{% filter upper %}{Title}{% endfilter %}", "{% macro m() %}{{ caller() }}{% endmacro %}"
     "{% call m() %}x{% endcall %}"],
)  # fmt: skip
def test_unsupported_tags_are_rejected(tag: str) -> None:
    with pytest.raises(TemplateError, match="not supported"):
        compile_template(tag, "text/plain")


SSTI_PAYLOADS = [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__()[59].__init__.__globals__['sys'].modules['os'] }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ joiner.__init__.__globals__ }}",
    "{{ namespace.__init__.__globals__ }}",
    "{{ range.__globals__ }}",
    "{{ dict.__base__.__subclasses__() }}",
    "{{ lipsum.__globals__ }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ ''|attr('__class__') }}",
    "{{ (''|attr('__class__')|attr('__mro__'))[1] }}",
    "{{ ''['__class__'] }}",
    "{{ '{0.__class__}'.format('') }}",
    "{{ '%s'|format(''.__class__) }}",
    "{{ self._TemplateReference__context }}",
    "{{ self.__init__.__globals__ }}",
    "{% for c in [].__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ config }}",
    "{{ config.items() }}",
    "{{ request }}",
    "{{ request.application.__globals__ }}",
    "{{ url_for.__globals__ }}",
    "{{ get_flashed_messages.__globals__ }}",
    "{{ event.__class__ }}",
    "{{ event.update({'title': 'x'}) }}{{ event.title }}",
    "{% set x = AffectedEntities.append(1) %}",
    "{{ Title.__class__.__mro__ }}",
    "{{ Tags.__class__.__init__.__globals__ }}",
    "{{ Tags._values }}",
    "{{ _sn_state }}",
    "{{ _sn_state.event.model_dump() }}",
    "{% set _sn_state = 1 %}{Title}",
    "{{ (1).__class__.__subclasses__() }}",
    "{{ ()|attr('__class__')|attr('__base__')|attr('__subclasses__')() }}",
    "{{ loop.__class__ }}",
    "{% for x in range(1) %}{{ loop.__init__.__globals__ }}{% endfor %}",
]


@pytest.mark.parametrize("payload", SSTI_PAYLOADS)
def test_ssti_payloads_rejected_or_inert(payload: str) -> None:
    body, errors = render_preview(payload, "text/plain", sample_event())
    if errors:
        assert body == ""
        assert errors[0].message and len(errors[0].message) > 10
    else:
        # rendered: nothing that points at Python objects may come out
        for leak in ("<class", "<function", "<module", "__", "built-in", "os."):
            assert leak not in body
        assert body in ("", "Remote Code Execution in log4j-core")


def test_ssti_payloads_mostly_fail_with_clear_errors() -> None:
    messages = [render_preview(p, "text/plain", sample_event())[1] for p in SSTI_PAYLOADS]
    rejected = [m for m in messages if m]
    assert len(rejected) >= len(SSTI_PAYLOADS) - 1
    assert any("unsafe" in m[0].message for m in rejected)
    assert any("unknown variable" in m[0].message for m in rejected)


def test_huge_repetition_fails_fast() -> None:
    with pytest.raises(TemplateError, match="byte output limit"):
        _raw("{{ 'a' * 10**9 }}")
    with pytest.raises(TemplateError, match="number too large"):
        _raw("{{ 10 ** (10 ** 10) }}")
    with pytest.raises(TemplateError):
        _raw("{{ [1, 2] * 10**8 }}")


@pytest.mark.parametrize(
    "template",
    [
        "{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}",
        "{% for i in range(100000) %}{{ Description }}{% endfor %}",
        "{% macro m(n) %}{% if n %}{% set x = m(n - 1) %}{{ x }}{{ x }}{% endif %}x{% endmacro %}{{ m(40) }}",
        "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
        "{{ range(100000) | join('x' * 100000) }}",
        "{{ ','.join(['x' * 1000000] * 100) }}",
        "{{ 'x'.center(10**9) }}",
        "{{ 'a\nb' | indent(10**8) }}",
        "{{ '%*d' % (10**9, 1) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{{ '{0:>{1}}'.format(1, 10**9) }}",
        "{{ 'ab' | replace('', 'x' * 1000000) }}",
        "{{ ('\t' * 100000).expandtabs(10000) }}",
    ],
)
def test_output_and_work_are_bounded(template: str) -> None:
    with pytest.raises(TemplateError) as caught:
        _raw(template)
    assert caught.value.message


def test_endless_work_without_output_is_stopped() -> None:
    template = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    with pytest.raises(TemplateError, match="too long"):
        _raw(template)


def test_recursion_is_stopped() -> None:
    with pytest.raises(TemplateError, match="recursion"):
        _raw("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}")


def test_output_just_under_the_limit_renders() -> None:
    body = _raw("{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}")
    assert len(body) == 1_000_000


def test_render_errors_do_not_leak_between_renders() -> None:
    compiled = compile_template("{{ 1 / (DavisSecurityScore - 10) }}", "text/plain")
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        compiled.render(sample_event())
    assert compiled.render(_event(risk_score=9.0)) == "-1.0"
