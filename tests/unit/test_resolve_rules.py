"""Resolving at another URL, its rules (README "Resolving at another URL"): the path and pointer
checks of the input, the pointer read from an answer, the path's percent-encoding, and the
``{Receiver[name]}`` placeholder in plain and Jinja templates."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from secnotify.models.event import sample_event
from secnotify.models.integration_api import ReceiverReferenceInput, ResolvedRouteInput, WebhookInput
from secnotify.models.receiver import pointer_value, reference_in
from secnotify.templating import TemplateError, compile_template, render_preview
from secnotify.templating.errors import MissingReceiverReference
from secnotify.templating.path import compile_path, encode_segment, resolved_url

JIRA_PATH = "/rest/api/3/issue/{Receiver[issueKey]}/comment"


def _decoded(doc: str) -> Any:
    return json.loads(doc, parse_float=str, parse_int=str)


# ---- the input's checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        JIRA_PATH,
        "/v2/alerts/{SecurityProblemId}/close?identifierType=alias",
        "/",
        "/hooks/{Secret[token]}/resolve",
        "/a@b/c:d;e=f/%2Fescaped",
        "/ünïcode/{Title}",
    ],
)
def test_a_path_on_the_same_origin_is_accepted(path: str) -> None:
    assert ResolvedRouteInput(path=path, payload="{}").path == path


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("rest/api", "must start with /"),
        ("https://evil.example/x", "must start with /"),
        ("//evil.example/x", "must not start with //"),
        ("///evil.example", "must not start with //"),
        ("/\\evil.example", "backslash"),
        ("/a\\b", "backslash"),
        ("/a b", "spaces or control"),
        ("/a\tb", "spaces or control"),
        ("/a\x00b", "spaces or control"),
        ("/a\r\nHost: evil", "spaces or control"),
        ("/a\u2028b", "spaces or control"),
        ("/a#frag", "fragment"),
        ("/a%zz", "%XX"),
        ("/a%", "%XX"),
        ("/{{ Title }}", "not Jinja"),
        ("/{% if 1 %}x{% endif %}", "not Jinja"),
        ("/{Secret[bad-name]}", "does not name a secret"),
        ("/" + "a" * 1000, "at most 1000"),
        ("", "at least 1"),
    ],
)
def test_a_path_that_could_leave_the_origin_or_is_malformed_is_refused(path: str, why: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ResolvedRouteInput(path=path, payload="{}")
    assert why in str(caught.value)


@given(st.text(max_size=60))
def test_no_accepted_path_changes_the_origin(path: str) -> None:
    try:
        ResolvedRouteInput(path="/" + path, payload="{}")
    except ValidationError:
        return
    rendered = compile_path("/" + path).render(sample_event(), {})
    url = resolved_url("https://jira.example.com:8443/base", rendered)
    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port) == ("https", "jira.example.com", 8443)


@pytest.mark.parametrize("pointer", ["", "/key", "/issues/0/key", "/a~0b/~1c", "/"])
def test_a_json_pointer_is_accepted(pointer: str) -> None:
    assert ReceiverReferenceInput(name="issueKey", pointer=pointer).pointer == pointer


@pytest.mark.parametrize("pointer", ["key", "#/key", "/a~2", "/a~", "/a~b"])
def test_a_pointer_outside_rfc_6901_is_refused(pointer: str) -> None:
    with pytest.raises(ValidationError, match="RFC 6901"):
        ReceiverReferenceInput(name="issueKey", pointer=pointer)


@pytest.mark.parametrize("name", ["1key", "issue-key", "issue key", "", "a" * 65, "Receiver[x]"])
def test_a_reference_name_is_a_letter_then_letters_digits_or_underscores(name: str) -> None:
    with pytest.raises(ValidationError, match=r"reference name|at most 64"):
        ReceiverReferenceInput(name=name, pointer="/key")
    assert ReceiverReferenceInput(name="a" * 64, pointer="/key").name == "a" * 64


def test_the_routes_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="extra"):
        ResolvedRouteInput.model_validate({"path": "/", "payload": "{}", "url": "https://evil.example/"})
    with pytest.raises(ValidationError, match="extra"):
        ReceiverReferenceInput.model_validate({"name": "k", "pointer": "/k", "store": "all"})
    hook = {"url": "https://x.example/", "headers": [{"name": "Content-Type", "value": "text/plain"}]}
    with pytest.raises(ValidationError, match=r"resolved\.path"):
        WebhookInput.model_validate({**hook, "payload": "x", "resolved": {"payload": "x"}})


# ---- the reference read from an answer -------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "pointer", "kept"),
    [
        ('{"id": "10000", "key": "SEC-1", "self": "https://jira/rest/api/3/issue/10000"}', "/key", "SEC-1"),
        ('{"id": 10001}', "/id", "10001"),
        ('{"score": 1.50}', "/score", "1.50"),  # a number as written
        ('{"data": {"alerts": [{"id": "a-1"}, {"id": "a-2"}]}}', "/data/alerts/1/id", "a-2"),
        ('{"a/b": {"~c": "x"}}', "/a~1b/~0c", "x"),
        ('"SEC-9"', "", "SEC-9"),
    ],
)
def test_a_string_or_number_at_the_pointer_is_the_reference(answer: str, pointer: str, kept: str) -> None:
    assert reference_in(_decoded(answer), pointer) == (kept, "")


@pytest.mark.parametrize(
    ("answer", "pointer", "why"),
    [
        ('{"id": "1"}', "/key", "no value at /key"),
        ('{"key": null}', "/key", "is null"),
        ('{"key": true}', "/key", "is true/false"),
        ('{"key": {"a": 1}}', "/key", "is an object"),
        ('{"key": ["SEC-1"]}', "/key", "is an array"),
        ('{"key": ""}', "/key", "is empty"),
        ('{"items": ["a"]}', "/items/1", "no value"),
        ('{"items": ["a"]}', "/items/01", "no value"),
        ('{"items": ["a"]}', "/items/-", "no value"),
        ('"text"', "/key", "no value"),
        ('{"key": "' + "k" * 1025 + '"}', "/key", "over 1024 characters"),
        ('{"key": "SEC-\\ud800"}', "/key", "not valid Unicode"),
    ],
)
def test_anything_else_is_no_reference_and_says_why(answer: str, pointer: str, why: str) -> None:
    value, reason = reference_in(_decoded(answer), pointer)
    assert value is None and why in reason


def test_an_empty_token_names_the_empty_member() -> None:
    assert pointer_value({"": "root-empty"}, "/") == "root-empty"


# ---- the path rendered -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "segment"),
    [
        ("SEC-1", "SEC-1"),
        ("a/b?c=d#e&f", "a%2Fb%3Fc%3Dd%23e%26f"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("...", "..."),
        ("x y+z", "x%20y%2Bz"),
        ("{Secret[token]}", "%7BSecret%5Btoken%5D%7D"),
        ("ü", "%C3%BC"),
        ("\ud800", "%3F"),  # a lone surrogate cannot be UTF-8: replaced, never an error
    ],
)
def test_each_value_is_percent_encoded_whole(value: str, segment: str) -> None:
    assert encode_segment(value) == segment


def test_a_path_renders_its_placeholders_and_keeps_secrets_for_the_sender() -> None:
    event = sample_event().model_copy(update={"display_id": "S-1/../../admin"})
    path = compile_path("/issue/{Receiver[issueKey]}/{SecurityProblemId}/{Secret[token]}?q={Title}")
    assert path.receiver_names == {"issueKey"} and path.secret_names == {"token"}
    rendered = path.render(event, {"issueKey": "SEC-1"})
    assert rendered == (
        "/issue/SEC-1/S-1%2F..%2F..%2Fadmin/{Secret[token]}?q=Remote%20Code%20Execution%20in%20log4j-core"
    )
    assert resolved_url("https://jira.example.com/hooks?x=1", rendered).startswith(
        "https://jira.example.com/issue/SEC-1/"
    )


@given(st.text(max_size=40))
def test_a_hostile_value_stays_in_its_segment(value: str) -> None:
    event = sample_event().model_copy(update={"display_id": value})
    rendered = compile_path("/a/{SecurityProblemId}/b").render(event)
    parts = urlsplit(resolved_url("http://127.0.0.1:9/", rendered))
    segments = parts.path.split("/")
    assert len(segments) == 4 and segments[1] == "a" and segments[3] == "b"
    assert parts.query == "" and parts.fragment == "" and parts.netloc == "127.0.0.1:9"
    assert segments[2] not in (".", "..")
    assert unquote(segments[2], errors="replace") in (value, value.encode("utf-8", "replace").decode())


def test_a_path_without_its_reference_is_missing_it() -> None:
    with pytest.raises(MissingReceiverReference) as caught:
        compile_path(JIRA_PATH).render(sample_event(), {})
    assert caught.value.retryable and caught.value.message == "missing receiver reference"


def test_an_unknown_placeholder_in_a_path_is_named() -> None:
    with pytest.raises(TemplateError, match=r"\{Titel\}.*did you mean \{Title\}"):
        compile_path("/a/{Titel}")


def test_a_resolved_url_never_leaves_the_origin() -> None:
    with pytest.raises(TemplateError, match="origin"):
        resolved_url("https://jira.example.com/", "//evil.example/")
    with pytest.raises(TemplateError, match="origin"):
        resolved_url("https://jira.example.com/", "@evil.example/")


# ---- {Receiver[name]} in templates -----------------------------------------------------------

PLAIN = '{"body": "resolved: {Receiver[issueKey]}", "key": {Receiver[issueKey]}}'
JINJA = (
    '{"body": "{{ Receiver.issueKey }}", "again": {{ Receiver["issueKey"] }}, "t": "{Receiver[issueKey]}"}'
)


@pytest.mark.parametrize("template", [PLAIN, JINJA], ids=["plain", "jinja"])
def test_a_reference_renders_escaped_for_its_position(template: str) -> None:
    compiled = compile_template(template, "application/json")
    assert compiled.receiver_names == {"issueKey"}
    body = compiled.render(sample_event(), None, {"issueKey": 'SEC-"1"\n'})
    assert set(json.loads(body).values()) <= {'SEC-"1"\n', 'resolved: SEC-"1"\n'}


@pytest.mark.parametrize("template", [PLAIN, JINJA], ids=["plain", "jinja"])
def test_a_template_without_its_reference_is_missing_it(template: str) -> None:
    compiled = compile_template(template, "application/json")
    for given_refs in (None, {}, {"other": "x"}):
        with pytest.raises(MissingReceiverReference):
            compiled.render(sample_event(), None, given_refs)


def test_a_reference_is_never_taken_from_the_events_tags() -> None:
    # A tag named like the reference must not stand in for it.
    event = sample_event().model_copy(update={"tags": ()})
    compiled = compile_template("{Receiver[owner]}", "text/plain")
    assert compiled.render(event, None, {"owner": "from-the-receiver"}) == "from-the-receiver"


@pytest.mark.parametrize(
    ("template", "error"),
    [
        ("{{ Receiver }}", "Receiver may only be used as Receiver.name"),
        ("{% for r in Receiver %}{{ r }}{% endfor %}", "Receiver may only be used"),
        ("{% set Receiver = 1 %}{{ Receiver }}", "Receiver holds the receiver's references"),
        ("{% set k = 'a' %}{{ Receiver[k] }}", "Receiver may only be used"),
        ("{{ Receiver['bad-name'] }}", "takes a reference name"),
        ("{{ Receiver.issueKey|_sn_receiver }}", "internal"),
    ],
)
def test_receiver_is_reachable_only_by_a_literal_name(template: str, error: str) -> None:
    with pytest.raises(TemplateError, match=error):
        compile_template(template, "text/plain")


def test_a_preview_shows_the_sample_and_a_save_refuses_an_undeclared_reference() -> None:
    body, errors = render_preview(PLAIN, "application/json", receiver_names=("issueKey",))
    assert errors == [] and json.loads(body)["key"] == "RECEIVER-REF"
    _, errors = render_preview(JINJA, "application/json", receiver_names=())
    assert [e.message for e in errors] == [
        "unknown receiver reference: issueKey; the integration's receiverReference: none"
    ]
    assert errors[0].line == 1 and errors[0].unknown == ("Receiver[issueKey]",)
    _, errors = render_preview("{Receiver[ticket]}", "text/plain", receiver_names=("issueKey",))
    assert "unknown receiver reference: ticket; the integration's receiverReference: issueKey" in (
        errors[0].message
    )


def test_an_error_in_a_field_named_path_names_that_field() -> None:
    from secnotify.http_api import field_of

    assert field_of(("body", "webhook", "resolved", "path")) == "webhook.resolved.path"
    assert field_of(("path", "integrationId")) == "integrationId"
