"""The cohort definition on small hand-made registries: each rule, and its attrition row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from ibis import BaseBackend

from myositis.cohort.build import CohortResult as Cohort
from myositis.cohort.build import _cohort_query
from myositis.cohort.cdasi_activity import ITEM_COLUMNS, cdasi_activity
from myositis.cohort.definition import ResponseRule
from myositis.errors import EmptyStepError
from myositis.instruments.cdasi import score_one
from myositis.registry import append_arrow, arrow_schema, create_registry
from myositis.study.runner import study_cohort as build_cohort
from myositis.study.spec import StudySpec, spec_from_mapping

D = dt.date


def registry(path: Path, **tables: list[dict[str, Any]]) -> BaseBackend:
    """A DuckDB registry holding the given rows (missing columns are null)."""
    con = create_registry(path)
    for name, rows in tables.items():
        schema = arrow_schema(name)
        full = [{f.name: row.get(f.name) for f in schema} for row in rows]
        append_arrow(con, name, pa.Table.from_pylist(full, schema=schema))
    return con


def spec(**analysis_and_cohort: Any) -> StudySpec:
    return spec_from_mapping(
        {
            "spec_version": 1,
            "study": {"id": "t", "version": "1", "title": "test"},
            **analysis_and_cohort,
        }
    )


def person(pid: int, **extra: Any) -> dict[str, Any]:
    return {"person_id": pid, "site": "s1", "sex": "F", "birth_date": D(1970, 6, 15)} | extra


def dx(pid: int, code: str, when: dt.date, system: str = "ICD10CM") -> dict[str, Any]:
    return {"person_id": pid, "code_system": system, "code": code, "diagnosis_date": when}


_ids = iter(range(1, 10_000))


def tofa(pid: int, start: dt.date, **extra: Any) -> dict[str, Any]:
    row = {
        "exposure_id": next(_ids),
        "person_id": pid,
        "ingredient": "tofacitinib",
        "code_system": "RXNORM",
        "code": "1357536",
        "start_date": start,
        "end_date": start + dt.timedelta(days=365),
        "dose": 5.0,
        "dose_unit": "mg",
        "frequency": "BID",
        "formulation": "IR",
        "route": "oral",
    }
    return row | extra


def cdasi(pid: int, when: dt.date, activity: float) -> dict[str, Any]:
    return {
        "assessment_id": next(_ids),
        "person_id": pid,
        "assessment_date": when,
        "instrument": "cdasi",
        "measure": "activity",
        "value": activity,
    }


INDEX = D(2020, 3, 1)


def _dm_exposed(pid: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    return [dx(pid, "M33.10", D(2019, 1, 1)), dx(pid, "M3310", D(2019, 6, 1))], [tofa(pid, INDEX)]


def test_diagnosis_codes_match_dotted_undotted_and_other_systems(tmp_path: Path) -> None:
    """M33.10, m3310, ICD-9-CM 7103 and SNOMED 396230008 are DM; M33.22 (polymyositis) is
    not; two codes on the same day count as one date."""
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(i) for i in range(1, 7)],
        diagnosis=[
            dx(1, "M33.10", D(2019, 1, 1)),
            dx(1, "m3310", D(2019, 2, 1)),
            dx(2, "7103", D(2014, 1, 1), "ICD9CM"),
            dx(2, "710.3", D(2014, 5, 1), "ICD9CM"),
            dx(3, "396230008", D(2019, 1, 1), "SNOMED"),
            dx(3, "396230008", D(2019, 3, 1), "SNOMED"),
            dx(4, "M33.22", D(2019, 1, 1)),
            dx(4, "M33.22", D(2019, 2, 1)),
            dx(5, "M33.12", D(2019, 1, 1)),
            dx(5, "M33.12", D(2019, 1, 1)),  # same date: one date only
            dx(6, "M33.12", D(2019, 1, 1)),
        ],
        drug_exposure=[tofa(i, INDEX) for i in range(1, 7)],
        assessment=[cdasi(i, INDEX, 30) for i in range(1, 7)]
        + [cdasi(i, INDEX + dt.timedelta(days=60), 10) for i in range(1, 7)],
    )
    result = build_cohort(con, spec(cohort={"diagnosis": {"min_occurrences": 2}}))
    assert [s.remaining for s in result.attrition] == [6, 3, 3, 3, 3]
    assert [p.person_id for p in result.patients] == [1, 2, 3]
    single = build_cohort(con, spec())
    assert single.attrition[1].remaining == 5  # persons 5 and 6 qualify with one date


def test_exposure_rules_and_index_date(tmp_path: Path) -> None:
    """Topical ruxolitinib is excluded (by ATC D11AH09, formulation TOP or route topical); a
    LOCAL-coded ingredient qualifies by name; a null formulation never drops a row; the index
    is the first start."""
    diagnoses, assessments = [], []
    for pid in range(1, 6):
        diagnoses += _dm_exposed(pid)[0]
        assessments += [cdasi(pid, INDEX, 30), cdasi(pid, INDEX + dt.timedelta(days=40), 20)]
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(i) for i in range(1, 6)],
        diagnosis=diagnoses,
        drug_exposure=[
            tofa(1, INDEX + dt.timedelta(days=100)),
            tofa(1, INDEX),  # the earlier start is the index
            tofa(2, INDEX, ingredient="ruxolitinib", code_system="ATC", code="D11AH09"),
            tofa(
                3,
                INDEX,
                ingredient="Ruxolitinib",
                code_system="LOCAL",
                code="rux",
                formulation="TOP",
            ),  # fmt: skip
            tofa(4, INDEX, code_system="LOCAL", code="xeljanz", formulation=None, route=None),
            tofa(5, INDEX, route="topical"),
        ],
        assessment=assessments,
    )
    by_name = spec(cohort={"exposure": {"ingredients": ["Tofacitinib", "ruxolitinib"]}})
    result = build_cohort(con, by_name)
    assert result.attrition[2].remaining == 2
    assert {p.person_id: p.index_date for p in result.patients} == {1: INDEX, 4: INDEX}
    assert all(p.ingredient == "tofacitinib" for p in result.patients)
    # Without the ingredient names only coded exposures qualify (person 4 is LOCAL-coded).
    assert [p.person_id for p in build_cohort(con, spec()).patients] == [1]


def test_baseline_closest_to_index_and_followup_choice(tmp_path: Path) -> None:
    """Baseline: the assessment closest to the index in [-30, 0]; follow-up: last, first or
    best in the window; time to response: the first follow-up improving by >= MCID."""
    diagnoses, exposures = _dm_exposed(1)
    day = INDEX.__add__
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(1)],
        diagnosis=diagnoses,
        drug_exposure=exposures,
        assessment=[
            cdasi(1, day(dt.timedelta(days=-40)), 50),  # outside the window
            cdasi(1, day(dt.timedelta(days=-20)), 40),
            cdasi(1, day(dt.timedelta(days=-2)), 30),  # closest: the baseline
            cdasi(1, day(dt.timedelta(days=20)), 27),  # improvement 3: not yet
            cdasi(1, day(dt.timedelta(days=45)), 22),  # first response (8)
            cdasi(1, day(dt.timedelta(days=90)), 12),  # best
            cdasi(1, day(dt.timedelta(days=200)), 16),  # last
        ],
    )
    expected = {"last": (200, 16.0), "first": (20, 27.0), "best": (90, 12.0)}
    for use, (days, value) in expected.items():
        p = build_cohort(con, spec(cohort={"followup": {"use": use}})).patients[0]
        assert (p.baseline_days, p.baseline_activity) == (-2, 30.0)
        assert (p.followup_days, p.followup_activity) == (days, value)
        assert (p.response_days, p.last_followup_days, p.followup_count) == (45, 200, 4)


def test_no_response_is_censored_and_relative_rule(tmp_path: Path) -> None:
    diagnoses, exposures = _dm_exposed(1)
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(1)],
        diagnosis=diagnoses,
        drug_exposure=exposures,
        assessment=[
            cdasi(1, INDEX, 20),
            cdasi(1, INDEX + dt.timedelta(days=30), 16),
            cdasi(1, INDEX + dt.timedelta(days=60), 17),
        ],
    )
    p = build_cohort(con, spec()).patients[0]
    assert p.response_days is None and p.last_followup_days == 60
    assert not p.responder  # the last follow-up (17) is a fall of 3 < MCID 5
    relative = spec(analysis={"response": {"definition": "relative", "percent": 20}})
    p = build_cohort(con, relative).patients[0]
    assert p.response_days == 30  # 4 >= 20% of 20
    assert not p.responder  # at the follow-up used (the last, 17): 3 < 20% of 20
    best = spec(
        analysis={"response": {"definition": "relative", "percent": 20}},
        cohort={"followup": {"use": "best"}},
    )
    assert build_cohort(con, best).patients[0].responder  # the best follow-up, 16


def _items(**values: int) -> dict[str, int]:
    return {c: values.get(c, 0) for c in ITEM_COLUMNS}


def test_cdasi_activity_from_items_recorded_scores_and_incomplete_items(tmp_path: Path) -> None:
    """Items are scored by myositis.instruments (Gottron's erythema counts twice with papules:
    3 + 2 + 2 + 2 = 9); a recorded 'activity' row wins over items of the same administration;
    an administration with a blank item has no activity and is counted."""
    visit = _items(scalp_erythema=3, malar_erythema=2, gottron_hands_erythema=2,
                   gottron_hands_papules=1)  # fmt: skip
    assert score_one(visit).activity == 9

    def rows(aid: int, when: dt.date, items: Mapping[str, int | None]) -> list[dict[str, Any]]:
        return [
            {
                "assessment_id": aid,
                "person_id": 1,
                "assessment_date": when,
                "instrument": "cdasi",
                "measure": name,
                "value": value,
            }  # fmt: skip
            for name, value in items.items()
        ]

    blank = dict(visit, alopecia=None)
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(1)],
        assessment=rows(1, INDEX, visit)
        + rows(2, INDEX, visit)
        + rows(2, INDEX, {"activity": 12})
        + rows(3, INDEX, blank),
    )
    scored = {
        r["assessment_id"]: (r["activity"], r["activity_source"])
        for r in cdasi_activity(con.table("assessment")).to_pyarrow().to_pylist()
    }
    assert scored == {1: (9.0, "items"), 2: (12.0, "recorded"), 3: (None, "items")}


def test_unscorable_assessments_are_stated(tmp_path: Path) -> None:
    diagnoses, exposures = _dm_exposed(1)
    incomplete = [
        {
            "assessment_id": 900,
            "person_id": 1,
            "assessment_date": INDEX,
            "instrument": "cdasi",
            "measure": "scalp_erythema",
            "value": 2.0,
        }  # fmt: skip
    ]
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(1)],
        diagnosis=diagnoses,
        drug_exposure=exposures,
        assessment=incomplete + [cdasi(1, INDEX, 25), cdasi(1, INDEX + dt.timedelta(days=30), 10)],
    )
    result: Cohort = build_cohort(con, spec())
    assert result.unscorable_cdasi == 1
    assert "1 CDASI administration(s)" in result.notes[0]


def test_subtype_in_force_at_index_and_age_from_birth_year(tmp_path: Path) -> None:
    diagnoses, exposures = _dm_exposed(1)
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(1, birth_date=None, birth_year=1980)],
        diagnosis=diagnoses,
        drug_exposure=exposures,
        dm_subtype=[
            {"person_id": 1, "subtype": "amyopathic", "classified_date": D(2018, 1, 1)},
            {"person_id": 1, "subtype": "hypomyopathic", "classified_date": D(2019, 1, 1)},
            {
                "person_id": 1,
                "subtype": "classic_active_myositis",
                "classified_date": D(2021, 1, 1),
            },
        ],
        assessment=[cdasi(1, INDEX, 25), cdasi(1, INDEX + dt.timedelta(days=30), 10)],
    )
    p = build_cohort(con, spec()).patients[0]
    assert p.subtype == "hypomyopathic"
    assert p.age_at_index == 39  # born mid-1980 (birth year only), index 1 March 2020


def test_an_empty_registry_stops_at_the_first_step(tmp_path: Path) -> None:
    con = registry(tmp_path / "r.duckdb")
    with pytest.raises(EmptyStepError, match="cohort step 1 'Persons in the registry'"):
        build_cohort(con, spec())


def test_exposure_rows_without_a_start_date_are_stated_not_used(tmp_path: Path) -> None:
    diagnoses, exposures = _dm_exposed(1)
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(1)],
        diagnosis=diagnoses,
        drug_exposure=[*exposures, tofa(1, INDEX, start_date=None)],
        assessment=[cdasi(1, INDEX, 25), cdasi(1, INDEX + dt.timedelta(days=30), 10)],
    )
    result = build_cohort(con, spec())
    assert [p.index_date for p in result.patients] == [INDEX]
    assert len(result.jak_exposures) == 1
    assert result.notes == [
        "1 qualifying exposure row(s) of persons with the diagnosis had no start date, so they "
        "could not define an index date and were not used."
    ]


def test_the_query_matches_the_exposure_codes_once(tmp_path: Path) -> None:
    """The qualifying exposures are one CTE, read by the entry, the index exposure, the JAK
    records and the count of undated rows (``events.exposure_rows`` names them): unnamed,
    Ibis merged their filter into each reader, and the engine matched the codes four times."""
    con = registry(tmp_path / "r.duckdb", person=[person(1)])
    query = _cohort_query(con, spec().cohort, ResponseRule(), [], ("pruritus_nrs", "score"))
    sql = str(con.compile(query.one))
    assert "'L04AA29'" in sql  # tofacitinib's ATC code, in the JAK inhibitor code set
    assert sql.count("'L04AA29'") == 1
