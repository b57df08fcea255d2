"""The background population: persons, common diagnoses, drugs and tests, and the look-alike
patients a DM cohort must not take (rheumatoid arthritis on tofacitinib, atopic dermatitis on
topical ruxolitinib, polymyositis)."""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa

from myositis.codes import load_codeset
from myositis.sources.synthetic.catalogue import (
    ATOPIC_DERMATITIS,
    CK_ULN_BY_SITE,
    COMMON_CONDITIONS,
    COMMON_DRUGS,
    ETHNICITIES,
    RACES,
    RHEUMATOID_ARTHRITIS,
    Condition,
)
from myositis.sources.synthetic.context import TOPICAL_RUXOLITINIB_ATC, Batch
from myositis.sources.synthetic.params import (
    DATA_END,
    DATA_START,
    ICD10_START,
    JAK_START_MIN,
    TOPICAL_RUXOLITINIB_START,
)

_CK_LOINC: Final = next(c.code for c in load_codeset("lab_ck") if c.system == "LOINC")
_YEAR: Final = 365.25


def _ages(rng: np.random.Generator, n: int) -> np.ndarray:
    # flat to age 60, then thinning linearly to 100 (a rough population pyramid)
    ages = np.arange(100)
    weights = np.where(ages < 60, 1.0, (100 - ages) / 40)
    return rng.choice(ages, size=n, p=weights / weights.sum())


def _choice(rng: np.random.Generator, options: tuple[tuple[str, float], ...], n: int) -> pa.Array:
    labels = [o[0] for o in options]
    p = np.array([o[1] for o in options])
    index = rng.choice(len(labels), size=n, p=p / p.sum())
    return pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), labels).dictionary_decode()


def persons(batch: Batch, first_id: int, n: int) -> dict[str, np.ndarray]:
    """Person attributes of one batch as arrays (DM patients are overwritten later)."""
    rng = batch.rng
    ages = _ages(rng, n)
    birth = (DATA_END - ages * _YEAR - rng.uniform(0, _YEAR, n)).astype(np.int64)
    return {
        "person_id": np.arange(first_id, first_id + n, dtype=np.int64),
        "site": rng.integers(0, batch.sites, n),
        "sex": rng.choice(np.array(["F", "M", "U"]), size=n, p=[0.52, 0.479, 0.001]),
        "birth": birth,
        "birth_date_known": rng.random(n) >= 0.05,  # 5% record only the birth year
    }


def write_persons(batch: Batch, people: dict[str, np.ndarray]) -> None:
    n = len(people["person_id"])
    birth = people["birth"]
    years = (birth.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970).astype(
        np.int32
    )
    birth_dates = pa.array(birth.astype(np.int32), mask=~people["birth_date_known"]).cast(
        pa.date32()
    )
    site_labels = [f"synthetic-site-{k + 1}" for k in range(batch.sites)]
    race = _choice(batch.rng, RACES, n)
    batch.rows["person"].add_arrays(
        person_id=people["person_id"],
        # a source identifier as a hospital would have one (an MRN), marked synthetic
        source_id=pa.array([f"SYN-{pid:08d}" for pid in people["person_id"].tolist()]),
        site=pa.DictionaryArray.from_arrays(
            pa.array(people["site"], pa.int32()), site_labels
        ).dictionary_decode(),
        sex=pa.array(people["sex"]),
        birth_date=birth_dates,
        birth_year=years,
        race=race,
        ethnicity=_choice(batch.rng, ETHNICITIES, n),
    )
    # one recorded race per synthetic person: person_race repeats person.race
    batch.rows["person_race"].add_arrays(person_id=people["person_id"], race=race)


def _visit_days(rng: np.random.Generator, birth: np.ndarray) -> np.ndarray:
    start = np.maximum(birth, DATA_START)
    return (start + rng.random(len(birth)) * (DATA_END - start)).astype(np.int64)


def _coded(
    batch: Batch, conditions: tuple[Condition, ...], which: np.ndarray, days: np.ndarray
) -> tuple[pa.Array, pa.Array]:
    """(code_system, code) arrays: ICD-9-CM before October 2015, ICD-10-CM after; a share
    recorded without the dot."""
    k = len(conditions)
    vocab = [c.icd10 for c in conditions] + [c.icd9 for c in conditions]
    vocab += [v.replace(".", "") for v in vocab]
    icd9 = days < ICD10_START
    undotted = batch.rng.random(len(which)) < batch.params.undotted_fraction
    index = which + k * icd9 + 2 * k * undotted
    codes = pa.DictionaryArray.from_arrays(pa.array(index, pa.int32()), vocab).dictionary_decode()
    systems = np.where(icd9, "ICD9CM", "ICD10CM")
    return pa.array(systems), codes


def common_records(batch: Batch, people: dict[str, np.ndarray]) -> None:
    """Common diagnoses (about 2.5 per person), drugs (about 1.2) and a few normal CK tests."""
    rng, ids, birth = batch.rng, people["person_id"], people["birth"]
    n = len(ids)
    # diagnoses
    counts = rng.poisson(2.5, n)
    who = np.repeat(np.arange(n), counts)
    weights = np.array([c.weight for c in COMMON_CONDITIONS])
    which = rng.choice(len(COMMON_CONDITIONS), size=len(who), p=weights / weights.sum())
    days = _visit_days(rng, birth[who])
    systems, codes = _coded(batch, COMMON_CONDITIONS, which, days)
    batch.rows["diagnosis"].add_arrays(
        person_id=ids[who], code_system=systems, code=codes, diagnosis_date=days.astype(np.int32)
    )
    # drugs
    counts = rng.poisson(1.2, n)
    who = np.repeat(np.arange(n), counts)
    m = len(who)
    weights = np.array([d.weight for d in COMMON_DRUGS])
    which = rng.choice(len(COMMON_DRUGS), size=m, p=weights / weights.sum())
    start = _visit_days(rng, birth[who])
    low = np.array([d.min_days for d in COMMON_DRUGS])[which]
    high = np.array([d.max_days for d in COMMON_DRUGS])[which]
    end = np.minimum(start + low + (rng.random(m) * (high - low + 1)).astype(np.int64), DATA_END)

    def column(attribute: str) -> pa.Array:
        values = [getattr(d, attribute) for d in COMMON_DRUGS]
        return pa.DictionaryArray.from_arrays(
            pa.array(which, pa.int32()), values
        ).dictionary_decode()

    first = batch.next_exposure_id + 1
    batch.next_exposure_id += m
    batch.rows["drug_exposure"].add_arrays(
        exposure_id=np.arange(first, first + m, dtype=np.int64),
        person_id=ids[who],
        ingredient=column("ingredient"),
        code_system="LOCAL",
        code=column("ingredient"),
        start_date=start.astype(np.int32),
        end_date=end.astype(np.int32),
        dose=np.array([d.dose for d in COMMON_DRUGS], dtype=np.float64)[which],
        dose_unit=column("unit"),
        frequency=column("frequency"),
        formulation=column("formulation"),
        route=column("route"),
    )
    # a few CK tests in people without muscle disease: normal values
    tested = np.flatnonzero(rng.random(n) < 0.02)
    if len(tested):
        uln = np.array(CK_ULN_BY_SITE)[people["site"][tested] % len(CK_ULN_BY_SITE)]
        days = _visit_days(rng, birth[tested]).astype(np.int32)
        values = np.round(uln * rng.uniform(0.2, 0.95, len(tested)))
        batch.rows["laboratory"].add_arrays(
            person_id=ids[tested],
            test="ck",
            loinc=_CK_LOINC,
            result_date=days,
            value=values,
            unit="U/L",
            uln=uln,
            uln_unit="U/L",
            source_value=values,
            source_unit="U/L",
        )


def _diagnose(batch: Batch, pid: int, condition: Condition, day: int) -> None:
    icd9 = day < ICD10_START
    batch.rows["diagnosis"].add(
        person_id=pid,
        code_system="ICD9CM" if icd9 else "ICD10CM",
        code=batch.icd(condition.icd9 if icd9 else condition.icd10),
        diagnosis_date=day,
    )


def _expose(batch: Batch, pid: int, **row: object) -> None:
    batch.rows["drug_exposure"].add(exposure_id=batch.exposure_id(), person_id=pid, **row)


def lookalikes(batch: Batch, people: dict[str, np.ndarray], skip: np.ndarray) -> None:
    """RA patients (some on tofacitinib), atopic dermatitis (some on topical ruxolitinib) and
    polymyositis: JAK exposure or myositis codes without a DM diagnosis. ``skip`` marks the DM
    patients, who get none of these."""
    rng, p = batch.rng, batch.params
    n = len(people["person_id"])
    draw = rng.random((3, n))
    # Records start no earlier than the person's birth (people born too late have none).
    born = np.maximum(people["birth"], DATA_START)
    for i in np.flatnonzero((draw[0] < p.ra_fraction) & ~skip & (born < DATA_END - 400)):
        _rheumatoid(batch, int(people["person_id"][i]), int(people["site"][i]), int(born[i]))
    for i in np.flatnonzero((draw[1] < p.ad_fraction) & ~skip & (born < DATA_END - 30)):
        _atopic(batch, int(people["person_id"][i]), int(born[i]))
    for i in np.flatnonzero((draw[2] < p.pm_per_1000 / 1000) & ~skip & (born < DATA_END - 200)):
        _polymyositis(batch, int(people["person_id"][i]), int(people["site"][i]), int(born[i]))


def _rheumatoid(batch: Batch, pid: int, site: int, born: int) -> None:
    rng = batch.rng
    first = int(rng.integers(born, DATA_END - 400))
    for day in np.sort(rng.integers(first, DATA_END, rng.integers(2, 6))):
        _diagnose(batch, pid, RHEUMATOID_ARTHRITIS, int(day))
    mtx_end = min(first + int(rng.integers(180, 1500)), DATA_END)
    _expose(
        batch,
        pid,
        ingredient="methotrexate",
        code_system="LOCAL",
        code="methotrexate",
        start_date=first,
        end_date=mtx_end,
        dose=float(rng.choice([15.0, 20.0])),
        dose_unit="mg",
        frequency="QW",
        formulation="IR",
        route="oral",
    )
    if rng.random() < batch.params.ra_tofacitinib_fraction:
        start = int(max(mtx_end, JAK_START_MIN) + rng.integers(0, 120))
        if start < DATA_END - 30:
            system, code = batch.jak_code("tofacitinib", site, start)
            er = rng.random() < 0.3
            end = int(start + rng.integers(90, 1500))
            _expose(
                batch,
                pid,
                ingredient="tofacitinib",
                code_system=system,
                code=code,
                start_date=start,
                end_date=end if end < DATA_END else None,
                dose=11.0 if er else 5.0,
                dose_unit="mg",
                frequency="QD" if er else "BID",
                formulation="ER" if er else "IR",
                route="oral",
            )


def _atopic(batch: Batch, pid: int, born: int) -> None:
    rng = batch.rng
    days = np.sort(rng.integers(born, DATA_END, rng.integers(1, 4)))
    for day in days:
        _diagnose(batch, pid, ATOPIC_DERMATITIS, int(day))
    if rng.random() < batch.params.ad_topical_ruxolitinib_fraction:
        start = int(rng.integers(max(TOPICAL_RUXOLITINIB_START, born), DATA_END - 30))
        _expose(
            batch,
            pid,
            ingredient="ruxolitinib",
            code_system="ATC",
            code=TOPICAL_RUXOLITINIB_ATC,
            start_date=start,
            end_date=min(start + int(rng.integers(14, 120)), DATA_END),
            dose=1.0,
            dose_unit="application",
            frequency="BID",
            formulation="TOP",
            route="topical",
        )


_PM: Final = Condition("polymyositis", "M33.22", "710.4", 0.0)
_PM_UNSPECIFIED: Final = Condition("polymyositis", "M33.20", "710.4", 0.0)


def _polymyositis(batch: Batch, pid: int, site: int, born: int) -> None:
    rng = batch.rng
    first = int(rng.integers(born, DATA_END - 200))
    for day in np.sort(rng.integers(first, DATA_END, rng.integers(2, 7))):
        _diagnose(batch, pid, _PM if rng.random() < 0.7 else _PM_UNSPECIFIED, int(day))
    _expose(
        batch,
        pid,
        ingredient="prednisone",
        code_system="LOCAL",
        code="prednisone",
        start_date=first,
        end_date=int(min(first + 120, DATA_END)),
        dose=40.0,
        dose_unit="mg",
        frequency="QD",
        formulation="IR",
        route="oral",
    )
    uln = CK_ULN_BY_SITE[site % len(CK_ULN_BY_SITE)]
    batch.rows["laboratory"].add(
        person_id=pid,
        test="ck",
        loinc=_CK_LOINC,
        result_date=first,
        value=(value := float(round(uln * rng.uniform(3, 25)))),
        unit="U/L",
        uln=uln,
        uln_unit="U/L",
        source_value=value,
        source_unit="U/L",
    )
