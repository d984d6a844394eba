"""One template cache for the process: keyed by template text, so an edit compiles anew and
identical templates compile once; bounded; safe to share between the fan-out threads."""

from __future__ import annotations

import threading

import pytest

from secnotify.models.event import sample_event
from secnotify.settings import Settings
from secnotify.templating import TEMPLATES, RenderLimits, TemplateCache, TemplateError, compile_template

SLACK = '{"text": "*{Title}* ({Severity}) {SecurityProblemUrl}"}'
# Compiling this takes long enough (Jinja parse, rewrite and compile) for threads to meet.
SLOW_TO_COMPILE = "".join(f'{{% if Exposed %}}"{{{{ Title }}}}-{i}"{{% endif %}}\n' for i in range(300))


def test_an_edit_compiles_anew_and_the_old_text_is_still_known() -> None:
    cache = TemplateCache()
    before = cache.get(SLACK, "application/json")
    edited = cache.get(SLACK.replace("Title", "Description"), "application/json")
    assert edited is not before
    assert cache.get(SLACK, "application/json") is before
    assert cache.compiles == 2
    assert "Description" in edited.placeholders and "Description" not in before.placeholders


def test_identical_templates_compile_once() -> None:
    cache = TemplateCache()
    # two integrations with the same template: equal text, distinct string objects
    first = cache.get("".join(["{Title}", " x"]), "text/plain")
    second = cache.get("".join(["{Tit", "le} x"]), "text/plain")
    assert first is second
    assert cache.compiles == 1


def test_content_type_and_limits_are_part_of_the_key() -> None:
    cache = TemplateCache()
    as_json = cache.get('{"t": "{Title}"}', "application/json")
    as_text = cache.get('{"t": "{Title}"}', "text/plain")
    small = cache.get('{"t": "{Title}"}', "application/json", RenderLimits(max_output_bytes=10))
    assert len({id(as_json), id(as_text), id(small)}) == 3
    assert (as_json.mode, as_text.mode) == ("json", "raw")
    with pytest.raises(TemplateError, match="exceeds 10 bytes"):
        small.render(sample_event())


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache = TemplateCache(max_size=2)
    a = cache.get("a {Title}", "text/plain")
    b = cache.get("b {Title}", "text/plain")
    assert cache.get("a {Title}", "text/plain") is a  # a is now the most recent
    cache.get("c {Title}", "text/plain")
    assert len(cache) == 2
    assert cache.get("a {Title}", "text/plain") is a
    assert cache.get("b {Title}", "text/plain") is not b  # evicted, compiled again
    assert cache.compiles == 4


def test_threads_asking_at_once_share_one_compile() -> None:
    cache = TemplateCache()
    threads = 8
    start = threading.Barrier(threads)
    got: list[object] = []

    def ask() -> None:
        start.wait()
        got.append(cache.get(SLOW_TO_COMPILE, "text/plain"))

    workers = [threading.Thread(target=ask) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(got) == threads and all(item is got[0] for item in got)
    assert cache.compiles == 1 and len(cache) == 1


def test_a_failed_compile_is_reported_to_every_asker_and_not_kept() -> None:
    cache = TemplateCache()
    for _ in range(2):
        with pytest.raises(TemplateError, match="unknown placeholder"):
            cache.get("{Titel}", "text/plain")
    assert len(cache) == 0 and cache.compiles == 2


def test_compile_template_and_the_notifier_use_the_one_process_cache() -> None:
    from secnotify.service.notify import Notifier
    from tests.fakes.ledger import InMemoryDeliveryLog

    notifier = Notifier(InMemoryDeliveryLog(), Settings())
    assert notifier.templates is TEMPLATES
    limits = notifier.render_limits
    assert compile_template(SLACK, "application/json", limits) is TEMPLATES.get(
        SLACK, "application/json", limits
    )
