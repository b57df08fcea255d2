"""Procedures, visits and other observations (data model versions 3 and 4), derived from the
records already generated for a batch.

They are drawn from a random stream of their own (``SeedSequence(seed, spawn_key=(i, 2))``)
after every other record of the batch, so that the other tables hold exactly the rows they
would hold without them; and every date (and end) lies within its person's earliest and latest
record dates, so the observation periods derived from record dates
(:mod:`myositis.registry.observation`) are those of the other tables:

- procedures (``catalogue.PROCEDURES``): DM patients and polymyositis look-alikes, around
  their first myositis code, by subtype; CPT-4 codes by their calendar;
- visits: a clinic visit (``VISIT`` ``OP``) on every date a DM patient was assessed, and a
  hospital stay (``IP``, or ``ERIP`` when admitted through the emergency department) from the
  onset of each serious adverse event, discharged a few days later or on the person's last
  record, whichever comes first;
- observations: adults' tobacco smoking status (LOINC 72166-2 valued SNOMED), with pack-years
  for current and former smokers: DM patients at their first clinic visit (else their first DM
  code), a share of the other persons at one of their diagnoses.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from myositis.registry.observation import RECORD_DATES
from myositis.sources.synthetic.catalogue import (
    PACK_YEARS_SNOMED,
    PROCEDURES,
    SMOKING_RECORDED_FRACTION,
    SMOKING_STATUS,
    SMOKING_STATUS_LOINC,
    STAY_EXTRA_DAYS,
    STAY_THROUGH_ER_FRACTION,
    Procedure,
)
from myositis.sources.synthetic.context import Batch

_YEAR: Final = 365.25
#: The tables this module writes (empty until it runs, so no part of a person's record span).
ADDED: Final = ("procedure", "visit", "observation")
#: Myositis codes, dotted or not: a DM patient's DM codes (M33, ICD-9-CM 710.3) and a
#: polymyositis look-alike's (M33.2x, 710.4); nobody else has an M33 or 710.3/710.4 code.
_MYOSITIS: Final = r"^(M33|710\.?[34])"
_ADULT: Final = 18


def add_encounters(batch: Batch, people: dict[str, np.ndarray], rng: np.random.Generator) -> None:
    """Write the batch's procedures, visits and smoking observations from ``rng`` alone."""
    first_id, n = int(people["person_id"][0]), len(people["person_id"])
    diagnosis = batch.rows["diagnosis"].snapshot()
    subtypes = batch.rows["dm_subtype"].snapshot()
    dm = np.zeros(n, dtype=bool)
    dm[subtypes["person_id"].to_numpy() - first_id] = True
    kind = np.full(n, "", dtype=object)
    kind[subtypes["person_id"].to_numpy() - first_id] = subtypes["subtype"].to_pylist()
    # the first myositis code: a DM patient's DM codes, a look-alike's polymyositis codes
    onset = _first_code(diagnosis, first_id, n)
    kind[(onset >= 0) & ~dm] = "polymyositis"
    if (onset[dm] < 0).any():
        raise AssertionError("every synthetic DM patient has a DM code")
    index = np.flatnonzero(onset >= 0)  # the batch's myositis patients, by person id
    low, high = _spans(batch, index, first_id, n)

    ids = index + first_id
    _procedures(batch, rng, ids, kind[index], onset[index], low, high)
    first_visit = _clinic_visits(batch, first_id, n)
    _hospital_stays(batch, rng, ids, high)
    # a DM patient's smoking status at the first clinic visit, else at the first DM code
    dm_index = np.flatnonzero(dm)
    dm_day = np.where(first_visit[dm_index] >= 0, first_visit[dm_index], onset[dm_index])
    _smoking(batch, rng, people, diagnosis, dm, dm_index + first_id, dm_day)


def _first_code(diagnosis: pa.Table, first_id: int, n: int) -> np.ndarray:
    """Day of each person's first myositis code (``_MYOSITIS``; -1 for none), by position."""
    rows = diagnosis.filter(pc.match_substring_regex(diagnosis["code"], _MYOSITIS))
    at = rows["person_id"].to_numpy() - first_id
    days = rows["diagnosis_date"].cast(pa.int32()).to_numpy().astype(np.int64)
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, at, days)
    return np.where(first == np.iinfo(np.int64).max, -1, first)


def _spans(batch: Batch, index: np.ndarray, first_id: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Earliest and latest record day of the persons at ``index`` (positions in the batch)
    over every date column the derived observation period reads (``RECORD_DATES``)."""
    low = np.full(len(index), np.iinfo(np.int64).max, dtype=np.int64)
    high = np.full(len(index), np.iinfo(np.int64).min, dtype=np.int64)
    where = np.full(n, -1, dtype=np.int64)
    where[index] = np.arange(len(index))
    for table, column in RECORD_DATES:
        if table in ADDED:
            continue
        rows = batch.rows[table].snapshot()
        if rows[column].null_count == rows.num_rows:
            continue
        at = where[rows["person_id"].to_numpy() - first_id]
        days = rows[column].cast(pa.int32()).to_numpy(zero_copy_only=False)
        keep = (at >= 0) & pc.is_valid(rows[column]).to_numpy(zero_copy_only=False)
        np.minimum.at(low, at[keep], days[keep].astype(np.int64))
        np.maximum.at(high, at[keep], days[keep].astype(np.int64))
    return low, high


def _procedures(
    batch: Batch, rng: np.random.Generator, ids: np.ndarray, kinds: np.ndarray,
    onset: np.ndarray, low: np.ndarray, high: np.ndarray,
) -> None:  # fmt: skip
    m = len(ids)
    for procedure in PROCEDURES:
        share = np.array([procedure.shares.get(str(k), 0.0) for k in kinds])
        done = rng.random(m) < share
        earliest, latest = procedure.window
        days = np.clip(onset + rng.integers(earliest, latest + 1, m), low, high)
        codes = _codes(rng, procedure, days)
        if done.any():
            batch.rows["procedure"].add_arrays(
                person_id=ids[done], code_system="CPT4", code=codes[done],
                procedure_date=days[done],
            )  # fmt: skip


def _codes(rng: np.random.Generator, procedure: Procedure, days: np.ndarray) -> np.ndarray:
    """One of the procedure's codes valid on each day, drawn by weight."""
    never, always = np.iinfo(np.int64).min, np.iinfo(np.int64).max
    weights = np.stack(
        [
            np.where(
                (days >= (never if first is None else first))
                & (days <= (always if last is None else last)),
                weight,
                0.0,
            )
            for _, weight, first, last in procedure.codes
        ],
        axis=1,
    )
    cumulative = np.cumsum(weights, axis=1)
    u = rng.random(len(days)) * cumulative[:, -1]
    index = (u[:, None] >= cumulative).sum(axis=1)
    return np.array([c[0] for c in procedure.codes])[index]


def _visit_ids(pid: np.ndarray, code: np.ndarray, day: np.ndarray) -> pa.Array:
    """A source's visit id, marked synthetic: ``SYN-<person>-<code>-<date>``."""
    dates = np.datetime_as_string(day.astype("datetime64[D]")).tolist()
    return pa.array(
        [f"SYN-{p:08d}-{c}-{d}" for p, c, d in zip(pid.tolist(), code.tolist(), dates, strict=True)]
    )


def _clinic_visits(batch: Batch, first_id: int, n: int) -> np.ndarray:
    """A clinic visit on each day a DM patient was assessed; returns each person's first such
    day by position in the batch (-1 for none)."""
    assessed = batch.rows["assessment"].snapshot()
    pairs = assessed.group_by(["person_id", "assessment_date"]).aggregate([])
    pid = pairs["person_id"].to_numpy()
    day = pairs["assessment_date"].cast(pa.int32()).to_numpy().astype(np.int64)
    order = np.lexsort((day, pid))
    pid, day = pid[order], day[order]
    first = np.full(n, -1, dtype=np.int64)
    if not len(pid):
        return first
    batch.rows["visit"].add_arrays(
        person_id=pid, visit_id=_visit_ids(pid, np.full(len(pid), "OP"), day),
        code_system="VISIT", code="OP", visit_date=day, end_date=day,
    )  # fmt: skip
    starts = np.r_[True, pid[1:] != pid[:-1]]
    first[pid[starts] - first_id] = day[starts]
    return first


def _hospital_stays(
    batch: Batch, rng: np.random.Generator, ids: np.ndarray, high: np.ndarray
) -> None:
    """One stay per serious adverse event's onset (events of one person and day: one stay)."""
    events = batch.rows["adverse_event"].snapshot()
    serious = events.filter(pc.fill_null(events["serious"], False))
    pairs = serious.group_by(["person_id", "onset_date"]).aggregate([])
    pid = pairs["person_id"].to_numpy()
    onset = pairs["onset_date"].cast(pa.int32()).to_numpy().astype(np.int64)
    order = np.lexsort((onset, pid))
    pid, onset = pid[order], onset[order]
    n = len(pid)
    extra = rng.poisson(STAY_EXTRA_DAYS, n)
    code = np.where(rng.random(n) < STAY_THROUGH_ER_FRACTION, "ERIP", "IP")
    if not n:
        return
    at = np.searchsorted(ids, pid)
    if not np.array_equal(ids[np.minimum(at, len(ids) - 1)], pid):
        raise AssertionError("serious adverse events are DM patients'")
    end = np.minimum(onset + 1 + extra, high[at])
    batch.rows["visit"].add_arrays(
        person_id=pid, visit_id=_visit_ids(pid, code, onset), code_system="VISIT",
        code=code, visit_date=onset, end_date=end,
    )  # fmt: skip


def _smoking(
    batch: Batch, rng: np.random.Generator, people: dict[str, np.ndarray], diagnosis: pa.Table,
    dm: np.ndarray, dm_ids: np.ndarray, dm_day: np.ndarray,
) -> None:  # fmt: skip
    """Smoking status (and pack-years for current and former smokers) of adults: every DM
    patient (``dm``, by position) on ``dm_day``, a share of the others on one of their
    diagnoses' days."""
    first_id = int(people["person_id"][0])
    pid, day = one_diagnosis_day(rng, diagnosis)
    keep = (rng.random(len(pid)) < SMOKING_RECORDED_FRACTION) & ~dm[pid - first_id]
    pid = np.concatenate([dm_ids, pid[keep]])
    day = np.concatenate([dm_day, day[keep]])
    age = (day - people["birth"][pid - first_id]) / _YEAR
    adult = age >= _ADULT
    pid, day, age = pid[adult], day[adult], age[adult]
    n = len(pid)
    shares = np.array([s for _, s in SMOKING_STATUS])
    status = rng.choice(len(SMOKING_STATUS), size=n, p=shares / shares.sum())
    if not n:
        return
    batch.rows["observation"].add_arrays(
        person_id=pid, code_system="LOINC", code=SMOKING_STATUS_LOINC, observation_date=day,
        value_code_system="SNOMED", value_code=np.array([c for c, _ in SMOKING_STATUS])[status],
    )  # fmt: skip
    # pack-years (illustrative): smoking from age 15-25, 0.7 packs a day (median), current
    # smokers until the day, former ones for 20-90% of those years
    ever = status < 2
    k = int(ever.sum())
    if not k:
        return
    years = np.maximum(age[ever] - rng.uniform(15, 25, k), 1.0)
    years = np.where(status[ever] == 0, years, years * rng.uniform(0.2, 0.9, k))
    packs = np.minimum(rng.lognormal(np.log(0.7), 0.5, k), 3.0)
    batch.rows["observation"].add_arrays(
        person_id=pid[ever], code_system="SNOMED", code=PACK_YEARS_SNOMED,
        observation_date=day[ever], value=np.round(np.maximum(packs * years, 0.1), 1),
        unit="{pack-years}",
    )  # fmt: skip


def one_diagnosis_day(
    rng: np.random.Generator, diagnosis: pa.Table
) -> tuple[np.ndarray, np.ndarray]:
    """One of each diagnosed person's diagnosis days, drawn at random; by person."""
    pid = diagnosis["person_id"].to_numpy()
    day = diagnosis["diagnosis_date"].cast(pa.int32()).to_numpy().astype(np.int64)
    order = np.argsort(pid, kind="stable")
    pid, day = pid[order], day[order]
    starts = np.flatnonzero(np.r_[True, pid[1:] != pid[:-1]]) if len(pid) else order[:0]
    counts = np.diff(np.r_[starts, len(pid)])
    pick = starts + (rng.random(len(starts)) * counts).astype(np.int64)
    return pid[pick], day[pick]
