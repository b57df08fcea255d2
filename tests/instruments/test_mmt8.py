"""MMT-8 unilateral and bilateral totals.

Source of every rule tested here: Rider LG et al., Validation of manual muscle testing and a
subset of eight muscles (MMT-8), Arthritis Care Res 2010;62:465-472, and IMACS Form 04 (as
summarised in instruments.md section 4): eight groups on the Kendall 0-10 scale, neck flexors
tested once; unilateral total 0-80 from the right side unless untestable; bilateral total
0-150 from both sides of the seven paired groups plus neck flexors. Expected totals are
hand-computed from these rules in each test; the group list is transcribed here independently
of ``data/mmt8_groups.csv``. Bad input: instruments.md section 6.
"""

from __future__ import annotations

from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from myositis.errors import InvalidInputError, MissingColumnError
from myositis.instruments import mmt8
from myositis.instruments.engine import ROW

# Rider 2010 / IMACS Form 04: the seven paired groups, in form order.
PAIRED = (
    "deltoid",
    "biceps",
    "gluteus_maximus",
    "gluteus_medius",
    "quadriceps",
    "wrist_extensors",
    "ankle_dorsiflexors",
)
COLUMNS = ("neck_flexors", *(f"{g}_{side}" for g in PAIRED for side in ("right", "left")))


def visit(grade: int = 10, **overrides: Any) -> dict[str, Any]:
    """A visit with every grade ``grade``, then the given grades."""
    record: dict[str, Any] = {c: grade for c in COLUMNS}
    record.update(overrides)
    return record


def score_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Score many visits at once through the batch expressions (DuckDB)."""
    arrow = pa.Table.from_pylist(
        [{c: None if r.get(c) is None else str(r[c]) for c in COLUMNS} for r in rows],
        schema=pa.schema([(c, pa.string()) for c in COLUMNS]),
    )
    return mmt8.scores(ibis.memtable(arrow)).to_pyarrow().to_pylist()


def test_the_package_reads_the_published_groups() -> None:
    assert mmt8.COLUMNS == COLUMNS
    assert len(mmt8.GROUPS) == 8


@pytest.mark.parametrize(("grade", "unilateral", "bilateral"), [(10, 80, 150), (0, 0, 0)])
def test_range_ends(grade: int, unilateral: int, bilateral: int) -> None:
    """Rider 2010: unilateral 0-80, bilateral 0-150."""
    result = mmt8.score_one(visit(grade))
    assert (result.unilateral, result.bilateral) == (unilateral, bilateral)
    assert result.missing == ()
    assert set(result.sides.values()) == {"right"}


def test_hand_computed_visit() -> None:
    """Unilateral = neck 7 + right sides 8+9+6+7+9+10+10 = 66; bilateral = 7 + (8+9) + (9+9)
    + (6+5) + (7+7) + (9+8) + (10+10) + (10+9) = 123."""
    grades = {
        "neck_flexors": 7,
        "deltoid_right": 8,
        "deltoid_left": 9,
        "biceps_right": 9,
        "biceps_left": 9,
        "gluteus_maximus_right": 6,
        "gluteus_maximus_left": 5,
        "gluteus_medius_right": 7,
        "gluteus_medius_left": 7,
        "quadriceps_right": 9,
        "quadriceps_left": 8,
        "wrist_extensors_right": 10,
        "wrist_extensors_left": 10,
        "ankle_dorsiflexors_right": 10,
        "ankle_dorsiflexors_left": 9,
    }
    result = mmt8.score_one(grades)
    assert result.unilateral == 66
    assert result.bilateral == 123


def test_left_side_is_used_when_the_right_is_untestable() -> None:
    """'Right side unless untestable': blank right deltoid -> left deltoid (6) counts."""
    result = mmt8.score_one(visit(deltoid_right=None, deltoid_left=6))
    assert result.unilateral == 80 - 10 + 6
    assert result.sides["deltoid"] == "left"
    assert result.sides["biceps"] == "right"
    assert result.bilateral is None  # a blank grade is never counted as 0
    assert result.missing == ("deltoid_right",)


def test_left_grade_does_not_count_unilaterally_when_the_right_is_graded() -> None:
    result = mmt8.score_one(visit(quadriceps_left=0))
    assert result.unilateral == 80
    assert result.bilateral == 140


@pytest.mark.parametrize("blank", ["", "  ", None])
def test_a_group_with_neither_side_makes_both_totals_missing(blank: str | None) -> None:
    result = mmt8.score_one(visit(biceps_right=blank, biceps_left=blank))
    assert (result.unilateral, result.bilateral) == (None, None)
    assert result.sides["biceps"] is None
    assert result.missing == ("biceps_right", "biceps_left")


def test_blank_neck_flexors_makes_both_totals_missing() -> None:
    result = mmt8.score_one(visit(neck_flexors=None))
    assert (result.unilateral, result.bilateral) == (None, None)
    assert result.missing == ("neck_flexors",)


def test_blank_left_side_only_leaves_the_unilateral_total() -> None:
    result = mmt8.score_one(visit(ankle_dorsiflexors_left=None))
    assert (result.unilateral, result.bilateral) == (80, None)
    assert result.missing == ("ankle_dorsiflexors_left",)


def test_a_right_side_only_file_scores_the_unilateral_total() -> None:
    grades = {c: 9 for c in COLUMNS if not c.endswith("_left")}
    result = mmt8.score_one(grades)
    assert result.unilateral == 72
    assert result.bilateral is None
    assert result.missing == tuple(f"{g}_left" for g in PAIRED)


def test_a_missing_group_column_is_reported_before_scoring() -> None:
    grades = {c: 9 for c in COLUMNS if not c.startswith(("biceps", "neck"))}
    with pytest.raises(MissingColumnError) as caught:
        mmt8.score_one(grades)
    message = str(caught.value)
    assert "neck_flexors" in message
    assert "biceps_right (or biceps_left)" in message


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("quadriceps_left", 11, "is out of range; allowed: a whole number from 0 to 10"),
        ("neck_flexors", -1, "is out of range; allowed: a whole number from 0 to 10"),
        ("deltoid_right", "7.5", "is not a whole number; allowed: a whole number from 0 to 10"),
        (
            "biceps_right",
            "x",
            "is not a number (leave the cell empty if not assessed; at most 12 digits "
            "before the decimal point); allowed: "
            "a whole number from 0 to 10",
        ),
    ],
)
def test_bad_grades_name_row_column_value_and_range(column: str, value: Any, fragment: str) -> None:
    """instruments.md section 6: row, column, offending value and the allowed range."""
    with pytest.raises(InvalidInputError) as caught:
        mmt8.score_one(visit(**{column: value}))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (1, column, str(value))
    assert fragment in problem.reason
    assert f"row 1, column '{column}': value '{value}'" in str(caught.value)


def test_bad_grade_in_a_file_names_its_data_row() -> None:
    rows = [visit(), visit(), visit(gluteus_medius_right=11)]
    arrow = pa.Table.from_pylist(
        [{ROW: i} | {c: str(v) for c, v in r.items()} for i, r in enumerate(rows, start=1)]
    )
    problems = mmt8.MMT8().problems(ibis.memtable(arrow), source="visits.csv")
    assert [(p.row, p.column, p.value) for p in problems] == [(3, "gluteus_medius_right", "11")]
    assert (
        problems[0]
        .describe()
        .startswith("visits.csv, row 3, column 'gluteus_medius_right': value '11': is out of range")
    )


def test_unknown_columns_pass_through_unchanged() -> None:
    table = ibis.memtable({"patient": ["p1"]} | {c: [5] for c in COLUMNS})
    out = mmt8.scores(table).to_pyarrow().to_pylist()[0]
    assert out["patient"] == "p1"
    assert (out["mmt8_unilateral"], out["mmt8_bilateral"]) == (40, 75)


grade_or_blank = st.one_of(st.none(), st.integers(min_value=0, max_value=10))
visits = st.fixed_dictionaries({c: grade_or_blank for c in COLUMNS})


@settings(max_examples=60, deadline=None)
@given(st.lists(visits, min_size=1, max_size=20))
def test_totals_stay_in_range_and_match_the_rule(rows: list[dict[str, Any]]) -> None:
    """Property: totals within 0-80 and 0-150, equal to the rule computed in plain Python."""
    for row, out in zip(rows, score_rows(rows), strict=True):
        neck = row["neck_flexors"]
        sides = [
            row[f"{g}_right"] if row[f"{g}_right"] is not None else row[f"{g}_left"] for g in PAIRED
        ]
        expected_uni = None if neck is None or None in sides else neck + sum(sides)
        values = [row[c] for c in COLUMNS]
        expected_bi = None if None in values else sum(values)
        assert out["mmt8_unilateral"] == expected_uni
        assert out["mmt8_bilateral"] == expected_bi
        if expected_uni is not None:
            assert 0 <= out["mmt8_unilateral"] <= 80
        if expected_bi is not None:
            assert 0 <= out["mmt8_bilateral"] <= 150


@settings(max_examples=60, deadline=None)
@given(visits, st.sampled_from(COLUMNS), st.integers(min_value=1, max_value=10))
def test_raising_any_grade_never_lowers_a_total(
    row: dict[str, Any], column: str, step: int
) -> None:
    """Property: monotone in every grade (a blank stays blank in both visits)."""
    if row[column] is None:
        row[column] = 0
    raised = dict(row)
    raised[column] = min(10, row[column] + step)
    before, after = score_rows([row, raised])
    for total in ("mmt8_unilateral", "mmt8_bilateral"):
        if before[total] is not None:
            assert after[total] >= before[total]
