"""Score outcomes of the cohort language: the TIS or IMACS DOI of each cohort period, computed
inside the engine by the instruments' one definition (:class:`myositis.instruments.tis.TIS`,
:class:`myositis.instruments.doi.DOI`), fed one wide row per period.

Inputs (chosen by the compiler, per measure, with the outcome's baseline and follow-up rules):
the core set measures' recorded scores (``assessment`` rows of
:data:`~myositis.instruments.core_set.REGISTRY_SOURCES`: adults PGA, patient global, MMT-8
total, HAQ, extramuscular global; children CMAS and CHAQ instead of MMT-8 and HAQ) and the
muscle enzymes of ``laboratory`` (ck, aldolase, ldh, alt, ast) with the baseline result's
upper limit of normal.

Rules added to the instruments' (those of the trial endpoints, docs/trial.md "Endpoints"):

- every enzyme measured at baseline must be measured at follow-up, and at least one enzyme
  must be measured at baseline; otherwise the score is not computable;
- a score that is not computable is null (never 0) and ``<name>_missing`` names what was
  missing: the instrument's names of the blank inputs (``pga_followup``, ...), then
  ``<enzyme>_followup`` for an enzyme without a follow-up value and ``muscle_enzyme_baseline``
  when no enzyme was measured at baseline;
- ``<name>_followup_day``: the day of the PGA follow-up, else the latest follow-up day used.
"""

from __future__ import annotations

from typing import Final

import ibis
import ibis.expr.types as ir

from myositis.cohort.language import Outcome
from myositis.instruments.constants import ENZYMES
from myositis.instruments.core_set import MEASURES, REGISTRY_STEMS
from myositis.instruments.doi import DOI
from myositis.instruments.engine import any_of, missing_names
from myositis.instruments.tis import TIS

#: Keys of a cohort period.
KEYS: Final = ("person_id", "index_date")

#: Input stems whose higher values are better (MMT-8, CMAS): ``use: best`` takes the highest.
HIGHER_IS_BETTER: Final = tuple(sorted({m.column for m in MEASURES if m.higher_is_better}))

#: Name in ``<name>_missing`` when no muscle enzyme was measured at baseline.
NO_ENZYME: Final = "muscle_enzyme_baseline"


def columns(outcome: Outcome) -> tuple[str, ...]:
    """The columns a score outcome adds to the members, in order."""
    name = outcome.name
    parts: tuple[str, ...]
    if outcome.kind == "tis":
        parts = ("followup_day", "tis", "category", "missing")
    else:
        parts = ("followup_day", "met", "improved", "worsened", "missing")
    return tuple(f"{name}_{part}" for part in parts)


def stems(outcome: Outcome) -> tuple[str, ...]:
    """The assessment input stems the outcome reads (by its population)."""
    return REGISTRY_STEMS[outcome.population]


def wide_inputs(members: ir.Table, base: ir.Table, follow: ir.Table, outcome: Outcome) -> ir.Table:
    """One row per cohort period with each measure's ``<stem>_baseline``/``<stem>_followup``,
    each enzyme's ``<e>_baseline``, ``<e>_followup`` and ``<e>_uln`` (the baseline result's),
    ``mmt8_max`` for adults and the follow-up days (``_pga_day``, ``_last_day``). ``base`` and
    ``follow`` hold the chosen rows: ``person_id, index_date, _m`` (the stem or enzyme),
    ``value``, ``uln`` and ``day``."""
    keys = list(KEYS)
    every = (*stems(outcome), *ENZYMES)
    at_base = {f"{s}_baseline": base.value.max(where=base._m == s) for s in every}
    at_base |= {f"{e}_uln": base.uln.max(where=base._m == e) for e in ENZYMES}
    at_follow = {f"{s}_followup": follow.value.max(where=follow._m == s) for s in every}
    at_follow |= {
        "_pga_day": follow.day.max(where=follow._m == "pga"),
        "_last_day": follow.day.max(),
    }
    wide = members.select(*keys)
    for part in (
        base.group_by(keys).aggregate(**at_base),
        follow.group_by(keys).aggregate(**at_follow),
    ):
        joined = wide.left_join(part, keys)
        wide = joined.select(*[c for c in joined.columns if not c.endswith("_right")])
    if outcome.population == "adult":
        wide = wide.mutate(mmt8_max=ibis.literal(outcome.mmt8_max, type="int64"))
    return wide


def _join_names(first: ir.StringValue, second: ir.StringValue) -> ir.StringValue:
    """Two '; '-separated name lists as one (null when both are)."""
    both = first + "; " + second
    return ibis.ifelse(first.isnull(), second, ibis.ifelse(second.isnull(), first, both))


def scored(wide: ir.Table, outcome: Outcome) -> ir.Table:
    """``person_id, index_date`` and the outcome's :func:`columns`, scored by the instrument
    on ``wide`` (:func:`wide_inputs`); see the module docstring for the added rules."""
    name = outcome.name
    if outcome.kind == "tis":
        out = TIS(outcome.population).scores(wide)
    else:
        out = DOI(outcome.population).scores(wide)
    # the scorer keeps ``wide``'s columns as they are: the added rules read them there
    gaps = [
        (f"{e}_followup", out[f"{e}_baseline"].notnull() & out[f"{e}_followup"].isnull())
        for e in ENZYMES
    ]
    no_enzyme = ~any_of(out[f"{e}_baseline"].notnull() for e in ENZYMES)
    blocked = any_of(flag for _, flag in gaps) | no_enzyme
    extra = missing_names([*gaps, (NO_ENZYME, no_enzyme)])
    values: dict[str, ir.Value] = {f"{name}_followup_day": out._pga_day.coalesce(out._last_day)}
    if outcome.kind == "tis":
        values[f"{name}_tis"] = ibis.ifelse(blocked, ibis.null("float64"), out.tis.cast("float64"))
        values[f"{name}_category"] = ibis.ifelse(blocked, ibis.null("string"), out.tis_category)
        values[f"{name}_missing"] = _join_names(out.tis_missing, extra)
    else:
        values[f"{name}_met"] = ibis.ifelse(blocked, ibis.null("boolean"), out.doi_met)
        values[f"{name}_improved"] = ibis.ifelse(blocked, ibis.null("int32"), out.doi_improved)
        values[f"{name}_worsened"] = ibis.ifelse(blocked, ibis.null("int32"), out.doi_worsened)
        values[f"{name}_missing"] = _join_names(out.doi_missing, extra)
    return out.select(*KEYS, **values)


__all__ = ["HIGHER_IS_BETTER", "KEYS", "NO_ENZYME", "columns", "scored", "stems", "wide_inputs"]
