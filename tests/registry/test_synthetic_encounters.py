"""The synthetic registry's procedures, visits and smoking observations (docs/synthetic.md,
"Procedures, visits and observations"): drawn from a stream of their own after every other
record, so that the other tables and the derived observation periods are those of a registry
without them; with the documented codes, calendar and shares; clinic visits on the assessment
days, hospital stays from the onset of serious adverse events."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any

import ibis
import pytest
from scipy.stats import binom

import myositis.sources.synthetic as synthetic
from myositis.registry import connect
from myositis.registry.integrity import integrity_problems
from myositis.registry.observation import RECORD_DATES, derived_periods
from myositis.registry.schema import TABLES
from myositis.registry.vocabulary import vocabulary_problems
from myositis.sources.synthetic import generate_registry
from myositis.sources.synthetic.catalogue import (
    EMG_WITH_NCS_START,
    PROCEDURES,
    SKIN_BIOPSY_CODES_START,
    SMOKING_RECORDED_FRACTION,
    SMOKING_STATUS,
)
from myositis.sources.synthetic.encounters import ADDED
from myositis.sources.synthetic.params import EPOCH

from .conftest import SMALL

#: Many DM patients (about 2,000), so that the shares are measured on hundreds.
RICH = {"patients": 20_000, "sites": 2, "seed": 3, "dm_per_1000": 100.0}
CODES = {code for p in PROCEDURES for code, *_ in p.codes}
MUSCLE_BIOPSY = {"20205", "20206"}
SKIN_BIOPSY = {"11100", "11104"}
SMOKING = dict(SMOKING_STATUS)
CURRENT, FORMER, NEVER = (code for code, _ in SMOKING_STATUS)


def _date(days: int | None) -> dt.date | None:
    return None if days is None else EPOCH + dt.timedelta(days=days)


def _rows(con: ibis.BaseBackend, name: str) -> list[dict[str, Any]]:
    return con.table(name).to_pyarrow().to_pylist()


def _within(count: int, n: int, p: float) -> bool:
    """Whether ``count`` of ``n`` lies within the central 99.9% of Binomial(n, p)."""
    return bool(binom.ppf(0.0005, n, p) <= count <= binom.ppf(0.9995, n, p))


def _old_spans(con: ibis.BaseBackend) -> dict[int, tuple[dt.date, dt.date]]:
    """Each person's earliest and latest date in the tables other than the added ones: the
    observation period derived from the records without procedures, visits, observations."""
    dates = [
        con.table(t).select(person_id=ibis._.person_id, day=ibis._[c])
        for t, c in RECORD_DATES
        if t not in ADDED
    ]
    every = ibis.union(*dates, distinct=False).filter(ibis._.day.notnull())
    spans = every.group_by("person_id").aggregate(lo=every.day.min(), hi=every.day.max())
    return {r["person_id"]: (r["lo"], r["hi"]) for r in spans.to_pyarrow().to_pylist()}


def _first_myositis_code(con: ibis.BaseBackend) -> dict[int, dt.date]:
    d = con.table("diagnosis")
    myositis = d.filter(d.code.re_search(r"^(M33|710\.?[34])"))
    first = myositis.group_by("person_id").aggregate(day=myositis.diagnosis_date.min())
    return {r["person_id"]: r["day"] for r in first.to_pyarrow().to_pylist()}


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> ibis.BaseBackend:
    path = tmp_path_factory.mktemp("encounters") / "rich.duckdb"
    return connect(generate_registry(path, **RICH), read_only=True)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def without(tmp_path_factory: pytest.TempPathFactory) -> ibis.BaseBackend:
    """The SMALL registry as the generator wrote it before it wrote encounters."""
    path = tmp_path_factory.mktemp("encounters") / "without.duckdb"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synthetic, "add_encounters", lambda *args: None)
        generate_registry(path, **SMALL)  # type: ignore[arg-type]
    return connect(path, read_only=True)


def _table_digest(con: ibis.BaseBackend, name: str) -> str:
    # in stored order: the rows must be the same rows in the same order
    rows = con.table(name).to_pyarrow().to_pylist()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_encounters_change_no_other_table_nor_any_derived_period(
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
    # every new date (and end) lies inside its person's span of the other records
    spans = _old_spans(without)
    for name, columns in (
        ("procedure", ("procedure_date", "end_date")),
        ("visit", ("visit_date", "end_date")),
        ("observation", ("observation_date",)),
    ):
        for r in _rows(con, name):
            lo, hi = spans[r["person_id"]]
            for column in columns:
                assert r[column] is None or lo <= r[column] <= hi, (name, r)
    con.disconnect()


def test_the_registry_keeps_its_rules(rich: ibis.BaseBackend) -> None:
    assert integrity_problems(rich) == []
    assert vocabulary_problems(rich) == []


def test_procedures_have_the_documented_codes_calendar_windows_and_shares(
    rich: ibis.BaseBackend,
) -> None:
    rows = _rows(rich, "procedure")
    assert {r["code_system"] for r in rows} == {"CPT4"}
    assert {r["code"] for r in rows} == CODES
    assert all(r["end_date"] is None for r in rows)
    emg_2012, skin_2019 = _date(EMG_WITH_NCS_START), _date(SKIN_BIOPSY_CODES_START)
    assert emg_2012 is not None and skin_2019 is not None
    for r in rows:
        if r["code"] == "95886" or r["code"] == "11104":
            assert r["procedure_date"] >= (emg_2012 if r["code"] == "95886" else skin_2019), r
        if r["code"] == "95861" or r["code"] == "11100":
            assert r["procedure_date"] < (emg_2012 if r["code"] == "95861" else skin_2019), r
    # around the first myositis code (the window), unless moved to the edge of the span
    first, spans = _first_myositis_code(rich), _old_spans(rich)
    windows = {code: p.window for p in PROCEDURES for code, *_ in p.codes}
    for r in rows:
        offset = (r["procedure_date"] - first[r["person_id"]]).days
        early, late = windows[r["code"]]
        assert early <= offset <= late or r["procedure_date"] in spans[r["person_id"]], r
    # one procedure of each kind at most; shares by subtype
    subtype = {r["person_id"]: r["subtype"] for r in _rows(rich, "dm_subtype")}
    patients = Counter(subtype.values())
    kinds = {code: p.name for p in PROCEDURES for code, *_ in p.codes}
    done = Counter((r["person_id"], kinds[r["code"]]) for r in rows)
    assert max(done.values()) == 1
    for procedure in PROCEDURES:
        for name, n in patients.items():
            count = sum(
                1 for (pid, kind) in done if kind == procedure.name and subtype.get(pid) == name
            )
            p = procedure.shares.get(name, 0.0)
            assert _within(count, n, p), (procedure.name, name, count, n, p)
    # procedures only for DM patients and polymyositis look-alikes; never a muscle biopsy in
    # clinically amyopathic DM
    assert {pid for pid, _ in done} <= set(first)
    assert not any(
        subtype.get(r["person_id"]) == "amyopathic" for r in rows if r["code"] in MUSCLE_BIOPSY
    )
    assert any(r["person_id"] not in subtype for r in rows)  # look-alikes


def test_a_clinic_visit_on_each_assessment_day(rich: ibis.BaseBackend) -> None:
    """The generator's assessments carry no visit_id, so a clinic visit joins its
    assessments on the person and the day: one clinic visit per person and assessment day."""
    visits = [r for r in _rows(rich, "visit") if r["code"] == "OP"]
    assert {r["code_system"] for r in visits} == {"VISIT"}
    a = rich.table("assessment")
    assert a.filter(a.visit_id.notnull()).count().execute() == 0
    days = {tuple(r.values()) for r in a.select("person_id", "assessment_date").distinct()
            .to_pyarrow().to_pylist()}  # fmt: skip
    assert Counter((r["person_id"], r["visit_date"]) for r in visits) == Counter(days)
    for r in visits:
        assert r["end_date"] == r["visit_date"]
        assert r["visit_id"] == f"SYN-{r['person_id']:08d}-OP-{r['visit_date'].isoformat()}"
    ids = [r["visit_id"] for r in _rows(rich, "visit")]
    assert len(ids) == len(set(ids))


def test_a_hospital_stay_from_each_serious_adverse_event(rich: ibis.BaseBackend) -> None:
    stays = [r for r in _rows(rich, "visit") if r["code"] != "OP"]
    serious = {(r["person_id"], r["onset_date"]) for r in _rows(rich, "adverse_event")
               if r["serious"]}  # fmt: skip
    assert serious  # the fixture has some
    assert {r["code"] for r in stays} <= {"IP", "ERIP"}
    assert Counter((r["person_id"], r["visit_date"]) for r in stays) == Counter(serious)
    spans = _old_spans(rich)
    for r in stays:
        length = (r["end_date"] - r["visit_date"]).days
        assert length >= 1 or r["end_date"] == spans[r["person_id"]][1], r
        assert r["end_date"] <= spans[r["person_id"]][1]
        assert r["visit_id"] == (
            f"SYN-{r['person_id']:08d}-{r['code']}-{r['visit_date'].isoformat()}"
        )


def test_smoking_status_of_adults_with_pack_years_for_smokers(rich: ibis.BaseBackend) -> None:
    observations = _rows(rich, "observation")
    status = [r for r in observations if r["code"] == "72166-2"]
    packs = [r for r in observations if r["code"] == "401201003"]
    assert len(status) + len(packs) == len(observations)
    assert {(r["code_system"], r["value_code_system"]) for r in status} == {("LOINC", "SNOMED")}
    assert {r["code_system"] for r in packs} == {"SNOMED"}
    # one status per person, in the documented shares
    assert len({r["person_id"] for r in status}) == len(status)
    counts = Counter(r["value_code"] for r in status)
    assert set(counts) == set(SMOKING)
    for code, share in SMOKING.items():
        assert _within(counts[code], len(status), share), (code, counts, share)
    # pack-years for current and former smokers, on the day of their status, none else
    ever = {(r["person_id"], r["observation_date"]) for r in status
            if r["value_code"] in (CURRENT, FORMER)}  # fmt: skip
    assert Counter((r["person_id"], r["observation_date"]) for r in packs) == Counter(ever)
    assert all(r["unit"] == "{pack-years}" and 0 < r["value"] < 200 for r in packs)
    current = [r["value"] for r in packs if (r["person_id"], r["observation_date"]) in ever]
    assert any(v >= 20 for v in current) and any(v < 20 for v in current)
    # adults only, where the birth date is known
    birth = {r["person_id"]: r["birth_date"] for r in _rows(rich, "person")}
    for r in status:
        born = birth[r["person_id"]]
        assert born is None or (r["observation_date"] - born).days >= 18 * 365.25 - 1, r
    # every adult DM patient at the first clinic visit, else at the first DM code
    subtype = {r["person_id"] for r in _rows(rich, "dm_subtype")}
    first_visit: dict[int, dt.date] = {}
    for r in _rows(rich, "visit"):
        if r["code"] == "OP":
            first_visit[r["person_id"]] = min(
                r["visit_date"], first_visit.get(r["person_id"], r["visit_date"])
            )
    first_code = _first_myositis_code(rich)
    on = {r["person_id"]: r["observation_date"] for r in status}
    for pid in subtype:
        day = first_visit.get(pid, first_code[pid])
        adult = (day - birth[pid]).days / 365.25 >= 18
        assert (on.get(pid) == day) if adult else pid not in on, pid
    # the others: a share of the adults, on one of their diagnoses' days
    others = {pid for pid in on if pid not in subtype}
    diagnosed = {(r["person_id"], r["diagnosis_date"]) for r in _rows(rich, "diagnosis")}
    assert all((pid, on[pid]) in diagnosed for pid in others)
    with_diagnosis = {pid for pid, _ in diagnosed} - subtype
    assert len(others) < SMOKING_RECORDED_FRACTION * len(with_diagnosis)
    assert len(others) > 0.5 * len(with_diagnosis)
