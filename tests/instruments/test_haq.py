"""HAQ-DI and CHAQ disability index.

Sources of the rules tested here (instruments.md section 5):

- Fries JF et al., Arthritis Rheum 1980;23:137-145 and the Stanford HAQ-DI scoring
  instructions (Stanford 20-item disability scale): 8 categories, items 0-3, a category scores
  its highest item, aids/devices or help raise a category to 2, index = sum of category scores
  / number of categories answered (range 0-3). The same rules as restated by the NINDS CDE
  CHAQ page and the CLINHAQ (Wolfe) scoring sheet.
- The minimum of 6 answered categories and "aid/help does not answer a category on its own":
  the RheMIT/DRFZ implementation notes of the Stanford 20-item scale (itc-ms.de, "Hinweis zum
  HAQ"); instruments.md marks the minimum as an open reading, so it is configurable.
- CHAQ: Singh G et al., Arthritis Rheum 1994;37:1761-1769: 30 items in the same 8 categories,
  per category 4, 2, 3, 2, 5, 4, 5, 5 (item list as reproduced by rheumguide.ca), "not
  applicable" answers do not count.

Expected values are hand-computed from these rules in each test (or, for the properties, by
an independent exact computation with ``fractions.Fraction``). Bad input: section 6.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from myositis.errors import InvalidInputError, MissingColumnError
from myositis.instruments import haq

CATEGORIES = (
    "dressing_grooming",
    "arising",
    "eating",
    "walking",
    "hygiene",
    "reach",
    "grip",
    "activities",
)
# Items per category, transcribed from the forms (Stanford HAQ-DI; Singh 1994 CHAQ).
COUNTS = {
    "haq-di": (2, 2, 3, 2, 3, 2, 3, 3),
    "chaq": (4, 2, 3, 2, 5, 4, 5, 5),
}


def item_columns(form: str) -> dict[str, tuple[str, ...]]:
    return {
        c: tuple(f"{c}_{n}" for n in range(1, k + 1))
        for c, k in zip(CATEGORIES, COUNTS[form], strict=True)
    }


def questionnaire(form: str = "haq-di", answer: int | None = 0, **overrides: Any) -> dict[str, Any]:
    """Every item answered ``answer``, then the given columns."""
    record: dict[str, Any] = {
        column: answer for columns in item_columns(form).values() for column in columns
    }
    record.update(overrides)
    return record


def with_categories(scores: dict[str, int | None], form: str = "haq-di") -> dict[str, Any]:
    """A questionnaire whose first item in each category is the given score, others 0 (or all
    blank for None)."""
    record: dict[str, Any] = {}
    for category, columns in item_columns(form).items():
        score = scores.get(category, 0)
        for i, column in enumerate(columns):
            record[column] = None if score is None else (score if i == 0 else 0)
    return record


def test_the_package_reads_the_published_item_counts() -> None:
    for form, counts in COUNTS.items():
        assert tuple(len(f) for f in haq.ITEMS[form].values()) == counts
    assert sum(COUNTS["haq-di"]) == 20
    assert sum(COUNTS["chaq"]) == 30
    assert haq.CATEGORIES == CATEGORIES


def test_nine_eighths_is_exactly_1_125() -> None:
    """Category scores 3, 2, 1, 1, 1, 1, 0, 0: index = 9 / 8 = 1.125 exactly."""
    scores = dict(zip(CATEGORIES, (3, 2, 1, 1, 1, 1, 0, 0), strict=True))
    result = haq.score_one(with_categories(scores))
    assert result.index == 1.125
    assert result.categories == scores
    assert result.categories_answered == 8


def test_hand_computed_questionnaire_with_aids_and_help() -> None:
    """Dressing items 1, 0 + dressing aid -> 2; arising 0, 1 -> 1; eating 2, 0, 1 -> 2;
    walking 0, 0 + help -> 2; hygiene 1, 3, 0 -> 3; reach blank, blank -> unanswered
    (its aid does not answer it); grip 0, 0, 0 -> 0; activities 1, 1, 2 -> 2.
    Index = (2 + 1 + 2 + 2 + 3 + 0 + 2) / 7 = 12 / 7."""
    answers = {
        "dressing_grooming_1": 1,
        "dressing_grooming_2": 0,
        "dressing_grooming_aid": 1,
        "arising_1": 0,
        "arising_2": 1,
        "eating_1": 2,
        "eating_2": 0,
        "eating_3": 1,
        "walking_1": 0,
        "walking_2": 0,
        "walking_help": 1,
        "hygiene_1": 1,
        "hygiene_2": 3,
        "hygiene_3": 0,
        "reach_1": None,
        "reach_2": "",
        "reach_aid": 1,
        "grip_1": 0,
        "grip_2": 0,
        "grip_3": 0,
        "activities_1": 1,
        "activities_2": 1,
        "activities_3": 2,
    }
    result = haq.score_one(answers)
    assert result.categories == {
        "dressing_grooming": 2,
        "arising": 1,
        "eating": 2,
        "walking": 2,
        "hygiene": 3,
        "reach": None,
        "grip": 0,
        "activities": 2,
    }
    assert result.categories_answered == 7
    assert result.index == 12 / 7
    assert result.missing == ("reach",)
    assert result.form == "haq-di"


@pytest.mark.parametrize("form", ["haq-di", "chaq"])
@pytest.mark.parametrize("category", CATEGORIES)
def test_each_category_scores_its_highest_item(form: str, category: str) -> None:
    """Stanford: the highest score of any component question is the category score; each
    item position in turn holds the 3, the others 1 (so the index is (3 + 7) / 8)."""
    for column in item_columns(form)[category]:
        answers = questionnaire(form, answer=1, **{column: 3})
        result = haq.score_one(answers, form=form)
        assert result.categories[category] == 3
        assert result.index == 10 / 8


@pytest.mark.parametrize("flag", ["aid", "help"])
@pytest.mark.parametrize(("worst", "expected"), [(0, 2), (1, 2), (2, 2), (3, 3)])
def test_aid_or_help_raises_a_category_to_at_least_2(flag: str, worst: int, expected: int) -> None:
    """Stanford: aids/devices or help set a category scored 0 or 1 to 2; 2 and 3 stay."""
    answers = questionnaire(eating_2=worst, **{f"eating_{flag}": 1})
    assert haq.score_one(answers).categories["eating"] == expected
    assert haq.score_one(questionnaire(eating_2=worst)).categories["eating"] == worst


def test_aid_and_help_together_still_give_2_not_3() -> None:
    answers = questionnaire(grip_aid=1, grip_help=1)
    assert haq.score_one(answers).categories["grip"] == 2


@pytest.mark.parametrize("value", [0, None, ""])
def test_unchecked_aid_or_help_changes_nothing(value: Any) -> None:
    answers = questionnaire(walking_1=1, walking_aid=value, walking_help=value)
    assert haq.score_one(answers).categories["walking"] == 1


def test_aid_or_help_alone_does_not_answer_a_category() -> None:
    """RheMIT/DRFZ (Stanford 20-item): the raise needs at least one answered item; otherwise
    the category counts as missing."""
    answers = questionnaire(walking_1=None, walking_2=None, walking_aid=1, walking_help=1)
    result = haq.score_one(answers)
    assert result.categories["walking"] is None
    assert result.categories_answered == 7
    assert result.missing == ("walking",)
    assert result.index == 0.0


def test_a_blank_item_is_skipped_within_its_category() -> None:
    """The remaining answered items determine the category score."""
    answers = questionnaire(hygiene_1=None, hygiene_2=2)
    result = haq.score_one(answers)
    assert result.categories["hygiene"] == 2
    assert result.categories_answered == 8
    assert result.missing == ()


@pytest.mark.parametrize(
    ("minimum", "answered", "expected"),
    [
        (6, 6, Fraction(6, 6)),  # at the limit: computed
        (6, 5, None),  # one below: missing
        (8, 8, Fraction(8, 8)),
        (8, 7, None),
        (5, 5, Fraction(5, 5)),
        (5, 4, None),
        (1, 1, Fraction(1, 1)),
        (1, 0, None),
    ],
)
def test_min_categories_on_both_sides_of_the_limit(
    minimum: int, answered: int, expected: Fraction | None
) -> None:
    """Default 6 of 8 (open reading, configurable): the index needs >= minimum answered."""
    scores: dict[str, int | None] = {
        c: (1 if i < answered else None) for i, c in enumerate(CATEGORIES)
    }
    result = haq.score_one(with_categories(scores), min_categories=minimum)
    assert result.categories_answered == answered
    assert result.index == (None if expected is None else float(expected))
    assert result.missing == CATEGORIES[answered:]


def test_default_minimum_is_six() -> None:
    five = {c: (None if i >= 5 else 2) for i, c in enumerate(CATEGORIES)}
    six = {c: (None if i >= 6 else 2) for i, c in enumerate(CATEGORIES)}
    assert haq.score_one(with_categories(five)).index is None
    assert haq.score_one(with_categories(six)).index == 2.0


def test_chaq_not_applicable_items_are_blank_and_skipped() -> None:
    """Singh 1994: "not applicable" items do not count. A toddler: no cutting fingernails
    (dressing_grooming_4), no bike (activities_3) -> those categories use their other items.
    Scores: dressing 1, arising 0, eating 1, walking 2, hygiene 0, reach 0, grip 1,
    activities 1 -> 6 / 8 = 0.75."""
    answers = questionnaire(
        "chaq",
        dressing_grooming_1=1,
        dressing_grooming_4=None,
        eating_3=1,
        walking_2=2,
        grip_5=1,
        activities_3=None,
        activities_5=1,
    )
    result = haq.score_one(answers, form="chaq")
    assert result.index == 0.75
    assert result.form == "chaq"
    assert result.categories_answered == 8


def test_chaq_category_all_not_applicable_is_unanswered() -> None:
    blanks = {f"activities_{n}": None for n in range(1, 6)}
    result = haq.score_one(questionnaire("chaq", answer=3, **blanks), form="chaq")
    assert result.categories["activities"] is None
    assert result.index == 3.0
    assert result.missing == ("activities",)


def test_chaq_needs_its_30_item_columns() -> None:
    answers = questionnaire("haq-di")
    with pytest.raises(MissingColumnError) as caught:
        haq.score_one(answers, form="chaq")
    message = str(caught.value)
    assert "dressing_grooming_3" in message
    assert "activities_5" in message
    assert "eating_1" not in message


def test_extra_chaq_columns_pass_through_a_haq_di_run() -> None:
    """instruments.md section 6: unknown extra columns pass through unchanged."""
    row = questionnaire("chaq") | {"patient": "p7"}
    table = ibis.memtable({k: [None if v is None else str(v)] for k, v in row.items()})
    out = haq.scores(table).to_pyarrow().to_pylist()[0]
    assert out["patient"] == "p7"
    assert out["dressing_grooming_4"] == "0"
    assert out["haq_index"] == 0.0
    assert out["haq_form"] == "haq-di"


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("eating_3", 4, "is out of range; allowed: a whole number from 0 to 3"),
        ("grip_1", -1, "is out of range; allowed: a whole number from 0 to 3"),
        ("walking_2", "1.5", "is not a whole number; allowed: a whole number from 0 to 3"),
        (
            "reach_1",
            "x",
            "is not a number (leave the cell empty if not assessed; at most 12 digits "
            "before the decimal point); allowed: "
            "a whole number from 0 to 3",
        ),
        ("hygiene_aid", 2, "is out of range; allowed: a whole number from 0 to 1"),
        (
            "arising_help",
            "yes",
            "is not a number (leave the cell empty if not assessed; at most 12 digits "
            "before the decimal point); allowed: "
            "a whole number from 0 to 1",
        ),
    ],
)
def test_bad_values_name_row_column_value_and_range(column: str, value: Any, fragment: str) -> None:
    """instruments.md section 6: row, column, offending value and the allowed range."""
    with pytest.raises(InvalidInputError) as caught:
        haq.score_one(questionnaire(**{column: value}))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (1, column, str(value))
    assert fragment in problem.reason
    assert f"row 1, column '{column}': value '{value}'" in str(caught.value)


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"form": "mhaq"}, "form must be 'haq-di' or 'chaq'"),
        ({"min_categories": 0}, "min_categories must be from 1 to 8"),
        ({"min_categories": 9}, "min_categories must be from 1 to 8"),
    ],
)
def test_invalid_options_are_refused(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        haq.score_one(questionnaire(), **options)


# -- properties ------------------------------------------------------------------------------

answer_or_blank = st.one_of(st.none(), st.integers(min_value=0, max_value=3))
flag_or_blank = st.one_of(st.none(), st.integers(min_value=0, max_value=1))


def answers_for(form: str) -> st.SearchStrategy[dict[str, Any]]:
    columns = [c for cols in item_columns(form).values() for c in cols]
    flags = [f"{c}_{kind}" for c in CATEGORIES for kind in ("aid", "help")]
    return st.fixed_dictionaries(
        {c: answer_or_blank for c in columns} | {c: flag_or_blank for c in flags}
    )


def expected_index(row: dict[str, Any], form: str, minimum: int) -> Fraction | None:
    """The rule computed independently, in exact rational arithmetic."""
    scores = []
    for category, columns in item_columns(form).items():
        answered = [row[c] for c in columns if row[c] is not None]
        if not answered:
            continue
        worst = max(answered)
        if row[f"{category}_aid"] == 1 or row[f"{category}_help"] == 1:
            worst = max(worst, 2)
        scores.append(worst)
    return Fraction(sum(scores), len(scores)) if len(scores) >= minimum else None


def score_rows(rows: list[dict[str, Any]], form: str, minimum: int) -> list[dict[str, Any]]:
    """Score many questionnaires at once through the batch expressions (DuckDB)."""
    columns = list(rows[0])
    arrow = pa.Table.from_pylist(
        [{c: None if r[c] is None else str(r[c]) for c in columns} for r in rows],
        schema=pa.schema([(c, pa.string()) for c in columns]),
    )
    return haq.scores(ibis.memtable(arrow), form, minimum).to_pyarrow().to_pylist()


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["haq-di", "chaq"]).flatmap(
        lambda form: st.tuples(
            st.just(form),
            st.lists(answers_for(form), min_size=1, max_size=15),
            st.integers(min_value=1, max_value=8),
        )
    )
)
def test_index_is_the_exact_mean_within_0_and_3(
    case: tuple[str, list[dict[str, Any]], int],
) -> None:
    """Property: index in [0, 3] and equal to the correctly rounded exact mean."""
    form, rows, minimum = case
    for row, out in zip(rows, score_rows(rows, form, minimum), strict=True):
        expected = expected_index(row, form, minimum)
        if expected is None:
            assert out["haq_index"] is None
        else:
            assert out["haq_index"] == float(expected)
            assert 0.0 <= out["haq_index"] <= 3.0


@settings(max_examples=40, deadline=None)
@given(
    answers_for("haq-di"),
    st.sampled_from(
        [c for cols in item_columns("haq-di").values() for c in cols]
        + [f"{c}_{k}" for c in CATEGORIES for k in ("aid", "help")]
    ),
)
def test_raising_any_answer_never_lowers_the_index(row: dict[str, Any], column: str) -> None:
    """Property: for the same answered items, a worse answer or a checked aid/help never
    lowers a category score or the index."""
    if row[column] is None:
        row[column] = 0
    raised = dict(row)
    raised[column] = 1 if column.endswith(("_aid", "_help")) else min(3, row[column] + 1)
    before, after = score_rows([row, raised], "haq-di", 1)
    for category in CATEGORIES:
        key = f"{category}_score"
        if before[key] is not None:
            assert after[key] >= before[key]
    if before["haq_index"] is not None:
        assert after["haq_index"] >= before["haq_index"]
