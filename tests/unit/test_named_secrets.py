"""Named secrets in templates and URLs: where ``{Secret[name]}`` may stand, how its value is
escaped or encoded, and which forms of it are masked."""

from __future__ import annotations

import json

import pytest

from secnotify.delivery import prepare_send
from secnotify.delivery.http import _parse_url
from secnotify.delivery.redact import masker_for
from secnotify.models.event import sample_event
from secnotify.models.named_secrets import check_url_secrets, url_encoded, url_secret_names
from secnotify.templating import TemplateError, compile_template, render_preview


@pytest.mark.parametrize(
    ("value", "in_url"),
    [
        ("abcXYZ019-._~", "abcXYZ019-._~"),  # unreserved only: as it is
        ("sig%2Fv%3D1", "sig%2Fv%3D1"),  # already percent-encoded: as it is
        ("a+b/c=d", "a%2Bb%2Fc%3Dd"),
        ("a&b=c#d?e", "a%26b%3Dc%23d%3Fe"),  # cannot end the query or add a parameter
        ("100%", "100%25"),  # a lone % is not an escape
        ("é ü", "%C3%A9%20%C3%BC"),
    ],
)
def test_a_secret_goes_into_a_url_verbatim_only_when_it_is_already_url_ready(value: str, in_url: str) -> None:
    assert url_encoded(value) == in_url


@pytest.mark.parametrize(
    "url",
    [
        "https://{Secret[h]}/x",
        "https://h.example:{Secret[p]}/x",
        "https://{Secret[u]}@h.example/x",
        "{Secret[s]}://h.example/x",
        "https://h.example/x#{Secret[f]}",
        "https://h.example/{Secret[not-a-name]}",
    ],
)
def test_a_secret_is_refused_outside_the_path_and_query(url: str) -> None:
    with pytest.raises(ValueError, match=r"Secret\["):
        check_url_secrets(url)


def test_secrets_in_path_and_query_are_listed_once() -> None:
    url = "https://h.example/{Secret[a]}/x?sig={Secret[b]}&again={Secret[a]}"
    assert check_url_secrets(url) == "https://h.example/x/x?sig=x&again=x"
    assert url_secret_names(url) == ["a", "b"]


def test_the_parsed_url_cache_never_holds_a_value_and_each_version_fills_its_own() -> None:
    url = "https://h.example/hook/{Secret[a]}?sig={Secret[b]}&q=%7Bx%7D"
    target = _parse_url(url)
    assert target.secret_slots == ("/hook/", "a", "?sig=", "b", "&q=%7Bx%7D")
    one = prepare_send((), None, frozenset(), url_secrets={"a": "p/1", "b": "v1"})
    two = prepare_send((), None, frozenset(), url_secrets={"a": "p2", "b": "v2"})
    assert one.fill(target).request_target == "/hook/p%2F1?sig=v1&q=%7Bx%7D"
    assert two.fill(target).request_target == "/hook/p2?sig=v2&q=%7Bx%7D"
    assert _parse_url(url) is target and "v1" not in repr(target)
    assert one.fill(target).secret_slots == ()
    with pytest.raises(Exception, match="secret b, which the integration does not hold"):
        prepare_send((), None, frozenset(), url_secrets={"a": "x"}).fill(target)


def test_the_masker_covers_a_named_secret_as_sent_in_a_url_and_decoded() -> None:
    masker = masker_for((), None, ("Sig%2Fvalue%3D42", "plain+secret/value"))
    for text in ("Sig%2Fvalue%3D42", "Sig/value=42", "plain+secret/value", "plain%2Bsecret%2Fvalue"):
        assert masker.mask(f"echo {text}!") == "echo ***!"


def test_prepare_send_masks_other_secrets() -> None:
    state = prepare_send((), None, frozenset(), other_secrets=("routing-key-0123456789",))
    assert state.masker.mask("bad key routing-key-0123456789") == "bad key ***"


@pytest.mark.parametrize(
    ("template", "content_type", "expected"),
    [
        ('{"k": "{Secret[key]}"}', "application/json", '{"k": "a\\"b<c>&\\\\"}'),
        ('{"k": {Secret[key]}}', "application/json", '{"k": "a\\"b<c>&\\\\"}'),
        ("<k>{Secret[key]}</k>", "application/xml", "<k>a&quot;b&lt;c&gt;&amp;\\</k>"),
        ("k={Secret[key]}", "text/plain", 'k=a"b<c>&\\'),
        ('{"k": "{{ Secret.key }}", "j": {{ Secret["key"] }}}', "application/json", None),
    ],
)
def test_a_secret_is_escaped_like_any_other_value(
    template: str, content_type: str, expected: str | None
) -> None:
    body = compile_template(template, content_type).render(sample_event(), {"key": 'a"b<c>&\\', "other": "x"})
    if expected is None:
        assert json.loads(body) == {"k": 'a"b<c>&\\', "j": 'a"b<c>&\\'}
    else:
        assert body == expected


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("{{ Secret }}", "may only be used as Secret.name"),
        ("{% for k in Secret %}{{ k }}{% endfor %}", "may only be used as Secret.name"),
        ("{{ Secret[Title] }}", "may only be used as Secret.name"),
        ("{{ Secret|attr('key') }}", "may only be used as Secret.name"),
        ("{% set Secret = {'key': 1} %}{{ Secret.key }}", "cannot be set"),
        ("{{ Secret['no such'] }}", "takes a secret name"),
        ("{{ 'key'|_sn_secret }}", "internal"),
    ],
)
def test_jinja_reads_a_secret_only_by_a_literal_name(template: str, words: str) -> None:
    with pytest.raises(TemplateError, match=words):
        compile_template(template, "text/plain")


def test_a_template_knows_the_secrets_it_uses_and_names_a_missing_one() -> None:
    compiled = compile_template("{Secret[a]}\n{{ Secret.b ~ Secret['c'] }}", "text/plain")
    assert compiled.secret_names == {"a", "b", "c"}
    with pytest.raises(
        TemplateError, match=r"unknown secrets: b, c; the integration's secrets: a, z"
    ) as caught:
        compiled.render(sample_event(), {"a": "1", "z": "2"})
    assert caught.value.line == 2 and caught.value.unknown == ("Secret[b]", "Secret[c]")


def test_a_preview_with_masks_never_holds_a_value_however_the_template_changes_it() -> None:
    body, errors = render_preview(
        '{"k": "{{ Secret.key|upper }}", "n": {{ Secret.key|length }}}',
        "application/json",
        secrets={"key": "***"},
    )
    assert errors == [] and json.loads(body) == {"k": "***", "n": 3}
