"""``myositis export --format omop``: a registry as OMOP CDM tables that ``omop+URL`` reads back
as the same registry rows (ignoring provenance and what OMOP has no place for: adverse events,
dose, frequency, formulation, visit ids, assessment ids; docs/omop.md, "Export").

The registry is examples/min2022 (SYNTHETIC); the CSV files are loaded into a DuckDB file as a
site would load them into its CDM database, and opened with the mapping the export wrote.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conformance.engines import exported_cdm, run_cli
from myositis.cohort.atlas import translate_atlas
from myositis.cohort.run import run_cohort
from myositis.registry.connect import connect
from myositis.registry.observation import observation_periods

ROOT = Path(__file__).resolve().parents[2]
MIN2022 = ROOT / "examples" / "min2022"

#: Registry table -> the columns a round trip keeps.
KEPT = {
    # birth_year: the CDM requires year_of_birth, so a person with a birth date reads back
    # with its year filled in (checked below)
    "person": ("person_id", "source_id", "site", "sex", "birth_date", "race", "ethnicity"),
    "person_race": ("person_id", "race"),
    "diagnosis": ("person_id", "code_system", "code", "diagnosis_date"),
    "dm_subtype": ("person_id", "subtype", "classified_date"),
    "drug_exposure": ("exposure_id", "person_id", "ingredient", "code_system", "code",
                      "start_date", "end_date", "route"),
    "assessment": ("person_id", "assessment_date", "instrument", "measure", "value"),
    "laboratory": ("person_id", "test", "loinc", "result_date", "value", "unit", "uln",
                   "uln_unit", "source_value", "source_unit"),
}  # fmt: skip


def _rows(con: Any, table: str) -> list[tuple[Any, ...]]:
    t = con.table(table).select(*KEPT[table])
    rows = t.to_pyarrow().to_pylist()
    return sorted(
        (tuple(round(v, 9) if isinstance(v, float) else v for v in r.values()) for r in rows),
        key=repr,
    )


def _periods(con: Any) -> list[tuple[Any, ...]]:
    found = observation_periods(con).select("person_id", "start_date", "end_date")
    return sorted(tuple(r.values()) for r in found.to_pyarrow().to_pylist())


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("omop")
    exported_cdm(MIN2022, folder)
    return folder


def _cdm_url(exported: Path) -> str:
    """The export loaded by the fixture, opened as an OMOP CDM with the mapping it wrote."""
    mapping = exported / "cdm" / "local_concepts.yaml"
    return f"omop+duckdb://{exported / 'cdm.duckdb'}?mapping={mapping}"


def test_files_written(exported: Path) -> None:
    names = sorted(p.name for p in (exported / "cdm").iterdir())
    assert names == [
        "care_site.csv", "cdm_source.csv", "concept.csv", "concept_ancestor.csv",
        "condition_occurrence.csv", "death.csv",
        "drug_exposure.csv", "local_concepts.yaml", "measurement.csv", "observation.csv",
        "observation_period.csv", "person.csv", "procedure_occurrence.csv",
        "visit_occurrence.csv",
    ]  # fmt: skip
    # min2022 records no procedures, no visits and no deaths: their files hold the header only
    lines = (exported / "cdm" / "death.csv").read_text().splitlines()
    assert lines == [
        '"person_id","death_date","death_datetime","death_type_concept_id","cause_concept_id",'
        '"cause_source_value","cause_source_concept_id"'
    ]
    lines = (exported / "cdm" / "procedure_occurrence.csv").read_text().splitlines()
    assert lines == [
        '"procedure_occurrence_id","person_id","procedure_concept_id","procedure_date",'
        '"procedure_end_date","procedure_type_concept_id","procedure_source_value",'
        '"procedure_source_concept_id"'
    ]
    lines = (exported / "cdm" / "visit_occurrence.csv").read_text().splitlines()
    assert lines == [
        '"visit_occurrence_id","person_id","visit_concept_id","visit_start_date",'
        '"visit_end_date","visit_type_concept_id","visit_source_value",'
        '"visit_source_concept_id"'
    ]


def test_round_trip_gives_the_same_rows(exported: Path) -> None:
    before = connect(MIN2022)
    after = connect(_cdm_url(exported))
    for table in KEPT:
        if table != "drug_exposure":
            assert _rows(after, table) == _rows(before, table), table
    # The CDM requires an end date: min2022's one course without one (exposure 96, person 103,
    # hydroxychloroquine from 2016-03-01) is written ending on the last day of the person's
    # observation period, derived from the records: the CDASI of 2016-09-01
    # (examples/min2022/assessment.csv). Every other exposure reads back as it was.
    ongoing = [r for r in _rows(before, "drug_exposure") if r[6] is None]
    assert [r[:6] for r in ongoing] == [
        (96, 103, "hydroxychloroquine", "LOCAL", "hydroxychloroquine", dt.date(2016, 3, 1))
    ]
    expected = sorted(
        (r[:6] + (dt.date(2016, 9, 1),) + r[7:] if r[0] == 96 else r)
        for r in _rows(before, "drug_exposure")
    )
    assert sorted(_rows(after, "drug_exposure")) == expected
    # min2022 records no observation periods: the export writes the derived ones, which the
    # CDM then holds as recorded ones, with the same dates
    assert before.table("observation_period").count().execute() == 0
    assert _periods(after) == _periods(before)
    assert len(_periods(before)) == 18
    # typed "Standard algorithm from EHR" (32882, as OHDSI ETL-Synthea types the periods it
    # derives), not EHR (32817) like a recorded period
    types = after.table("observation_period").period_type.value_counts().to_pyarrow()
    assert types.to_pylist() == [{"period_type": "omop 32882", "period_type_count": 18}]
    # min2022 has 18 persons, 35 diagnoses, 99 exposures, 82 assessment rows (its CSV files)
    counts = [int(after.table(t).count().execute()) for t in
              ("person", "diagnosis", "drug_exposure", "assessment")]  # fmt: skip
    assert counts == [18, 35, 99, 82]
    people = after.table("person").to_pyarrow().to_pylist()
    assert all(p["birth_year"] == p["birth_date"].year for p in people)
    # the one adverse event of min2022 has no OMOP table to go to
    assert int(after.table("adverse_event").count().execute()) == 0


def test_results_without_loinc_or_source_value_read_back(tmp_path: Path) -> None:
    """examples/cohorts/registry (SYNTHETIC) records its 10 CK and aldolase results with their
    test, value and ULN in U/L but no LOINC code and no source value: each is exported coded by
    its test's LOINC code (codes/data/lab_units.csv), with its value, and reads back the same
    (before, coded 0 without a value, no result read back)."""
    source = ROOT / "examples" / "cohorts" / "registry"
    cdm, mapping = exported_cdm(source, tmp_path)
    after = connect(f"omop+duckdb://{cdm}?mapping={mapping}")
    columns = ("person_id", "test", "result_date", "value", "unit", "uln", "uln_unit")

    def rows(con: Any) -> list[tuple[Any, ...]]:
        found = con.table("laboratory").select(*columns).to_pyarrow().to_pylist()
        return sorted(tuple(r.values()) for r in found)

    before = rows(connect(source))
    assert len(before) == 10
    assert rows(after) == before
    assert {r[1] for r in before} == {"ck", "aldolase"}


#: The columns the OMOP CDM 5.4 DDL declares NOT NULL in each table the export writes
#: (OHDSI/CommonDataModel, inst/ddl/5.4/postgresql/OMOPCDM_postgresql_5.4_ddl.sql, commit
#: f853f6e): a file with one of them empty does not load into a CDM made with that DDL.
CDM_REQUIRED = {
    "person": ("person_id", "gender_concept_id", "year_of_birth", "race_concept_id",
               "ethnicity_concept_id"),
    "observation_period": ("observation_period_id", "person_id",
                           "observation_period_start_date", "observation_period_end_date",
                           "period_type_concept_id"),
    "condition_occurrence": ("condition_occurrence_id", "person_id", "condition_concept_id",
                             "condition_start_date", "condition_type_concept_id"),
    "procedure_occurrence": ("procedure_occurrence_id", "person_id", "procedure_concept_id",
                             "procedure_date", "procedure_type_concept_id"),
    "visit_occurrence": ("visit_occurrence_id", "person_id", "visit_concept_id",
                         "visit_start_date", "visit_end_date", "visit_type_concept_id"),
    "drug_exposure": ("drug_exposure_id", "person_id", "drug_concept_id",
                      "drug_exposure_start_date", "drug_exposure_end_date",
                      "drug_type_concept_id"),
    "measurement": ("measurement_id", "person_id", "measurement_concept_id", "measurement_date",
                    "measurement_type_concept_id"),
    "observation": ("observation_id", "person_id", "observation_concept_id", "observation_date",
                    "observation_type_concept_id"),
    "concept": ("concept_id", "concept_name", "domain_id", "vocabulary_id", "concept_class_id",
                "concept_code", "valid_start_date", "valid_end_date"),
    "concept_ancestor": ("ancestor_concept_id", "descendant_concept_id",
                         "min_levels_of_separation", "max_levels_of_separation"),
    "care_site": ("care_site_id",),
    "death": ("person_id", "death_date"),
    "cdm_source": ("cdm_source_name", "cdm_source_abbreviation", "cdm_holder",
                   "source_release_date", "cdm_release_date", "cdm_version_concept_id",
                   "vocabulary_version"),
}  # fmt: skip


@pytest.mark.parametrize("source", ["min2022", "cohorts"])
def test_every_field_the_cdm_requires_is_filled(source: str, tmp_path: Path) -> None:
    """Each exported file loads into tables made with the DDL's NOT NULL constraints (before:
    min2022's ongoing exposure had no drug_exposure_end_date, cdm_source lacked five required
    fields and every concept's domain_id was empty)."""
    registry = MIN2022 if source == "min2022" else ROOT / "examples" / "cohorts" / "registry"
    run_cli("export", str(registry), "--format", "omop", "--to", str(tmp_path / "cdm"))
    loaded = duckdb.connect()
    for table, required in CDM_REQUIRED.items():
        csv = tmp_path / "cdm" / f"{table}.csv"
        loaded.execute(f"CREATE TABLE {table}_csv AS SELECT * FROM read_csv('{csv}', header=true)")
        columns = [r[0] for r in loaded.execute(f"DESCRIBE {table}_csv").fetchall()]
        declared = ", ".join(f"{c} VARCHAR{' NOT NULL' if c in required else ''}" for c in columns)
        assert set(required) <= set(columns), table
        loaded.execute(f"CREATE TABLE {table} ({declared})")
        loaded.execute(f"INSERT INTO {table} SELECT * FROM {table}_csv")  # fails on a null
        empty = " OR ".join(f"{c} = ''" for c in required)
        assert loaded.execute(f"SELECT count(*) FROM {table} WHERE {empty}").fetchone() == (0,)
        # the DDL's *_id columns are integers, bar these three (before: care_site_id held the
        # site's name, which PostgreSQL refused loading the DDL's person table)
        for c in columns:
            if c.endswith("_id") and c not in ("vocabulary_id", "domain_id", "concept_class_id"):
                bad = f"{c} IS NOT NULL AND TRY_CAST({c} AS BIGINT) IS NULL"
                found = loaded.execute(f"SELECT count(*) FROM {table} WHERE {bad}").fetchone()
                assert found == (0,), (table, c)
    domains = dict(
        loaded.execute("SELECT vocabulary_id, min(domain_id) FROM concept GROUP BY 1").fetchall()
    )
    assert (
        domains.get("RxNorm", "Drug") == "Drug"
        and domains.get("ICD10CM", "Condition") == "Condition"
        # examples/cohorts/registry records CPT-4 procedures (procedure.csv); min2022 none
        and domains.get("CPT4", "Procedure") == "Procedure"
    )
    procedures = loaded.execute("SELECT count(*) FROM procedure_occurrence").fetchone()
    assert procedures == ((0,) if source == "min2022" else (3,))
    # examples/cohorts/registry records five visits (visit.csv: ERIP, OP, IP three times);
    # min2022 none
    visits = loaded.execute("SELECT visit_concept_id FROM visit_occurrence ORDER BY 1").fetchall()
    assert visits == (
        [] if source == "min2022" else [("262",), ("9201",), ("9201",), ("9201",), ("9202",)]
    )
    # min2022's 11 subtypes; examples/cohorts/registry's other observations (observation.csv),
    # each with its code as source value
    found = loaded.execute(
        "SELECT count(*), count(observation_source_value) FROM observation"
    ).fetchone()
    if source == "min2022":
        assert found == (11, 0)
    else:
        others = len((registry / "observation.csv").read_text().splitlines()) - 1
        assert found == (others, others) and others >= 4
    assert loaded.execute("SELECT cdm_version_concept_id FROM cdm_source").fetchall() == [
        ("756265",)
    ]


@pytest.mark.parametrize(
    ("table", "line", "date", "message"),
    [
        # an exposure without a start date cannot be a CDM drug_exposure row
        ("drug_exposure", 2, ",2021-01-20,",
         "drug_exposure: 1 row(s) without start_date (exposure_id 2); the CDM requires "
         "drug_exposure.drug_exposure_start_date"),
        # a recorded period without its end (before: an internal error, a date compared with
        # None, when the export looked for the period holding an ongoing course)
        ("observation_period", 1, ",2022-12-31,",
         "observation_period: 1 row(s) without end_date (person_id 1); the CDM requires "
         "observation_period.observation_period_end_date"),
        # a procedure without its date (examples/cohorts/registry/procedure.csv, person 1)
        ("procedure", 1, ",2019-12-01,",
         "procedure: 1 row(s) without procedure_date (person_id 1); the CDM requires "
         "procedure_occurrence.procedure_date"),
    ],
)  # fmt: skip
def test_a_record_without_a_required_date_stops_the_export(
    table: str, line: int, date: str, message: str, tmp_path: Path
) -> None:
    """The export stops, names the rows and writes nothing (before: an exposure without a
    start date was written with an empty drug_exposure_start_date, which the CDM's NOT NULL
    refuses on loading)."""
    registry = tmp_path / "registry"
    shutil.copytree(ROOT / "examples" / "cohorts" / "registry", registry)
    path = registry / f"{table}.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert date in lines[line], lines[line]
    lines[line] = lines[line].replace(date, ",,")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = run_cli(
        "export", str(registry), "--format", "omop", "--to", str(tmp_path / "cdm"), code=2
    )
    assert message in out and "nothing was written" in out
    assert not (tmp_path / "cdm").exists()


def test_an_icd_item_with_descendants_finds_the_same_persons_in_the_export(exported: Path) -> None:
    """The worked example observed_rules (DM: ICD-10-CM M33 with descendants, less M33.2 with
    descendants) finds the same 7 persons of min2022 in the registry and in its export read as
    a CDM. In the CDM an item's descendants come from concept_ancestor, so the export writes
    the ICD codes above each diagnosis code there (M33, M33.1 and M33.10 above M3310). Before,
    it wrote none and the export gave attrition 18, 9, 0, 0, 0."""
    cohort = str(ROOT / "examples" / "cohorts" / "observed_rules.yaml")
    found = []
    for data in (str(MIN2022), _cdm_url(exported)):
        out = json.loads(run_cli("cohort", "run", cohort, "--data", data, "--json"))
        found.append((out["persons"], [line["remaining"] for line in out["attrition"]]))
    assert found == [(7, [18, 9, 7, 7, 7])] * 2


@pytest.mark.parametrize("code", ["M33.10", "M3310"])
def test_an_icd_item_without_descendants_finds_both_forms_in_the_export(
    exported: Path, tmp_path: Path, code: str
) -> None:
    """min2022 holds M33.10 dotted and undotted (``cut -d, -f3 diagnosis.csv``); the registry
    matches an ICD item in either form against both (codes.md), 9 persons. The export keeps
    each code as written, so the CDM has a concept for each form; looked up by its exact
    ``concept_code`` the item found 8 (M33.10) or 6 (M3310) persons there. Looked up as the
    registry compares codes, it finds the same 9."""
    cohort = tmp_path / "icd.yaml"
    cohort.write_text(
        "label: ICD-10-CM M33.10, no descendants\n"
        "concept_sets:\n"
        f"  dm: {{items: [{{system: ICD10CM, code: '{code}'}}]}}\n"
        "entry: {label: Any diagnosis in dm, events: [{domain: diagnosis, concept_set: dm}]}\n"
    )
    found = [
        json.loads(run_cli("cohort", "run", str(cohort), "--data", data, "--json"))["persons"]
        for data in (str(MIN2022), _cdm_url(exported))
    ]
    assert found == [9, 9]


@pytest.mark.parametrize(
    ("kind", "concept"),
    [
        ("derived", 32882),  # Standard algorithm from EHR
        (
            "omop 44814724",
            44814724,
        ),  # read from a CDM: kept (Period covering healthcare encounters)
        ("follow-up clinic", 32817),  # a registry's own kind: EHR
        (None, 32817),
    ],
)
def test_an_observation_period_keeps_its_type(kind: str | None, concept: int) -> None:
    from myositis.sources.omop.export import _period_type

    assert _period_type(kind) == concept


@pytest.mark.parametrize(
    ("system", "code", "forms"),
    [
        ("ICD10CM", "M33.10", ["M33.10", "M3310"]),
        ("ICD10CM", "m3310", ["M33.10", "M3310"]),
        ("ICD9CM", "710.3", ["710.3", "7103"]),
        # not a code the ICD rule reads (a block of the vocabulary): looked up as written
        ("ICD10CM", "M30-M36", ["M30-M36"]),
        ("SNOMED", " 396230008 ", ["396230008"]),
    ],
)
def test_an_item_is_looked_up_in_each_form_of_its_code(
    system: str, code: str, forms: list[str]
) -> None:
    from myositis.cohort.language import ConceptItem
    from myositis.cohort.omop_concepts import _forms

    assert sorted(_forms(ConceptItem(system=system, code=code))) == forms


def test_a_diagnosis_end_is_the_condition_end_and_a_missing_one_ends_the_next_day(
    tmp_path: Path,
) -> None:
    """The export writes ``diagnosis.end_date`` as ``condition_end_date`` (empty when not
    recorded); read live, a condition without an end ends the day after its start, as Circe
    ends it (circe-be conditionOccurrence.sql: COALESCE(condition_end_date, start + 1 day))."""
    registry = tmp_path / "min2022"
    shutil.copytree(MIN2022, registry)
    lines = (registry / "diagnosis.csv").read_text().splitlines()
    # min2022's first diagnosis (person 1, M33.10, 2014-09-18) given an end
    assert lines[:2] == ["person_id,code_system,code,diagnosis_date", "1,ICD10CM,M33.10,2014-09-18"]
    rows = [lines[0] + ",end_date", lines[1] + ",2015-01-31", *(f"{x}," for x in lines[2:])]
    (registry / "diagnosis.csv").write_text("\n".join(rows) + "\n")
    cdm, mapping = exported_cdm(registry, tmp_path)
    with (tmp_path / "cdm" / "condition_occurrence.csv").open(newline="") as handle:
        ends = [r["condition_end_date"] for r in csv.DictReader(handle)]
    assert ends.count("2015-01-31") == 1 and ends.count("") == 34
    after = connect(f"omop+duckdb://{cdm}?mapping={mapping}")
    read = after.table("diagnosis").to_pyarrow().to_pylist()
    assert len(read) == 35
    for row in read:
        first = (row["person_id"], row["code"], row["diagnosis_date"]) == (
            1,
            "M33.10",
            dt.date(2014, 9, 18),
        )
        expected = dt.date(2015, 1, 31) if first else row["diagnosis_date"] + dt.timedelta(1)
        assert row["end_date"] == expected, row


#: Procedures added to a copy of min2022 (SYNTHETIC; min2022 records none): a needle muscle
#: biopsy (CPT-4 20206) of person 1 four days before her first diagnosis (2014-09-18), a
#: needle EMG (CPT-4 95886) of person 2 and, the next day, an excision of right upper leg
#: muscle, percutaneous, diagnostic (ICD-10-PCS 0KBQ3ZX) recorded over three days. Inside the
#: persons' records, so the derived observation periods stay min2022's.
PROCEDURES = """person_id,code_system,code,procedure_date,end_date
1,CPT4,20206,2014-09-14,
2,CPT4,95886,2013-11-20,
2,ICD10PCS,0KBQ3ZX,2013-11-21,2013-11-23
"""


def test_procedures_read_back_with_circes_end(tmp_path: Path) -> None:
    """Each procedure is a ``procedure_occurrence`` row (its concept of the registry's
    vocabulary, its ``end_date`` as ``procedure_end_date``) and reads back live with the same
    person, code system, code and date; its end reads back as the day after its date, as Circe
    ends a procedure (circe-be procedureOccurrence.sql: DATEADD(d,1,procedure_date)), whatever
    ``procedure_end_date`` says. Before OMOP's CPT4, HCPCS and ICD10PCS vocabularies were the
    registry's code systems, the procedures read back as OMOP concept ids (OMOP 2100000002)."""
    registry = tmp_path / "min2022"
    shutil.copytree(MIN2022, registry)
    (registry / "procedure.csv").write_text(PROCEDURES, encoding="utf-8")
    before = connect(str(registry))
    cdm, mapping = exported_cdm(registry, tmp_path)
    with (tmp_path / "cdm" / "procedure_occurrence.csv").open(newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [(r["person_id"], r["procedure_date"], r["procedure_end_date"]) for r in written] == [
        ("1", "2014-09-14", ""),
        ("2", "2013-11-20", ""),
        ("2", "2013-11-21", "2013-11-23"),
    ]
    assert {r["procedure_type_concept_id"] for r in written} == {"32817"}  # EHR
    with (tmp_path / "cdm" / "concept.csv").open(newline="") as handle:
        concepts = {r["concept_id"]: r for r in csv.DictReader(handle)}
    assert [
        (concepts[r["procedure_concept_id"]]["vocabulary_id"],
         concepts[r["procedure_concept_id"]]["concept_code"],
         concepts[r["procedure_concept_id"]]["domain_id"])
        for r in written
    ] == [("CPT4", "20206", "Procedure"), ("CPT4", "95886", "Procedure"),
          ("ICD10PCS", "0KBQ3ZX", "Procedure")]  # fmt: skip
    after = connect(f"omop+duckdb://{cdm}?mapping={mapping}")
    columns = ("person_id", "code_system", "code", "procedure_date", "end_date")

    def rows(con: Any) -> list[tuple[Any, ...]]:
        found = con.table("procedure").select(*columns).to_pyarrow().to_pylist()
        return sorted(tuple(r.values()) for r in found)

    assert rows(after) == [
        (p, system, code, day, day + dt.timedelta(days=1))
        for p, system, code, day, _ in rows(before)
    ]
    assert [r[:4] for r in rows(after)] == [
        (1, "CPT4", "20206", dt.date(2014, 9, 14)),
        (2, "CPT4", "95886", dt.date(2013, 11, 20)),
        (2, "ICD10PCS", "0KBQ3ZX", dt.date(2013, 11, 21)),
    ]
    assert _periods(after) == _periods(before) == _periods(connect(str(MIN2022)))


#: PROCEDURES with source codes (data model version 5): the biopsy recorded by a source concept
#: outside the registry's code systems (OMOP concept id 2003900, as a CDM read live gives one),
#: the EMG by OMOP's concept 0 (no matching concept), the excision by its own code (none).
SOURCED_PROCEDURES = """person_id,code_system,code,source_code_system,source_code,procedure_date
1,CPT4,20206,OMOP,2003900,2014-09-14
2,CPT4,95886,OMOP,0,2013-11-20
2,ICD10PCS,0KBQ3ZX,,,2013-11-21
"""


def test_a_source_concept_id_is_written_where_the_source_code_is_one(tmp_path: Path) -> None:
    """A procedure whose source code is an OMOP concept id is written with that
    ``procedure_source_concept_id``, any other with 0; read back live, each has the source
    code it had, and the one that had none reads as OMOP 0 (a CDM row always has a source
    concept: views._source_coded)."""
    registry = tmp_path / "min2022"
    shutil.copytree(MIN2022, registry)
    (registry / "procedure.csv").write_text(SOURCED_PROCEDURES, encoding="utf-8")
    cdm, mapping = exported_cdm(registry, tmp_path)
    with (tmp_path / "cdm" / "procedure_occurrence.csv").open(newline="") as handle:
        written = list(csv.DictReader(handle))
    assert [r["procedure_source_concept_id"] for r in written] == ["2003900", "0", "0"]
    after = connect(f"omop+duckdb://{cdm}?mapping={mapping}")
    found = (
        after.table("procedure")
        .order_by("procedure_date")
        .select("code", "source_code_system", "source_code")
    )
    assert [tuple(r.values()) for r in found.to_pyarrow().to_pylist()] == [
        ("95886", "OMOP", "0"),
        ("0KBQ3ZX", "OMOP", "0"),
        ("20206", "OMOP", "2003900"),
    ]


def test_a_procedure_cohort_finds_the_same_persons_in_the_export(tmp_path: Path) -> None:
    """The worked example biopsy_before (a muscle biopsy, CPT-4 20206, in the year before a
    systemic JAK start) on examples/cohorts/registry and on its export read as a CDM: the same
    attrition, 8, 7, 1 (person 1's biopsy 91 days before her index;
    tests/cohort/language_cases.py). In the CDM the item's CPT4 code is looked up in
    ``concept``; before CPT4 was a registry vocabulary of the views, the export's procedure
    rows read back as OMOP concept ids and the rule found no one (8, 7, 0)."""
    source = ROOT / "examples" / "cohorts" / "registry"
    cdm, mapping = exported_cdm(source, tmp_path)
    cohort = str(ROOT / "examples" / "cohorts" / "biopsy_before.yaml")
    found = []
    for data in (str(source), f"omop+duckdb://{cdm}?mapping={mapping}"):
        out = json.loads(run_cli("cohort", "run", cohort, "--data", data, "--json"))
        found.append((out["persons"], [line["remaining"] for line in out["attrition"]]))
    assert found == [(1, [8, 7, 1])] * 2


def test_the_worked_example_hospitalised_after_finds_the_same_persons_in_the_export(
    tmp_path: Path,
) -> None:
    """The worked example hospitalised_after (a hospital stay, VISIT IP or ERIP, within 180 days
    after a systemic JAK start) on examples/cohorts/registry and on its export read as a CDM:
    the same attrition, 8, 7, 1 (person 8's inpatient stay; tests/cohort/language_cases.py).
    In the CDM the items' Visit codes are looked up in ``concept``: the export wrote OMOP's
    concepts 9201 and 262 with them."""
    source = ROOT / "examples" / "cohorts" / "registry"
    cdm, mapping = exported_cdm(source, tmp_path)
    cohort = str(ROOT / "examples" / "cohorts" / "hospitalised_after.yaml")
    found = []
    for data in (str(source), f"omop+duckdb://{cdm}?mapping={mapping}"):
        out = json.loads(run_cli("cohort", "run", cohort, "--data", data, "--json"))
        found.append((out["persons"], [line["remaining"] for line in out["attrition"]]))
    assert found == [(1, [8, 7, 1])] * 2


#: Visits added to a copy of min2022 (SYNTHETIC; min2022 records none), inside the persons'
#: records so the derived observation periods stay min2022's: person 1 admitted (VISIT IP) 138
#: days after her first DM diagnosis (2014-09-18) and seen in the emergency room and admitted
#: (ERIP) in 2016; person 2 an outpatient visit (OP) without an end; person 3 (DM 2015-03-26)
#: an emergency room visit (ER), 67 days after the diagnosis an ERIP stay, and an office visit
#: (Visit code OMOP4822458, OMOP's concept 581477, which the export does not know: a concept
#: of its own); person 4 an encounter of HL7 ActCode FLD (field), which has no Visit concept.
VISITS = """person_id,visit_id,code_system,code,visit_date,end_date
1,v1,VISIT,IP,2015-02-03,2015-02-06
1,v2,VISIT,ERIP,2016-05-01,2016-05-02
2,v3,VISIT,OP,2014-01-10,
3,v4,VISIT,ER,2015-04-01,2015-04-01
3,v5,VISIT,ERIP,2015-06-01,2015-06-03
3,v6,VISIT,OMOP4822458,2016-01-04,2016-01-04
4,v7,ACTCODE,FLD,2015-08-03,2015-08-03
"""


def _with_visits(tmp_path: Path, visits: str = VISITS) -> Path:
    registry = tmp_path / "min2022"
    shutil.copytree(MIN2022, registry)
    (registry / "visit.csv").write_text(visits, encoding="utf-8")
    return registry


def test_visits_read_back_with_omops_visit_concepts(tmp_path: Path) -> None:
    """Each visit is a ``visit_occurrence`` row typed EHR (32817), its code kept in
    ``visit_source_value``: a Visit code IP, OP, ER, ERIP as OMOP's own concept (9201, 9202,
    9203, 262, its concept row written with vocabulary Visit and that code, so ATLAS's concept
    sets find it by id and by code), another Visit code as a concept the export makes, an
    ActCode class as concept 0 (no concept: OMOP has no ActCode vocabulary). The CDM requires
    ``visit_end_date``: a visit without an end ends on its date, as the cohort language ends
    it. Read back live, the same person, code, dates (that end filled in) and periods; the
    ActCode visit reads back as OMOP concept 0, its code only in ``visit_source_value``; visit
    ids are the row numbers."""
    registry = _with_visits(tmp_path)
    before = connect(str(registry))
    cdm, mapping = exported_cdm(registry, tmp_path)
    with (tmp_path / "cdm" / "visit_occurrence.csv").open(newline="") as handle:
        written = list(csv.DictReader(handle))
    with (tmp_path / "cdm" / "concept.csv").open(newline="") as handle:
        concepts = {r["concept_id"]: r for r in csv.DictReader(handle)}
    office = [k for k, c in concepts.items() if c["concept_code"] == "OMOP4822458"]
    assert len(office) == 1 and int(office[0]) >= 2_100_000_000
    assert [
        (r["visit_occurrence_id"], r["person_id"], r["visit_concept_id"], r["visit_start_date"],
         r["visit_end_date"], r["visit_source_value"])
        for r in written
    ] == [
        ("1", "1", "9201", "2015-02-03", "2015-02-06", "IP"),
        ("2", "1", "262", "2016-05-01", "2016-05-02", "ERIP"),
        ("3", "2", "9202", "2014-01-10", "2014-01-10", "OP"),
        ("4", "3", "9203", "2015-04-01", "2015-04-01", "ER"),
        ("5", "3", "262", "2015-06-01", "2015-06-03", "ERIP"),
        ("6", "3", office[0], "2016-01-04", "2016-01-04", "OMOP4822458"),
        ("7", "4", "0", "2015-08-03", "2015-08-03", "FLD"),
    ]  # fmt: skip
    assert {(r["visit_type_concept_id"], r["visit_source_concept_id"]) for r in written} == {
        ("32817", "0")
    }
    assert [
        (concepts[c]["concept_name"], concepts[c]["domain_id"], concepts[c]["vocabulary_id"],
         concepts[c]["concept_class_id"], concepts[c]["concept_code"])
        for c in ("9201", "262", "9202", "9203", office[0])
    ] == [
        ("Inpatient Visit", "Visit", "Visit", "Visit", "IP"),
        ("Emergency Room and Inpatient Visit", "Visit", "Visit", "Visit", "ERIP"),
        ("Outpatient Visit", "Visit", "Visit", "Visit", "OP"),
        ("Emergency Room Visit", "Visit", "Visit", "Visit", "ER"),
        ("OMOP4822458", "Visit", "Visit", "Undefined", "OMOP4822458"),
    ]  # fmt: skip
    after = connect(f"omop+duckdb://{cdm}?mapping={mapping}")
    columns = ("person_id", "code_system", "code", "visit_date", "end_date")

    def rows(con: Any) -> list[tuple[Any, ...]]:
        found = con.table("visit").select(*columns).to_pyarrow().to_pylist()
        return sorted(tuple(r.values()) for r in found)

    lost = {("ACTCODE", "FLD"): ("OMOP", "0")}
    assert rows(after) == sorted(
        (p, *lost.get((system, code), (system, code)), day, end or day)
        for p, system, code, day, end in rows(before)
    )
    assert len(rows(after)) == 7
    ids = after.table("visit").visit_id.to_pyarrow().to_pylist()
    assert sorted(ids, key=int) == ["1", "2", "3", "4", "5", "6", "7"]
    assert _periods(after) == _periods(before) == _periods(connect(str(MIN2022)))


def test_a_visit_without_its_date_stops_the_export(tmp_path: Path) -> None:
    registry = _with_visits(
        tmp_path, VISITS.replace("2,v3,VISIT,OP,2014-01-10,", "2,v3,VISIT,OP,,")
    )
    out = run_cli(
        "export", str(registry), "--format", "omop", "--to", str(tmp_path / "cdm"), code=2
    )
    assert (
        "visit: 1 row(s) without visit_date (person_id 2); the CDM requires "
        "visit_occurrence.visit_start_date" in out
    )
    assert not (tmp_path / "cdm").exists()


def test_a_visit_cohort_finds_the_same_persons_in_the_export(tmp_path: Path) -> None:
    """A hospital stay (VISIT IP or ERIP) 0 to 180 days after the first DM diagnosis, on the
    registry and on its export read as a CDM: the same attrition, 18, 17, 2 (person 1's IP
    stay 138 days after, person 3's ERIP stay 67 days after; person 3's ER visit and person
    2's outpatient visit are no stays). ATLAS's inpatient visit (inpatient_visit.json: Visit
    9201 with descendants) finds in the export the one person the registry's VISIT IP finds:
    in the CDM the visit is OMOP's concept 9201 and the export's concept_ancestor holds it."""
    registry = _with_visits(tmp_path)
    cdm, mapping = exported_cdm(registry, tmp_path)
    url = f"omop+duckdb://{cdm}?mapping={mapping}"
    cohort = tmp_path / "stay.yaml"
    cohort.write_text(
        """label: stay after DM
concept_sets:
  dm:
    items:
    - {system: ICD10CM, code: M33, descendants: true}
  stay:
    items:
    - {system: VISIT, code: IP}
    - {system: VISIT, code: ERIP}
entry:
  events:
  - domain: diagnosis
    concept_set: dm
    first: true
inclusion:
- label: Hospital stay within 180 days after
  criteria:
  - domain: visit
    concept_set: stay
    start_window: {start: 0, end: 180}
""",
        encoding="utf-8",
    )
    found = []
    for data in (str(registry), url):
        out = json.loads(run_cli("cohort", "run", str(cohort), "--data", data, "--json"))
        found.append((out["persons"], [line["remaining"] for line in out["attrition"]]))
    assert found == [(2, [18, 17, 2])] * 2
    atlas = json.loads((ROOT / "tests" / "cohort" / "atlas" / "inpatient_visit.json").read_text())
    found = []
    # on the registry the same concept set without descendants (it has no vocabulary)
    for data, descendants in ((url, True), (str(registry), False)):
        atlas["ConceptSets"][0]["expression"]["items"][0]["includeDescendants"] = descendants
        members = run_cohort(connect(data), translate_atlas(atlas).cohort).members.to_pylist()
        found.append([(m["person_id"], m["index_date"]) for m in members])
    assert found == [[(1, dt.date(2015, 2, 3))]] * 2


def test_the_worked_example_heavy_smokers_excluded_finds_the_same_persons_in_the_export(
    tmp_path: Path,
) -> None:
    """The worked example heavy_smokers_excluded (JAK users without 20 or more pack-years, SNOMED
    401201003, recorded before) on examples/cohorts/registry and on its export read as a CDM:
    the same attrition, 8, 7, 6 (person 8's 40 pack-years excludes him;
    docs/cohort-language.md). In the CDM the pack-years are observation rows with their
    value_as_number."""
    source = ROOT / "examples" / "cohorts" / "registry"
    cdm, mapping = exported_cdm(source, tmp_path)
    cohort = str(ROOT / "examples" / "cohorts" / "heavy_smokers_excluded.yaml")
    found = []
    for data in (str(source), f"omop+duckdb://{cdm}?mapping={mapping}"):
        out = json.loads(run_cli("cohort", "run", cohort, "--data", data, "--json", "-o",
                                 str(tmp_path / "members.csv")))  # fmt: skip
        members = (tmp_path / "members.csv").read_text(encoding="utf-8").splitlines()
        found.append((out["persons"], [line["remaining"] for line in out["attrition"]], members))
    assert found[0] == found[1]
    assert found[0][:2] == (6, [8, 7, 6])
    assert [line.split(",")[0] for line in found[0][2][1:]] == ["1", "2", "3", "4", "5", "6"]


#: Other observations added to a copy of min2022 (SYNTHETIC; it records none), inside the
#: persons' records: person 1 smokes 5 pack-years (a number and its UCUM unit), a tobacco
#: smoking status with a coded value (LOINC 72166-2, SNOMED 77176002 smoker) and a history of
#: nicotine dependence coded ICD-10-CM Z87.891; person 2 an allergy (SNOMED, no value) with a
#: text note; person 3 an observation of an OMOP concept id (4163874, history of myocardial
#: infarction) with a coded value of an OMOP concept id.
OBSERVATIONS = (
    "person_id,code_system,code,observation_date,value,unit,value_code_system,value_code,"
    "value_text\n"
    """1,SNOMED,401201003,2015-01-05,5,{pack-years},,,
1,LOINC,72166-2,2015-01-05,,,SNOMED,77176002,
1,ICD10CM,Z87.891,2015-06-01,,,,,
2,SNOMED,300913006,2014-02-01,,,,,reacts to shrimp
3,OMOP,4163874,2015-04-01,,,OMOP,4188539,
"""
)


def _with_observations(tmp_path: Path, observations: str = OBSERVATIONS) -> Path:
    registry = tmp_path / "min2022"
    shutil.copytree(MIN2022, registry)
    (registry / "observation.csv").write_text(observations, encoding="utf-8")
    return registry


def test_observations_read_back_as_observations_and_subtypes_as_subtypes(tmp_path: Path) -> None:
    """Each other observation is an ``observation`` row after min2022's 11 subtypes, typed EHR
    (32817), its code in ``observation_source_value``: its code's concept (a concept made for
    it, an ``OMOP`` code the concept id itself), ``value_as_number``, ``unit_source_value`` with
    ``unit_concept_id`` 0 (none without a unit), ``value_as_concept_id`` the coded value's
    concept (made with domain ``Meas Value``), ``value_as_string``. Read back live, the same
    observations (person, code, date, number, unit, coded value, text), and the subtypes are
    still subtypes, not observations; the periods are the same."""
    registry = _with_observations(tmp_path)
    before = connect(str(registry))
    cdm, mapping = exported_cdm(registry, tmp_path)
    with (tmp_path / "cdm" / "observation.csv").open(newline="") as handle:
        written = list(csv.DictReader(handle))
    with (tmp_path / "cdm" / "concept.csv").open(newline="") as handle:
        concepts = {(r["vocabulary_id"], r["concept_code"]): r for r in csv.DictReader(handle)}

    def made(vocabulary: str, code: str, domain: str) -> str:
        concept = concepts[(vocabulary, code)]
        assert concept["domain_id"] == domain and int(concept["concept_id"]) >= 2_100_000_000
        return concept["concept_id"]

    subtypes = [r for r in written if r["observation_source_value"] == ""]
    assert [r["observation_id"] for r in subtypes] == [str(i) for i in range(1, 12)]
    assert all(int(r["observation_concept_id"]) // 1000 == 2_000_002 for r in subtypes)
    assert [
        (r["observation_id"], r["person_id"], r["observation_concept_id"], r["observation_date"],
         r["value_as_number"], r["unit_concept_id"], r["unit_source_value"],
         r["value_as_concept_id"], r["value_as_string"], r["observation_source_value"])
        for r in written[11:]
    ] == [
        ("12", "1", made("SNOMED", "401201003", "Observation"), "2015-01-05", "5", "0",
         "{pack-years}", "", "", "401201003"),
        ("13", "1", made("LOINC", "72166-2", "Observation"), "2015-01-05", "", "", "",
         made("SNOMED", "77176002", "Meas Value"), "", "72166-2"),
        ("14", "1", made("ICD10CM", "Z87.891", "Observation"), "2015-06-01", "", "", "", "", "",
         "Z87.891"),
        ("15", "2", made("SNOMED", "300913006", "Observation"), "2014-02-01", "", "", "", "",
         "reacts to shrimp", "300913006"),
        ("16", "3", "4163874", "2015-04-01", "", "", "", "4188539", "", "4163874"),
    ]  # fmt: skip
    assert {(r["observation_type_concept_id"], r["observation_source_concept_id"])
            for r in written[11:]} == {("32817", "0")}  # fmt: skip
    after = connect(f"omop+duckdb://{cdm}?mapping={mapping}")
    columns = ("person_id", "code_system", "code", "observation_date", "value", "unit",
               "value_code_system", "value_code", "value_text")  # fmt: skip

    def rows(con: Any, table: str, kept: tuple[str, ...]) -> list[tuple[Any, ...]]:
        found = con.table(table).select(*kept).to_pyarrow().to_pylist()
        return sorted((tuple(r.values()) for r in found), key=repr)

    assert rows(after, "observation", columns) == rows(before, "observation", columns)
    assert len(rows(before, "observation", columns)) == 5
    assert rows(after, "dm_subtype", KEPT["dm_subtype"]) == _rows(before, "dm_subtype")
    assert len(_rows(before, "dm_subtype")) == 11
    assert _periods(after) == _periods(before)


def test_an_observation_cohort_finds_the_same_persons_in_the_export(tmp_path: Path) -> None:
    """Observations in a cohort, on the registry and on its export read as a CDM: DM patients
    (their first DM diagnosis) with a smoking observation (ICD-10-CM Z87 with descendants, the
    prefix rule, or 5 to 10 pack-years) any time in the 365 days after: persons 1 (Z87.891
    and 5 pack-years), not 2 (an allergy) nor 3 (another observation); the same attrition,
    18, 17 (with a DM diagnosis), 1, in both. In the CDM Z87's descendants come from the ICD
    codes the export writes above Z87.891 in concept_ancestor, as for diagnoses."""
    registry = _with_observations(tmp_path)
    cdm, mapping = exported_cdm(registry, tmp_path)
    cohort = tmp_path / "smoking.yaml"
    cohort.write_text(
        """label: smoking after DM
concept_sets:
  dm:
    items:
    - {system: ICD10CM, code: M33, descendants: true}
  nicotine:
    items:
    - {system: ICD10CM, code: Z87, descendants: true}
  pack_years:
    items:
    - {system: SNOMED, code: '401201003'}
entry:
  events:
  - domain: diagnosis
    concept_set: dm
    first: true
inclusion:
- label: Smoking within a year after
  type: any
  criteria:
  - domain: observation
    concept_set: nicotine
    start_window: {start: 0, end: 365}
  - domain: observation
    concept_set: pack_years
    value: {gte: 5, lte: 10}
    start_window: {start: 0, end: 365}
""",
        encoding="utf-8",
    )
    found = []
    for data in (str(registry), f"omop+duckdb://{cdm}?mapping={mapping}"):
        out = json.loads(
            run_cli("cohort", "run", str(cohort), "--data", data, "--json", "-o",
                    str(tmp_path / "members.csv"))
        )  # fmt: skip
        members = (tmp_path / "members.csv").read_text(encoding="utf-8").splitlines()[1:]
        found.append((out["persons"], [line["remaining"] for line in out["attrition"]], members))
    assert found[0] == found[1]
    assert found[0][:2] == (1, [18, 17, 1])
    assert [line.split(",")[0] for line in found[0][2]] == ["1"]


def test_an_observation_without_its_date_stops_the_export(tmp_path: Path) -> None:
    registry = _with_observations(
        tmp_path, OBSERVATIONS.replace("2,SNOMED,300913006,2014-02-01", "2,SNOMED,300913006,")
    )
    out = run_cli(
        "export", str(registry), "--format", "omop", "--to", str(tmp_path / "cdm"), code=2
    )
    assert (
        "observation: 1 row(s) without observation_date (person_id 2); the CDM requires "
        "observation.observation_date" in out
    )
    assert not (tmp_path / "cdm").exists()


#: Measurements added to a copy of min2022 (SYNTHETIC; it records none), on days of the persons'
#: records so the derived observation periods stay min2022's: person 1 a body weight (a number
#: and its UCUM unit) and a systolic blood pressure with its normal range; person 2 a
#: creatinine with its range and a SARS-CoV-2 RNA test whose result is a code (SNOMED
#: 260373001, Detected); person 3 a measurement of an OMOP concept id (3004249, systolic blood
#: pressure) with a value and no unit, and one coded ICD-10-CM with a coded value of an OMOP
#: concept id (4126681, Detected).
MEASUREMENTS = (
    "person_id,code_system,code,measurement_date,value,unit,range_low,range_high,"
    "value_code_system,value_code\n"
    """1,LOINC,29463-7,2015-01-05,71.5,kg,,,,
1,LOINC,8480-6,2015-01-05,128,mm[Hg],90,140,,
2,LOINC,2160-0,2014-02-01,0.9,mg/dL,0.6,1.2,,
2,LOINC,94500-6,2014-02-01,,,,,SNOMED,260373001
3,OMOP,3004249,2015-04-01,120,,,,,
3,ICD10CM,R03.0,2015-04-01,,,,,OMOP,4126681
"""
)

#: The columns of a measurement that a round trip keeps (all but provenance).
MEASUREMENT_COLUMNS = ("person_id", "code_system", "code", "measurement_date", "value", "unit",
                       "range_low", "range_high", "value_code_system", "value_code")  # fmt: skip


def _with_measurements(tmp_path: Path, measurements: str = MEASUREMENTS) -> Path:
    registry = tmp_path / "min2022"
    shutil.copytree(MIN2022, registry)
    (registry / "measurement.csv").write_text(measurements, encoding="utf-8")
    return registry


def _measurements(con: Any) -> list[tuple[Any, ...]]:
    found = con.table("measurement").select(*MEASUREMENT_COLUMNS).to_pyarrow().to_pylist()
    return sorted((tuple(r.values()) for r in found), key=repr)


def test_measurements_read_back_live_and_imported(tmp_path: Path) -> None:
    """Each measurement is a ``measurement`` row after min2022's 6 laboratory results and 82
    assessment rows (ids 89 to 94), typed EHR (32817), its code in
    ``measurement_source_value``: its code's concept (made with domain ``Measurement``; an
    ``OMOP`` code the concept id itself), ``value_as_number``, ``unit_source_value`` with
    ``unit_concept_id`` 0 (none without a unit), ``range_low`` and ``range_high`` as given,
    ``value_as_concept_id`` the coded value's concept (made with domain ``Meas Value``, as an
    observation's). Read back live, and imported from the CDM (``myositis import omop``), the
    same six measurements (every column but provenance), still beside the laboratory results
    and assessments; the periods are the same."""
    registry = _with_measurements(tmp_path)
    before = connect(str(registry))
    cdm, mapping = exported_cdm(registry, tmp_path)
    with (tmp_path / "cdm" / "measurement.csv").open(newline="") as handle:
        written = list(csv.DictReader(handle))
    with (tmp_path / "cdm" / "concept.csv").open(newline="") as handle:
        concepts = {(r["vocabulary_id"], r["concept_code"]): r for r in csv.DictReader(handle)}

    def made(vocabulary: str, code: str, domain: str) -> str:
        concept = concepts[(vocabulary, code)]
        assert concept["domain_id"] == domain and int(concept["concept_id"]) >= 2_100_000_000
        return concept["concept_id"]

    assert len(written) == 6 + 82 + 6
    assert [
        (r["measurement_id"], r["person_id"], r["measurement_concept_id"], r["measurement_date"],
         r["value_as_number"], r["unit_concept_id"], r["unit_source_value"], r["range_low"],
         r["range_high"], r["value_as_concept_id"], r["measurement_source_value"])
        for r in written[88:]
    ] == [
        ("89", "1", made("LOINC", "29463-7", "Measurement"), "2015-01-05", "71.5", "0", "kg",
         "", "", "", "29463-7"),
        ("90", "1", made("LOINC", "8480-6", "Measurement"), "2015-01-05", "128", "0", "mm[Hg]",
         "90", "140", "", "8480-6"),
        ("91", "2", made("LOINC", "2160-0", "Measurement"), "2014-02-01", "0.9", "0", "mg/dL",
         "0.6", "1.2", "", "2160-0"),
        ("92", "2", made("LOINC", "94500-6", "Measurement"), "2014-02-01", "", "", "", "", "",
         made("SNOMED", "260373001", "Meas Value"), "94500-6"),
        ("93", "3", "3004249", "2015-04-01", "120", "", "", "", "", "", "3004249"),
        ("94", "3", made("ICD10CM", "R03.0", "Measurement"), "2015-04-01", "", "", "", "", "",
         "4126681", "R03.0"),
    ]  # fmt: skip
    assert {(r["measurement_type_concept_id"], r["measurement_source_concept_id"])
            for r in written[88:]} == {("32817", "0")}  # fmt: skip
    url = f"omop+duckdb://{cdm}?mapping={mapping}"
    after = connect(url)
    assert _measurements(after) == _measurements(before)
    assert len(_measurements(before)) == 6
    assert _rows(after, "laboratory") == _rows(before, "laboratory")
    assert _rows(after, "assessment") == _rows(before, "assessment")
    assert _periods(after) == _periods(before) == _periods(connect(str(MIN2022)))
    imported = tmp_path / "imported.duckdb"
    text = run_cli("import", "omop", url, "--into", str(imported), "--quiet")
    assert "rejected 0 (in = stored + rejected: yes)" in text
    assert _measurements(connect(str(imported))) == _measurements(before)


def test_a_measurement_without_its_date_stops_the_export(tmp_path: Path) -> None:
    registry = _with_measurements(
        tmp_path, MEASUREMENTS.replace("2,LOINC,2160-0,2014-02-01", "2,LOINC,2160-0,")
    )
    out = run_cli(
        "export", str(registry), "--format", "omop", "--to", str(tmp_path / "cdm"), code=2
    )
    assert (
        "measurement: 1 row(s) without measurement_date (person_id 2); the CDM requires "
        "measurement.measurement_date" in out
    )
    assert not (tmp_path / "cdm").exists()


#: Deaths added to a copy of min2022 (SYNTHETIC; it records none): person 1 of interstitial
#: lung disease (ICD-10-CM J84.9) on 2018-05-01, after her last record (2018-02-03), person 2
#: of no recorded cause on the day of his last record (2019-09-15), person 3 of an OMOP concept
#: id (4306655) on 2020-05-01, after her last record (2020-04-11).
DEATHS = """person_id,death_date,cause_code_system,cause_code
1,2018-05-01,ICD10CM,J84.9
2,2019-09-15,,
3,2020-05-01,OMOP,4306655
"""


def _deaths(con: Any) -> list[tuple[Any, ...]]:
    found = con.table("death").select("person_id", "death_date", "cause_code_system",
                                      "cause_code").to_pyarrow().to_pylist()  # fmt: skip
    return sorted(tuple(r.values()) for r in found)


def test_deaths_read_back_live_and_imported(tmp_path: Path) -> None:
    """Each death is a ``death`` row, typed EHR (32817): ``cause_concept_id`` the cause's
    concept (made with domain ``Condition``, with J84 above J84.9 in ``concept_ancestor``; an
    ``OMOP`` code the concept id itself) and the code in ``cause_source_value``, both empty
    without a cause. Read back live, and imported, the same three deaths; the derived
    observation periods, which the deaths of persons 1 and 3 extend to their dates, are the
    same."""
    registry = tmp_path / "min2022"
    shutil.copytree(MIN2022, registry)
    (registry / "death.csv").write_text(DEATHS, encoding="utf-8")
    before = connect(str(registry))
    periods = {p[0]: p[1:] for p in _periods(before)}
    assert [periods[p] for p in (1, 2, 3)] == [
        (dt.date(2013, 1, 26), dt.date(2018, 5, 1)),
        (dt.date(2012, 4, 7), dt.date(2019, 9, 15)),
        (dt.date(2013, 8, 3), dt.date(2020, 5, 1)),
    ]
    cdm, mapping = exported_cdm(registry, tmp_path)
    with (tmp_path / "cdm" / "death.csv").open(newline="") as handle:
        written = [tuple(r.values()) for r in csv.DictReader(handle)]
    with (tmp_path / "cdm" / "concept.csv").open(newline="") as handle:
        concepts = {(r["vocabulary_id"], r["concept_code"]): r for r in csv.DictReader(handle)}
    j849, j84 = concepts[("ICD10CM", "J84.9")], concepts[("ICD10CM", "J84")]
    assert j849["domain_id"] == j84["domain_id"] == "Condition"
    assert written == [
        ("1", "2018-05-01", "", "32817", j849["concept_id"], "J84.9", ""),
        ("2", "2019-09-15", "", "32817", "", "", ""),
        ("3", "2020-05-01", "", "32817", "4306655", "4306655", ""),
    ]
    with (tmp_path / "cdm" / "concept_ancestor.csv").open(newline="") as handle:
        pairs = {(r["ancestor_concept_id"], r["descendant_concept_id"])
                 for r in csv.DictReader(handle)}  # fmt: skip
    assert (j84["concept_id"], j849["concept_id"]) in pairs
    url = f"omop+duckdb://{cdm}?mapping={mapping}"
    after = connect(url)
    assert _deaths(before) == [
        (1, dt.date(2018, 5, 1), "ICD10CM", "J84.9"),
        (2, dt.date(2019, 9, 15), None, None),
        (3, dt.date(2020, 5, 1), "OMOP", "4306655"),
    ]
    assert _deaths(after) == _deaths(before)
    assert _periods(after) == _periods(before)
    imported = tmp_path / "imported.duckdb"
    text = run_cli("import", "omop", url, "--into", str(imported), "--quiet")
    assert "rejected 0 (in = stored + rejected: yes)" in text
    assert _deaths(connect(str(imported))) == _deaths(before)


def test_a_death_without_its_date_stops_the_export(tmp_path: Path) -> None:
    registry = tmp_path / "min2022"
    shutil.copytree(MIN2022, registry)
    (registry / "death.csv").write_text(DEATHS.replace("2,2019-09-15,,", "2,,,"), "utf-8")
    out = run_cli(
        "export", str(registry), "--format", "omop", "--to", str(tmp_path / "cdm"), code=2
    )
    said = "death: 1 row(s) without death_date (person_id 2); the CDM requires death.death_date"
    assert said in out
    assert not (tmp_path / "cdm").exists()
