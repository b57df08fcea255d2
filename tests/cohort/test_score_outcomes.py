"""Score outcomes of the cohort language (TIS and IMACS DOI against baseline) on the hand-made
registry of tests/cohort/language_cases.py (SYNTHETIC): the values the engine computes are the
in-process scorers' (:func:`myositis.instruments.tis.score_one`, :func:`doi.score_one`, tested
against the published examples of Rider et al. 2017), each worked by hand here; a missing
measure gives null and its name, never 0; bad specifications are refused naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml
from ibis import BaseBackend

from cohort.language_cases import ROWS, SCORE_CASE
from conformance.engines import run_cli
from myositis.cohort import score_outcome
from myositis.cohort.language import Cohort, Outcome
from myositis.cohort.run import load_cohort, run_cohort
from myositis.errors import SpecError
from myositis.instruments import doi, tis
from myositis.registry import append_arrow, arrow_schema, create_registry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cohorts"

#: Person 1 at baseline (day -5) and week 24 (day 168), adult, MMT-8 of 80 (language_cases).
PERSON_1 = {
    "pga_baseline": 6,
    "pga_followup": 2,
    "ptga_baseline": 5,
    "ptga_followup": 3,
    "mmt8_baseline": 60,
    "mmt8_followup": 72,
    "mmt8_max": 80,
    "haq_baseline": 1.5,
    "haq_followup": 1,
    "ema_baseline": 4,
    "ema_followup": 1,
    "ck_baseline": 900,
    "ck_followup": 300,
    "ck_uln": 200,
    "aldolase_baseline": 15,
    "aldolase_followup": 8,
    "aldolase_uln": 7.7,
}
#: Person 2, a child's measures (CMAS, CHAQ), baseline day -3 and day 168.
PERSON_2 = {
    "pga_baseline": 7,
    "pga_followup": 2.5,
    "ptga_baseline": 6,
    "ptga_followup": 4.8,
    "cmas_baseline": 30,
    "cmas_followup": 40,
    "chaq_baseline": 2,
    "chaq_followup": 1.4,
    "ema_baseline": 5,
    "ema_followup": 3.5,
    "ck_baseline": 300,
    "ck_followup": 150,
    "ck_uln": 200,
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> BaseBackend:
    con = create_registry(tmp_path_factory.mktemp("scores") / "r.duckdb")
    for name, rows in ROWS.items():
        schema = arrow_schema(name)
        full = [{f.name: row.get(f.name) for f in schema} for row in rows]
        append_arrow(con, name, pa.Table.from_pylist(full, schema=schema))
    return con


@pytest.fixture(scope="module")
def rows(con: BaseBackend) -> dict[int, dict[str, Any]]:
    run = run_cohort(con, Cohort.model_validate(SCORE_CASE[0]))
    return {r["person_id"]: r for r in run.members.to_pylist()}


def test_the_score_case_gives_the_expected_columns(rows: dict[int, dict[str, Any]]) -> None:
    assert sorted(rows) == [1, 2, 3, 4, 5, 6, 8]
    for person, expected in SCORE_CASE[1].items():
        assert {k: rows[person][k] for k in expected} == expected, person
    # the fixed column names, in order, after the members' own
    assert list(rows[1])[3:8] == [
        "tis24_followup_day",
        "tis24_tis",
        "tis24_category",
        "tis24_missing",
        "doi24_followup_day",
    ]
    assert list(rows[1])[8:12] == ["doi24_met", "doi24_improved", "doi24_worsened", "doi24_missing"]
    outcomes = Cohort.model_validate(SCORE_CASE[0]).outcomes
    assert list(rows[1])[3:] == [c for o in outcomes for c in score_outcome.columns(o)]


def test_a_complete_adult_is_the_in_process_tis(rows: dict[int, dict[str, Any]]) -> None:
    """Person 1 (Rider 2017 Table 3 points; improvement strictly above the band edge):
    PGA 6 -> 2 is 40 % of 10 cm, not above 40: 17.5; patient global 5 -> 3, 20 %: 5; MMT-8
    60 -> 72 of 80, 15 %: 20; HAQ 1.5 -> 1, 16.7 % of 3: 7.5; the most abnormal enzyme is
    CK (900/200 = 4.5 x ULN against aldolase 15/7.7 = 1.9), 900 -> 300, 66.7 %: 7.5;
    extramuscular 4 -> 1, 30 %: 15. TIS 17.5 + 5 + 20 + 7.5 + 7.5 + 15 = 72.5, major (>= 60).
    The PGA of 1 on day 200 is not the one closest to day 168."""
    expected = tis.score_one(PERSON_1)
    assert expected.total == 72.5 and expected.category == "major"
    assert expected.enzyme_used == "ck"
    assert rows[1]["tis24_tis"] == expected.total
    assert rows[1]["tis24_category"] == expected.category


def test_a_complete_adult_is_the_in_process_doi(rows: dict[int, dict[str, Any]]) -> None:
    """Person 1, change relative to baseline: PGA -66.7 %, patient global -40 %, MMT-8
    +20 % (12 of 60: at least 20 %, improved), HAQ -33.3 %, CK -66.7 %, extramuscular -75 %:
    6 improved, none worse: met."""
    expected = doi.score_one(PERSON_1)
    assert (expected.met, expected.improved, expected.worsened) == (True, 6, 0)
    found = rows[1]
    assert (found["doi24_met"], found["doi24_improved"], found["doi24_worsened"]) == (
        expected.met,
        expected.improved,
        expected.worsened,
    )


def test_a_juvenile_is_scored_with_cmas_chaq_and_the_juvenile_categories(
    rows: dict[int, dict[str, Any]],
) -> None:
    """Person 2: PGA 7 -> 2.5, 45 %: 20; patient global 6 -> 4.8, 12 %: 2.5; CMAS 30 -> 40 of
    52, 19.2 %: 20; CHAQ 2 -> 1.4, 20 % of 3: 7.5; CK 300 -> 150, 50 %: 7.5; extramuscular
    5 -> 3.5, 15 %, not above 15: 7.5. TIS 65: moderate for a child (45 to < 70), where an
    adult's 65 would be major."""
    expected = tis.score_one(PERSON_2, population="juvenile")
    assert (expected.total, expected.category) == (65.0, "moderate")
    assert (rows[2]["jtis24_tis"], rows[2]["jtis24_category"]) == (65.0, "moderate")
    # an adult outcome reads MMT-8 and HAQ, which person 2 does not have
    assert rows[2]["tis24_tis"] is None


def test_a_missing_measure_is_null_and_named_never_0(rows: dict[int, dict[str, Any]]) -> None:
    """Person 3 has no patient global at follow-up: the in-process scorer and the engine give
    no TIS and name ptga_followup. Person 8's CK was measured at baseline but not at follow-up:
    not computable (the trial endpoints' rule), named ck_followup."""
    three = {
        "pga_baseline": 5,
        "pga_followup": 4.5,
        "ptga_baseline": 4,
        "ptga_followup": None,
        "mmt8_baseline": 70,
        "mmt8_followup": 70,
        "mmt8_max": 80,
        "haq_baseline": 1,
        "haq_followup": 1,
        "ema_baseline": 3,
        "ema_followup": 3,
        "ck_baseline": 500,
        "ck_followup": 450,
        "ck_uln": 200,
    }
    expected = tis.score_one(three)
    assert expected.total is None and expected.missing == ("ptga_followup",)
    assert rows[3]["tis24_tis"] is None and rows[3]["tis24_category"] is None
    assert rows[3]["tis24_missing"] == "; ".join(expected.missing)
    assert doi.score_one(three).met is None and rows[3]["doi24_met"] is None
    assert rows[8]["tis24_tis"] is None and rows[8]["tis24_missing"] == "ck_followup"
    assert rows[5]["tis24_tis"] is None and rows[5]["tis24_missing"].endswith(
        "muscle_enzyme_baseline"
    )


def test_use_last_takes_each_measure_s_last_value(con: BaseBackend) -> None:
    """With the last follow-up in a year instead of week 24, person 1's PGA is 1 (day 200):
    6 -> 1 is 50 %: 20 points instead of 17.5, TIS 75.0; the follow-up day is the PGA's."""
    mapping = copy.deepcopy(SCORE_CASE[0])
    mapping["outcomes"] = [
        {"name": "tis", "score": "tis", "mmt8_max": 80, "followup": {"start": 1, "end": 365}}
    ]
    run = run_cohort(con, Cohort.model_validate(mapping))
    one = next(r for r in run.members.to_pylist() if r["person_id"] == 1)
    assert tis.score_one(PERSON_1 | {"pga_followup": 1}).total == 75.0
    assert (one["tis_tis"], one["tis_followup_day"]) == (75.0, 200)


def test_kind() -> None:
    assert Outcome(name="a", score="tis").kind == "tis"
    assert Outcome(name="a", score="doi").kind == "doi"
    assert Outcome(name="a", test="ck").kind == "change"


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        (
            {"name": "x", "score": "tis", "instrument": "mmt8", "measure": "total"},
            "give exactly one of: instrument and measure (an assessment), test (a laboratory "
            "test) or score (tis or doi",
        ),
        ({"name": "x", "score": "doi", "test": "ck"}, "give exactly one of"),
        (
            {"name": "x", "instrument": "mmt8", "measure": "total", "population": "juvenile"},
            "population only apply to score outcomes (score: tis or doi); remove them or give "
            "score",
        ),
        ({"name": "x", "test": "ck", "mmt8_max": 80}, "mmt8_max only apply to score outcomes"),
        (
            {"name": "x", "score": "tis", "better": "higher"},
            "better cannot be used with score 'tis': each core set measure has its own scale "
            "and better direction",
        ),
        ({"name": "x", "score": "ias"}, "'ias' must be one of 'tis' or 'doi'"),
    ],
)
def test_bad_score_outcomes_are_refused_naming_the_field(
    tmp_path: Path, outcome: dict[str, Any], message: str
) -> None:
    mapping = copy.deepcopy(SCORE_CASE[0])
    mapping["outcomes"] = [outcome]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(mapping), encoding="utf-8")
    with pytest.raises(SpecError) as raised:
        load_cohort(path)
    text = str(raised.value)
    assert f"{path}" in text and "outcomes" in text
    assert message in text


def test_the_worked_example_writes_the_score_columns(tmp_path: Path) -> None:
    """docs/cohort-language.md "TIS at week 24": examples/cohorts/tis-week24.yaml on the
    hand-made registry; persons 1 and 3 enter (DM on 2 dates and a systemic JAK)."""
    members = tmp_path / "members.csv"
    run_cli(
        "cohort",
        "run",
        str(EXAMPLES / "tis-week24.yaml"),
        "--data",
        str(EXAMPLES / "registry"),
        "-o",
        str(members),
    )
    lines = members.read_text(encoding="utf-8").splitlines()
    assert lines == [
        '"person_id","index_date","exit_date","tis_followup_day","tis_tis","tis_category",'
        '"tis_missing","doi_followup_day","doi_met","doi_improved","doi_worsened","doi_missing"',
        '1,2020-03-01,2022-12-31,168,72.5,"major",,168,true,6,0,',
        '3,2020-06-01,2023-12-31,170,,,"ptga_followup",170,,,,"ptga_followup"',
    ]


def test_cohort_check_lists_the_score_outcomes() -> None:
    out = run_cli("cohort", "check", str(EXAMPLES / "tis-week24.yaml"))
    assert "outcome tis: tis (adult, MMT-8 of 80)" in out
    assert "outcome doi: doi (adult, MMT-8 of 80)" in out
    assert Outcome(name="j", score="tis", population="juvenile").describe() == (
        "tis (juvenile, CMAS)"
    )
