"""The Makefile picks the Lambda runtime's Python (3.13) for the virtualenvs and the tests."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def make_value(expression: str, *overrides: str) -> str:
    """What ``expression`` expands to in the Makefile; runs no recipe of the Makefile itself."""
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-s",
            *overrides,
            "--eval",
            f"_value: ; @echo '{expression}'",
            "_value",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_tests_run_on_python_3_13_where_build_finds_it() -> None:
    py313_bin = make_value("$(PY313_BIN)")
    if not py313_bin:
        pytest.skip("no python3.13 on this machine: the fallback test covers it")
    python = make_value("$(PYTHON)")
    assert python == f"{py313_bin}/python3.13"
    assert make_value("$(PY_VERSION)") == "3.13"
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2])"], capture_output=True, text=True
    )
    assert version.stdout.strip() == "(3, 13)"


def test_python_3_11_only_where_3_13_is_absent() -> None:
    python = make_value("$(PYTHON)", "PY313_BIN=")
    assert Path(python).name in {"python3.11", "python3"}
    version = make_value("$(PY_VERSION)", "PY313_BIN=")
    assert tuple(int(x) for x in version.split(".")) >= (3, 11)


def _make_database() -> str:
    """make's rules and variables as it reads the Makefile (nothing is run)."""
    return subprocess.run(
        ["make", "--no-print-directory", "-p", "-n", "-f", "Makefile", "help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def test_make_test_says_which_python_it_runs_on() -> None:
    recipe = _make_database()
    block = recipe.split("\npytest: venv", 1)[1].split("\n\n", 1)[0]
    assert 'echo "pytest on ' in block and "sys.executable" in block and "python_version()" in block
    assert "$(PYTHON) -m venv $(VENV)" in recipe


def test_make_validate_lints_both_templates() -> None:
    recipe = _make_database()
    block = recipe.split("\nvalidate: ", 1)[1].split("\n\n", 1)[0]
    assert "$(SAM) validate --lint --template template.yaml" in block
    # The forwarding template is plain CloudFormation: cfn-lint itself, from the SAM virtualenv.
    lint = next(line.strip() for line in block.splitlines() if "cfn-lint" in line)
    assert lint.startswith("$(SAM_VENV)/bin/cfn-lint ")
    assert lint.split()[-1] == "forwarding/template.yaml"
    assert (ROOT / "forwarding" / "template.yaml").is_file()


def test_make_build_ships_bytecode_that_a_read_only_code_directory_can_use() -> None:
    block = _make_database().split("\nbuild: ", 1)[1].split("\n\n", 1)[0]
    assert "-m compileall" in block and "--invalidation-mode unchecked-hash .aws-sam/build" in block


def test_make_pytest_installs_the_preset_schemas_from_the_lock_file_first() -> None:
    database = _make_database()
    schemas = make_value("$(PRESET_SCHEMAS)")
    assert schemas == "tests/presets/node_modules/.package-lock.json"
    pytest_rule = next(line for line in database.splitlines() if line.startswith("pytest: "))
    assert schemas in pytest_rule.split()
    block = database.split(f"\n{schemas}: ", 1)[1].split("\n\n", 1)[0]
    assert "tests/presets/package-lock.json" in block.splitlines()[0]
    assert "cd tests/presets && npm ci --ignore-scripts" in block
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "node_modules/" in ignored
