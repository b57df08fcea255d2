"""The trial commands as a user runs them: results, files and bad input (exit 2, no file)."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest

from myositis.cli import main


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int | str | None, str, str]:
    monkeypatch.setattr(sys, "argv", ["myositis", "trial", *args])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_sample_size_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """R: power.prop.test(p1 = .50, p2 = .75, power = .90)$n = 76.70693."""
    code, out, _ = _run(monkeypatch, capsys, "sample-size", "--p1", "0.5", "--p2", "0.75",
                        "--power", "0.9", "--json")  # fmt: skip
    assert code in (None, 0)
    result = json.loads(out)
    assert result["n_per_arm"] == pytest.approx(76.70693, abs=1e-3)
    assert result["n_total"] == 154


def test_randomise_writes_the_list(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "allocation.csv"
    code, text, _ = _run(monkeypatch, capsys, "randomise", "--per-stratum", "31", "--arms",
                         "baricitinib,placebo", "--strata", "MTX,AZA", "--seed", "20220501",
                         "-o", str(out))  # fmt: skip
    assert code in (None, 0)
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert set(rows[0]) == {"stratum", "sequence", "block", "block_size", "arm"}
    assert {r["stratum"] for r in rows} == {"MTX", "AZA"}
    assert f"wrote {len(rows)} allocations" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sample-size", "--p1", "0.3", "--p2", "1.2"], "p2 = 1.2"),
        (["sample-size", "--p1", "0.3", "--p2", "0.7", "--n", "1"], "at least 2 patients"),
        (["randomise", "--per-stratum", "10", "--seed", "1", "--block-sizes", "3,4"],
         "multiple of 2"),
        (["randomise", "--per-stratum", "10", "--seed", "1", "--block-sizes", "4,x"],
         "whole numbers"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_without_a_file(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    args: list[str],
    message: str,
) -> None:
    out = tmp_path / "allocation.csv"
    extra = ["-o", str(out)] if args[0] == "randomise" else []
    code, _, err = _run(monkeypatch, capsys, *args, *extra)
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists()


def test_fisher_search_limit_is_an_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The advice to raise max_per_arm names an option that exists: 29 per arm for 0.3 vs 0.7
    (R enumeration of fisher.test, tests/trial/test_sample_size.py)."""
    args = ["sample-size", "--p1", "0.3", "--p2", "0.7", "--test", "fisher"]
    code, _, err = _run(monkeypatch, capsys, *args, "--max-per-arm", "25")
    assert code == 2 and "raise max_per_arm (--max-per-arm)" in err
    code, out, _ = _run(monkeypatch, capsys, *args, "--max-per-arm", "40", "--json")
    assert code in (None, 0) and json.loads(out)["n_per_arm"] == 29


def test_an_unwritable_list_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    out = tmp_path / "missing-folder" / "allocation.csv"
    code, _, err = _run(monkeypatch, capsys, "randomise", "--per-stratum", "4", "--seed", "1",
                        "-o", str(out))  # fmt: skip
    assert code == 2 and "cannot be written" in err and "nothing written" in err
    assert not out.parent.exists()


def test_minimise_writes_each_patient_with_arm_and_totals(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The first patient meets an empty trial: every arm's total is 1 + 1 = 2 (two factors)."""
    enrolled = tmp_path / "enrolled.csv"
    enrolled.write_text("patient,site,prior_ivig\nP1,1,yes\nP2,1,no\nP3,2,yes\n")
    out = tmp_path / "allocations.csv"
    code, text, _ = _run(monkeypatch, capsys, "minimise", str(enrolled), "--factors",
                         "site,prior_ivig", "--arms", "bari,placebo", "--seed", "7",
                         "-o", str(out))  # fmt: skip
    assert code in (None, 0) and "wrote 3 allocations" in text
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["patient"] for r in rows] == ["P1", "P2", "P3"]
    assert (rows[0]["imbalance_bari"], rows[0]["imbalance_placebo"]) == ("2", "2")
    assert {r["arm"] for r in rows} <= {"bari", "placebo"}


def test_minimise_names_a_blank_level(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    enrolled = tmp_path / "enrolled.csv"
    enrolled.write_text("patient,site\nP1,1\nP2,\n")
    out = tmp_path / "allocations.csv"
    code, _, err = _run(monkeypatch, capsys, "minimise", str(enrolled), "--factors", "site",
                        "--seed", "1", "-o", str(out))  # fmt: skip
    assert code == 2 and "row 2, column 'site': blank" in err
    assert not out.exists()
