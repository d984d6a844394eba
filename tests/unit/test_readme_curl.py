"""The README's curl examples work as written: every one that sends a body says it is JSON
(curl's default type, form encoding, gets a 415)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def curl_commands(text: str) -> list[str]:
    """Every curl command, in code blocks (lines joined at a trailing backslash or a pipe) and inline."""
    commands: list[str] = []
    for block in re.findall(r"```(?:sh|bash|console)?\n(.*?)```", text, flags=re.S):
        joined = re.sub(r"(\\|\|)\n\s*", " ", block)
        commands += [line for line in joined.splitlines() if "curl " in line and "awscurl" not in line]
    inline = re.sub(r"```.*?```", "", text, flags=re.S)
    commands += re.findall(r"`(curl [^`]+)`", inline)
    return commands


def test_every_curl_example_with_a_body_sends_a_json_type() -> None:
    commands = curl_commands(README.read_text(encoding="utf-8"))
    with_body = [c for c in commands if re.search(r"\s(-d|--data\S*)\s", c)]
    assert len(with_body) >= 5, with_body  # the walk-through's and the API section's
    for command in with_body:
        assert re.search(r"-H '?Content-Type: application/(json|merge-patch\+json)", command), command
    for command in commands:
        if "-X POST" in command or "-X PUT" in command:
            assert "Content-Type: application/json" in command, command
