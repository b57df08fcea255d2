"""Progress of long work, reported without printing: a domain function takes an optional
``progress`` callable and calls it with what it is doing (and, where it knows them, how much
is done of how much). The command line shows it as a progress bar; tests and libraries pass
nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    """Called with a short description of the current step; ``done`` and ``total`` count
    units (persons, rows, files) where the work knows them."""

    def __call__(self, message: str, done: int | None = None, total: int | None = None) -> None:
        """Report one step (or how far a counted step has come)."""


def silent(message: str, done: int | None = None, total: int | None = None) -> None:
    """A progress callable that reports nothing (the default everywhere)."""


class StepTimes:
    """Wall-clock seconds of each named step of a run, in the order the steps ran (the
    provenance every run's results carry, issue 13 item 6).

    ``with times.step("cohort"): ...`` records the step when the block ends, also when it
    raises; a name used twice is recorded twice.
    """

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Time the block as step ``name`` (``time.perf_counter``)."""
        began = time.perf_counter()
        try:
            yield
        finally:
            self.steps.append((name, time.perf_counter() - began))

    def as_list(self) -> list[dict[str, str | float]]:
        """``[{"step": name, "seconds": s}, ...]``, seconds rounded to the millisecond."""
        return [{"step": name, "seconds": round(seconds, 3)} for name, seconds in self.steps]


__all__ = ["Progress", "StepTimes", "silent"]
