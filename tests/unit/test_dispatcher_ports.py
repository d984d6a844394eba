"""The dispatcher and the Notifier reach storage and queues through ports only: their modules
import nothing from ``secnotify.storage`` (wiring.py picks the adapters)."""

from __future__ import annotations

import ast

import pytest

from secnotify.service.wiring import build_dispatcher
from secnotify.settings import ConfigurationError, Settings
from tests.unit.test_boundaries import LAYER, _imports

DISPATCH_MODULES = ["dispatch", "dispatch_result", "retry", "finish", "attempt", "notify", "clock"]


@pytest.mark.parametrize("name", DISPATCH_MODULES)
def test_dispatch_modules_depend_on_ports_not_storage(name: str) -> None:
    path = LAYER / "service" / f"{name}.py"
    imported = [(module, line) for module, line in _imports(ast.parse(path.read_text())) if module]
    assert imported, path
    assert [(m, line) for m, line in imported if m.startswith("secnotify.storage")] == []


def test_the_wiring_checks_the_dispatchers_queue_urls_before_it_opens_anything() -> None:
    # No storage, no endpoint: a dispatcher without its queues stops at the settings check.
    with pytest.raises(ConfigurationError, match="RETRY_QUEUE_URL is empty"):
        build_dispatcher(Settings(kms_key_id="k"))
