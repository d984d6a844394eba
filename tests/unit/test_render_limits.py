"""The render limits and the render process's environment come from the caller's settings."""

from __future__ import annotations

import dataclasses

import pytest

from secnotify.models.event import sample_event
from secnotify.settings import Settings, load_settings
from secnotify.templating import RenderLimits, TemplateError, compile_template, worker


def test_render_limits_are_the_callers(monkeypatch: pytest.MonkeyPatch) -> None:
    event = sample_event().model_copy(update={"description": "x" * 100})
    monkeypatch.setenv("RENDER_MAX_OUTPUT_BYTES", "64")
    monkeypatch.setenv("RENDER_TIMEOUT_SECONDS", "0.25")
    limits = RenderLimits.from_settings(load_settings())
    assert (limits.max_output_bytes, limits.timeout_s) == (64, 0.25)
    with pytest.raises(TemplateError, match="exceeds 64 bytes"):
        compile_template("{Description}", "text/plain", limits).render(event)
    # the same template under the default limits, whatever the environment says
    assert compile_template("{Description}", "text/plain").render(event) == "x" * 100
    assert RenderLimits() == dataclasses.replace(
        RenderLimits.from_settings(Settings()), worker_environment=()
    )


def test_a_render_process_gets_the_settings_sandboxed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI-not-for-templates")
    monkeypatch.setenv("LANG", "C.UTF-8")
    pool = worker.RenderPool(size=1)
    monkeypatch.setattr(worker, "POOL", pool)
    try:
        limits = RenderLimits.from_settings(load_settings())
        assert compile_template("{{ Title }}", "text/plain", limits).render(sample_event())
        (started,) = pool._idle
        with open(f"/proc/{started.process.pid}/environ", "rb") as env:
            seen = dict(entry.split(b"=", 1) for entry in env.read().split(b"\0") if entry)
    finally:
        pool.close()
    assert seen.get(b"LANG") == b"C.UTF-8"
    assert b"AWS_SECRET_ACCESS_KEY" not in seen and b"KMS_KEY_ID" not in seen
