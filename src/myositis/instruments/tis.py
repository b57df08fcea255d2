"""2016 ACR/EULAR myositis response criteria: the Total Improvement Score (TIS).

Rules (instruments.md section 2; Aggarwal et al., Arthritis Rheumatol 2017;69:898-910; Rider et
al., Arthritis Rheumatol 2017;69:911-923, Table 3; Rider et al., Rheumatology 2017;56:1884-1893):

- Each of six core set measures gets points from its absolute percent improvement, read from
  one conversion table for adults and juveniles (``data/tis_points.csv``): a row
  ``measure, improvement_above_percent, points`` awards its points when the improvement is
  strictly above that percent (lower band edges exclusive, upper edges inclusive); worsening
  or an improvement up to the first edge scores 0.
- Absolute percent improvement: ``100 * (baseline - followup) / (scale max - scale min)``;
  MMT-8 and CMAS (higher is better) ``100 * (followup - baseline) / maximum``; the most
  abnormal enzyme (open reading) ``100 * (baseline - followup) / baseline``.
- TIS = sum of points (0-100, a multiple of 2.5); categories from ``data/tis_categories.csv``:
  adult minimal >= 20, moderate >= 40, major >= 60; juvenile 30, 45, 70.

Band edges are compared in exact decimal arithmetic by cross-multiplication
(``100 * change > edge * range``), so 1.1 -> 0.6 cm on a 10 cm VAS is exactly 5 % and scores 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

import ibis
import ibis.expr.types as ir

from myositis.instruments.constants import MEASURE_KEYS, TIS_CATEGORIES, TIS_POINTS, Population
from myositis.instruments.core_set import WIDE, CoreSetInstrument, MeasureValues
from myositis.instruments.engine import any_of, drop_numbers, lit, missing_names, split_names

SIX_PLACES: Final = Decimal("0.000001")  # the scale of the exact inputs (DECIMAL(18, 6))

#: measure -> ((edge percent, points), ...) in increasing order of edge
POINTS: Final = TIS_POINTS
#: population -> ((category, minimum TIS), ...) in increasing order
CATEGORIES: Final = TIS_CATEGORIES


def percent(values: MeasureValues) -> ir.FloatingValue:
    """Percent improvement (positive = better) as a double, for display (the points come from
    exact comparisons, :func:`points`)."""
    change = values.improvement.cast("float64") * 100.0
    if values.scale_constant is not None:
        return change / float(values.scale_constant)
    return change / values.scale_range.cast("float64")


def points(key: str, values: MeasureValues) -> ir.FloatingValue:
    """Points of one measure, by exact comparison of the change with each band edge's share
    of the scale range: ``change * 100 > edge * range``."""
    fixed = values.scale_constant
    thresholds = None if fixed is None else [edge * fixed / 100 for edge, _ in POINTS[key]]
    if thresholds and all(t == t.quantize(SIX_PLACES) for t in thresholds):
        # A fixed scale (VAS 0-10 cm, HAQ 0-3): each edge is a constant change, computed once.
        change = values.improvement
        passed = [change > lit(t) for t in thresholds]
        blank = change.isnull()
    else:
        # The scale comes from the row (MMT-8 maximum, enzyme baseline); it is widened first:
        # an edge of 40 times a CK baseline of 25,000 U/L overflows DECIMAL(18, 12).
        scaled = values.improvement * lit(100)
        scale = values.scale_range.cast(WIDE)
        passed = [scaled > lit(edge) * scale for edge, _ in POINTS[key]]
        blank = scaled.isnull() | values.scale_range.isnull()
    branches = [
        (flag, ibis.literal(float(pts)))
        for flag, (_, pts) in reversed(list(zip(passed, POINTS[key], strict=True)))
    ]
    score = ibis.cases(*branches, else_=ibis.literal(0.0))
    return ibis.ifelse(blank, ibis.null("float64"), score)


def category(total: ir.FloatingValue, population: Population) -> ir.StringValue:
    """'none', 'minimal', 'moderate' or 'major' for a TIS (thresholds inclusive)."""
    branches = [
        (total >= float(minimum), name) for name, minimum in reversed(CATEGORIES[population])
    ]
    return ibis.ifelse(total.isnull(), ibis.null("string"), ibis.cases(*branches, else_="none"))


class TIS(CoreSetInstrument):
    """Total Improvement Score between a baseline and a follow-up visit (one row per pair)."""

    name = "tis"
    title = "2016 ACR/EULAR Total Improvement Score"
    outputs = (
        *(f"{key}_{part}" for key in MEASURE_KEYS for part in ("pct", "points")),
        "enzyme_used",
        "tis",
        "tis_category",
        "tis_missing",
    )

    def scores(self, table: ir.Table) -> ir.Table:
        core = self._core(table.columns)
        staged = core.stage(table)
        values = core.values(staged)
        blanks = core.missing_inputs(staged)
        measured = staged.mutate(
            **{f"{key}_pct": percent(values[key]) for key in MEASURE_KEYS},
            **{f"{key}_points": points(key, values[key]) for key in MEASURE_KEYS},
            # the names are built only where an input is blank: complete pairs skip the string
            # work (same result; about a fifth of the scoring time on a million pairs)
            tis_missing=ibis.ifelse(
                any_of(flag for _, flag in blanks), missing_names(blanks), ibis.null("string")
            ),
        )
        total = measured.pga_points
        for key in MEASURE_KEYS[1:]:
            total = total + measured[f"{key}_points"]
        summed = measured.mutate(tis=total)
        categorised = summed.mutate(tis_category=category(summed.tis, self.population))
        return drop_numbers(categorised).select(*table.columns, *self.outputs)


def scores(table: ir.Table, population: Population = "adult") -> ir.Table:
    """``table`` with the TIS outputs appended (see :class:`TIS`)."""
    return TIS(population).scores(table)


@dataclass(frozen=True)
class MeasureScore:
    """One core set measure's contribution: percent improvement and points."""

    percent: float | None
    points: float | None


@dataclass(frozen=True)
class TISResult:
    """A TIS with its explanation: each measure's percent and points, the enzyme used, the
    category and the inputs that were blank (which make the TIS missing)."""

    total: float | None
    category: str | None
    enzyme_used: str | None
    measures: dict[str, MeasureScore]
    missing: tuple[str, ...]


def score_one(values: Mapping[str, Any], population: Population = "adult") -> TISResult:
    """Score one baseline/follow-up pair given as column -> value (columns as the batch CLI).

    >>> r = score_one({"pga_baseline": 1.1, "pga_followup": 0.6, ...})  # doctest: +SKIP
    """
    out = TIS(population).evaluate(values)
    return TISResult(
        total=out["tis"],
        category=out["tis_category"],
        enzyme_used=out["enzyme_used"],
        measures={
            key: MeasureScore(out[f"{key}_pct"], out[f"{key}_points"]) for key in MEASURE_KEYS
        },
        missing=split_names(out["tis_missing"]),
    )
