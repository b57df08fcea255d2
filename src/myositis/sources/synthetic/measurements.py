"""Measurements (data model version 4): vital signs and laboratory tests other than the
registry's five, derived from the records already generated for a batch.

They are drawn from a random stream of their own (``SeedSequence(seed, spawn_key=(i, 3))``)
after every other record of the batch, and dated on days the person already has a record, so
the other tables hold exactly the rows they would hold without them and the observation periods
derived from record dates (:mod:`myositis.registry.observation`) are unchanged. They read only
tables written before the encounters (``assessment``, ``diagnosis``, ``laboratory``,
``dm_subtype``), so they are the same with or without procedures, visits and observations.
Every number and its source is in ``catalogue.py``; every value is LOINC coded, in a UCUM unit.

- vital signs: body weight, BMI and (from age 3) systolic and diastolic blood pressure, and
  body height where it is recorded: every DM patient on each day they were assessed (their
  clinic visits, ``encounters.py``), and ``VITALS_RECORDED_FRACTION`` of the other persons on
  one of their diagnoses' days; from age 2. A person keeps a height percentile, a BMI
  percentile and a usual blood pressure, so an adult's weight varies little from visit to
  visit and a child grows along their percentiles. The height is recorded at the first visit,
  at every visit of a child and at the first as an adult (an adult keeps it); the BMI is that
  of the day's weight and the height.
- laboratory: hemoglobin, creatinine and CRP, each on a share of the days of the person's
  laboratory results (from age 2), with the normal range for age and sex; on a day with a
  muscle enzyme above its ULN (active myositis) the hemoglobin is lower and the CRP higher.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from myositis.sources.synthetic.catalogue import (
    ACTIVE_CRP_FACTOR,
    ACTIVE_HEMOGLOBIN_DROP,
    BMI,
    BMI_MEDIAN,
    BMI_SPREAD,
    BODY_AGES,
    BODY_HEIGHT,
    BODY_WEIGHT,
    CREATININE,
    CREATININE_AGES,
    CREATININE_MEDIAN,
    CREATININE_RANGE,
    CREATININE_SPREAD,
    CRP,
    CRP_AGES,
    CRP_MEDIAN,
    CRP_RANGE,
    CRP_SPREAD,
    DIASTOLIC,
    DIASTOLIC_MEAN,
    HEIGHT_MEDIAN_CM,
    HEIGHT_SPREAD,
    HEMOGLOBIN,
    HEMOGLOBIN_ADULT_LOW,
    HEMOGLOBIN_AGE_DROP,
    HEMOGLOBIN_AGES,
    HEMOGLOBIN_HIGH,
    HEMOGLOBIN_LOW,
    HEMOGLOBIN_MEAN,
    HEMOGLOBIN_SD,
    HYPERTENSION_PRESSURE,
    LAB_SHARES,
    PRESSURE_AGES,
    PRESSURE_CORRELATION,
    PRESSURE_PERSON_SD,
    PRESSURE_VISIT_SD,
    SYSTOLIC,
    SYSTOLIC_MEAN,
    VITALS_RECORDED_FRACTION,
    WEIGHT_VISIT_SPREAD,
)
from myositis.sources.synthetic.context import Batch
from myositis.sources.synthetic.encounters import one_diagnosis_day

_YEAR: Final = 365.25
#: The table this module writes.
ADDED: Final = ("measurement",)
#: Essential hypertension, ICD-10-CM or ICD-9-CM, dotted or not.
_HYPERTENSION: Final = r"^(I10|401\.?9)$"
#: Youngest age (years) with vital signs or laboratory measurements, and with a blood pressure.
_YOUNGEST: Final = 2.0
_PRESSURE_FROM: Final = 3.0
_ADULT: Final = 18.0
#: Each person's standard normal levels are clipped to this many standard deviations.
_CLIP: Final = 3.5


def add_measurements(batch: Batch, people: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Write the batch's vital signs and laboratory measurements from ``rng`` alone."""
    first_id, n = int(people["person_id"][0]), len(people["person_id"])
    # every person's own levels, drawn for the whole batch whether measured or not, so that
    # one person's values do not depend on who else is measured
    size, body = np.clip(rng.standard_normal((2, n)), -_CLIP, _CLIP)
    usual = _correlated(rng, n, PRESSURE_CORRELATION[0])
    blood = np.clip(rng.standard_normal((3, n)), -_CLIP, _CLIP)
    person = _Persons(people, size, body, usual, blood)

    diagnosis = batch.rows["diagnosis"].snapshot()
    high = diagnosis.filter(pc.match_substring_regex(diagnosis["code"], _HYPERTENSION))
    person.hypertensive[high["person_id"].to_numpy() - first_id] = True
    dm = np.zeros(n, dtype=bool)
    dm[batch.rows["dm_subtype"].snapshot()["person_id"].to_numpy() - first_id] = True

    # DM patients on each day they were assessed (a clinic visit)
    pid, day = _distinct_days(batch.rows["assessment"].snapshot(), "assessment_date")
    keep = dm[pid - first_id]
    # a share of the others on one of their diagnoses' days
    others, on = one_diagnosis_day(rng, diagnosis)
    chosen = (rng.random(len(others)) < VITALS_RECORDED_FRACTION) & ~dm[others - first_id]
    pid = np.concatenate([pid[keep], others[chosen]])
    _vitals(batch, rng, person, pid, np.concatenate([day[keep], on[chosen]]))
    _laboratory(batch, rng, person)


class _Persons:
    """The batch's persons as arrays by position (``person_id - first_id``)."""

    def __init__(
        self, people: dict[str, np.ndarray], size: np.ndarray, body: np.ndarray,
        usual: np.ndarray, blood: np.ndarray,
    ) -> None:  # fmt: skip
        self.first_id = int(people["person_id"][0])
        self.birth = people["birth"]
        self.sex = people["sex"]
        self.size, self.body, self.usual, self.blood = size, body, usual, blood
        self.hypertensive = np.zeros(len(self.birth), dtype=bool)

    def at(self, pid: np.ndarray) -> np.ndarray:
        return pid - self.first_id

    def age(self, pid: np.ndarray, day: np.ndarray) -> np.ndarray:
        return (day - self.birth[self.at(pid)]) / _YEAR


def _correlated(rng: np.random.Generator, n: int, rho: float) -> np.ndarray:
    """Two standard normal rows of ``n`` with correlation ``rho``, clipped."""
    a, b = rng.standard_normal((2, n))
    return np.clip(np.stack([a, rho * a + np.sqrt(1 - rho * rho) * b]), -_CLIP, _CLIP)


def _by_sex(
    sex: np.ndarray, age: np.ndarray, ages: tuple[float, ...],
    table: Mapping[str, tuple[float, ...]],
) -> np.ndarray:  # fmt: skip
    """The table's value at each age for each sex (interpolated; unknown sex: the mean)."""
    male = np.interp(age, ages, table["M"])
    female = np.interp(age, ages, table["F"])
    return np.where(sex == "M", male, np.where(sex == "F", female, (male + female) / 2))


def _distinct_days(rows: pa.Table, column: str) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (person, day) pairs of ``rows``, sorted by person and day."""
    pairs = rows.group_by(["person_id", column]).aggregate([])
    pid = pairs["person_id"].to_numpy()
    day = pairs[column].cast(pa.int32()).to_numpy().astype(np.int64)
    order = np.lexsort((day, pid))
    return pid[order], day[order]


def _add(
    batch: Batch, code: tuple[str, str], pid: np.ndarray, day: np.ndarray, value: np.ndarray,
    low: np.ndarray | float | None = None, high: np.ndarray | float | None = None,
) -> None:  # fmt: skip
    if not len(pid):
        return
    loinc, unit = code
    batch.rows["measurement"].add_arrays(
        person_id=pid, code_system="LOINC", code=loinc, measurement_date=day, value=value,
        unit=unit, range_low=low, range_high=high,
    )  # fmt: skip


def _vitals(
    batch: Batch, rng: np.random.Generator, person: _Persons, pid: np.ndarray, day: np.ndarray
) -> None:
    """Weight, BMI, blood pressure and height of each (person, day), a person's days in order:
    the height at the person's first visit, at every visit of a child and at the first visit
    as an adult, after which it does not change."""
    noise = rng.standard_normal(len(pid))
    visit = _correlated(rng, len(pid), PRESSURE_CORRELATION[1])
    age = person.age(pid, day)
    keep = age >= _YOUNGEST
    pid, day, age = pid[keep], day[keep], age[keep]
    noise, visit = noise[keep], visit[:, keep]
    at, sex = person.at(pid), person.sex[person.at(pid)]

    median = _by_sex(sex, age, BODY_AGES, HEIGHT_MEDIAN_CM)
    height = np.round(median * (1 + HEIGHT_SPREAD * person.size[at]), 1)
    spread = np.interp(age, BODY_AGES, BMI_SPREAD)
    bmi = _by_sex(sex, age, BODY_AGES, BMI_MEDIAN) * np.exp(spread * person.body[at])
    metres = height / 100
    weight = np.round(bmi * metres**2 * np.exp(WEIGHT_VISIT_SPREAD * noise), 1)
    child = age < _ADULT
    again = np.r_[False, pid[1:] == pid[:-1]]  # not the person's first visit
    measured = ~again | child | (again & np.r_[False, child[:-1]])
    _add(batch, BODY_WEIGHT, pid, day, weight)
    _add(batch, BODY_HEIGHT, pid[measured], day[measured], height[measured])
    _add(batch, BMI, pid, day, np.round(weight / metres**2, 1))

    pressures = []
    for k, table in enumerate((SYSTOLIC_MEAN, DIASTOLIC_MEAN)):
        own = np.where(child, PRESSURE_PERSON_SD["child"][k], PRESSURE_PERSON_SD["adult"][k])
        reading = np.where(child, PRESSURE_VISIT_SD["child"][k], PRESSURE_VISIT_SD["adult"][k])
        pressures.append(
            _by_sex(sex, age, PRESSURE_AGES, table) + own * person.usual[k, at]
            + reading * visit[k] + HYPERTENSION_PRESSURE[k] * (person.hypertensive[at] & ~child)
        )  # fmt: skip
    systolic, diastolic = pressures
    systolic = np.round(np.clip(systolic, 70, 240))
    diastolic = np.round(np.clip(np.minimum(diastolic, systolic - 10), 35, 140))
    pressure = age >= _PRESSURE_FROM
    _add(batch, SYSTOLIC, pid[pressure], day[pressure], systolic[pressure])
    _add(batch, DIASTOLIC, pid[pressure], day[pressure], diastolic[pressure])


def _laboratory(batch: Batch, rng: np.random.Generator, person: _Persons) -> None:
    """Hemoglobin, creatinine and CRP on shares of the days of the laboratory results."""
    lab = batch.rows["laboratory"].snapshot()
    raised = pc.fill_null(pc.greater(lab["value"], lab["uln"]), False)
    days = pa.table(
        {"person_id": lab["person_id"], "day": lab["result_date"], "raised": raised}
    ).group_by(["person_id", "day"]).aggregate([("raised", "max")])  # fmt: skip
    pid = days["person_id"].to_numpy()
    day = days["day"].cast(pa.int32()).to_numpy().astype(np.int64)
    active = days["raised_max"].to_numpy(zero_copy_only=False).astype(bool)
    order = np.lexsort((day, pid))
    pid, day, active = pid[order], day[order], active[order]
    m = len(pid)
    done = {test: rng.random(m) < share for test, share in LAB_SHARES.items()}
    noise = np.clip(rng.standard_normal((3, m)), -_CLIP, _CLIP)
    age = person.age(pid, day)
    keep = age >= _YOUNGEST
    at, sex = person.at(pid), person.sex[person.at(pid)]
    male = sex == "M"

    # hemoglobin: normal, lower after 60 and on a day of active myositis
    person_sd, day_sd = HEMOGLOBIN_SD
    scale = np.where(age < 15, 0.72, 1.0)
    mean = _by_sex(sex, age, HEMOGLOBIN_AGES, HEMOGLOBIN_MEAN)
    mean = mean - HEMOGLOBIN_AGE_DROP * np.maximum(age - 60, 0) - ACTIVE_HEMOGLOBIN_DROP * active
    value = np.round(np.clip(mean + scale * (person_sd * person.blood[0, at]
                                             + day_sd * noise[0]), 5.0, 20.0), 1)  # fmt: skip
    low = np.select(
        [age < limit for limit, _ in HEMOGLOBIN_LOW],
        [threshold for _, threshold in HEMOGLOBIN_LOW],
        np.where(male, HEMOGLOBIN_ADULT_LOW["M"], HEMOGLOBIN_ADULT_LOW["F"]),
    )
    high = np.where(male & (age >= 12), HEMOGLOBIN_HIGH["M"], HEMOGLOBIN_HIGH["F"])
    rows = keep & done["hemoglobin"]
    _add(batch, HEMOGLOBIN, pid[rows], day[rows], value[rows], low[rows], high[rows])

    # creatinine: lognormal
    person_sd, day_sd = CREATININE_SPREAD
    median = _by_sex(sex, age, CREATININE_AGES, CREATININE_MEDIAN)
    value = np.round(median * np.exp(person_sd * person.blood[1, at] + day_sd * noise[1]), 2)
    value = np.maximum(value, 0.1)
    ranges = np.array([CREATININE_RANGE[k] for k in ("child", "adolescent", "M", "F")])
    which = np.where(age < 12, 0, np.where(age < _ADULT, 1, np.where(male, 2, 3)))
    rows = keep & done["creatinine"]
    low, high = ranges[which, 0], ranges[which, 1]
    _add(batch, CREATININE, pid[rows], day[rows], value[rows], low[rows], high[rows])

    # CRP: lognormal, higher on a day of active myositis
    person_sd, day_sd = CRP_SPREAD
    median = _by_sex(sex, age, CRP_AGES, CRP_MEDIAN) * np.where(active, ACTIVE_CRP_FACTOR, 1.0)
    value = median * np.exp(person_sd * person.blood[2, at] + day_sd * noise[2])
    value = np.round(np.clip(value, 0.1, 300.0), 1)
    rows = keep & done["crp"]
    _add(batch, CRP, pid[rows], day[rows], value[rows], *CRP_RANGE)
