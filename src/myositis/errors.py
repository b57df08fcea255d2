"""One exception hierarchy for everything the package reports to its users (and the one
warning class for input it uses but has a word about).

Messages are written for clinicians and analysts: they name the file, the data row (1-based),
the column or resource, the offending value and what would have been allowed, and they say
what to do. The command-line program prints them without a traceback and exits with status 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class MyositisError(Exception):
    """Base class of every error this package raises on purpose."""

    exit_code: int = 2


@dataclass(frozen=True)
class InputProblem:
    """One rejected value: where it is, what it is and what was allowed."""

    row: int | None
    column: str | None
    value: str | None
    reason: str
    source: str | None = None

    def describe(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        value = "" if self.value is None else f"value {self.value!r}: "
        return f"{prefix}: {value}{self.reason}" if prefix else f"{value}{self.reason}"


class InvalidInputError(MyositisError):
    """Input data that cannot be scored or stored as it is.

    Carries every problem found (``problems``); the message shows the first ``shown`` and,
    when there are more, ``hint`` (how to list them all, where a command can).
    """

    def __init__(self, problems: list[InputProblem], *, shown: int = 5, hint: str = "") -> None:
        self.problems = problems
        lines = [p.describe() for p in problems[:shown]]
        more = len(problems) - shown
        if more > 0:
            lines.append(f"... and {more} more problem(s)" + (f"; {hint}" if hint else ""))
        super().__init__("\n".join(lines))


#: How ``myositis score`` and ``myositis evidence pool`` list every problem.
ERRORS_REPORT_HINT = "use --errors report to list them all"


class InputWarning(UserWarning):
    """Input that is used, but deserves a word: columns a reader does not use (a misspelt
    optional column would otherwise go unnoticed). Issued with :func:`warnings.warn`; the
    command line prints it as ``warning: ...``."""


class MissingColumnError(MyositisError):
    """A required column is absent from an input file or registry table."""


class SpecError(MyositisError):
    """A study specification that is not valid."""


class RegistryError(MyositisError):
    """A registry database that lacks a table or column the software needs."""


class SourceError(MyositisError):
    """A source (a spreadsheet folder, a REDCap export, FHIR resources, an OMOP database) that
    cannot be imported as it is. ``problems`` lists every problem found, each naming the file,
    the line or resource, the field and the value (:class:`myositis.sources.contract.Problem`).
    """

    def __init__(self, message: str, problems: list[object] | None = None) -> None:
        self.problems = problems or []
        super().__init__(message)


class RegistryIntegrityError(RegistryError):
    """A registry whose rows break the data model's rules (a repeated key, rows of a person
    not in ``person``, an impossible date, an item value outside its instrument's rules).

    ``problems`` holds every rule broken
    (:class:`myositis.registry.integrity.IntegrityProblem`); the message names the first rows.
    """

    def __init__(self, message: str, problems: Sequence[object] = ()) -> None:
        self.problems = list(problems)
        super().__init__(message)


class EmptyStepError(MyositisError):
    """A cohort step that no patient passes, so no result would be meaningful."""


class EvidenceError(MyositisError):
    """Study-level data that cannot be pooled (too few studies, impossible counts, ...)."""


class SitePackageError(MyositisError):
    """A multi-site aggregate package that is damaged or belongs to another study."""


class TrialDesignError(MyositisError):
    """Trial design inputs that cannot give an answer (a response rate outside (0, 1), block
    sizes that cannot balance the arms, ...)."""


__all__ = [
    "ERRORS_REPORT_HINT",
    "EmptyStepError",
    "EvidenceError",
    "InputProblem",
    "InputWarning",
    "InvalidInputError",
    "MissingColumnError",
    "MyositisError",
    "RegistryError",
    "RegistryIntegrityError",
    "SitePackageError",
    "SourceError",
    "SpecError",
    "TrialDesignError",
]
