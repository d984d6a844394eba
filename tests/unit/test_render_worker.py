"""The render pool when its processes fail or stay busy: a retryable error, never a crash or a hang."""

from __future__ import annotations

import os
import threading
import time

import pytest

from secnotify.models.event import sample_event
from secnotify.templating.errors import RenderBudgetExceeded, RenderUnavailable, TemplateError
from secnotify.templating.worker import RenderPool

SLOW = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


@pytest.mark.parametrize("python", ["/bin/false", "/nonexistent/python3"], ids=["exits", "missing"])
def test_a_worker_that_cannot_start_is_a_retryable_render_error(python: str) -> None:
    pool = RenderPool(python=python)
    started = time.monotonic()
    with pytest.raises(RenderUnavailable) as caught:
        pool.render("{{ Title }}", "raw", sample_event(), 1_000_000, 1.0)
    assert time.monotonic() - started < 5
    assert isinstance(caught.value, TemplateError) and caught.value.retryable
    assert "render process unavailable" in caught.value.message
    # the pool is not left counting a worker that never was: the next call fails the same way
    with pytest.raises(RenderUnavailable):
        pool.render("{{ Title }}", "raw", sample_event(), 1_000_000, 1.0)


def test_a_caller_waits_for_a_busy_pool_only_so_long() -> None:
    pool = RenderPool(size=1, wait_s=0.3)
    try:
        pool.render("{{ Title }}", "raw", sample_event(), 1_000_000, 1.0)  # the worker is up
        errors: list[BaseException] = []

        def hog() -> None:
            try:
                pool.render(SLOW, "raw", sample_event(), 1_000_000, 1.0)
            except TemplateError as exc:
                errors.append(exc)

        thread = threading.Thread(target=hog)
        thread.start()
        time.sleep(0.1)
        started = time.monotonic()
        with pytest.raises(RenderUnavailable):
            pool.render("{{ Title }}", "raw", sample_event(), 1_000_000, 1.0)
        assert 0.25 < time.monotonic() - started < 1.0
        thread.join()
        assert len(errors) == 1 and isinstance(errors[0], RenderBudgetExceeded)
        assert not errors[0].retryable
    finally:
        pool.close()


def test_a_worker_gets_no_credentials_from_our_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-not-for-templates")
    monkeypatch.setenv("KMS_KEY_ID", "alias/not-for-templates")
    pool = RenderPool(size=1)
    try:
        assert pool.render("{{ Title }}", "raw", sample_event(), 1_000_000, 1.0)
        (worker,) = pool._idle
        with open(f"/proc/{worker.process.pid}/environ", "rb") as env:
            names = {entry.split(b"=", 1)[0].decode() for entry in env.read().split(b"\0") if entry}
        assert "AWS_SECRET_ACCESS_KEY" not in names and "KMS_KEY_ID" not in names
        assert os.environ["AWS_SECRET_ACCESS_KEY"]  # ours still has it
    finally:
        pool.close()
