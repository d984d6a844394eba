"""What a render may use, handed in by the caller: templating reads no settings of its own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


class RenderSettings(Protocol):
    """The settings a :class:`RenderLimits` is made from (``secnotify.settings.Settings``)."""

    @property
    def render_max_output_bytes(self) -> int: ...
    @property
    def render_timeout_s(self) -> float: ...
    @property
    def render_worker_environment(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """The budget of one render (output size; CPU time of a Jinja render) and the environment a
    render process starts with. The defaults are the settings' defaults and an empty environment."""

    max_output_bytes: int = 1_048_576
    timeout_s: float = 1.0
    # Only what Python needs to start, never credentials: see Settings.render_worker_environment.
    worker_environment: tuple[tuple[str, str], ...] = field(default=(), repr=False)

    @classmethod
    def from_settings(cls, settings: RenderSettings) -> RenderLimits:
        environment = tuple(sorted(settings.render_worker_environment.items()))
        return cls(settings.render_max_output_bytes, settings.render_timeout_s, environment)


DEFAULT_LIMITS = RenderLimits()
