"""The six IMACS core set measures as they arrive in a table, shared by the TIS and the DOI.

Resolves which columns carry each measure (MMT-8 or, for juvenile DM, CMAS; HAQ or CHAQ),
checks their values and chooses the most abnormal muscle enzyme. Scale bounds come from
``data/tis_measures.csv``; the enzymes from ``data/enzymes.csv``.

Most abnormal enzyme (instruments.md section 2, an **open** reading): the enzyme with the
highest baseline / upper-limit-of-normal ratio among those given; ties go to the first in the
order CK, aldolase, LDH, ALT, AST. Ratios are compared exactly, by cross-multiplication.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

import ibis
import ibis.expr.types as ir

from myositis.instruments.base import Instrument
from myositis.instruments.constants import ENZYMES, TIS_CATEGORIES, Population
from myositis.instruments.engine import NUMBER_PREFIX, is_blank, lit, number, with_numbers
from myositis.instruments.rules import Field, dec, load_table
from myositis.instruments.validation import RowRule

MMT8_MAXIMA: Final = (80, 150)

#: Type for a product of two input values. DuckDB multiplies two DECIMAL(18, 6) values as
#: DECIMAL(18, 12), which overflows at 10^6 (a CK of 5,000 U/L times an LDH upper limit of
#: 250); widening one factor first keeps the product exact with 26 integer digits.
WIDE: Final = "decimal(38, 6)"


@dataclass(frozen=True)
class Measure:
    """One core set measure and the columns that carry it."""

    key: str  # the measure's output stem: pga, ptga, mmt8, haq, ema
    column: str  # the input stem: pga, ptga, mmt8, cmas, haq, chaq, ema
    minimum: Decimal
    maximum: Decimal | None  # None when the maximum is given per row (mmt8_max)
    maximum_column: str | None
    higher_is_better: bool
    label: str

    @property
    def baseline(self) -> str:
        return f"{self.column}_baseline"

    @property
    def followup(self) -> str:
        return f"{self.column}_followup"

    def inputs(self) -> tuple[str, ...]:
        extra = (self.maximum_column,) if self.maximum_column else ()
        return (self.baseline, self.followup, *extra)


def _measures() -> tuple[Measure, ...]:
    return tuple(
        Measure(
            key=row["measure"],
            column=row["column"],
            minimum=dec(row["scale_minimum"]),
            maximum=dec(row["scale_maximum"]) if row["scale_maximum"] else None,
            maximum_column=row["maximum_column"] or None,
            higher_is_better=row["direction"] == "higher_is_better",
            label=row["label"],
        )
        for row in load_table("tis_measures")
        if row["population"] in ("all", "juvenile")
    )


MEASURES: Final = _measures()

#: Registry ``assessment`` rows (instrument, measure) that carry each core set input stem: the
#: recorded scores of the registry schema (``myositis.registry.schema.INSTRUMENTS``). The
#: trial endpoints and the cohort language's score outcomes read the core set through it.
REGISTRY_SOURCES: Final = {
    "pga": ("pga", "score"),
    "ptga": ("ptga", "score"),
    "mmt8": ("mmt8", "total"),
    "cmas": ("cmas", "total"),
    "haq": ("haq", "score"),
    "chaq": ("chaq", "score"),
    "ema": ("ema", "score"),
}

#: Input stems read from the registry per population: adults MMT-8 and HAQ; children CMAS and
#: CHAQ (the childhood instruments; Rider et al. 2017, juvenile criteria).
REGISTRY_STEMS: Final = {
    "adult": ("pga", "ptga", "mmt8", "haq", "ema"),
    "juvenile": ("pga", "ptga", "cmas", "chaq", "ema"),
}
_JUVENILE_ONLY: Final = {
    row["column"] for row in load_table("tis_measures") if row["population"] == "juvenile"
}


@dataclass(frozen=True)
class MeasureValues:
    """Exact-decimal expressions for one measure of one row."""

    baseline: ir.DecimalValue
    followup: ir.DecimalValue
    #: change in the direction of improvement (followup - baseline for MMT-8 and CMAS)
    improvement: ir.DecimalValue
    #: scale range for absolute percent change (scale max - min; MMT-8 maximum)
    scale_range: ir.DecimalValue
    higher_is_better: bool
    #: the scale range when it is the same for every row (None when it comes from the row)
    scale_constant: Decimal | None = None


class CoreSetColumns:
    """The core set measures found in a table's columns, for one population."""

    def __init__(self, columns: Sequence[str], population: Population) -> None:
        self.population = population
        self.columns = list(columns)
        self.measures: list[Measure] = []
        self.absent: list[str] = []
        for key in ("pga", "ptga", "mmt8", "haq", "ema"):
            options = [
                m
                for m in MEASURES
                if m.key == key and (population == "juvenile" or m.column not in _JUVENILE_ONLY)
            ]
            present = [m for m in options if m.baseline in columns or m.followup in columns]
            if len(present) > 1:
                names = " or ".join(f"{m.column}_*" for m in present)
                self.absent.append(f"{names} (give one of them, not both)")
                continue
            chosen = present[0] if present else options[0]
            missing = [c for c in chosen.inputs() if c not in columns]
            if missing:
                alternatives = " or ".join(m.column for m in options)
                hint = f" (or the {alternatives} columns)" if len(options) > 1 else ""
                self.absent.append(", ".join(missing) + hint)
            self.measures.append(chosen)
        self.enzymes = [e for e in ENZYMES if any(c in columns for c in _enzyme_columns(e))]
        for enzyme in self.enzymes:
            self.absent += [c for c in _enzyme_columns(enzyme) if c not in columns]
        if not self.enzymes:
            self.absent.append(
                "at least one muscle enzyme as <e>_baseline, <e>_followup, <e>_uln with <e> "
                f"one of {', '.join(ENZYMES)}"
            )

    # -- validation -------------------------------------------------------------------------

    def fields(self) -> list[Field]:
        fields: list[Field] = []
        for m in self.measures:
            upper = m.maximum if m.maximum is not None else dec(max(MMT8_MAXIMA))
            meaning = m.label
            for column in (m.baseline, m.followup):
                fields.append(Field(column, m.minimum, upper, meaning=meaning))
            if m.maximum_column:
                fields.append(
                    Field(
                        m.maximum_column,
                        dec(min(MMT8_MAXIMA)),
                        dec(max(MMT8_MAXIMA)),
                        integer=True,
                        meaning="80 for unilateral or 150 for bilateral MMT-8",
                    )
                )
        for e in self.enzymes:
            base, follow, uln = _enzyme_columns(e)
            fields.append(Field(base, above=dec(0), meaning=f"{e} at baseline"))
            fields.append(Field(follow, minimum=dec(0), meaning=f"{e} at follow-up"))
            fields.append(Field(uln, above=dec(0), meaning=f"{e} upper limit of normal"))
        return [f for f in fields if f.column in self.columns]

    def row_rules(self) -> list[RowRule]:
        rules: list[RowRule] = []
        for m in self.measures:
            if not m.maximum_column or m.maximum_column not in self.columns:
                continue
            maxcol = m.maximum_column
            rules.append(
                RowRule(
                    maxcol,
                    _not_an_mmt8_maximum(maxcol),
                    "MMT-8 maximum must be 80 (unilateral) or 150 (bilateral)",
                )
            )
            for column in (m.baseline, m.followup):
                if column in self.columns:
                    rules.append(
                        RowRule(
                            column,
                            _above(column, maxcol),
                            f"is above this row's MMT-8 maximum; allowed: a number from 0 "
                            f"to {{{maxcol}}} (the {maxcol} of this row)",
                        )
                    )
        for e in self.enzymes:
            cols = _enzyme_columns(e)
            for column in cols:
                rules.append(
                    RowRule(
                        column,
                        _partly_blank(column, cols),
                        f"is blank, but other {e} values are given: give {e} baseline, "
                        "follow-up and upper limit of normal together, or none of them",
                    )
                )
        if self.enzymes:
            first = _enzyme_columns(self.enzymes[0])[0]
            rules.append(
                RowRule(
                    first,
                    lambda t: _all_blank_all(t, self.enzymes),
                    "no muscle enzyme given in this row: at least one enzyme's baseline, "
                    "follow-up and upper limit of normal are required",
                )
            )
        return rules

    # -- values ------------------------------------------------------------------------------

    def input_columns(self) -> list[str]:
        """Every input column of the measures and enzymes present."""
        columns = [c for m in self.measures for c in m.inputs()]
        columns += [c for e in self.enzymes for c in _enzyme_columns(e)]
        return [c for c in columns if c in self.columns]

    def stage(self, table: ir.Table) -> ir.Table:
        """Exact-decimal copies of the inputs, ``enzyme_used`` and the chosen enzyme's values,
        as columns that the measure expressions then read (keeps compiled SQL small)."""
        staged = with_numbers(table, self.input_columns(), keep_integers=False)
        staged = staged.mutate(enzyme_used=self.enzyme_used(staged))
        return staged.mutate(
            **{
                NUMBER_PREFIX + "enzyme_baseline": _pick(staged, self.enzymes, 0),
                NUMBER_PREFIX + "enzyme_followup": _pick(staged, self.enzymes, 1),
            }
        )

    def values(self, staged: ir.Table) -> dict[str, MeasureValues]:
        """Exact expressions per measure key over a :meth:`stage`-d table; the enzyme is the
        most abnormal one."""
        out: dict[str, MeasureValues] = {}
        for m in self.measures:
            base, follow = number(staged, m.baseline), number(staged, m.followup)
            constant = None if m.maximum is None else m.maximum - m.minimum
            if m.maximum_column:
                scale = number(staged, m.maximum_column) - lit(m.minimum)
            else:
                assert constant is not None
                scale = lit(constant)
            change = follow - base if m.higher_is_better else base - follow
            out[m.key] = MeasureValues(base, follow, change, scale, m.higher_is_better, constant)
        base = number(staged, "enzyme_baseline")
        follow = number(staged, "enzyme_followup")
        # Enzyme change is relative to its own baseline (instruments.md: open reading).
        out["enzyme"] = MeasureValues(base, follow, base - follow, base, False)
        return out

    def enzyme_used(self, table: ir.Table) -> ir.StringValue:
        """Name of the enzyme with the highest baseline/ULN ratio (exact; first on ties)."""
        given = {e: ~_any_blank(table, _enzyme_columns(e)) for e in self.enzymes}
        base = {e: number(table, f"{e}_baseline") for e in self.enzymes}
        uln = {e: number(table, f"{e}_uln") for e in self.enzymes}
        branches = []
        for i, e in enumerate(self.enzymes):
            wins = given[e]
            for j, other in enumerate(self.enzymes):
                if other == e:
                    continue
                mine = base[e].cast(WIDE) * uln[other]
                theirs = base[other].cast(WIDE) * uln[e]
                beats = mine > theirs if j < i else mine >= theirs
                wins = wins & (~given[other] | beats)
            branches.append((wins, e))
        return ibis.cases(*branches, else_=ibis.null("string"))

    def missing_inputs(self, table: ir.Table) -> list[tuple[str, ir.BooleanValue]]:
        """(column, is blank) for every measure input, for naming what was missing."""
        return [(c, number(table, c).isnull()) for m in self.measures for c in m.inputs()]


Check = Callable[[ir.Table], ir.BooleanValue]


def _not_an_mmt8_maximum(column: str) -> Check:
    return lambda t: ~number(t, column).isin([lit(v) for v in MMT8_MAXIMA])


def _above(column: str, maximum_column: str) -> Check:
    return lambda t: number(t, column) > number(t, maximum_column)


def _partly_blank(column: str, triple: Sequence[str]) -> Check:
    # The cell itself must be empty: a non-numeric value is reported once, as not a number.
    return lambda t: is_blank(t, column) & ~_all_blank(t, triple)


def _enzyme_columns(enzyme: str) -> tuple[str, str, str]:
    return (f"{enzyme}_baseline", f"{enzyme}_followup", f"{enzyme}_uln")


def _blank(table: ir.Table, column: str) -> ir.BooleanValue:
    return number(table, column).isnull()


def _any_blank(table: ir.Table, columns: Sequence[str]) -> ir.BooleanValue:
    result = _blank(table, columns[0])
    for c in columns[1:]:
        result = result | _blank(table, c)
    return result


def _all_blank(table: ir.Table, columns: Sequence[str]) -> ir.BooleanValue:
    result = _blank(table, columns[0])
    for c in columns[1:]:
        result = result & _blank(table, c)
    return result


def _all_blank_all(table: ir.Table, enzymes: Sequence[str]) -> ir.BooleanValue:
    result = ibis.literal(True)
    for e in enzymes:
        result = result & _all_blank(table, _enzyme_columns(e))
    return result


def _pick(table: ir.Table, enzymes: Sequence[str], index: int) -> ir.DecimalValue:
    branches = [(table.enzyme_used == e, number(table, _enzyme_columns(e)[index])) for e in enzymes]
    return ibis.cases(*branches, else_=ibis.null("decimal(18, 6)"))


class CoreSetInstrument(Instrument):
    """An instrument scored from the six core set measures at baseline and follow-up (the TIS
    and the DOI): the columns, their checks and the blanks are the core set's."""

    def __init__(self, population: Population = "adult") -> None:
        self.population = population

    def _core(self, columns: Sequence[str]) -> CoreSetColumns:
        if self.population not in TIS_CATEGORIES:
            raise ValueError(f"population must be 'adult' or 'juvenile', not {self.population!r}")
        return CoreSetColumns(columns, self.population)

    def fields(self, columns: Sequence[str]) -> list[Field]:
        return self._core(columns).fields()

    def missing_columns(self, columns: Sequence[str]) -> list[str]:
        return self._core(columns).absent

    def row_rules(self, columns: Sequence[str]) -> list[RowRule]:
        return self._core(columns).row_rules()
