"""Deaths (data model version 4), derived from the records already generated for a batch.

Each death is dated on its person's **latest recorded date** in any table (every date the
derived observation periods read, :data:`myositis.registry.observation.RECORD_DATES`), so no
record comes after it (:func:`myositis.registry.death.records_after_death` finds none), the
observation periods derived from record dates are unchanged, and so is every cohort count that
rests on them. They are drawn last, from a random stream of their own
(``SeedSequence(seed, spawn_key=(i, 4))``), so every other table holds exactly the rows, in the
same order, that it held before deaths were written.

Who dies. A person dies during their observation period (first to last record) with
probability ``1 - exp(-h * r * t)``: ``t`` the period's length in years, ``h`` the background
hazard at the age in the middle of the period (a Gompertz curve,
:data:`~myositis.sources.synthetic.catalogue.DEATH_HAZARD_AT_50`), ``r`` the DM subtype's
mortality ratio (:data:`~myositis.sources.synthetic.catalogue.DEATH_RATE_RATIO`: 3.1 for
myopathic DM, 1.1 for clinically amyopathic DM, Kronzer et al., Arthritis Care Res
2023;75:348-355; 1 for everyone else). Nobody dies who has a drug exposure without an end date:
by the data model that exposure is still running at the data cut-off, so its person is alive
then. A person without a dated record has no period and no death.

The cause: ICD-10-CM, drawn from the DM patients' mix (cardiovascular, infection, malignancy
in the proportions of Limaye et al., Intern Med J 2012;42:191-198, plus interstitial lung
disease) or the other persons' (the US leading causes of 2019, NCHS Data Brief 395): see
:data:`~myositis.sources.synthetic.catalogue.DEATH_CAUSES_DM` and ``DEATH_CAUSES_OTHER``. The
numbers are anchored on those sources but the model is simple; like every synthetic row, a
death carries no provenance and the registry is labelled synthetic as a whole.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from myositis.registry.observation import RECORD_DATES
from myositis.sources.synthetic.catalogue import (
    DEATH_CAUSES_DM,
    DEATH_CAUSES_OTHER,
    DEATH_HAZARD_AT_50,
    DEATH_HAZARD_DOUBLING_YEARS,
    DEATH_RATE_RATIO,
)
from myositis.sources.synthetic.context import Batch

_YEAR: Final = 365.25
#: The table this module writes.
ADDED: Final = ("death",)
#: The cause's code system (US death certificates are coded in ICD-10 since 1999; the registry
#: records the clinical modification's codes, on any date).
CAUSE_SYSTEM: Final = "ICD10CM"


def hazard(age: np.ndarray) -> np.ndarray:
    """Background deaths per person-year at ``age`` (years): the Gompertz curve of the
    catalogue, ``DEATH_HAZARD_AT_50 * 2 ** ((age - 50) / DEATH_HAZARD_DOUBLING_YEARS)``."""
    return DEATH_HAZARD_AT_50 * np.exp2((age - 50.0) / DEATH_HAZARD_DOUBLING_YEARS)


def death_probability(
    first: np.ndarray, last: np.ndarray, birth: np.ndarray, ratio: np.ndarray
) -> np.ndarray:
    """The chance of dying within the period ``first`` to ``last`` (days since 1970-01-01) of
    persons born on ``birth`` with mortality ratio ``ratio``: ``1 - exp(-h * r * t)``, ``h``
    the background hazard at the period's middle, ``t`` its length in years."""
    years = (last - first) / _YEAR
    age = ((first + last) / 2 - birth) / _YEAR
    return -np.expm1(-hazard(age) * ratio * years)


def add_deaths(batch: Batch, people: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Write the batch's deaths from ``rng`` alone, each on its person's latest record day."""
    first_id, n = int(people["person_id"][0]), len(people["person_id"])
    # every person's draws, made for the whole batch whether they have records or not, so
    # that one person's death does not depend on anyone else's records
    chance = rng.random(n)
    cause_dm = rng.choice(len(DEATH_CAUSES_DM), size=n, p=_weights(DEATH_CAUSES_DM))
    cause_other = rng.choice(len(DEATH_CAUSES_OTHER), size=n, p=_weights(DEATH_CAUSES_OTHER))

    first, last = record_span(batch, first_id, n)
    ratio = np.ones(n)
    subtypes = batch.rows["dm_subtype"].snapshot()
    at = subtypes["person_id"].to_numpy() - first_id
    ratio[at] = [DEATH_RATE_RATIO[s] for s in subtypes["subtype"].to_pylist()]
    dm = np.zeros(n, dtype=bool)
    dm[at] = True

    recorded = last >= 0
    p = np.zeros(n)
    p[recorded] = death_probability(
        first[recorded], last[recorded], people["birth"][recorded], ratio[recorded]
    )
    dies = recorded & ~_still_taking_a_drug(batch, first_id, n) & (chance < p)
    who = np.flatnonzero(dies)
    if not len(who):
        return
    codes = np.where(
        dm[who],
        np.array([c for c, _ in DEATH_CAUSES_DM], dtype=object)[cause_dm[who]],
        np.array([c for c, _ in DEATH_CAUSES_OTHER], dtype=object)[cause_other[who]],
    )
    batch.rows["death"].add_arrays(
        person_id=who + first_id,
        death_date=last[who],
        cause_code_system=CAUSE_SYSTEM,
        cause_code=pa.array(codes.tolist(), pa.string()),
    )


def _weights(causes: tuple[tuple[str, float], ...]) -> np.ndarray:
    weights = np.array([w for _, w in causes])
    return weights / weights.sum()


def record_span(batch: Batch, first_id: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Each person's earliest and latest recorded date (days since 1970-01-01; -1 for a person
    without a dated record), by position, over every table written so far: the rule of the
    derived observation periods (:mod:`myositis.registry.observation`)."""
    low = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    high = np.full(n, -1, dtype=np.int64)
    for table, column in RECORD_DATES:
        if table in ADDED:
            continue
        rows = batch.rows[table].snapshot()
        dated = rows.filter(pc.is_valid(rows[column]))
        if not dated.num_rows:
            continue
        spans = (
            pa.table({"person_id": dated["person_id"], "day": dated[column].cast(pa.int32())})
            .group_by("person_id")
            .aggregate([("day", "min"), ("day", "max")])
        )
        at = spans["person_id"].to_numpy() - first_id
        # one row per person here, so plain indexing takes each person's extreme
        low[at] = np.minimum(low[at], spans["day_min"].to_numpy())
        high[at] = np.maximum(high[at], spans["day_max"].to_numpy())
    return np.where(high >= 0, low, -1), high


def _still_taking_a_drug(batch: Batch, first_id: int, n: int) -> np.ndarray:
    """Whether each person (by position) has a drug exposure without an end date: still
    running at the data cut-off (docs/data-model.md), so the person is alive then."""
    exposures = batch.rows["drug_exposure"].snapshot()
    open_ended = exposures.filter(pc.is_null(exposures["end_date"]))
    taking = np.zeros(n, dtype=bool)
    taking[open_ended["person_id"].to_numpy() - first_id] = True
    return taking


__all__ = ["ADDED", "CAUSE_SYSTEM", "add_deaths", "death_probability", "hazard", "record_span"]
