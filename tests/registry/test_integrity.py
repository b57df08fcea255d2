"""Registry integrity: each rule on small hand-made registries, CSV folders named by file and
data row, and the refusal by ``registry check`` and ``study run`` (exit status 2, nothing
written).

The case that motivated it: examples/min2022 with person 1 recorded twice passed every check
and its study said "11 patients" in the attrition while Table 1 and the CDASI table counted 12
and the mean CDASI improvement was 17.25 instead of the published 17.8 (Min et al. 2022;
tests/study/test_min2022.py pins the clean registry's numbers).
"""

from __future__ import annotations

import csv
import shutil
import sys
from pathlib import Path

import pytest

from myositis.cli import main
from myositis.errors import RegistryError, RegistryIntegrityError
from myositis.instruments import cdasi, haq, mmt8
from myositis.registry import connect
from myositis.registry.integrity import (
    ITEM_RULES,
    SHOWN,
    check_integrity,
    integrity_problems,
)
from myositis.registry.schema import INSTRUMENTS, KEYS, PERIODS, SHARED, TABLES
from myositis.study.runner import run_study
from registry.broken import (
    BORN,
    BROKEN,
    BROKEN_SUMMARY,
    V1,
    D,
    dx,
    exposure,
    item,
    lab,
    person,
    registry,
)

ROOT = Path(__file__).resolve().parents[2]
MIN2022 = ROOT / "examples" / "min2022"
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"


def _summary(problems: list) -> list[tuple[str, str, str, int]]:
    return [(p.rule, p.table, p.column, p.count) for p in problems]


def _named(problems: list, rule: str, table: str) -> list[str]:
    (problem,) = [p for p in problems if p.rule == rule and p.table == table]
    return [o.describe() for o in problem.offenders]


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> list:
    con = registry(tmp_path_factory.mktemp("broken") / "r.duckdb", **BROKEN)
    return integrity_problems(con)


def test_every_rule_is_counted_exactly(broken: list) -> None:
    """Counts worked out by hand in registry/broken.py, row by row."""
    assert _summary(broken) == BROKEN_SUMMARY


def test_repeated_and_missing_keys_are_named_by_their_values(broken: list) -> None:
    assert _named(broken, "repeated_key", "person") == ["person_id 2: 2 rows"]
    assert _named(broken, "missing_key", "person") == ["no person_id"]
    assert _named(broken, "repeated_key", "drug_exposure") == ["exposure_id 10: 2 rows"]
    assert _named(broken, "missing_key", "drug_exposure") == ["person_id 1: no exposure_id"]
    # an item recorded twice in one administration (scalp scale 1 and 2 on one CDASI form)
    assert _named(broken, "repeated_key", "assessment") == [
        "assessment_id 100, measure 'scalp_scale': 2 rows"
    ]
    assert _named(broken, "shared_identifier", "assessment") == [
        "assessment_id 101: 2 rows with person_id 1 and 3"
    ]


def test_rows_of_unknown_persons(broken: list) -> None:
    assert _named(broken, "unknown_person", "diagnosis") == [
        "diagnosis_date 2019-01-01: person_id 98",
        "diagnosis_date 2019-02-01: person_id missing",
    ]
    assert _named(broken, "unknown_person", "drug_exposure") == ["exposure_id 13: person_id 99"]
    assert _named(broken, "unknown_person", "laboratory") == [
        "result_date 2020-01-01: person_id 97"
    ]


def test_impossible_dates(broken: list) -> None:
    assert _named(broken, "period", "drug_exposure") == [
        "exposure_id 11, person_id 1: end_date 2020-04-30, start_date 2020-05-01"
    ]
    # birth_date where known; the birth year alone refuses only an earlier year
    assert _named(broken, "before_birth", "diagnosis") == [
        "person_id 2: diagnosis_date 1979-06-01, born 1980-01-01",
        "person_id 4: diagnosis_date 1979-12-31, born in 1980",
    ]
    assert _named(broken, "before_birth", "dm_subtype") == [
        "person_id 3: classified_date 1990-02-28, born 1990-03-01"
    ]
    assert _named(broken, "before_birth", "drug_exposure") == [
        "exposure_id 12, person_id 1: start_date 1970-06-14, born 1970-06-15"
    ]


def test_item_values_follow_the_instruments_rule_tables(broken: list) -> None:
    """CDASI v2 erythema 0-3 (Yassaee et al. 2010), Kendall MMT-8 grades 0-10 (Rider et al.
    2010), HAQ items 0-3 and aid/help 0/1 (Fries et al. 1980): whole numbers, as the scoring
    refuses them (myositis score); a blank item and a derived score are not items."""
    items = [p for p in broken if p.rule == "item_value"]
    assert [p.reason.split()[0] for p in items] == ["cdasi", "mmt8", "haq", "chaq"]
    erythema = "allowed: a whole number from 0 to 3 (0 absent, 1 pink/faint, 2 red, 3 dark red)"
    assert [o.describe() for o in items[0].offenders] == [
        f"assessment_id 100, measure 'malar_erythema', person_id 1: value 4, {erythema}",
        f"assessment_id 100, measure 'scalp_erythema', person_id 1: value 1.5, {erythema}",
        f"assessment_id 105, measure 'scalp_erythema', person_id 1: value NaN, {erythema}",
    ]
    assert items[1].offenders[0].value == "11"
    assert "a whole number from 0 to 10" in items[1].offenders[0].detail
    assert [o.value for o in items[2].offenders] == ["0.5", "-1"]
    assert [o.value for o in items[3].offenders] == ["2"]
    assert "a whole number from 0 to 1" in items[3].offenders[0].detail


def test_the_item_rules_are_the_instruments_own() -> None:
    """One definition of each range: the Field objects of the instrument modules, no copy."""
    assert ITEM_RULES["cdasi"] is cdasi.ITEMS
    assert ITEM_RULES["mmt8"] is mmt8.FIELDS
    for form, name in (("haq-di", "haq"), ("chaq", "chaq")):
        fields = [f for group in haq.ITEMS[form].values() for f in group]
        assert ITEM_RULES[name] == (*fields, *haq.AID_HELP_FIELDS)
    assert set(ITEM_RULES) <= set(INSTRUMENTS)


def test_the_declared_keys_name_existing_columns() -> None:
    """A later table or column change cannot leave a declaration pointing at nothing."""
    for table, key in KEYS.items():
        assert set(key) <= set(TABLES[table].names), table
    for table, (ident, agree) in SHARED.items():
        assert {ident, *agree} <= set(TABLES[table].names), table
    for table, periods in PERIODS.items():
        for start, end in periods:
            assert TABLES[table][start].is_date() and TABLES[table][end].is_date()


def test_counts_are_exact_and_the_first_few_are_named(tmp_path: Path) -> None:
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(1)],
        laboratory=[lab(1, V1)] + [lab(1000 + i, D(2020, 1, 1 + i)) for i in range(12)],
    )
    (problem,) = integrity_problems(con)
    assert (problem.rule, problem.count, len(problem.offenders)) == ("unknown_person", 12, SHOWN)
    assert problem.offenders[0].describe() == "result_date 2020-01-01: person_id 1000"
    assert problem.describe().splitlines()[-2] == "    ... and 7 more"
    assert problem.describe().splitlines()[-1].startswith("  What to do: add the missing persons")


def _death(pid: int, when: D) -> dict[str, object]:
    return {"person_id": pid, "death_date": when}


def test_a_person_dies_once_after_the_birth(tmp_path: Path) -> None:
    """death (version 4): person 1 dead twice (one repeated key, 2 rows), person 2 dead the day
    before her birth, person 3 dead in the year before his birth year, a death of person 9
    who is not in person; person 4's death on her birthday keeps every rule."""
    con = registry(
        tmp_path / "r.duckdb",
        person=[person(1), person(2, D(1980, 1, 1)), person(3, None, birth_year=1990),
                person(4)],
        death=[_death(1, D(2020, 1, 1)), _death(1, D(2021, 1, 1)), _death(2, D(1979, 12, 31)),
               _death(3, D(1989, 12, 31)), _death(9, D(2020, 1, 1)), _death(4, BORN)],
    )  # fmt: skip
    problems = integrity_problems(con)
    assert _summary(problems) == [
        ("repeated_key", "death", "person_id", 1),
        ("unknown_person", "death", "person_id", 1),
        ("before_birth", "death", "death_date", 2),
    ]
    assert _named(problems, "repeated_key", "death") == ["person_id 1: 2 rows"]
    assert problems[0].what_to_do == (
        "keep one death per person (a person dies once): the one that is right (THEMIS "
        "convention #155: the most reliable, else the latest); remove the others."
    )
    assert _named(problems, "unknown_person", "death") == ["person_id 9"]
    assert _named(problems, "before_birth", "death") == [
        "person_id 2: death_date 1979-12-31, born 1980-01-01",
        "person_id 3: death_date 1989-12-31, born in 1990",
    ]


def test_clean_registries_pass(tmp_path: Path, small_registry: Path) -> None:
    hand_made = registry(
        tmp_path / "r.duckdb",
        person=[person(1), person(2, None, birth_year=1970)],
        diagnosis=[dx(1, BORN), dx(2, D(1970, 1, 1))],  # on the day / in the year
        drug_exposure=[exposure(1, 1, D(2019, 1, 1), D(2019, 1, 1)), exposure(2, 2, V1)],
        assessment=[
            item(1, 1, "cdasi", "scalp_erythema", 3.0, V1),
            item(1, 1, "cdasi", "scalp_scale", None, V1),
            item(2, 2, "mmt8", "neck_flexors", 10.0, V1),
            item(3, 2, "pruritus_nrs", "score", 7.5, V1),
        ],
    )
    assert integrity_problems(hand_made) == []
    assert integrity_problems(connect(MIN2022)) == []
    assert integrity_problems(connect(small_registry)) == []  # the synthetic generator's


def _min2022_copy(folder: Path) -> Path:
    shutil.copytree(MIN2022, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return folder


def _append(path: Path, row: dict[str, str]) -> None:
    with path.open(encoding="utf-8") as handle:
        header = next(csv.reader(handle))
    with path.open("a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, fieldnames=header).writerow(row)


def _repeat_person_1(folder: Path) -> None:
    with (folder / "person.csv").open(encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    _append(folder / "person.csv", first)  # person 1 again, as data row 19


def test_a_csv_folder_names_the_file_and_data_rows(tmp_path: Path) -> None:
    folder = _min2022_copy(tmp_path / "registry")
    _repeat_person_1(folder)
    lab_row = {"person_id": "404", "test": "ck", "result_date": "2018-01-01", "value": "100"}
    _append(folder / "laboratory.csv", lab_row)  # data row 7
    with pytest.raises(RegistryIntegrityError) as info:
        check_integrity(connect(folder), where=str(folder))
    repeated, orphan = info.value.problems
    assert repeated.describe().splitlines()[:2] == [
        "person.csv (table person), person_id: 1 value(s) held by more than one row (2 rows in "
        "all); person_id names one row",
        "    person_id 1: 2 rows (first at data row 1, last at data row 19)",
    ]
    assert orphan.source == "laboratory.csv"
    assert orphan.offenders[0].describe() == "result_date 2018-01-01: person_id 404 (data row 7)"
    assert str(info.value).startswith(f"{folder}: the registry breaks 2 integrity rules")
    assert isinstance(info.value, RegistryError)


def _cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["myositis", *args])
    with pytest.raises(SystemExit) as info:
        main()
    return int(info.value.code or 0)


def test_a_repeated_person_is_refused_by_study_run_and_registry_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """min2022 with person 1 twice: before, the run reported 11 patients in the attrition, 12 in
    Table 1 and a mean improvement of 17.25; now it stops before writing anything."""
    folder = _min2022_copy(tmp_path / "registry")
    _repeat_person_1(folder)
    out = tmp_path / "report"
    code = _cli(["study", "run", str(SPEC), "--data", str(folder), "--out", str(out)], monkeypatch)
    err = capsys.readouterr().err
    assert code == 2
    assert "person.csv (table person), person_id: 1 value(s) held by more than one row" in err
    assert "person_id 1: 2 rows (first at data row 1, last at data row 19)" in err
    assert "Traceback" not in err
    assert not out.exists() and not (tmp_path / ".report.partial").exists()

    assert _cli(["registry", "check", str(folder)], monkeypatch) == 2
    assert "What to do: keep one row per person_id" in capsys.readouterr().err
    with pytest.raises(RegistryIntegrityError):
        run_study(SPEC, folder, out)
    assert not out.exists()


def test_an_orphan_row_is_refused_by_registry_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _min2022_copy(tmp_path / "registry")
    row = {"person_id": "77", "code_system": "ICD10CM", "code": "M33.10"}
    _append(folder / "diagnosis.csv", row | {"diagnosis_date": "2019-01-01"})
    assert _cli(["registry", "check", str(folder)], monkeypatch) == 2
    err = capsys.readouterr().err
    assert "diagnosis.csv (table diagnosis), person_id: 1 row(s) whose person_id is not in" in err
    assert "diagnosis_date 2019-01-01: person_id 77 (data row 36)" in err


def test_a_clean_registry_is_checked_ok(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(["registry", "check", str(MIN2022)], monkeypatch) == 0
    assert "the rows keep its integrity rules" in capsys.readouterr().out
