"""``myositis score``: every bad-input case of instruments.md section 6 through the command line.

Each rejected file gives exit status 2 and one message naming the data row, column, value and
allowed range; nothing is written; never a traceback. ``--errors report`` scores the valid rows
and writes every rejected row with its reason; rows read = rows scored + rows rejected.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from myositis.cli import main
from myositis.instruments.mmt8 import COLUMNS as MMT8_COLUMNS

from .conftest import cdasi_visit, tis_pair


def _run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["myositis", *map(str, args)])
    with pytest.raises(SystemExit) as info:
        main()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    code = info.value.code
    return (0 if code is None else int(code)), out, err


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _haq_visit(**overrides: Any) -> dict[str, Any]:
    counts = {"dressing_grooming": 2, "arising": 2, "eating": 3, "walking": 2,
              "hygiene": 3, "reach": 2, "grip": 3, "activities": 3}  # fmt: skip
    record: dict[str, Any] = {f"{c}_{i}": 1 for c, n in counts.items() for i in range(1, n + 1)}
    return record | overrides


def _mmt8_visit(**overrides: Any) -> dict[str, Any]:
    return {c: 8 for c in MMT8_COLUMNS} | overrides


VALID = {
    "cdasi": cdasi_visit,
    "tis": tis_pair,
    "doi": tis_pair,
    "mmt8": _mmt8_visit,
    "haq": _haq_visit,
}

# instrument, the bad value, and what the message must say about it
BAD_VALUES = [
    ("cdasi", "scalp_erythema", "4", "is out of range; allowed: a whole number from 0 to 3"),
    ("cdasi", "malar_poikiloderma", "2", "allowed: a whole number from 0 to 1"),
    ("cdasi", "periungual", "1.5", "allowed: a whole number from 0 to 2"),
    ("cdasi", "alopecia", "yes", "is not a number"),
    ("tis", "pga_followup", "10.5", "from 0 to 10"),
    ("tis", "haq_baseline", "-0.5", "from 0 to 3"),
    ("tis", "mmt8_followup", "81", "MMT-8 maximum; allowed: a number from 0 to 80"),
    ("tis", "mmt8_max", "100", "80 (unilateral) or 150 (bilateral)"),
    ("tis", "ck_uln", "0", "greater than 0"),
    ("tis", "ck_uln", "-200", "greater than 0"),
    ("tis", "ck_baseline", "high", "is not a number"),
    ("tis", "ck_followup", "", "give ck baseline, follow-up and upper limit"),
    ("doi", "ema_followup", "11", "from 0 to 10"),
    ("mmt8", "quadriceps_left", "11", "is out of range; allowed: a whole number from 0 to 10"),
    ("mmt8", "neck_flexors", "4+", "is not a number"),
    ("haq", "grip_2", "4", "is out of range; allowed: a whole number from 0 to 3"),
    ("haq", "reach_1", "2.5", "a whole number from 0 to 3"),
]


@pytest.mark.parametrize(("instrument", "column", "value", "fragment"), BAD_VALUES)
def test_a_bad_value_stops_with_row_column_value_and_range_and_writes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    instrument: str,
    column: str,
    value: str,
    fragment: str,
) -> None:
    make = VALID[instrument]
    source = _write(tmp_path / "in.csv", [make(), make(), make(**{column: value})])
    output = tmp_path / "out.csv"
    code, _, err = _run(monkeypatch, capsys, "score", instrument, source, "-o", output)
    assert code == 2
    assert err.startswith(f"error: in.csv, row 3, column '{column}'")
    if value:
        assert f"value '{value}'" in err
    assert fragment in err
    assert not output.exists()
    assert list(tmp_path.iterdir()) == [source]  # no partial or temporary file either


@pytest.mark.parametrize("instrument", sorted(VALID))
def test_a_missing_required_column_is_named_and_nothing_written(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    instrument: str,
) -> None:
    record = VALID[instrument]()
    dropped = next(iter(record))
    del record[dropped]
    source = _write(tmp_path / "in.csv", [record])
    code, _, err = _run(monkeypatch, capsys, "score", instrument, source, "-o", tmp_path / "o.csv")
    assert code == 2
    assert "missing required column(s)" in err and dropped in err
    assert f"myositis score {instrument} --help" in err
    assert not (tmp_path / "o.csv").exists()


def test_errors_report_scores_valid_rows_and_lists_rejected_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        tis_pair(pga_followup=2) | {"id": "a"},
        tis_pair(pga_followup=11, ck_uln=0) | {"id": "b"},  # two problems in one row
        tis_pair() | {"id": "c"},
        tis_pair(haq_followup="x") | {"id": "d"},
    ]
    source = _write(tmp_path / "pairs.csv", rows)
    output = tmp_path / "scored.csv"
    code, out, _ = _run(
        monkeypatch, capsys, "score", "tis", source, "-o", output, "--errors", "report"
    )
    assert code == 0
    assert "4 row(s) read, 2 scored" in out and "2 rejected" in out
    scored = _read(output)
    assert [r["id"] for r in scored] == ["a", "c"]
    assert scored[0]["pga_points"] == "17.5"  # 5 -> 2 cm is 30 % of the scale: (25, 40]
    errors = _read(tmp_path / "scored.errors.csv")
    assert [(e["row"], e["column"], e["value"]) for e in errors] == [
        ("2", "pga_followup", "11"),
        ("2", "ck_uln", "0"),
        ("4", "haq_followup", "x"),
    ]
    assert all(e["reason"] for e in errors)
    # each problem line carries the rejected row as it was read, to find and correct it
    assert [(e["id"], e["pga_followup"], e["haq_followup"]) for e in errors] == [
        ("b", "11", "1.5"),
        ("b", "11", "1.5"),
        ("d", "5", "x"),
    ]
    assert len(scored) + len({e["row"] for e in errors}) == len(rows)  # in = stored + rejected


def test_error_report_keeps_input_columns_named_like_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [cdasi_visit(row="r1", reason="baseline"), cdasi_visit(row="r2", alopecia=2)]
    source = _write(tmp_path / "v.csv", rows)
    output = tmp_path / "o.csv"
    code, _, _ = _run(monkeypatch, capsys, "score", "cdasi", source, "-o", output, "--errors",
                      "report")  # fmt: skip
    assert code == 0
    (error,) = _read(tmp_path / "o.errors.csv")
    assert list(error)[:4] == ["row", "column", "value", "reason"]
    assert (error["row"], error["column"], error["value"]) == ("2", "alopecia", "2")
    assert (error["input_row"], error["input_reason"], error["alopecia"]) == ("r2", "", "2")
    assert [r["row"] for r in _read(output)] == ["r1"]  # passes through unchanged


def test_no_enzyme_in_a_row_stops_with_its_row_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """instruments.md section 2: at least one enzyme must be given (all three CK cells blank)."""
    blank = {"ck_baseline": "", "ck_followup": "", "ck_uln": ""}
    source = _write(tmp_path / "in.csv", [tis_pair(), tis_pair(**blank)])
    output = tmp_path / "out.csv"
    code, _, err = _run(monkeypatch, capsys, "score", "tis", source, "-o", output)
    assert code == 2
    assert err.startswith("error: in.csv, row 2, column 'ck_baseline': no muscle enzyme given")
    assert len(err.strip().splitlines()) == 1  # one message, not one per blank cell
    assert list(tmp_path.iterdir()) == [source]


@pytest.mark.parametrize("instrument", ["tis", "doi"])
def test_a_blank_core_set_value_is_missing_and_named_not_zero(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    instrument: str,
) -> None:
    source = _write(tmp_path / "in.csv", [tis_pair(pga_followup=2, haq_followup="")])
    code, _, _ = _run(monkeypatch, capsys, "score", instrument, source, "-o", tmp_path / "o.csv")
    assert code == 0
    (out,) = _read(tmp_path / "o.csv")
    result = out["tis"] if instrument == "tis" else out["doi_met"]
    assert (result, out[f"{instrument}_missing"]) == ("", "haq_followup")


def test_unknown_columns_and_their_text_pass_through_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"mrn_hash": "007", "note": "NA", "when": "2024-01-02"} | cdasi_visit(arm_erythema=2)]
    source = _write(tmp_path / "v.csv", rows)
    code, _, _ = _run(monkeypatch, capsys, "score", "cdasi", source, "-o", tmp_path / "o.csv")
    assert code == 0
    (out,) = _read(tmp_path / "o.csv")
    assert (out["mrn_hash"], out["note"], out["when"]) == ("007", "NA", "2024-01-02")
    assert list(out)[:3] == ["mrn_hash", "note", "when"]
    assert (out["cdasi_activity"], out["cdasi_severity"]) == ("2", "mild")


def test_a_blank_item_is_missing_not_zero_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path / "v.csv", [cdasi_visit(arm_erythema=2, scalp_scale="")])
    _run(monkeypatch, capsys, "score", "cdasi", source, "-o", tmp_path / "o.csv")
    (out,) = _read(tmp_path / "o.csv")
    assert (out["cdasi_activity"], out["cdasi_damage"], out["cdasi_missing"]) == (
        "",
        "0",
        "scalp_scale",
    )


def test_parquet_in_and_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Typed Parquet columns (doubles, integers) score as their text would."""
    pq.write_table(pa.Table.from_pylist([tis_pair(pga_baseline=1.1, pga_followup=0.6)]),
                   tmp_path / "p.parquet")  # fmt: skip
    code, _, _ = _run(
        monkeypatch, capsys, "score", "tis", tmp_path / "p.parquet", "-o", tmp_path / "o.parquet"
    )
    assert code == 0
    (out,) = pq.read_table(tmp_path / "o.parquet").to_pylist()
    assert (out["pga_pct"], out["pga_points"]) == (5.0, 0.0)  # exactly 5 %: scores 0


def test_parquet_streams_in_order_and_accounts_for_every_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Parquet is scanned by the engine (many row groups, no sort): output rows keep the
    input order, rejected rows are named by their 1-based data row, and in = scored +
    rejected. An int64 CK of 10^13 does not fit the exact decimals and is reported."""
    n = 20_000
    rows = [tis_pair(ck_followup=1000 - (i % 500), id=i) for i in range(n)]
    rows[4_999]["pga_followup"] = 11  # data row 5,000: out of the 0-10 cm range
    rows[12_344]["ck_baseline"] = 10**13  # data row 12,345
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "p.parquet", row_group_size=1000)
    output = tmp_path / "o.parquet"
    code, out, _ = _run(monkeypatch, capsys, "score", "tis", tmp_path / "p.parquet", "-o",
                        output, "--errors", "report")  # fmt: skip
    assert code == 0
    assert "20000 row(s) read, 19998 scored" in out and "; 2 rejected" in out
    errors = _read(tmp_path / "o.errors.csv")
    assert [(e["row"], e["column"]) for e in errors] == [
        ("5000", "pga_followup"),
        ("12345", "ck_baseline"),
    ]
    scored = pq.read_table(output)
    assert scored.column("id").to_pylist() == [i for i in range(n) if i not in (4_999, 12_344)]
    # CK 1000 -> 1000 - (i % 500): percent change (i % 500) / 10, scored by the same bands
    assert scored.column("enzyme_pct").to_pylist()[:3] == [0.0, 0.1, 0.2]


def test_nan_and_infinity_in_parquet_doubles_are_not_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A NaN in the first row of a double column once passed the checks and scored TIS 0
    (DuckDB's TRY_CAST of NaN to DECIMAL was not NULL over a column): now reported."""
    rows = [tis_pair(pga_followup=float("nan")), tis_pair(ema_baseline=float("inf")), tis_pair()]
    schema = pa.schema([(c, pa.float64()) for c in tis_pair()])
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp_path / "p.parquet")
    output = tmp_path / "o.csv"
    code, _, err = _run(monkeypatch, capsys, "score", "tis", tmp_path / "p.parquet", "-o", output)
    assert code == 2 and not output.exists()
    assert "row 1, column 'pga_followup': value 'nan': is not a number" in err
    assert "row 2, column 'ema_baseline': value 'inf': is not a number" in err


@pytest.mark.parametrize(
    ("setup", "args", "fragment"),
    [
        (None, ["absent.csv"], "absent.csv: no such file"),
        ("in.txt", ["in.txt"], "unsupported file type '.txt'"),
        ("empty", ["in.csv"], "the file is empty (no header row)"),
        ("header", ["in.csv"], "has a header but no data rows"),
        ("duplicate", ["in.csv"], "column 'a' appears more than once"),
        ("valid", ["in.csv", "--errors", "ignore"], "'ignore' is not one of 'stop', 'report'"),
        ("valid", ["in.csv", "--population", "child"], "'child' is not one of 'adult',"),
    ],
)
def test_file_and_option_problems(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    setup: str | None,
    args: list[str],
    fragment: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    contents = {
        "in.txt": "a,b\n1,2\n",
        "empty": "",
        "header": ",".join(tis_pair()) + "\n",
        "duplicate": "a,a\n1,2\n",
    }
    if setup == "valid":
        _write(tmp_path / "in.csv", [tis_pair()])
    elif setup is not None:
        (tmp_path / ("in.txt" if setup == "in.txt" else "in.csv")).write_text(contents[setup])
    code, _, err = _run(monkeypatch, capsys, "score", "tis", *args, "-o", "out.csv")
    assert code == 2
    assert fragment in " ".join(err.split())
    assert not (tmp_path / "out.csv").exists()


def test_output_may_not_overwrite_the_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path / "in.csv", [tis_pair()])
    before = source.read_text()
    code, _, err = _run(monkeypatch, capsys, "score", "tis", source, "-o", source)
    assert code == 2 and "would overwrite the input" in err
    assert source.read_text() == before


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_output_that_cannot_be_written_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], suffix: str
) -> None:
    source = _write(tmp_path / "in.csv", [tis_pair()])
    taken = tmp_path / f"taken{suffix}"
    taken.mkdir()  # a directory where the output file should go
    code, _, err = _run(monkeypatch, capsys, "score", "tis", source, "-o", taken)
    assert code == 2
    assert err.startswith(f"error: {taken}: cannot be written (") and "nothing written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", taken.name]


def test_the_error_report_may_not_overwrite_the_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _write(tmp_path / "s.errors.csv", [tis_pair(), tis_pair(ck_uln=0)])
    before = source.read_text()
    code, _, err = _run(monkeypatch, capsys, "score", "tis", source, "-o", tmp_path / "s.csv",
                        "--errors", "report")  # fmt: skip
    assert code == 2 and "error report would overwrite the input" in err
    assert source.read_text() == before and not (tmp_path / "s.csv").exists()


def test_haq_form_and_minimum_categories_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Index = mean of the answered categories: 7 answered at 1 -> 1.0 with the minimum 6
    (default), missing when 8 are required (Stanford HAQ-DI scoring instructions)."""
    source = _write(tmp_path / "h.csv", [_haq_visit(grip_1="", grip_2="", grip_3="")])
    _run(monkeypatch, capsys, "score", "haq", source, "-o", tmp_path / "a.csv")
    _run(monkeypatch, capsys, "score", "haq", source, "-o", tmp_path / "b.csv",
         "--min-categories", "8")  # fmt: skip
    assert _read(tmp_path / "a.csv")[0]["haq_index"] == "1"
    assert _read(tmp_path / "b.csv")[0]["haq_index"] == ""
    code, _, err = _run(
        monkeypatch, capsys, "score", "haq", source, "-o", tmp_path / "c.csv", "--form", "x"
    )
    assert code == 2 and "'x' is not one of 'haq-di', 'chaq'" in err
