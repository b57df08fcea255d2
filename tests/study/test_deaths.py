"""Deaths during follow-up in the study's safety section, end to end: examples/min2022 (SYNTHETIC)
with a death.csv added, run by the bundled study; every value below counted by hand from the
folder's CSV files (drug_exposure.csv: the tofacitinib rows; data cut-off 2022-05-01, the
latest date of the tables the study reads, test_min2022)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from myositis.study.runner import StudyRun, run_study

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"
DATA = ROOT / "examples" / "min2022"

#: Each on or after the person's last record (none is followed by a record):
#: - 1: tofacitinib 2017-03-06 (index) to 2018-02-03, dies 2018-02-03: on treatment; days from
#:   the index 365 (to 2018-03-06) - 31 (2018-02-03 to 2018-03-06) = 334;
#: - 2: tofacitinib 2016-05-16 (index) to 2016-06-19 and 2016-06-20 to 2019-09-15, dies
#:   2019-10-15: off, 30 days after the last dose; days from the index 3 x 365 (to 2019-05-16,
#:   no 29 February between) + 152 (to 2019-10-15) = 1,247;
#: - 4: tofacitinib 2018-01-08 (index) to 2018-02-06 and 2018-02-07 to 2020-04-08, dies
#:   2020-07-07 with no cause recorded: off, 22 + 31 + 30 + 7 = 90 days after the last dose;
#:   days from the index 730 (to 2020-01-08) + 181 (to 2020-07-07; 2020 a leap year) = 911;
#: - 3: dies 2022-06-01, after the data cut-off: outside follow-up;
#: - 101: not a member of the cohort (no tofacitinib): not counted anywhere.
DEATHS = (
    "person_id,death_date,cause_code_system,cause_code\n"
    "1,2018-02-03,ICD10CM,J84.10\n"
    "2,2019-10-15,ICD10CM,I21.9\n"
    "4,2020-07-07,,\n"
    "3,2022-06-01,ICD10CM,C80.1\n"
    "101,2019-04-03,ICD10CM,A41.9\n"
)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    folder = tmp_path_factory.mktemp("deaths") / "min2022-deaths"
    shutil.copytree(DATA, folder)
    (folder / "death.csv").write_text(DEATHS, encoding="utf-8")
    return run_study(SPEC, folder, folder.parent / "out")


@pytest.fixture(scope="module")
def results(run: StudyRun) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(run.results_json.read_text(encoding="utf-8"))
    return data


def test_three_of_eleven_died_during_follow_up(results: dict[str, Any]) -> None:
    d = results["deaths"]
    assert (d["deaths"], d["patients_died"]["count"], d["patients_died"]["n"]) == (3, 3, 11)
    assert d["outside_follow_up"] == 1  # person 3, after the cut-off
    assert d["data_cutoff"] == "2022-05-01"
    assert d["by_treatment_at_death"] == {
        "on": 1,
        "on_no_stop_recorded": 0,
        "off": 2,
        "not_known": 0,
    }
    listed = [
        (p["person_id"], p["death_date"], p["days_from_index"], p["treatment_at_death"],
         p["days_since_last_dose"], p["drug"], p["cause_code_system"], p["cause_code"])
        for p in d["patients"]
    ]  # fmt: skip
    assert listed == [
        (1, "2018-02-03", 334, "on", None, "tofacitinib", "ICD10CM", "J84.10"),
        (4, "2020-07-07", 911, "off", 90, "tofacitinib", None, None),
        (2, "2019-10-15", 1247, "off", 30, "tofacitinib", "ICD10CM", "I21.9"),
    ]


def test_the_deaths_change_no_other_analysis(results: dict[str, Any]) -> None:
    """The cohort and its other numbers are those of examples/min2022 (test_min2022)."""
    assert [s["remaining"] for s in results["attrition"]] == [18, 15, 13, 12, 11]
    assert results["adverse_events"]["events"] == 1
    assert round(results["cdasi"]["overall"]["improvement"]["mean"], 1) == 17.8


def test_the_report_and_its_table_show_them(run: StudyRun) -> None:
    page = run.report.read_text(encoding="utf-8")
    section = page[page.index('<h3 id="sec-deaths">') : page.index('<h2 id="sec-therapies">')]
    assert "3 of 11 (27.3%" in section
    assert (
        '<tr><td>4</td><td class="num">911</td><td>Off treatment (tofacitinib)</td>'
        '<td class="num">90</td><td>not recorded</td></tr>'
    ) in section
    assert "ICD-10-CM J84.10" in section and "On treatment (tofacitinib)" in section
    assert "1 patient(s) of the cohort have a recorded death before the index date or after" in (
        " ".join(section.split())
    )
    with (run.out / "tables" / "deaths.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["person_id"], r["days_from_index"], r["cause_code"]) for r in rows] == [
        ("1", "334", "J84.10"),
        ("4", "911", ""),
        ("2", "1247", "I21.9"),
    ]
