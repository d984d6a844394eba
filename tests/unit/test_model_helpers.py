"""The helpers the models, the API and the event parser share: one field path, one blank check."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from secnotify.http_api import field_of
from secnotify.models.common import field_path
from secnotify.models.integration import HEADER_NAME
from secnotify.models.profile import AlertingProfileInput


@pytest.mark.parametrize(
    ("loc", "path"),
    [
        (("webhook", "headers", 1, "name"), "webhook.headers[1].name"),
        ((0, "id"), "[0].id"),
        (("detail",), "detail"),
        ((), ""),
    ],
)
def test_field_path(loc: tuple[int | str, ...], path: str) -> None:
    assert field_path(loc) == path


def test_request_fields_leave_out_where_in_the_request() -> None:
    assert field_of(("body", "webhook", "headers", 1, "name")) == "webhook.headers[1].name"
    assert field_of(("body",)) == "body"
    assert field_of(("query", "limit")) == "limit"
    assert field_of(()) == ""


def test_a_blank_name_is_refused_naming_its_field() -> None:
    with pytest.raises(ValidationError) as raised:
        AlertingProfileInput(name="   ")
    (error,) = raised.value.errors()
    assert error["loc"] == ("name",) and error["msg"] == "Value error, name must not be blank"


@pytest.mark.parametrize(("name", "ok"), [("X-Api-Key", True), ("Bad Name", False), ("a:b", False)])
def test_header_names_are_rfc_9110_tokens(name: str, ok: bool) -> None:
    assert bool(HEADER_NAME.match(name)) is ok
