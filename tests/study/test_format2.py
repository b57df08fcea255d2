"""``myositis study run`` on a spec_version 2 study (a cohort of the cohort language, issue 13):
a small hand-made registry whose attrition, characteristics, time in the cohort and outcome
summaries are counted by hand below, with the paired tests checked against R (values worked by
hand and with scipy, a peer of R's ``t.test`` and ``wilcox.test``). SYNTHETIC: no real person.

Registry (index = first tofacitinib, 2020-03-01, for persons 1-6; born 1970-06-15 -> 49 at the
index, except person 3, born 1990-03-01 -> exactly 30 on the index date):

- 1-6: ICD-10-CM M33.10 on 2019-01-01 and 2019-02-01; tofacitinib 2020-03-01..2020-12-31
  (person 1: ..2021-06-30); CDASI activity at day -5 (baseline) and day 168 (week 24).
- 7: the DM codes but no JAK inhibitor (excluded by the entry).
- 8: one DM code only (excluded by the 2-dates rule); tofacitinib.
- 9: like 1-6 but baseline CDASI 12 (excluded by "CDASI activity > 14").
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from scipy import stats

from myositis.analysis.outcomes import doi_outcome, tis_outcome
from myositis.cohort.language import Outcome
from myositis.errors import EmptyStepError
from myositis.registry import append_arrow, arrow_schema, create_registry
from myositis.report.study import render_again
from myositis.study.runner import StudyRun, run_study
from myositis.study.spec import bundled_spec_path, load_spec

D = dt.date
INDEX = D(2020, 3, 1)
ROOT = Path(__file__).resolve().parents[2]

#: persons 1-6: CDASI activity at baseline (day -5) and at week 24 (day 168); 6 has none then
BASELINE = {1: 30.0, 2: 25.0, 3: 22.0, 4: 40.0, 5: 18.0, 6: 35.0, 9: 12.0}
WEEK24 = {1: 20.0, 2: 24.0, 3: 10.0, 4: 21.0, 5: 20.0}


def _day(days: int) -> dt.date:
    return INDEX + dt.timedelta(days=days)


def _assessment(
    pid: int, when: dt.date, instrument: str, measure: str, value: float
) -> dict[str, Any]:
    return {
        "person_id": pid,
        "assessment_date": when,
        "instrument": instrument,
        "measure": measure,
        "value": value,
    }


def _rows() -> dict[str, list[dict[str, Any]]]:
    born = D(1970, 6, 15)
    person = [
        {
            "person_id": pid,
            "site": "a" if pid <= 3 else "b",
            "sex": "M" if pid in (1, 2) else "F",
            "birth_date": D(1990, 3, 1) if pid == 3 else born,
            "race": "White",
        }
        for pid in range(1, 10)
    ]
    diagnosis = [
        {"person_id": pid, "code_system": "ICD10CM", "code": "M33.10", "diagnosis_date": when}
        for pid in range(1, 10)
        for when in ((D(2019, 1, 1), D(2019, 2, 1)) if pid != 8 else (D(2019, 1, 1),))
    ]
    drugs = [
        {
            "exposure_id": pid,
            "person_id": pid,
            "ingredient": "tofacitinib",
            "code_system": "RXNORM",
            "code": "1357536",
            "start_date": INDEX,
            "end_date": D(2021, 6, 30) if pid == 1 else D(2020, 12, 31),
            "dose": 5.0,
            "dose_unit": "mg",
            "frequency": "BID",
            "formulation": "IR",
            "route": "oral",
        }
        for pid in (1, 2, 3, 4, 5, 6, 8, 9)
    ]
    assessment = [_assessment(p, _day(-5), "cdasi", "activity", v) for p, v in BASELINE.items()]
    assessment += [_assessment(p, _day(168), "cdasi", "activity", v) for p, v in WEEK24.items()]
    # person 1's other follow-ups: day 120 is further from day 168, day 230 is outside the window
    assessment += [
        _assessment(1, _day(120), "cdasi", "activity", 25.0),
        _assessment(1, _day(230), "cdasi", "activity", 5.0),
    ]
    # MMT-8 (higher is better): persons 1 and 2, baseline at day -5, the last in the year at 100
    assessment += [
        _assessment(1, _day(-5), "mmt8", "total", 60.0),
        _assessment(2, _day(-5), "mmt8", "total", 70.0),
        _assessment(1, _day(100), "mmt8", "total", 70.0),
        _assessment(2, _day(100), "mmt8", "total", 72.0),
    ]
    for k, row in enumerate(assessment, start=1):
        row["assessment_id"] = k
    subtype = [
        # 1: amyopathic before the index, classic after: amyopathic at the index;
        # 2: only a classification after the index: that one
        {"person_id": 1, "subtype": "amyopathic", "classified_date": D(2019, 1, 1)},
        {"person_id": 1, "subtype": "classic_active_myositis", "classified_date": D(2020, 6, 1)},
        {"person_id": 2, "subtype": "classic_active_myositis", "classified_date": D(2020, 5, 1)},
    ]
    return {
        "person": person,
        "diagnosis": diagnosis,
        "drug_exposure": drugs,
        "assessment": assessment,
        "dm_subtype": subtype,
    }


def _registry(path: Path, rows: dict[str, list[dict[str, Any]]]) -> Path:
    con = create_registry(path)
    for name, table in rows.items():
        schema = arrow_schema(name)
        full = [{f.name: row.get(f.name) for f in schema} for row in table]
        append_arrow(con, name, pa.Table.from_pylist(full, schema=schema))
    con.disconnect()
    return path


SPEC: dict[str, Any] = {
    "spec_version": 2,
    "study": {"id": "w24-test", "version": "1", "title": "CDASI at week 24 (test)"},
    "cohort": {
        "label": "JAK new users with active skin disease",
        "concept_sets": {
            "dm": {"items": [{"system": "ICD10CM", "code": "M33", "descendants": True}]},
            "jak": {"items": [{"ingredient": "tofacitinib"}]},
        },
        "persons_with": [
            {
                "label": "DM on 2 distinct dates",
                "criteria": [
                    {
                        "domain": "diagnosis",
                        "concept_set": "dm",
                        "occurrence": {"type": "at_least", "count": 2, "distinct_dates": True},
                    }
                ],
            }
        ],
        "entry": {
            "label": "First tofacitinib",
            "events": [{"domain": "drug_exposure", "concept_set": "jak", "first": True}],
        },
        "inclusion": [
            {
                "label": "CDASI activity > 14",
                "criteria": [
                    {
                        "domain": "assessment",
                        "instrument": "cdasi",
                        "measure": "activity",
                        "value": {"gt": 14},
                        "start_window": {"start": -30, "end": 0},
                    }
                ],
            }
        ],
        "exit": {"strategy": "drug_era", "concept_set": "jak", "gap_days": 30},
        "outcomes": [
            {
                "name": "cdasi_activity",
                "instrument": "cdasi",
                "measure": "activity",
                "followup": {"start": 112, "end": 224},
                "at_day": 168,
            },
            {
                "name": "mmt8",
                "instrument": "mmt8",
                "measure": "total",
                "better": "higher",
                "followup": {"start": 1, "end": 365},
            },
        ],
    },
    "analysis": {"small_cell_threshold": 2},
}


def _spec(folder: Path, spec: dict[str, Any]) -> Path:
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _registry(tmp_path_factory.mktemp("format2") / "r.duckdb", _rows())


@pytest.fixture(scope="module")
def run(registry: Path, tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    folder = tmp_path_factory.mktemp("format2-run")
    return run_study(_spec(folder, SPEC), registry, folder / "out")


@pytest.fixture(scope="module")
def results(run: StudyRun) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run.results_json.read_text(encoding="utf-8"))
    return data


def test_header_and_run_record(run: StudyRun, results: dict[str, Any]) -> None:
    spec = load_spec(run.out.parent / "spec.yaml")
    assert results["kind"] == "study"
    assert results["spec_version"] == 2
    assert results["spec_sha256"] == spec.sha256() == results["run"]["spec_sha256"]
    assert len(results["data_fingerprint"]) == 64
    assert results["run"]["engine"] == "duckdb"
    steps = [s["step"] for s in results["run"]["steps"]]
    assert steps == [
        "open the registry",
        "integrity",
        "fingerprint",
        "coded values",
        "records after death",
        "cohort",
        "analysis: characteristics",
        "analysis: outcome cdasi_activity",
        "analysis: outcome mmt8",
        "report",
    ]


def test_attrition_counted_by_hand(results: dict[str, Any]) -> None:
    # 9 persons; 8 has one DM code -> 8; 7 has no JAK -> 7 entry events; 9's CDASI is 12 -> 6
    assert [(s["label"], s["remaining"], s["excluded"]) for s in results["attrition"]] == [
        ("Persons in the registry", 9, 0),
        ("DM on 2 distinct dates", 8, 1),
        ("First tofacitinib", 7, 1),
        ("CDASI activity > 14", 6, 1),
    ]


def test_characteristics_at_the_index(results: dict[str, Any]) -> None:
    c = results["characteristics"]
    assert c["n"] == 6
    assert [(x["category"], x["count"]) for x in c["sex"]] == [("F", 4), ("M", 2)]
    assert [(x["category"], x["count"]) for x in c["site"]] == [("a", 3), ("b", 3)]
    # 1: amyopathic (on or before the index wins over the later classic); 2: the one after
    assert [(x["category"], x["count"]) for x in c["subtype"]] == [
        ("amyopathic", 1),
        ("classic_active_myositis", 1),
        ("not recorded", 4),
    ]
    # five aged 49 and person 3 exactly 30 on the index date: mean 275 / 6
    age = c["age_at_index"]
    assert (age["min"], age["max"], age["median"]) == (30, 49, 49)
    assert age["mean"] == pytest.approx(275 / 6)


def test_time_in_cohort(results: dict[str, Any]) -> None:
    # exit = end of the tofacitinib era: 2020-12-31 is day 305, person 1's 2021-06-30 day 486
    t = results["time_in_cohort"]
    assert (t["n"], t["median"], t["min"], t["max"]) == (6, 305, 305, 486)
    assert t["mean"] == pytest.approx((5 * 305 + 486) / 6)


def test_cdasi_at_week_24_with_the_paired_tests(results: dict[str, Any]) -> None:
    o = results["outcomes"][0]
    assert (o["name"], o["kind"]) == ("cdasi_activity", "change")
    # 6 members have a baseline, 5 a week-24 value (6 has none); person 1's value closest to
    # day 168 is 20 (day 120's 25 is further, day 230's 5 is outside days 112-224)
    assert (o["n_members"], o["n_baseline"], o["n_followup"], o["n"]) == (6, 6, 5, 5)
    b = [30.0, 25.0, 22.0, 40.0, 18.0]
    f = [20.0, 24.0, 10.0, 21.0, 20.0]
    assert [m["followup"] for m in o["members"]] == f
    assert o["baseline"]["mean"] == pytest.approx(135 / 5)
    assert o["followup"]["mean"] == pytest.approx(95 / 5)
    # baseline - follow-up = 10, 1, 12, 19, -2: mean 8, squared deviations 290, variance 72.5
    assert o["change"]["mean"] == pytest.approx(-8.0)
    assert o["change"]["sd"] == pytest.approx(math.sqrt(72.5))
    assert o["change"]["median"] == -10.0
    t = o["paired_t"]
    # R t.test(b, f, paired = TRUE): t = 8 / (sqrt(72.5) / sqrt(5)) = 2.1009, df = 4
    assert t["statistic"] == pytest.approx(8 / math.sqrt(72.5 / 5))
    assert t["df"] == 4
    assert t["p_value"] == pytest.approx(stats.ttest_rel(b, f).pvalue)
    # R wilcox.test(b, f, paired = TRUE, exact = TRUE): |d| ranks 3, 1, 4, 5, 2 (no ties);
    # V = 3 + 1 + 4 + 5 = 13; P(V >= 13) = 3 / 32 (complements summing to 0, 1 or 2), so the
    # two-sided p = 6 / 32 = 0.1875 (scipy.stats.wilcoxon agrees)
    w = o["wilcoxon"]
    assert w["statistic"] == 13
    assert w["p_value"] == pytest.approx(0.1875)
    assert w["p_value"] == pytest.approx(stats.wilcoxon(b, f, method="exact").pvalue)
    # improvement (lower is better): baseline - follow-up
    assert [m["improvement"] for m in o["members"]] == [10.0, 1.0, 12.0, 19.0, -2.0]


def test_a_higher_is_better_outcome(results: dict[str, Any]) -> None:
    o = results["outcomes"][1]
    assert (o["name"], o["n"]) == ("mmt8", 2)
    assert o["change"]["mean"] == pytest.approx(6.0)  # (70 - 60 + 72 - 70) / 2
    assert [m["improvement"] for m in o["members"]] == [10.0, 2.0]  # follow-up - baseline


def test_report_tables_and_site_packages(run: StudyRun, results: dict[str, Any]) -> None:
    html = run.report.read_text(encoding="utf-8")
    assert "CDASI activity score (0-100)" in html
    assert "Manual muscle testing (MMT-8), 0-80" in html
    assert html.count("<svg") == 3  # attrition and one waterfall per change outcome
    assert {p.name for p in run.tables} == {
        "attrition.csv",
        "characteristics.csv",
        "time_in_cohort.csv",
        "outcome_summaries.csv",
        "outcome_tests.csv",
        "members.csv",
    }
    packages = {p.name: json.loads(p.read_text(encoding="utf-8")) for p in run.shareable}
    assert set(packages) == {"site-a.json", "site-b.json"}
    # site a: members 1, 2, 3 all with both CDASI values; threshold 2 hides counts of 1
    counts = packages["site-a.json"]["aggregates"]["counts"]
    assert counts["cdasi_activity_with_both"]["count"] == 3
    assert counts["subtype_amyopathic"]["count"] is None
    means = packages["site-a.json"]["aggregates"]["means"]
    assert means["cdasi_activity_change"]["mean"] == pytest.approx((-10 - 1 - 12) / 3)


def test_the_report_renders_again_from_results_json(run: StudyRun, tmp_path: Path) -> None:
    page = render_again(run.results_json, tmp_path)
    assert page.read_text(encoding="utf-8") == run.report.read_text(encoding="utf-8")


def test_no_one_in_the_cohort_stops_with_the_step_named(registry: Path, tmp_path: Path) -> None:
    spec = json.loads(json.dumps(SPEC))
    spec["cohort"]["concept_sets"]["jak"] = {"items": [{"ingredient": "baricitinib"}]}
    with pytest.raises(EmptyStepError) as caught:
        run_study(_spec(tmp_path, spec), registry, tmp_path / "out")
    message = str(caught.value)
    assert message.startswith("cohort step 3 'First tofacitinib'")
    assert "excluded all 8 remaining persons" in message
    assert (
        "Attrition so far: 1. Persons in the registry: 9; 2. DM on 2 distinct dates: 8" in message
    )
    assert "cohort.entry" in message
    assert not (tmp_path / "out").exists()


def test_an_empty_registry(tmp_path: Path) -> None:
    registry = _registry(tmp_path / "empty.duckdb", {})
    with pytest.raises(EmptyStepError, match="cohort step 1 'Persons in the registry'"):
        run_study(_spec(tmp_path, SPEC), registry, tmp_path / "out")


def test_the_bundled_format_2_study_runs(tmp_path: Path) -> None:
    spec = load_spec("jak-new-users-w24")
    assert spec.spec_version == 2
    assert bundled_spec_path("jak-new-users-w24").name == "jak-new-users-w24.yaml"
    done = run_study("jak-new-users-w24", ROOT / "examples" / "min2022", tmp_path / "out")
    names = [o["name"] for o in done.results["outcomes"]]
    assert names == ["cdasi_activity", "mmt8"]
    assert done.results["attrition"][-1]["remaining"] == len(done.results["members"])


def _outcome(name: str) -> Outcome:
    return Outcome(name=name, instrument="mmt8", measure="total")


def test_tis_section_counts_categories_with_wilson_intervals() -> None:
    rows = [
        {"t_tis": 65.0, "t_category": "major"},
        {"t_tis": 45.0, "t_category": "moderate"},
        {"t_tis": 22.5, "t_category": "minimal"},
        {"t_tis": 25.0, "t_category": "minimal"},
        {"t_tis": 10.0, "t_category": "none"},
        {"t_tis": None, "t_category": None, "t_missing": "no follow-up MMT-8"},
        {"t_tis": None, "t_category": None, "t_missing": "no follow-up MMT-8"},
        {"t_tis": None, "t_category": None, "t_missing": "no baseline"},
    ]
    s = tis_outcome(_outcome("t"), rows, 0.95)
    assert (s["n_members"], s["n"], s["not_computable"]) == (8, 5, 3)
    assert [(c["category"], c["count"]) for c in s["categories"]] == [
        ("major", 1),
        ("moderate", 1),
        ("minimal", 2),
        ("none", 1),
    ]
    # Wilson interval of 2 / 5 at 95% (R prop.test(2, 5, correct = FALSE)$conf.int), by hand:
    # (p + z^2/2n -/+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)
    z, n, p = 1.959963984540054, 5, 0.4
    centre, half = p + z * z / (2 * n), z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    minimal = s["categories"][2]
    assert minimal["ci_low"] == pytest.approx((centre - half) / (1 + z * z / n))
    assert minimal["ci_high"] == pytest.approx((centre + half) / (1 + z * z / n))
    assert minimal["ci_low"] == pytest.approx(0.1176, abs=1e-4)
    assert s["reasons"] == [
        {"reason": "no follow-up MMT-8", "count": 2},
        {"reason": "no baseline", "count": 1},
    ]
    assert s["tis"]["median"] == 25.0


def test_doi_section_counts_met_improved_and_worsened() -> None:
    # _improved and _worsened are numbers of core set measures
    rows = [
        {"d_met": True, "d_improved": 4, "d_worsened": 0},
        {"d_met": True, "d_improved": 3, "d_worsened": 1},
        {"d_met": False, "d_improved": 0, "d_worsened": 2},
        {"d_met": False, "d_improved": 1, "d_worsened": 0},
        {"d_met": None, "d_improved": None, "d_worsened": None, "d_missing": "haq"},
    ]
    s = doi_outcome(_outcome("d"), rows, 0.95)
    assert (s["n"], s["not_computable"]) == (4, 1)
    assert (s["met"]["count"], s["met"]["proportion"]) == (2, 0.5)
    assert (s["improved"]["mean"], s["improved"]["at_least_one"]) == (2.0, 3)  # 8 / 4
    assert (s["worsened"]["mean"], s["worsened"]["at_least_one"]) == (0.75, 2)  # 3 / 4
    assert s["reasons"] == [{"reason": "haq", "count": 1}]


def test_score_outcomes_through_study_run(tmp_path: Path) -> None:
    """TIS and DOI at week 24 on the hand-made registry of tests/cohort/language_cases.py
    (SCORE_CASE; the scores themselves are worked by hand in tests/cohort/test_score_outcomes.py):
    members 1, 2, 3, 4, 5, 6, 8 (every systemic JAK user). Adult TIS: only person 1 is
    computable, 72.5, major; person 2 has a child's measures, 3 no patient global at follow-up,
    8 no CK at follow-up, and 4, 5, 6 no core set measure at all. Juvenile TIS: only person 2,
    65, moderate. DOI: person 1, 6 measures improved, none worse: met. The Wilson interval of
    1 / 1 is 1 / (1 + z^2) = 0.2065 to 1 (R prop.test(1, 1, correct = FALSE))."""
    from cohort.language_cases import ROWS, SCORE_CASE

    registry = _registry(tmp_path / "scores.duckdb", ROWS)
    spec = {
        "spec_version": 2,
        "study": {"id": "scores", "version": "1", "title": "TIS and DOI at week 24"},
        "cohort": SCORE_CASE[0],
    }
    done = run_study(_spec(tmp_path, spec), registry, tmp_path / "out")
    tis24, doi24, jtis24 = done.results["outcomes"]
    assert (tis24["kind"], tis24["n_members"], tis24["n"], tis24["not_computable"]) == (
        "tis",
        7,
        1,
        6,
    )
    assert tis24["tis"]["mean"] == 72.5
    (major,) = tis24["categories"]
    z = 1.959963984540054
    assert (major["category"], major["count"], major["n"]) == ("major", 1, 1)
    assert major["ci_low"] == pytest.approx(1 / (1 + z * z))
    reasons = {r["reason"]: r["count"] for r in tis24["reasons"]}
    assert reasons["ptga_followup"] == 1
    assert reasons["ck_followup"] == 1
    assert reasons["mmt8_baseline; mmt8_followup; haq_baseline; haq_followup"] == 1
    assert sum(reasons.values()) == 6
    assert [(c["category"], c["count"]) for c in jtis24["categories"]] == [("moderate", 1)]
    assert jtis24["tis"]["mean"] == 65.0
    assert (doi24["kind"], doi24["n"], doi24["met"]["count"]) == ("doi", 1, 1)
    assert (doi24["improved"]["mean"], doi24["worsened"]["mean"]) == (6.0, 0.0)
    assert {"tis_categories.csv", "doi.csv"} <= {p.name for p in done.tables}
    html = done.report.read_text(encoding="utf-8")
    assert "Total Improvement Score (2016 ACR/EULAR, juvenile)" in html
    assert "IMACS definition of improvement (adult core set)" in html


def test_a_second_run_from_the_plan_cache_gives_the_same_results(
    registry: Path, results: dict[str, Any], tmp_path: Path
) -> None:
    """The cohort's compiled plan is cached (myositis.cohort.plans): a second run of the same
    specification in this process skips compiling and must give the same numbers."""
    again = run_study(_spec(tmp_path, SPEC), registry, tmp_path / "out").results
    for key in ("attrition", "characteristics", "time_in_cohort", "outcomes"):
        # compared as JSON text: a NaN (a test not computable) equals itself there
        assert json.dumps(again.get(key), default=str) == json.dumps(
            results.get(key), default=str
        ), key
