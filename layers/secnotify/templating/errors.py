"""The one error type the templating package raises."""

from __future__ import annotations

from typing import Any


class TemplateError(ValueError):
    """A template that cannot be compiled, rendered, or does not produce valid output.

    ``line``/``column`` are 1-based; for syntax and placeholder errors they point into the
    template, for "not valid JSON" errors into the rendered body. ``retryable`` is False: the
    template itself is at fault, so trying again cannot help.
    """

    retryable = False

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        unknown: tuple[str, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.unknown = unknown

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"TemplateError({self.message!r}, line={self.line}, column={self.column})"

    def to_dict(self) -> dict[str, Any]:
        """The shape the API puts in an ``errors`` list."""
        out: dict[str, Any] = {"message": self.message, "line": self.line, "column": self.column}
        if self.unknown:
            out["unknown"] = list(self.unknown)
        return out


BUDGET_EXCEEDED = "render budget exceeded"


class RenderBudgetExceeded(TemplateError):
    """A render stopped for using too much time, memory or output; its message starts with
    ``render budget exceeded`` so a delivery record names the reason."""

    def __init__(self, detail: str, line: int | None = None) -> None:
        super().__init__(f"{BUDGET_EXCEEDED}: {detail}", line=line)


class RenderUnavailable(TemplateError):
    """No render process could take the template (it did not start, or all were busy past the
    wait): the platform's fault, not the template's, so a delivery tries again later."""

    retryable = True

    def __init__(self, detail: str) -> None:
        super().__init__(f"render process unavailable, try again: {detail}")


MISSING_RECEIVER_REFERENCE = "missing receiver reference"


class MissingReceiverReference(TemplateError):
    """A notification uses ``{Receiver[name]}`` and the receiver's reference for its problem is not
    stored yet (the notification that returns it may still be on its way): tried again later."""

    retryable = True

    def __init__(self) -> None:
        super().__init__(MISSING_RECEIVER_REFERENCE)
