"""Progress of long work, reported without printing: a domain function takes an optional
``progress`` callable and calls it with what it is doing (and, where it knows them, how much
is done of how much). The command line shows it as a progress bar; tests and libraries pass
nothing.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called with a short description of the current step; ``done`` and ``total`` count
    units (persons, rows, files) where the work knows them."""

    def __call__(self, message: str, done: int | None = None, total: int | None = None) -> None:
        """Report one step (or how far a counted step has come)."""


def silent(message: str, done: int | None = None, total: int | None = None) -> None:
    """A progress callable that reports nothing (the default everywhere)."""


__all__ = ["Progress", "silent"]
