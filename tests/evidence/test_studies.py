"""Reading study CSV files: every problem reported with file, row, column and value."""

from __future__ import annotations

from pathlib import Path

import pytest

from myositis.errors import EvidenceError, InputWarning, InvalidInputError
from myositis.evidence.pooling import meta_regression, pool
from myositis.evidence.studies import read_studies

from .conftest import pritz, write_csv


def test_reads_proportions_with_bom_blank_lines_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "p.csv"
    path.write_text("\ufeffstudy, events , n\n a ,3, 10\n\nb, 4 ,8\n", encoding="utf-8")
    effects = read_studies(path, "PR")
    assert effects.study == ("a", "b")
    assert effects.yi.tolist() == [0.3, 0.5]


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        ["study", "events", "n"],
        [["a", "3.5", 10], ["", 1, 5], ["c", "nan", 4], ["d", 2, ""]],
    )
    with pytest.raises(InvalidInputError) as info:
        read_studies(path, "PLO")
    described = [p.describe() for p in info.value.problems]
    assert described == [
        f"{path}, row 1, column 'events': value '3.5': events must be a whole number, 0 or more",
        f"{path}, row 2, column 'study': value '': every study needs a name",
        f"{path}, row 3, column 'events': value 'nan': not a finite number",
        f"{path}, row 4, column 'n': value '': not a finite number",
    ]


def test_a_row_with_a_cell_too_few_or_too_many_is_named(tmp_path: Path) -> None:
    """The file's shape is checked before its values (myositis.tables): a short row once read
    as a blank n; now the row is named, with every other such row."""
    path = tmp_path / "p.csv"
    path.write_text("study,events,n\na,3,10\nb,2\nc,1,4,x\n", encoding="utf-8")
    with pytest.raises(InvalidInputError) as info:
        read_studies(path, "PR")
    assert [(p.row, p.reason.split(";")[0]) for p in info.value.problems] == [
        (2, "2 cells, but the header has 3 columns"),
        (3, "4 cells, but the header has 3 columns"),
    ]


def test_columns_not_used_are_named_in_a_warning(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "p.csv",
        ["study", "events", "n", "author", "year"],
        [["a", 3, 10, "Kim", 2020], ["b", 4, 8, "Lee", 2021]],
    )
    with pytest.warns(InputWarning, match=r"p.csv: columns 'author', 'year' are not used by"):
        effects = read_studies(path, "PR")
    assert effects.study == ("a", "b")


def test_empty_and_header_only_files(tmp_path: Path) -> None:
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(EvidenceError, match="empty"):
        read_studies(empty, "GEN")
    header = write_csv(tmp_path / "h.csv", ["study", "yi", "vi"], [])
    with pytest.raises(EvidenceError, match="has 0"):
        read_studies(header, "GEN")


def test_glmm_refusals() -> None:
    with pytest.raises(EvidenceError, match="not available with --method GLMM"):
        pool(pritz("PLO"), "GLMM", "knha")
    with pytest.raises(EvidenceError, match="for --measure PLO"):
        pool(pritz("PR"), "GLMM")
    from myositis.evidence.effects import proportions

    all_events = proportions(["a", "b"], [5, 7], [5, 7], "PLO")
    with pytest.raises(EvidenceError, match="no maximum"):
        pool(all_events, "GLMM")


def test_meta_regression_refusals(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "m.csv",
        ["study", "yi", "vi", "x"],
        [["a", 0.1, 0.02, 1], ["b", 0.3, 0.01, 1], ["c", 0.2, 0.03, 1]],
    )
    effects = read_studies(path, "GEN", moderator="x")
    with pytest.raises(EvidenceError, match="does not vary"):
        meta_regression(effects, "x")
    with pytest.raises(EvidenceError, match="not GLMM"):
        meta_regression(effects, "x", method="GLMM")


def test_subgroup_errors_name_the_subgroup() -> None:
    from myositis.evidence.pooling import subgroups
    from myositis.evidence.table import load_jak_dm_table, response_effects

    effects = response_effects(load_jak_dm_table())
    with pytest.raises(EvidenceError, match="subgroup 'tofacitinib' \\(drug\\): .*no maximum"):
        subgroups(effects, "drug", method="GLMM")
