"""IMACS 2004 preliminary definition of improvement (DOI).

Rule (instruments.md section 3; Rider et al., Arthritis Rheum 2004;50:2281-2290): at least 3 of
any 6 core set measures improved by >= 20 %, with no more than 2 worse by >= 25 %, which cannot
include MMT. Both bounds inclusive; the numbers live in ``data/doi_rules.csv``.

Percent change is relative to baseline (an **open** reading: the 2004 definition predates the
absolute-change reading of the 2016 criteria). With a baseline of 0 a relative change is
undefined: a measure where lower is better cannot improve from 0 and counts as worse when it
rises; MMT-8/CMAS (higher is better) counts as improved when it rises from 0. The muscle enzyme
is the most abnormal one, chosen as for the TIS. Inputs are the TIS columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import ibis
import ibis.expr.types as ir

from myositis.instruments.constants import MEASURE_KEYS, Population
from myositis.instruments.core_set import WIDE, CoreSetInstrument, MeasureValues
from myositis.instruments.engine import lit, missing_names, split_names
from myositis.instruments.rules import dec, load_table

RULES: Final = {row["rule"]: dec(row["value"]) for row in load_table("doi_rules")}


def improved(values: MeasureValues) -> ir.BooleanValue:
    """Relative improvement of at least 20 % (exact comparison; the baseline is widened as in
    :func:`myositis.instruments.tis.points`, so a CK of 40,000 U/L does not overflow)."""
    threshold = lit(RULES["improved_at_least_percent"])
    zero = values.baseline == lit(0)
    relative = values.improvement * lit(100) >= threshold * values.baseline.cast(WIDE)
    from_zero = values.improvement > lit(0) if values.higher_is_better else ibis.literal(False)
    return ibis.ifelse(zero, from_zero, relative)


def worsened(values: MeasureValues) -> ir.BooleanValue:
    """Relative worsening of at least 25 % (exact comparison)."""
    threshold = lit(RULES["worsened_at_least_percent"])
    zero = values.baseline == lit(0)
    relative = -values.improvement * lit(100) >= threshold * values.baseline.cast(WIDE)
    from_zero = ibis.literal(False) if values.higher_is_better else values.improvement < lit(0)
    return ibis.ifelse(zero, from_zero, relative)


class DOI(CoreSetInstrument):
    """IMACS definition of improvement between a baseline and a follow-up visit."""

    name = "doi"
    title = "IMACS 2004 definition of improvement"
    outputs = (
        "doi_met",
        "doi_improved",
        "doi_worsened",
        "doi_improved_measures",
        "doi_worsened_measures",
        "enzyme_used",
        "doi_missing",
    )

    def scores(self, table: ir.Table) -> ir.Table:
        core = self._core(table.columns)
        staged = core.stage(table)
        values = core.values(staged)
        flags = staged.mutate(
            **{f"_improved_{key}": improved(values[key]) for key in MEASURE_KEYS},
            **{f"_worsened_{key}": worsened(values[key]) for key in MEASURE_KEYS},
            doi_missing=missing_names(core.missing_inputs(staged)),
        )
        # int32: PostgreSQL casts a boolean to integer but not to smallint
        n_improved: ir.IntegerValue = ibis.literal(0)
        n_worsened: ir.IntegerValue = ibis.literal(0)
        for key in MEASURE_KEYS:
            n_improved = n_improved + flags[f"_improved_{key}"].cast("int32")
            n_worsened = n_worsened + flags[f"_worsened_{key}"].cast("int32")
        counted = flags.mutate(
            doi_improved=n_improved,
            doi_worsened=n_worsened,
            # which measures, so a result explains itself (null when none, or when blank)
            **{
                f"doi_{kind}_measures": missing_names(
                    (key, flags[f"_{kind}_{key}"].fill_null(False)) for key in MEASURE_KEYS
                )
                for kind in ("improved", "worsened")
            },
        )
        met = (
            (counted.doi_improved >= int(RULES["minimum_improved"]))
            & (counted.doi_worsened <= int(RULES["maximum_worsened"]))
            & ~counted._worsened_mmt8  # MMT may not be among the worsened measures
        )
        return counted.mutate(doi_met=met).select(*table.columns, *self.outputs)


def scores(table: ir.Table, population: Population = "adult") -> ir.Table:
    """``table`` with the DOI outputs appended (see :class:`DOI`)."""
    return DOI(population).scores(table)


@dataclass(frozen=True)
class DOIResult:
    """Whether the DOI is met, how many and which measures improved and worsened (measure
    keys as for the TIS: pga, ptga, mmt8, haq, enzyme, ema), the enzyme used and what was
    blank."""

    met: bool | None
    improved: int | None
    worsened: int | None
    missing: tuple[str, ...]
    improved_measures: tuple[str, ...] = ()
    worsened_measures: tuple[str, ...] = ()
    enzyme_used: str | None = None


def score_one(values: Mapping[str, Any], population: Population = "adult") -> DOIResult:
    """Apply the DOI to one baseline/follow-up pair (columns as for the TIS)."""
    out = DOI(population).evaluate(values)
    return DOIResult(
        met=out["doi_met"],
        improved=out["doi_improved"],
        worsened=out["doi_worsened"],
        missing=split_names(out["doi_missing"]),
        improved_measures=split_names(out["doi_improved_measures"]),
        worsened_measures=split_names(out["doi_worsened_measures"]),
        enzyme_used=out["enzyme_used"],
    )
