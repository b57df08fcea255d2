"""The synthetic registry's measurements (docs/synthetic.md, "Measurements"): vital signs at
DM patients' clinic visits and at one diagnosis day of a share of the others, hemoglobin,
creatinine and CRP on days of laboratory results. Drawn from a stream of their own after every
other record and dated on days with records, so that the other tables and the derived
observation periods are those of a registry without them; LOINC coded, in UCUM units, with
plausible values, normal ranges for the laboratory tests and consistent body sizes; found by
the cohort language's measurement domain."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pytest
from scipy.stats import binom

import myositis.sources.synthetic as synthetic
from myositis.codes.units import lab_loinc
from myositis.cohort.language import Cohort
from myositis.cohort.run import run_cohort
from myositis.registry import connect
from myositis.registry.integrity import integrity_problems
from myositis.registry.observation import RECORD_DATES, derived_periods
from myositis.registry.schema import PROVENANCE_COLUMNS, TABLES
from myositis.registry.vocabulary import vocabulary_problems
from myositis.sources.synthetic import generate_registry
from myositis.sources.synthetic.catalogue import (
    BMI,
    BODY_HEIGHT,
    BODY_WEIGHT,
    CREATININE,
    CRP,
    DIASTOLIC,
    HEMOGLOBIN,
    LAB_SHARES,
    SYSTOLIC,
    VITALS_RECORDED_FRACTION,
)
from myositis.sources.synthetic.measurements import ADDED

from .conftest import SMALL

#: Many DM patients (about 2,000), so that their visits and active-myositis days are many.
RICH = {"patients": 20_000, "sites": 2, "seed": 3, "dm_per_1000": 100.0}
VITALS = (BODY_WEIGHT, BODY_HEIGHT, BMI, SYSTOLIC, DIASTOLIC)
LABS = {HEMOGLOBIN[0]: "hemoglobin", CREATININE[0]: "creatinine", CRP[0]: "crp"}
#: Plausible bounds of each value (the generator's clips and the tails of its distributions).
BOUNDS = {
    BODY_WEIGHT[0]: (8.0, 250.0),
    BODY_HEIGHT[0]: (75.0, 215.0),
    BMI[0]: (10.0, 70.0),
    SYSTOLIC[0]: (70.0, 240.0),
    DIASTOLIC[0]: (35.0, 140.0),
    HEMOGLOBIN[0]: (5.0, 20.0),
    CREATININE[0]: (0.1, 5.0),
    CRP[0]: (0.1, 300.0),
}
#: The normal ranges the laboratory measurements are reported with.
RANGES = {
    HEMOGLOBIN[0]: {
        (11.0, 15.5),
        (11.5, 15.5),
        (12.0, 15.5),
        (11.5, 17.5),
        (12.0, 17.5),
        (13.0, 17.5),
    },  # fmt: skip
    CREATININE[0]: {(0.2, 0.7), (0.5, 1.1), (0.74, 1.35), (0.59, 1.04)},
    CRP[0]: {(0.0, 5.0)},
}


def _rows(con: ibis.BaseBackend, name: str) -> list[dict[str, Any]]:
    return con.table(name).to_pyarrow().to_pylist()


def _within(count: int, n: int, p: float) -> bool:
    """Whether ``count`` of ``n`` lies within the central 99.9% of Binomial(n, p)."""
    return bool(binom.ppf(0.0005, n, p) <= count <= binom.ppf(0.9995, n, p))


def _table_digest(con: ibis.BaseBackend, name: str) -> str:
    # in stored order: the rows must be the same rows in the same order
    rows = con.table(name).to_pyarrow().to_pylist()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _ages(con: ibis.BaseBackend) -> dict[int, dt.date]:
    """Each person's birth date (the middle of the birth year where only that is known)."""
    return {
        r["person_id"]: r["birth_date"] or dt.date(r["birth_year"], 7, 1)
        for r in _rows(con, "person")
    }


def _age(birth: dt.date, day: dt.date) -> float:
    return (day - birth).days / 365.25


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> ibis.BaseBackend:
    path = tmp_path_factory.mktemp("measurements") / "rich.duckdb"
    return connect(generate_registry(path, **RICH), read_only=True)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def rich_rows(rich: ibis.BaseBackend) -> list[dict[str, Any]]:
    return _rows(rich, "measurement")


@pytest.fixture(scope="module")
def without(tmp_path_factory: pytest.TempPathFactory) -> ibis.BaseBackend:
    """The SMALL registry as the generator wrote it before it wrote measurements."""
    path = tmp_path_factory.mktemp("measurements") / "without.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synthetic, "add_measurements", lambda *args: None)
        generate_registry(path, **SMALL)  # type: ignore[arg-type]
    return connect(path, read_only=True)


def test_measurements_change_no_other_table_nor_any_derived_period(
    small_registry: Path, without: ibis.BaseBackend
) -> None:
    con = connect(small_registry, read_only=True)
    for name in TABLES:
        if name in ADDED:
            assert without.table(name).count().execute() == 0, name
            assert con.table(name).count().execute() > 0, name
        elif name != "registry_metadata":  # its creation time and fingerprint differ
            assert _table_digest(con, name) == _table_digest(without, name), name

    def periods(c: ibis.BaseBackend) -> list[tuple[Any, ...]]:
        return sorted(tuple(r.values()) for r in derived_periods(c).to_pyarrow().to_pylist())

    assert periods(con) == periods(without)
    # every measurement is on a day its person has another record
    days = {
        (r["person_id"], r["day"])
        for table, column in RECORD_DATES
        if table not in ADDED
        for r in without.table(table).select("person_id", day=ibis._[column])
        .distinct().to_pyarrow().to_pylist()
    }  # fmt: skip
    for r in _rows(con, "measurement"):
        assert (r["person_id"], r["measurement_date"]) in days, r
    con.disconnect()


def test_the_same_seed_gives_the_same_measurements(small_registry: Path, tmp_path: Path) -> None:
    again = generate_registry(tmp_path / "again.duckdb", **SMALL)  # type: ignore[arg-type]
    other = generate_registry(tmp_path / "other.duckdb", **{**SMALL, "seed": 12})  # type: ignore[arg-type]
    first, second, third = (
        _table_digest(connect(p, read_only=True), "measurement")
        for p in (small_registry, again, other)
    )
    assert first == second != third


def test_the_registry_keeps_its_rules(rich: ibis.BaseBackend) -> None:
    assert integrity_problems(rich) == []
    assert vocabulary_problems(rich) == []


def test_every_row_is_loinc_coded_in_its_ucum_unit_with_a_plausible_value(
    rich_rows: list[dict[str, Any]],
) -> None:
    units = dict((*VITALS, HEMOGLOBIN, CREATININE, CRP))
    assert Counter(r["code"] for r in rich_rows).keys() == units.keys()
    # never one of the registry's laboratory tests (those are laboratory rows)
    assert not set(units) & set(lab_loinc().values())
    for r in rich_rows:
        assert r["code_system"] == "LOINC" and r["unit"] == units[r["code"]], r
        low, high = BOUNDS[r["code"]]
        assert r["value"] is not None and low <= r["value"] <= high, r
        assert r["value_code_system"] is None and r["value_code"] is None, r
        # generated, not imported: no provenance, as in every other synthetic table
        assert all(r[c] is None for c in PROVENANCE_COLUMNS), r
        if r["code"] in LABS:
            assert (r["range_low"], r["range_high"]) in RANGES[r["code"]], r
        else:
            assert r["range_low"] is None and r["range_high"] is None, r
    # one value of each code per person and day
    assert max(Counter((r["person_id"], r["code"], r["measurement_date"])
                       for r in rich_rows).values()) == 1  # fmt: skip


def test_vital_signs_at_each_dm_clinic_visit_and_one_day_of_a_share_of_others(
    rich: ibis.BaseBackend, rich_rows: list[dict[str, Any]]
) -> None:
    dm = {r["person_id"] for r in _rows(rich, "dm_subtype")}
    weights = [r for r in rich_rows if r["code"] == BODY_WEIGHT[0]]
    assessed = {(r["person_id"], r["assessment_date"]) for r in _rows(rich, "assessment")}
    # DM patients: a weight on every day they were assessed (their clinic visits) and no other
    measured = {(r["person_id"], r["measurement_date"]) for r in weights}
    assert {pair for pair in measured if pair[0] in dm} == assessed
    # the others: one day each, a diagnosis day, for a share of those with a diagnosis
    others = Counter(r["person_id"] for r in weights if r["person_id"] not in dm)
    assert set(others.values()) == {1}
    diagnosed = {(r["person_id"], r["diagnosis_date"]) for r in _rows(rich, "diagnosis")}
    assert all(pair in diagnosed for pair in measured if pair[0] not in dm)
    candidates = len({pid for pid, _ in diagnosed} - dm)
    # a few of the drawn persons are younger than 2 that day (no vital signs)
    assert 0.9 * VITALS_RECORDED_FRACTION * candidates < len(others)
    assert len(others) <= binom.ppf(0.9995, candidates, VITALS_RECORDED_FRACTION)
    # from age 2, blood pressure from age 3, each with the weight of its day
    birth = _ages(rich)
    for r in rich_rows:
        if r["code"] not in LABS:
            assert (r["person_id"], r["measurement_date"]) in measured, r
            age = _age(birth[r["person_id"]], r["measurement_date"])
            assert age >= (3 if r["code"] in (SYSTOLIC[0], DIASTOLIC[0]) else 2) - 0.5, r


def test_body_sizes_are_consistent_over_a_persons_visits(
    rich: ibis.BaseBackend, rich_rows: list[dict[str, Any]]
) -> None:
    birth = _ages(rich)
    visits: dict[int, dict[dt.date, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
    for r in rich_rows:
        if r["code"] not in LABS:
            visits[r["person_id"]][r["measurement_date"]][r["code"]] = r["value"]
    weight, height, bmi = BODY_WEIGHT[0], BODY_HEIGHT[0], BMI[0]
    several = 0
    for pid, days in visits.items():
        order = sorted(days)
        heights = [days[d][height] for d in order if height in days[d]]
        # the height is recorded at the first visit, every visit of a child and the first as
        # an adult, not at an adult's later ones
        assert height in days[order[0]], pid
        ages = [_age(birth[pid], d) for d in order]
        for before, age, d in zip(ages, ages[1:], order[1:], strict=False):
            if age < 17.99 or before < 17.99:
                assert height in days[d], (pid, d)
            elif before > 18.01:
                assert height not in days[d], (pid, d)
        assert heights == sorted(heights), pid  # children grow, adults keep their height
        known = None
        for d in order:
            known = days[d].get(height, known)
            assert known is not None
            # the BMI is that of the day's weight and the height
            assert abs(days[d][bmi] - days[d][weight] / (known / 100) ** 2) <= 0.051, (pid, d)
            if SYSTOLIC[0] in days[d]:
                assert days[d][DIASTOLIC[0]] <= days[d][SYSTOLIC[0]] - 10, (pid, d)
        # an adult's weight varies by a little from visit to visit (1.5% standard deviation)
        grown = [days[d][weight] for d in order if _age(birth[pid], d) >= 35.5]
        if len(grown) > 1:
            several += 1
            assert max(grown) / min(grown) < 1.2, (pid, grown)
    assert several > 100


def test_laboratory_measurements_on_days_of_laboratory_results_with_abnormal_values(
    rich: ibis.BaseBackend, rich_rows: list[dict[str, Any]]
) -> None:
    lab_days: dict[tuple[int, dt.date], bool] = {}
    for r in _rows(rich, "laboratory"):
        key = (r["person_id"], r["result_date"])
        lab_days[key] = lab_days.get(key, False) or r["value"] > r["uln"]
    birth = _ages(rich)
    eligible = [k for k in lab_days if _age(birth[k[0]], k[1]) >= 2.5]
    labs = [r for r in rich_rows if r["code"] in LABS]
    for r in labs:
        assert (r["person_id"], r["measurement_date"]) in lab_days, r
    for code, test in LABS.items():
        done = {(r["person_id"], r["measurement_date"]) for r in labs if r["code"] == code}
        count = sum(k in done for k in eligible)
        assert _within(count, len(eligible), LAB_SHARES[test]), (test, count, len(eligible))

    def share(code: str, active: bool, low: bool) -> float:
        rows = [r for r in labs if r["code"] == code
                and lab_days[(r["person_id"], r["measurement_date"])] == active]  # fmt: skip
        assert len(rows) > 200, (code, active)
        out = [r["value"] < r["range_low"] if low else r["value"] > r["range_high"] for r in rows]
        return sum(out) / len(rows)

    # anemia at a plausible rate (NHANES: 9.3% of persons 2 and older), more often on a day of
    # active myositis (a muscle enzyme above its ULN); CRP above its range likewise
    anemia = share(HEMOGLOBIN[0], False, True)
    assert 0.04 < anemia < 0.16
    assert share(HEMOGLOBIN[0], True, True) > anemia + 0.05
    raised = share(CRP[0], False, False)
    assert 0.08 < raised < 0.35
    assert share(CRP[0], True, False) > raised + 0.15
    assert 0.005 < share(CREATININE[0], False, False) < 0.15


def test_blood_pressure_and_bmi_like_the_us_adults(
    rich: ibis.BaseBackend, rich_rows: list[dict[str, Any]]
) -> None:
    """About NHANES: mean 122/71 mm Hg (2001-2008), BMI mean about 29.5 with 42% at 30 or more
    (2017-2018): loose bounds, the synthetic age mix is not the US one."""
    birth = _ages(rich)
    adults = [r for r in rich_rows if _age(birth[r["person_id"]], r["measurement_date"]) >= 20]

    def values(code: str) -> list[float]:
        return [r["value"] for r in adults if r["code"] == code]

    systolic, diastolic, bmi = values(SYSTOLIC[0]), values(DIASTOLIC[0]), values(BMI[0])
    assert 117 < sum(systolic) / len(systolic) < 129
    assert 67 < sum(diastolic) / len(diastolic) < 75
    assert 27.5 < sum(bmi) / len(bmi) < 31
    assert 0.3 < sum(v >= 30 for v in bmi) / len(bmi) < 0.5
    height = {r["person_id"]: r["value"] for r in adults if r["code"] == BODY_HEIGHT[0]}
    sex = {r["person_id"]: r["sex"] for r in _rows(rich, "person")}
    for s, mean in (("M", 175.4), ("F", 161.7)):
        h = [v for pid, v in height.items() if sex[pid] == s]
        assert math.isclose(sum(h) / len(h), mean, abs_tol=1.5), s


@pytest.mark.parametrize(
    ("bounds", "sql"),
    [
        ({"value": {"lt": 12}}, "value < 12"),
        ({"range_low": {"gt": 0}, "times_lln": {"lt": 1}}, "range_low > 0 AND value < range_low"),
    ],
    ids=["below_12", "below_range"],
)
def test_the_cohort_language_finds_them(
    small_registry: Path, bounds: dict[str, Any], sql: str
) -> None:
    """Persons with a hemoglobin (LOINC 718-7) below 12 g/dL, or below its range, by the
    cohort language's measurement domain and by DuckDB SQL on the same file."""
    cohort = Cohort.model_validate(
        {
            "concept_sets": {"hemoglobin": {"items": [{"system": "LOINC", "code": "718-7"}]}},
            "entry": {
                "events": [{"domain": "measurement", "concept_set": "hemoglobin", **bounds}]
            },  # fmt: skip
        }
    )
    con = connect(small_registry, read_only=True)
    run = run_cohort(con, cohort)
    con.disconnect()
    with duckdb.connect(str(small_registry), read_only=True) as db:
        row = db.execute(
            "SELECT count(DISTINCT person_id) FROM measurement "
            f"WHERE code_system = 'LOINC' AND code = '718-7' AND {sql}"
        ).fetchone()
    assert row is not None
    assert run.persons == row[0] > 10
