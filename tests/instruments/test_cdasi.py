"""CDASI v2 scoring.

Source of every rule: Yassaee et al., Br J Dermatol 2010;162:669-673 (PMC2852630), as
transcribed in instruments.md section 1 (item ranges, Gottron's erythema counted twice with
papules, activity 0-100, damage 0-32); severity and MCID from Anyanwu et al., Br J Dermatol
2015;173:969-974 (activity <= 14 mild; improvement of 5 points Stanford, 4 UPenn). The expected
ranges below are transcribed from the reference independently of ``data/cdasi_items.csv``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from myositis.errors import InvalidInputError, MissingColumnError
from myositis.instruments import cdasi
from myositis.instruments.rules import Field

from .conftest import cdasi_visit

# Published per-location items: name -> (domain, maximum); and the four items off the grid.
PER_LOCATION = {
    "erythema": ("activity", 3),
    "scale": ("activity", 2),
    "erosion": ("activity", 1),
    "poikiloderma": ("damage", 1),
    "calcinosis": ("damage", 1),
}
OFF_GRID = {
    "gottron_hands_erythema": ("activity", 3),
    "gottron_hands_papules": ("modifier", 1),
    "gottron_hands_ulceration": ("activity", 1),
    "gottron_hands_damage": ("damage", 2),
    "periungual": ("activity", 2),
    "alopecia": ("activity", 1),
}
PUBLISHED = {
    f"{loc}_{item}": spec for loc in cdasi.LOCATIONS for item, spec in PER_LOCATION.items()
} | OFF_GRID


def _maxima() -> dict[str, Any]:
    return {column: maximum for column, (_, maximum) in PUBLISHED.items()}


def _rule(visit: dict[str, int]) -> tuple[int, int]:
    """The published formulas written out in plain Python (test oracle)."""
    activity = sum(v for c, v in visit.items() if PUBLISHED[c][0] == "activity")
    activity += visit["gottron_hands_erythema"] * visit["gottron_hands_papules"]
    damage = sum(v for c, v in visit.items() if PUBLISHED[c][0] == "damage")
    return activity, damage


def test_the_package_reads_the_published_items_and_ranges() -> None:
    assert {f.column: int(f.maximum or 0) for f in cdasi.ITEMS} == _maxima()
    assert all(f.minimum == 0 and f.integer for f in cdasi.ITEMS)
    assert len(cdasi.LOCATIONS) == 15


def test_every_item_at_its_maximum_gives_100_32_132() -> None:
    """The maxima 100 and 32 follow from the item ranges (instruments.md section 1)."""
    result = cdasi.score_one(_maxima())
    assert (result.activity, result.damage, result.total) == (100, 32, 132)
    assert result.severity == "moderate-severe"


def test_every_item_at_zero_gives_zero() -> None:
    result = cdasi.score_one(cdasi_visit())
    assert (result.activity, result.damage, result.total, result.missing) == (0, 0, 0, ())


@pytest.mark.parametrize(("erythema", "papules", "activity"), [(3, 0, 3), (3, 1, 6), (0, 1, 0)])
def test_gottron_erythema_counts_once_without_papules_and_twice_with(
    erythema: int, papules: int, activity: int
) -> None:
    """Yassaee 2010: Gottron's erythema on the hands doubles when papules are present.
    Kills the known wrong implementation that scores erythema only when papules are present
    (it would give 0 for 3 without papules)."""
    visit = cdasi_visit(gottron_hands_erythema=erythema, gottron_hands_papules=papules)
    assert cdasi.score_one(visit).activity == activity


# Cases with their published result (instruments.md section 1, Yassaee 2010): (visit, activity,
# damage), or None where the visit must be rejected. Every scorer below is run on all of them.
REJECTED = None
KNOWN_CASES: list[tuple[str, dict[str, Any], tuple[int, int] | None]] = [
    ("all items 0", {}, (0, 0)),
    ("Gottron's erythema 3 without papules", {"gottron_hands_erythema": 3}, (3, 0)),
    ("Gottron's erythema 3 with papules",
     {"gottron_hands_erythema": 3, "gottron_hands_papules": 1}, (6, 0)),
    ("papules without erythema", {"gottron_hands_papules": 1}, (0, 0)),
    ("every item at its published maximum", _maxima(), (100, 32)),
    ("poikiloderma 2 is outside 0-1", {"malar_poikiloderma": 2}, REJECTED),
    ("poikiloderma 1 everywhere",
     {f"{loc}_poikiloderma": 1 for loc in cdasi.LOCATIONS}, (0, 15)),
]  # fmt: skip

Scorer = Callable[[dict[str, Any]], tuple[int | None, int | None] | None]


def _correct(visit: dict[str, Any]) -> tuple[int | None, int | None] | None:
    try:
        result = cdasi.score_one(visit)
    except InvalidInputError:
        return REJECTED
    return result.activity, result.damage


def _erythema_only_with_papules(visit: dict[str, Any]) -> tuple[int | None, int | None] | None:
    """Known wrong public implementation 1 (instruments.md section 1): Gottron's erythema on the
    hands counted (twice) only when papules are present, never once without them."""
    if not visit.get("gottron_hands_papules"):
        visit = visit | {"gottron_hands_erythema": 0}
    return _correct(visit)


class _PoikilodermaZeroToTwo(cdasi.CDASI):
    """Known wrong public implementation 2 (instruments.md section 1): poikiloderma scored 0-2."""

    def fields(self, columns: Sequence[str]) -> list[Field]:
        return [
            replace(f, maximum=Decimal(2)) if f.column.endswith("_poikiloderma") else f
            for f in super().fields(columns)
        ]


def _poikiloderma_zero_to_two(visit: dict[str, Any]) -> tuple[int | None, int | None] | None:
    try:
        out = _PoikilodermaZeroToTwo().evaluate(visit)
    except InvalidInputError:
        return REJECTED
    return out["cdasi_activity"], out["cdasi_damage"]


def _wrong_answers(scorer: Scorer) -> list[str]:
    return [
        name for name, items, expected in KNOWN_CASES if scorer(cdasi_visit(**items)) != expected
    ]


def test_the_package_gets_every_known_case_right() -> None:
    assert _wrong_answers(_correct) == []


@pytest.mark.parametrize(
    ("wrong", "caught_by"),
    [
        (_erythema_only_with_papules, ["Gottron's erythema 3 without papules"]),
        (_poikiloderma_zero_to_two, ["poikiloderma 2 is outside 0-1"]),
    ],
)
def test_the_known_wrong_implementations_fail_these_cases(
    wrong: Scorer, caught_by: list[str]
) -> None:
    """Both wrong public implementations named in instruments.md section 1, built here on top
    of the package's own scorer, disagree with the published result on the same cases that the
    package passes (so the cases can fail)."""
    assert _wrong_answers(wrong) == caught_by


def test_poikiloderma_is_zero_or_one_so_damage_never_exceeds_32() -> None:
    """Kills the known wrong implementation scoring poikiloderma 0-2 (damage could reach 47)."""
    with pytest.raises(InvalidInputError) as caught:
        cdasi.score_one(cdasi_visit(malar_poikiloderma=2))
    (problem,) = caught.value.problems
    assert (problem.column, problem.value) == ("malar_poikiloderma", "2")
    assert "a whole number from 0 to 1" in problem.reason
    assert cdasi.score_one(cdasi_visit(malar_poikiloderma=1)).damage == 1


def test_hand_computed_visit() -> None:
    """Activity: scalp 2+1, malar 2, periorbital 2, neck V 2, arm 1, hands dorsum 1,
    Gottron's hands erythema 2 with papules (x2 = 4), periungual 1, alopecia 1 = 17;
    damage: neck V poikiloderma 1, upper back poikiloderma 1, Gottron's damage 1 = 3."""
    visit = cdasi_visit(
        scalp_erythema=2, scalp_scale=1, malar_erythema=2, periorbital_erythema=2,
        neck_v_erythema=2, arm_erythema=1, hands_dorsum_erythema=1,
        gottron_hands_erythema=2, gottron_hands_papules=1, periungual=1, alopecia=1,
        neck_v_poikiloderma=1, upper_back_poikiloderma=1, gottron_hands_damage=1,
    )  # fmt: skip
    result = cdasi.score_one(visit)
    assert (result.activity, result.damage, result.total) == (17, 3, 20)


@pytest.mark.parametrize(("activity", "severity"), [(14, "mild"), (15, "moderate-severe")])
def test_severity_cut_off_14_is_mild(activity: int, severity: str) -> None:
    """Anyanwu 2015: activity <= 14 is mild (Stanford)."""
    visit = cdasi_visit(scalp_erythema=3, malar_erythema=3, periorbital_erythema=3,
                        neck_v_erythema=3, arm_erythema=activity - 12)  # fmt: skip
    assert cdasi.score_one(visit).severity == severity


def test_severity_cut_off_is_configurable() -> None:
    """UPenn put the line at 19 (Anyanwu 2015); a study may choose it."""
    visit = cdasi_visit(
        scalp_erythema=3,
        malar_erythema=3,
        periorbital_erythema=3,
        neck_v_erythema=3,
        arm_erythema=3,
    )  # fmt: skip  (activity 15)
    assert cdasi.score_one(visit, severity_cutoff=19).severity == "mild"


@pytest.mark.parametrize(
    ("baseline", "followup", "mcid", "expected"),
    [
        (20, 15, 5, True),
        (20, 16, 5, False),
        (20, 16, 4, True),
        (20, 17, 4, False),
        (10, 25, 5, False),
    ],
)
def test_clinically_meaningful_improvement(
    baseline: int, followup: int, mcid: int, expected: bool
) -> None:
    """Anyanwu 2015: a fall of >= 5 (Stanford) or >= 4 (UPenn) activity points."""
    assert cdasi.is_response(baseline, followup, mcid) is expected


@pytest.mark.parametrize(
    ("baseline", "followup", "mcid", "percent", "expected"),
    [
        (20, 16, 4.5, None, False),  # a threshold of 4.5 is not truncated to 4
        (20, 15, 4.5, None, True),
        (20, 16, 5, 20, True),  # relative: a fall of 4 is 20 % of 20, inclusive
        (20, 17, 5, 20, False),  # 15 %
        (30, 24, 5, 20, True),  # 6 = 20 % of 30 (the absolute MCID is not used)
        (0, 0, 5, 20, False),  # a baseline of 0 cannot improve
    ],
)
def test_response_threshold_is_exact_and_may_be_relative(
    baseline: int, followup: int, mcid: float, percent: float | None, expected: bool
) -> None:
    """The study specification's response rule (absolute MCID, or percent of baseline) is the
    instrument's one definition; the cohort builder applies the same expression in the engine
    (tests/cohort/test_builder.py)."""
    assert cdasi.is_response(baseline, followup, mcid, percent=percent) is expected


@pytest.mark.parametrize(("baseline", "followup"), [(None, 10), (20, None)])
def test_a_missing_activity_score_gives_no_response_answer_not_false(
    baseline: int | None, followup: int | None
) -> None:
    """A blank score is missing, never a non-response (instruments.md section 1)."""
    assert cdasi.is_response(baseline, followup) is None


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_a_blank_activity_item_makes_activity_missing_not_zero(blank: Any) -> None:
    result = cdasi.score_one(cdasi_visit(scalp_erythema=blank, neck_v_poikiloderma=1))
    assert (result.activity, result.total, result.severity) == (None, None, None)
    assert result.damage == 1  # the other score is still computed
    assert result.missing == ("scalp_erythema",)


def test_a_blank_papules_item_makes_activity_missing() -> None:
    """Without the modifier the Gottron's erythema weight is unknown."""
    result = cdasi.score_one(cdasi_visit(gottron_hands_erythema=2, gottron_hands_papules=None))
    assert result.activity is None
    assert result.missing == ("gottron_hands_papules",)


def test_a_blank_damage_item_makes_damage_missing() -> None:
    result = cdasi.score_one(cdasi_visit(scalp_erythema=2, arm_calcinosis=None))
    assert (result.activity, result.damage, result.total) == (2, None, None)
    assert result.missing == ("arm_calcinosis",)


@pytest.mark.parametrize(
    ("column", "value", "fragment"),
    [
        ("scalp_erythema", 4, "is out of range; allowed: a whole number from 0 to 3"),
        ("scalp_erythema", -1, "is out of range; allowed: a whole number from 0 to 3"),
        ("arm_scale", 1.5, "is not a whole number; allowed: a whole number from 0 to 2"),
        ("periungual", "x", "is not a number"),
        ("alopecia", "NA", "is not a number"),
        ("gottron_hands_damage", 3, "a whole number from 0 to 2"),
    ],
)
def test_bad_items_name_row_column_value_and_range(column: str, value: Any, fragment: str) -> None:
    """instruments.md section 6."""
    with pytest.raises(InvalidInputError) as caught:
        cdasi.score_one(cdasi_visit(**{column: value}))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.value) == (1, column, str(value))
    assert fragment in problem.reason


def test_a_missing_item_column_is_named() -> None:
    visit = cdasi_visit()
    del visit["alopecia"], visit["legs_feet_scale"]
    with pytest.raises(MissingColumnError, match="legs_feet_scale, alopecia"):
        cdasi.score_one(visit)


items = st.fixed_dictionaries(
    {column: st.integers(min_value=0, max_value=maximum) for column, maximum in _maxima().items()}
)


@settings(max_examples=40, deadline=None)
@given(st.lists(items, min_size=1, max_size=25))
def test_scores_follow_the_rule_and_never_exceed_100_and_32(visits: list[dict[str, int]]) -> None:
    """Property (Hypothesis): activity 0-100, damage 0-32, equal to the published formulas."""
    arrow = pa.Table.from_pylist(visits)
    rows = cdasi.scores(ibis.memtable(arrow)).to_pyarrow().to_pylist()
    for visit, out in zip(visits, rows, strict=True):
        activity, damage = _rule(visit)
        assert (out["cdasi_activity"], out["cdasi_damage"]) == (activity, damage)
        assert 0 <= out["cdasi_activity"] <= 100
        assert 0 <= out["cdasi_damage"] <= 32
        assert out["cdasi_total"] == activity + damage


def _activity_of_rows(visits: list[dict[str, Any]], drop: Sequence[str] = ()) -> list[Any]:
    """``activity_of_rows`` of each visit written as long rows (one row per item, as the
    registry's ``assessment`` table holds them); items named in ``drop`` have no row."""
    rows = [
        {"assessment_id": n, "measure": column, "value": value}
        for n, visit in enumerate(visits)
        for column, value in visit.items()
        if column not in drop
    ]
    schema = pa.schema([("assessment_id", pa.int64()), ("measure", pa.string()),
                        ("value", pa.float64())])  # fmt: skip
    t = ibis.memtable(pa.Table.from_pylist(rows, schema=schema))
    scored = t.group_by("assessment_id").aggregate(a=cdasi.activity_of_rows(t.measure, t.value))
    by_id = {r["assessment_id"]: r["a"] for r in scored.to_pyarrow().to_pylist()}
    return [by_id.get(n) for n in range(len(visits))]


def test_activity_of_rows_gives_the_activity_of_scores_from_long_rows() -> None:
    """The cohort's scoring (``activity_of_rows``, an administration's item rows) and the
    instrument's ``scores`` (one column per item) read the one rule: the hand-computed visit
    above (17), all zero (0), all at their maxima (100), a blank activity item (missing), a
    blank papules item (missing) and a blank damage item (activity still 2: damage is not
    read); an activity item without a row is blank too (missing)."""
    visits = [
        cdasi_visit(
            scalp_erythema=2, scalp_scale=1, malar_erythema=2, periorbital_erythema=2,
            neck_v_erythema=2, arm_erythema=1, hands_dorsum_erythema=1,
            gottron_hands_erythema=2, gottron_hands_papules=1, periungual=1, alopecia=1,
        ),
        cdasi_visit(),
        _maxima(),
        cdasi_visit(scalp_erythema=None),
        cdasi_visit(gottron_hands_erythema=2, gottron_hands_papules=None),
        cdasi_visit(scalp_erythema=2, arm_calcinosis=None),
    ]  # fmt: skip
    schema = pa.schema([(f.column, pa.int64()) for f in cdasi.ITEMS])
    full = cdasi.scores(ibis.memtable(pa.Table.from_pylist(visits, schema=schema)))
    expected = [17, 0, 100, None, None, 2]
    assert full.to_pyarrow().column("cdasi_activity").to_pylist() == expected
    assert _activity_of_rows(visits) == expected
    assert _activity_of_rows(visits[:3], drop=["alopecia"]) == [None, None, None]
    assert _activity_of_rows(visits[:3], drop=["arm_poikiloderma"]) == [17, 0, 100]


@st.composite
def blank_or_item(draw: st.DrawFn) -> dict[str, Any]:
    """A visit with every item valued, then none, one or two of them blank (None)."""
    visit: dict[str, Any] = draw(items)
    for column in draw(st.lists(st.sampled_from(sorted(visit)), max_size=2)):
        visit[column] = None
    return visit


@settings(max_examples=30, deadline=None)
@given(st.lists(blank_or_item(), min_size=1, max_size=12))
def test_activity_of_rows_equals_the_rule_on_any_visit(visits: list[dict[str, Any]]) -> None:
    """Property (Hypothesis): from long rows, the activity is the published formula (``_rule``)
    when every activity item and papules has a value, else missing."""
    needed = [c for c, (domain, _) in PUBLISHED.items() if domain == "activity"]
    needed.append("gottron_hands_papules")
    expected = [
        _rule({c: v or 0 for c, v in visit.items()})[0]
        if all(visit[c] is not None for c in needed)
        else None
        for visit in visits
    ]
    assert _activity_of_rows(visits) == expected
