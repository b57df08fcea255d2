"""Code sets as Ibis filters: the (system, code) pairs of code-set roles and codes, and the
test of a record's code against them (read by the cohort language, :mod:`myositis.cohort.events`).

A concept set is the union of the code-set roles named in the specification (loaded with
:func:`myositis.codes.load_codeset`) and any extra codes, matched on (code system, code).
ICD-10-CM and ICD-9-CM codes are compared in their undotted upper-case form, so ``M33.10``,
``M3310`` and ``m33.10`` match (codes.md: codes arrive with and without the dot); other
systems are compared after trimming spaces. Everything is an Ibis expression: no
engine-specific SQL, so the same definition runs on DuckDB, PostgreSQL and Spark.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import ibis
import ibis.expr.types as ir

from myositis.codes import ICD_SYSTEMS, load_codeset, normalise_icd
from myositis.cohort.definition import CodeRef


def bare(system: str, code: str) -> str:
    """The comparison form of one code: undotted upper case for ICD, trimmed otherwise."""
    if system in ICD_SYSTEMS:
        return normalise_icd(code, system=system).replace(".", "")
    return code.strip()


def compared(system: str, code: ir.StringValue) -> ir.StringValue:
    """The comparison form of a column of codes of ``system``, in the engine (the rule of
    :func:`bare`): undotted upper case for ICD, trimmed otherwise."""
    return code.strip().upper().replace(".", "") if system in ICD_SYSTEMS else code.strip()


def code_pairs(roles: Iterable[str], extra: Iterable[CodeRef] = ()) -> dict[str, set[str]]:
    """``{system: {comparison codes}}`` for the code-set roles plus extra codes."""
    pairs: dict[str, set[str]] = {}
    for role in roles:
        for code in load_codeset(role):
            pairs.setdefault(code.system, set()).add(bare(code.system, code.code))
    for ref in extra:
        pairs.setdefault(ref.system, set()).add(bare(ref.system, ref.code))
    return pairs


def matches(
    system: ir.StringValue, code: ir.StringValue, pairs: dict[str, set[str]]
) -> ir.BooleanValue:
    """True where (system, code) is in ``pairs``; false (never null) otherwise.

    One ``CASE`` on the normalised system, each branch comparing the code in that system's
    form: the engine normalises the system once per row and the code only in its system's
    branch. (The same test as an ``OR`` of one ``system = ... AND code IN ...`` per system
    normalised the system once per system: PostgreSQL does not share the repeated
    expression; on the 262,000 diagnosis rows of 100,000 synthetic persons 175 to 187 ms
    against 83 to 96 ms, 4 December 2026.)"""
    if not pairs:
        return ibis.literal(False)
    branches = []
    for name, codes in sorted(pairs.items()):
        branches.append((name, compared(name, code).isin(sorted(codes))))
    return system.strip().upper().cases(*branches, else_=False).fill_null(False)


def any_of(conditions: Sequence[ir.BooleanValue]) -> ir.BooleanValue:
    """True where any of ``conditions`` holds (false for none), combined pairwise so that the
    expression nests about log2(n) deep, not n: engines limit the depth (DuckDB 1,000)."""
    level = list(conditions)
    if not level:
        return ibis.literal(False)
    while len(level) > 1:
        pairs = [a | b for a, b in zip(level[::2], level[1::2], strict=False)]
        level = pairs + level[len(pairs) * 2 :]
    return level[0]


__all__ = [
    "any_of",
    "bare",
    "code_pairs",
    "compared",
    "matches",
]
