"""A contract as a registry of named checks on a subject (a store, a ledger...), run the same way
on every implementation.

Checks marked ``conditional`` exercise a conditional write: an implementation that skips its
conditions must fail each of them and pass every other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
Check = Callable[[T], None]


class Contract(Generic[T]):
    def __init__(self) -> None:
        self.checks: dict[str, tuple[Check[T], bool]] = {}

    def check(self, conditional: bool) -> Callable[[Check[T]], Check[T]]:
        """Register the decorated function under its name."""

        def register(fn: Check[T]) -> Check[T]:
            assert fn.__name__ not in self.checks, f"two checks named {fn.__name__}"
            self.checks[fn.__name__] = (fn, conditional)
            return fn

        return register

    def names(self) -> list[str]:
        return list(self.checks)

    def conditional(self) -> set[str]:
        return {name for name, (_fn, is_conditional) in self.checks.items() if is_conditional}

    def run(self, name: str, subject: T) -> None:
        self.checks[name][0](subject)

    def run_all(self, make: Callable[[], T]) -> dict[str, AssertionError | None]:
        """Every check on a fresh subject: name -> None when it passed, else the failure."""
        out: dict[str, AssertionError | None] = {}
        for name, (fn, _conditional) in self.checks.items():
            try:
                fn(make())
            except AssertionError as exc:
                out[name] = exc
            else:
                out[name] = None
        return out

    def assert_conditions_are_tested(self, make_unconditional: Callable[[], T]) -> None:
        """``make_unconditional`` builds an implementation that skips its conditions: every
        conditional check catches it out, and the others still pass on it."""
        results = self.run_all(make_unconditional)
        failed = {name for name, failure in results.items() if failure is not None}
        assert failed == self.conditional(), results
        assert self.conditional()  # the contract does test conditions
