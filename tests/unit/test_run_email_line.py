"""What `make run` says about email: off, or the From address, and whether sent mail is printed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from local.run import Running, _email_line


def _running(identity: str, mailbox: object | None) -> Running:
    stack = SimpleNamespace(email_identity=identity)
    return Running(
        endpoint="http://127.0.0.1:4566", stack=stack, api=None, sink=None, pump=None, mailbox=mailbox
    )


@pytest.mark.parametrize(
    ("identity", "mailbox", "line"),
    [
        ("", None, "off (EmailSenderIdentity is empty)"),
        (
            "example.com",
            SimpleNamespace(available=True),
            "from secnotify@example.com, through the endpoint's SES (mail SES accepted is printed below)",
        ),
        (
            "alerts@example.org",
            SimpleNamespace(available=False),
            "from alerts@example.org, through the endpoint's SES (this endpoint keeps no mail to print)",
        ),
    ],
)
def test_the_email_line(identity: str, mailbox: object | None, line: str) -> None:
    assert _email_line(_running(identity, mailbox)) == line
