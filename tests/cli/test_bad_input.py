"""Bad input as a new user gives it (issue 10, deliverable 8), through the command line: one
clear message, exit status 2, nothing written, never a traceback or "internal error"; and
input that is used but deserves a word (columns or files ignored) gets a warning line."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from myositis.cli import main

ROOT = Path(__file__).resolve().parents[2]
MIN2022 = ROOT / "examples" / "min2022"
SCORING = ROOT / "examples" / "scoring"
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"
STUDIES = "study,events,n\nA,3,10\nB,5,12\nC,7,20\n"


def _cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["myositis", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "internal error" not in err
    code = info.value.code
    return (0 if code is None else int(code)), out, err


def _fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: object
) -> str:
    code, out, err = _cli(monkeypatch, capsys, *args)
    assert code == 2, out + err
    return " ".join(err.replace("│", " ").split())


def _registry(tmp_path: Path) -> Path:
    folder = tmp_path / "registry"
    shutil.copytree(MIN2022, folder, ignore=shutil.ignore_patterns("*.py", "*.md"))
    return folder


def _files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


# -- evidence pool: a folder, and figure names --------------------------------------------------


def test_evidence_pool_on_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _fails(monkeypatch, capsys, "evidence", "pool", tmp_path, "--measure", "PR")
    assert f"error: {tmp_path}: is a folder; give a file" in err


def test_a_bad_figure_name_stops_before_any_figure_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "s.csv").write_text(STUDIES, encoding="utf-8")
    before = _files(tmp_path)
    args = ["evidence", "pool", tmp_path / "s.csv", "--measure", "PR"]
    err = _fails(monkeypatch, capsys, *args, "--forest", tmp_path / "f.svg", "--funnel",
                 tmp_path / "g.txt")  # fmt: skip
    assert "--funnel" in err and "figures are written as .svg or .png" in err
    err = _fails(monkeypatch, capsys, *args, "--forest", tmp_path)
    assert "--forest" in err and "is a folder" in err
    assert _files(tmp_path) == before


def test_a_forest_plot_into_a_new_folder_creates_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It ended in "internal error" (the folder did not exist): now the folder is made."""
    (tmp_path / "s.csv").write_text(STUDIES, encoding="utf-8")
    target = tmp_path / "figures" / "new" / "forest.svg"
    code, _, err = _cli(monkeypatch, capsys, "evidence", "pool", tmp_path / "s.csv",
                        "--measure", "PR", "--forest", target)  # fmt: skip
    assert code == 0, err
    assert target.read_text(encoding="utf-8").startswith("<svg")


# -- files in another encoding, wherever a CSV is read ------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "latin-1"])
def test_a_file_in_another_encoding_says_save_it_as_utf8(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    encoding: str,
) -> None:
    def resave(path: Path, target: Path) -> Path:
        text = path.read_text(encoding="utf-8").replace("Not Hispanic", "Não Hispânico")
        target.write_bytes(text.replace("patient_id", "patiënt_id").encode(encoding))
        return target

    told = "save it as UTF-8 (in Excel: File > Save As > 'CSV UTF-8 (Comma delimited)')"
    scores = resave(SCORING / "cdasi_visits.csv", tmp_path / "visits.csv")
    err = _fails(monkeypatch, capsys, "score", "cdasi", scores, "-o", tmp_path / "o.csv")
    assert f"error: {scores}: is not UTF-8 text" in err and told in err
    folder = _registry(tmp_path)
    resave(MIN2022 / "person.csv", folder / "person.csv")
    err = _fails(monkeypatch, capsys, "registry", "check", folder)
    assert f"{folder / 'person.csv'}: is not UTF-8 text" in err and told in err
    studies = tmp_path / "studies.csv"
    studies.write_bytes(STUDIES.replace("A,", "Aßmann,").encode(encoding))
    err = _fails(monkeypatch, capsys, "evidence", "pool", studies, "--measure", "PR")
    assert f"{studies}: is not UTF-8 text" in err and told in err
    assert "codec" not in err
    assert not (tmp_path / "o.csv").exists()


def test_excel_bom_and_windows_line_endings_read_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def excel(path: Path, target: Path) -> Path:
        lines = path.read_text(encoding="utf-8").splitlines()
        target.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode("utf-8") + b"\r\n")
        return target

    scores = excel(SCORING / "mmt8_visits.csv", tmp_path / "mmt8.csv")
    code, out, err = _cli(monkeypatch, capsys, "score", "mmt8", scores, "-o", tmp_path / "o.csv")
    assert code == 0 and "3 row(s) read, 3 scored" in out, err
    folder = _registry(tmp_path)
    for table in folder.glob("*.csv"):
        excel(table, table)
    code, out, err = _cli(monkeypatch, capsys, "registry", "check", folder)
    assert code == 0 and "ok: every table and column" in out, err


# -- values: a fraction is not a whole number; a date that does not exist -----------------------


def test_a_date_that_does_not_exist_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _registry(tmp_path)
    person = folder / "person.csv"
    lines = person.read_text(encoding="utf-8").splitlines()
    first = lines[1].split(",")
    first[lines[0].split(",").index("birth_date")] = "2020-02-30"
    person.write_text("\n".join([lines[0], ",".join(first), *lines[2:]]) + "\n", encoding="utf-8")
    err = _fails(monkeypatch, capsys, "registry", "check", folder)
    assert (
        "person.csv, row 1, column 'birth_date': value '2020-02-30': not a date that exists: "
        "February 2020 has 29 days (dates are YYYY-MM-DD)" in err
    )
    err = _fails(monkeypatch, capsys, "study", "run", SPEC, "--data", folder, "-o",
                 tmp_path / "report")  # fmt: skip
    assert "not a date that exists" in err and not (tmp_path / "report").exists()


def test_a_fraction_of_a_cdasi_item_is_not_a_whole_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = (SCORING / "cdasi_visits.csv").read_text(encoding="utf-8").splitlines()
    header, row = lines[0].split(","), lines[1].split(",")
    row[header.index("scalp_erythema")] = "2.5"  # within 0-3, but not a whole number
    source = tmp_path / "v.csv"
    source.write_text("\n".join([lines[0], ",".join(row)]) + "\n", encoding="utf-8")
    err = _fails(monkeypatch, capsys, "score", "cdasi", source, "-o", tmp_path / "o.csv")
    assert (
        "v.csv, row 1, column 'scalp_erythema': value '2.5': is not a whole number; allowed: a "
        "whole number from 0 to 3" in err
    )
    assert "out of range" not in err and not (tmp_path / "o.csv").exists()


# -- specifications and option values: never pydantic's words ----------------------------------


def test_an_empty_specification(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("", encoding="utf-8")
    err = _fails(monkeypatch, capsys, "study", "check", empty)
    assert f"error: {empty}: the file is empty (or holds only comments)" in err
    assert "NoneType" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["trial", "sample-size", "--p1", "abc", "--p2", "0.5"], "'abc' must be a number"),
        (["trial", "sample-size", "--p1", "0.3", "--p2", "0.5", "--n", "2.5"],
         "'2.5' must be a whole number"),
        (["score", "haq", "h.csv", "-o", "o.csv", "--min-categories", "0"],
         "'0' must be 1 or more"),
        (["score", "haq", "h.csv", "-o", "o.csv", "--min-categories", "9"],
         "'9' must be 8 or less"),
        (["registry", "synth", "-o", "r.duckdb", "--patients", "0"], "'0' must be 1 or more"),
        (["registry", "synth", "-o", "r.duckdb", "--preset", "clinic"],
         "'--preset': value 'clinic': must be one of population, referral-centre"),
        (["demo", "--seed", "-1"], "'-1' must be 0 or more"),
        (["score", "tis", "t.csv", "-o", "o.csv", "--population", "child"],
         "'child' is not one of 'adult', 'juvenile'"),
    ],
)  # fmt: skip
def test_option_values_are_checked_in_plain_words(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    err = _fails(monkeypatch, capsys, *args)
    assert message in err
    assert "Input should" not in err and "Value error" not in err and "unable to" not in err
    assert list(tmp_path.iterdir()) == []


# -- outputs that would overwrite inputs ----------------------------------------------------------


def test_out_may_not_be_the_registry_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _registry(tmp_path)
    before = _files(folder)
    err = _fails(monkeypatch, capsys, "study", "run", SPEC, "--data", folder, "-o", folder)
    assert "is the registry folder itself" in err and "Choose another folder" in err
    assert _files(folder) == before


def test_a_site_the_registry_lacks_is_refused_before_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report was written, then the export failed: now nothing is written."""
    err = _fails(monkeypatch, capsys, "study", "run", SPEC, "--data", MIN2022, "-o",
                 tmp_path / "report", "--site-package", tmp_path / "s.json", "--site",
                 "synthetic-site-9")  # fmt: skip
    assert (
        "--site 'synthetic-site-9': the registry has no person from that site; its sites are "
        "synthetic-site-1, synthetic-site-2" in err
    )
    assert list(tmp_path.iterdir()) == []


def test_evidence_combine_on_a_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    err = _fails(monkeypatch, capsys, "evidence", "combine", tmp_path, "-o", tmp_path / "out")
    assert f"{tmp_path}: is a folder; give the site package files themselves" in err
    assert not (tmp_path / "out").exists()


# -- what is ignored is named -------------------------------------------------------------------


def test_columns_and_files_outside_the_data_model_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _registry(tmp_path)
    person = folder / "person.csv"
    lines = person.read_text(encoding="utf-8").splitlines()
    person.write_text(
        "\n".join([f"{lines[0]},mrn,favourite_colour"] + [f"{x},1,blue" for x in lines[1:]]),
        encoding="utf-8",
    )
    (folder / "visits.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    code, out, err = _cli(monkeypatch, capsys, "registry", "check", folder)
    assert code == 0 and "ok: every table and column" in out, err
    assert (
        "warning: person.csv: columns 'mrn', 'favourite_colour' are not in the data model: kept, "
        "but no study uses them" in err
    )
    assert f"warning: {folder}: visits.csv is not a registry table (ignored)" in err


def test_score_names_the_columns_it_passes_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A misspelt optional column (here HAQ's grip_aid) would otherwise be ignored unseen."""
    lines = (SCORING / "haq_visits.csv").read_text(encoding="utf-8").splitlines()
    source = tmp_path / "h.csv"
    source.write_text(
        "\n".join([f"{lines[0]},grip_aids"] + [f"{x},1" for x in lines[1:]]) + "\n",
        encoding="utf-8",
    )
    code, _, err = _cli(monkeypatch, capsys, "score", "haq", source, "-o", tmp_path / "o.csv")
    assert code == 0, err
    assert "warning: h.csv: columns 'patient_id', 'visit', 'grip_aids' are not used by HAQ" in err


def test_cohort_run_refuses_a_registry_that_breaks_the_data_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cohort run`` on a registry of this project checks the data model's rules first, as
    ``study run`` does: a person with two deaths (min2022 person 3 given 2021-01-15 and
    2021-02-01) would otherwise count as it stands. The same folder without the second death
    runs (min2022's bundled study: 18 persons in the registry)."""
    folder = _registry(tmp_path)
    death = folder / "death.csv"
    death.write_text("person_id,death_date\n3,2021-01-15\n3,2021-02-01\n", encoding="utf-8")
    err = _fails(monkeypatch, capsys, "cohort", "run", "jak-refractory-dm", "--data", folder)
    assert f"{folder}: the registry breaks 1 integrity rule of the data model" in err
    assert "death.csv (table death), person_id: 1 value(s) held by more than one row" in err
    assert "person_id 3: 2 rows" in err and "keep one death per person" in err
    death.write_text("person_id,death_date\n3,2021-01-15\n", encoding="utf-8")
    code, out, err = _cli(
        monkeypatch, capsys, "cohort", "run", "jak-refractory-dm", "--data", folder, "--json"
    )
    assert code == 0, err
    assert json.loads(out)["attrition"][0]["remaining"] == 18
