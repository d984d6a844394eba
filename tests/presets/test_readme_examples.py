"""The README's preset examples are what the presets render (tests/presets/readme_examples.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from secnotify.presets import presets
from tests.presets.readme_examples import example

README = Path(__file__).resolve().parents[2] / "README.md"


def _blocks() -> dict[str, str]:
    text = README.read_text(encoding="utf-8")
    return dict(re.findall(r"<!-- preset example: ([a-z-]+) -->\n```\n(.*?)\n```", text, flags=re.S))


def test_the_readme_shows_one_example_of_each_preset() -> None:
    assert set(_blocks()) == set(presets())


@pytest.mark.parametrize("name", sorted(presets()))
def test_a_readme_example_is_what_the_preset_renders(name: str) -> None:
    assert _blocks()[name] == example(name), f"run: python -m tests.presets.readme_examples ({name})"
