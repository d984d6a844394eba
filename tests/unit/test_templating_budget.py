"""The render budget is a hard limit: Jinja renders run in a worker process with OS limits,
nothing of a template runs at compile time, nesting is capped before compiling, and no
object repr ever reaches a payload."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from secnotify.models.event import sample_event
from secnotify.templating import TemplateError, compile_template, jinja_engine, validate_template, worker

MAX_PEAK_RSS_KIB = 256 * 1024

# The templates of the outside review that froze the dispatcher or grew to gigabytes.
BOMBS = {
    "guarded-list": '{% if EventId != "x" %}{{ [[1]*100000]*3000 }}{% else %}{}{% endif %}',
    "list": "{{ [[1]*100000]*1000 }}",
    "emoji-string": "{{ ([('\U0001f600'*1000000)]*100000)|string|length }}",
    "format": "{{ ('{0}'*250).format('x'*1000000) }}",
    "sum": "{{ ([[1]*1000]*900)|sum(start=[]) }}",
}


@pytest.mark.parametrize("name", list(BOMBS))
def test_each_bomb_is_cut_by_the_render_budget_in_a_bounded_worker(name: str) -> None:
    compiled = compile_template(BOMBS[name], "text/plain")
    with pytest.raises(TemplateError) as caught:
        compiled.render(sample_event())
    assert caught.value.message.startswith("render budget exceeded"), caught.value.message
    stopped = worker.POOL.last_stopped
    assert stopped is not None and stopped.pid is not None
    assert stopped.peak_rss_kib is not None and stopped.peak_rss_kib <= MAX_PEAK_RSS_KIB


def test_a_worker_lives_on_after_an_ordinary_error_and_is_replaced_after_a_breach() -> None:
    good = compile_template("{{ Title | upper }}", "text/plain")
    assert good.render(sample_event()) == "REMOTE CODE EXECUTION IN LOG4J-CORE"
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        compile_template("{{ 1 / 0 }}", "text/plain").render(sample_event())
    with pytest.raises(TemplateError, match="render budget exceeded"):
        compile_template(BOMBS["list"], "text/plain").render(sample_event())
    assert good.render(sample_event()) == "REMOTE CODE EXECUTION IN LOG4J-CORE"


def test_each_render_sees_its_own_event_though_a_worker_keeps_the_last_one() -> None:
    compiled = compile_template("{{ Title }}/{{ EventId }}", "text/plain")
    first = sample_event()
    second = first.model_copy(update={"title": "Other", "event_id": "e2"})
    outputs = [compiled.render(e) for e in (first, first, second, first, second, second)]
    assert outputs == [
        f"{first.title}/{first.event_id}",
        f"{first.title}/{first.event_id}",
        "Other/e2",
        f"{first.title}/{first.event_id}",
        "Other/e2",
        "Other/e2",
    ]


def test_the_bomb_is_harmless_for_the_sample_event_so_it_saves() -> None:
    template = (
        '{% if EventId != "' + sample_event().event_id + '" %}{{ [[1]*100000]*3000 }}{% else %}{}{% endif %}'
    )
    assert validate_template(template, "application/json") == []
    with pytest.raises(TemplateError, match="render budget exceeded"):
        compile_template(template, "application/json").render(
            sample_event().model_copy(update={"event_id": "e2"})
        )


# --- nothing runs at compile time ------------------------------------------------------------


@pytest.fixture
def counted_filters(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """Counts calls of `upper` and of the raw output escaper in the shared environment."""
    calls = {"upper": 0, "_sn_out_raw_v": 0}
    for name in calls:
        original = jinja_engine._ENV.filters[name]

        def counting(*args: Any, _name: str = name, _f: Callable[..., Any] = original, **kw: Any) -> Any:
            calls[_name] += 1
            return _f(*args, **kw)

        counting.jinja_pass_arg = getattr(original, "jinja_pass_arg", None)  # type: ignore[attr-defined]
        monkeypatch.setitem(jinja_engine._ENV.filters, name, counting)
    yield calls


def test_compiling_never_runs_filters_on_constants(counted_filters: dict[str, int]) -> None:
    # Jinja's optimizer folds `"abc"|upper`; its code generator folds constant output through
    # finalize: either would run template code while compiling, outside any budget.
    template = jinja_engine.JinjaTemplate("{{ 'abc'|upper }}|{{ 'xyz' }}", "raw", 1_048_576, 1.0)
    assert counted_filters == {"upper": 0, "_sn_out_raw_v": 0}
    assert template.render(sample_event()) == "ABC|xyz"
    assert counted_filters == {"upper": 1, "_sn_out_raw_v": 2}


# --- nesting caps ----------------------------------------------------------------------------

DEEP = {
    "21 nested for": "{% for a in [1] %}" * 21 + "x" + "{% endfor %}" * 21,
    "150 nested parentheses": "{{ " + "(" * 150 + "1" + ")" * 150 + " }}",
    "200 nested if": "{% if true %}" * 200 + "x" + "{% endif %}" * 200,
    "40 nested lists": "{{ " + "[" * 40 + "1" + "]" * 40 + " }}",
    "20 nested set blocks": "{% set a %}" * 20 + "x" + "{% endset %}" * 20,
}


@pytest.mark.parametrize("name", list(DEEP))
def test_too_deep_nesting_is_a_template_error(name: str) -> None:
    with pytest.raises(TemplateError, match="nested more than") as caught:
        compile_template(DEEP[name], "text/plain")
    assert caught.value.line == 1


def test_nesting_up_to_the_caps_compiles_and_renders() -> None:
    blocks = jinja_engine.MAX_BLOCK_DEPTH
    brackets = jinja_engine.MAX_BRACKET_DEPTH
    loops = "{% for a in [1] %}" * blocks + "x" + "{% endfor %}" * blocks
    assert compile_template(loops, "text/plain").render(sample_event()) == "x"
    parens = "{{ " + "(" * brackets + "1" + ")" * brackets + " }}"
    assert compile_template(parens, "text/plain").render(sample_event()) == "1"
    sets = "{% set a = 1 %}" * 50 + "{{ a }}"  # assignments do not nest
    assert compile_template(sets, "text/plain").render(sample_event()) == "1"


# --- no object reprs -------------------------------------------------------------------------

OPAQUE = [
    "{{ range }}",
    "{{ event|attr('items') }}",
    "{{ Title.upper }}",
    "{{ range|string }}",
    "{{ [range] }}",
    "{{ {'a': range} }}",
    "{{ '%s' % range }}",
    "{{ '{}'.format(range) }}",
    "{{ range ~ '' }}",
    "{{ [1, 2]|map('string') }}",
    "{{ namespace(a=1) }}",
    "{% for i in [1] %}{{ loop }}{% endfor %}",
    "{{ cycler }}",
    "{{ [range]|join(',') }}",
    "{{ range|pprint }}",
    "{{ range(3) }}",
    "{% set x %}{{ range }}{% endset %}{{ x }}",
    "{{ '%s'|format(range) }}",
    "{{ event.items() }}",
]


@pytest.mark.parametrize("template", OPAQUE)
@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/xml"])
def test_objects_are_never_output_as_their_repr(template: str, content_type: str) -> None:
    with pytest.raises(TemplateError, match="cannot be output or turned into text") as caught:
        compile_template(template, content_type).render(sample_event())
    assert "0x" not in caught.value.message and "<" not in caught.value.message
    # the same problem is a save-time error, against the sample event
    assert [e.message for e in validate_template(template, content_type)] == [caught.value.message]


def test_plain_values_built_from_objects_still_render() -> None:
    render = compile_template(
        "{{ range(3)|list }} {{ [1, 2]|map('string')|join(',') }} {{ event.items()|list|length > 3 }} "
        "{% set ns = namespace(a=1) %}{{ ns.a }} {% for i in [7] %}{{ loop.index }}{% endfor %}",
        "text/plain",
    ).render(sample_event())
    assert render == "[0, 1, 2] 1,2 true 1 1"
