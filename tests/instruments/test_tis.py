"""TIS conversion table, band edges and categories.

Source of every expected value: the 2016 ACR/EULAR conversion table, Rider et al., Arthritis
Rheumatol 2017;69:911-923 (PMC5577002) Table 3, identical for adult DM/PM (Aggarwal et al.,
Arthritis Rheumatol 2017;69:898-910); transcribed into ``PUBLISHED`` below independently of the
package's data file. Lower band edges exclusive, upper inclusive (instruments.md section 2).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from myositis.errors import InvalidInputError, MissingColumnError
from myositis.instruments import tis

from .conftest import tis_pair

# measure -> (band upper edges in %, points for worsening..<=e1, (e1,e2], (e2,e3], (e3,e4], >e4)
PUBLISHED: dict[str, tuple[tuple[int, ...], tuple[float, ...]]] = {
    "pga": ((5, 15, 25, 40), (0, 7.5, 15, 17.5, 20)),
    "ptga": ((5, 15, 25, 40), (0, 2.5, 5, 7.5, 10)),
    "haq": ((5, 15, 25, 40), (0, 5, 7.5, 7.5, 10)),
    "enzyme": ((5, 15, 25, 40), (0, 2.5, 5, 7.5, 7.5)),
    "ema": ((5, 15, 25, 40), (0, 7.5, 12.5, 15, 20)),
    "mmt8": ((2, 10, 20, 30), (0, 10, 20, 27.5, 32.5)),
}

# measure -> (baseline column value, scale range); change = pct * range / 100
SCALES: dict[str, tuple[Decimal, Decimal]] = {
    "pga": (Decimal(10), Decimal(10)),
    "ptga": (Decimal(10), Decimal(10)),
    "ema": (Decimal(10), Decimal(10)),
    "haq": (Decimal(3), Decimal(3)),
    "enzyme": (Decimal(1000), Decimal(1000)),  # relative to baseline
    "mmt8": (Decimal(0), Decimal(150)),  # bilateral; higher is better
}


def _pair_with_percent(measure: str, pct: Decimal) -> dict[str, Any]:
    base, scale = SCALES[measure]
    change = pct * scale / 100
    if pct < 0 and measure != "enzyme":  # worsening: start from the other end of the scale
        base = scale - base
    if measure == "mmt8":
        return tis_pair(mmt8_max=150, mmt8_baseline=base, mmt8_followup=str(base + change))
    column = "ck" if measure == "enzyme" else measure
    return tis_pair(**{f"{column}_baseline": str(base), f"{column}_followup": str(base - change)})


def _cases() -> list[tuple[str, Decimal, float]]:
    cases = []
    for measure, (edges, pts) in PUBLISHED.items():
        cases.append((measure, Decimal(-10), pts[0]))  # worsening scores 0, never negative
        cases.append((measure, Decimal(0), pts[0]))
        for i, edge in enumerate(edges):
            e = Decimal(edge)
            cases.append((measure, e - Decimal("0.01"), pts[i]))
            cases.append((measure, e, pts[i]))  # upper edge inclusive
            cases.append((measure, e + Decimal("0.01"), pts[i + 1]))  # lower edge exclusive
        cases.append((measure, Decimal(100), pts[-1]))
    return cases


@pytest.mark.parametrize(("measure", "pct", "expected"), _cases())
def test_every_band_edge_on_both_sides_and_at_the_edge(
    measure: str, pct: Decimal, expected: float
) -> None:
    result = tis.score_one(_pair_with_percent(measure, pct))
    assert result.measures[measure].points == expected
    assert result.measures[measure].percent == pytest.approx(float(pct))
    assert result.total == expected


@pytest.mark.parametrize(
    ("baseline", "followup", "points"),
    [
        ("1.1", "0.6", 0.0),  # exactly 5 %: float arithmetic gives 5.000000000000002
        ("2.2", "0.7", 7.5),  # exactly 15 %: float gives 15.000000000000004
        ("0.3", "0.2", 0.0),  # 1 %
        ("4.1", "1.6", 15.0),  # exactly 25 %
        ("7.3", "3.3", 17.5),  # exactly 40 %
        ("7.3", "3.29", 20.0),  # 40.1 %
    ],
)
def test_decimal_traps_on_the_physician_global(baseline: str, followup: str, points: float) -> None:
    """instruments.md: 1.1 -> 0.6 cm is exactly 5 % and scores 0; 2.2 -> 0.7 is exactly 15 %."""
    result = tis.score_one(tis_pair(pga_baseline=baseline, pga_followup=followup))
    assert result.measures["pga"].points == points


def test_floats_given_from_python_keep_their_decimal_meaning() -> None:
    result = tis.score_one(tis_pair(pga_baseline=1.1, pga_followup=0.6))
    assert result.measures["pga"].points == 0.0
    assert result.measures["pga"].percent == 5.0


def test_mmt8_unilateral_uses_its_maximum_of_80() -> None:
    """Absolute percent of the maximum possible score (NIEHS calculator asks for it)."""
    result = tis.score_one(tis_pair(mmt8_baseline=60, mmt8_followup=68, mmt8_max=80))
    assert result.measures["mmt8"].percent == 10.0
    assert result.measures["mmt8"].points == 10.0  # exactly 10 % is in (2, 10]


def test_most_abnormal_enzyme_is_chosen_by_baseline_over_uln() -> None:
    record = tis_pair(
        ck_baseline=400, ck_followup=400, ck_uln=200,  # 2 x ULN, unchanged
        aldolase_baseline=21, aldolase_followup=7, aldolase_uln=7,  # 3 x ULN, -66.7 %
    )  # fmt: skip
    result = tis.score_one(record)
    assert result.enzyme_used == "aldolase"
    assert result.measures["enzyme"].points == 7.5


def test_enzyme_ties_go_to_ck_first() -> None:
    record = tis_pair(
        ck_baseline=400, ck_followup=400, ck_uln=200,
        aldolase_baseline=14, aldolase_followup=1, aldolase_uln=7,
    )  # fmt: skip
    assert tis.score_one(record).enzyme_used == "ck"


def test_enzyme_ratio_comparison_is_exact() -> None:
    """0.3/0.1 and 3/1 are the same ratio (float division gives 2.9999999999999996 vs 3)."""
    record = tis_pair(
        ck_baseline=3, ck_followup=3, ck_uln=1,
        aldolase_baseline="0.3", aldolase_followup="0.1", aldolase_uln="0.1",
    )  # fmt: skip
    assert tis.score_one(record).enzyme_used == "ck"


@pytest.mark.parametrize(
    ("extra", "percent"),
    [
        # CK 40,000 -> 20,000 U/L: 40 (the top band edge) x 40,000 overflowed DECIMAL(18, 12)
        ({"ck_baseline": 40000, "ck_followup": 20000}, 50.0),
        # CK 5,000 compared with LDH via 5,000 x ULN 250 = 10^6, the other overflow
        (
            {
                "ck_baseline": 5000,
                "ck_followup": 2000,
                "ldh_baseline": 300,
                "ldh_followup": 300,
                "ldh_uln": 250,
            },
            60.0,
        ),  # fmt: skip
        ({"ck_baseline": 999999999999, "ck_followup": 1, "ck_uln": "0.000001"}, 99.9999999999),
    ],
)
def test_very_high_enzymes_score_exactly(extra: dict[str, Any], percent: float) -> None:
    """Enzyme improvement is absolute percent of the baseline (instruments.md section 2): a
    50-60 % fall is 7.5 points in the (40, 100] band, however large the values are."""
    result = tis.score_one(tis_pair(**extra))
    assert result.enzyme_used == "ck"
    assert result.measures["enzyme"].percent == pytest.approx(percent)
    assert result.measures["enzyme"].points == 7.5


@pytest.mark.parametrize(
    ("population", "total", "category"),
    [
        ("adult", 17.5, "none"),
        ("adult", 20.0, "minimal"),
        ("adult", 37.5, "minimal"),
        ("adult", 40.0, "moderate"),
        ("adult", 60.0, "major"),
        ("juvenile", 27.5, "none"),
        ("juvenile", 30.0, "minimal"),
        ("juvenile", 42.5, "minimal"),
        ("juvenile", 45.0, "moderate"),
        ("juvenile", 67.5, "moderate"),
        ("juvenile", 70.0, "major"),
    ],
)
def test_categories_from_published_thresholds(population: str, total: float, category: str) -> None:
    """Adult minimal >= 20, moderate >= 40, major >= 60; juvenile 30, 45, 70 (Rider 2017)."""
    # Build the total from pga (0..20) + ema (0..20) + mmt8 (0..32.5) + others.
    record = _record_with_total(total)
    result = tis.score_one(record, population=population)  # type: ignore[arg-type]
    assert result.total == total
    assert result.category == category


def _record_with_total(total: float) -> dict[str, Any]:
    # Greedy: choose one percent per measure whose published points add up to ``total``.
    remaining = total
    chosen: dict[str, Decimal] = {}
    for measure in ("mmt8", "pga", "ema", "ptga", "haq", "enzyme"):
        edges, pts = PUBLISHED[measure]
        mids = [Decimal(-1)] + [Decimal(e) + Decimal("0.5") for e in edges]
        best = max((p, m) for p, m in zip(pts, mids, strict=True) if p <= remaining)
        chosen[measure] = best[1]
        remaining -= best[0]
    assert remaining == 0
    record = tis_pair(mmt8_max=150, mmt8_baseline=0)
    for measure, pct in chosen.items():
        part = _pair_with_percent(measure, pct)
        record.update({k: v for k, v in part.items() if k.startswith(_prefix(measure))})
    return record


def _prefix(measure: str) -> str:
    return "ck" if measure == "enzyme" else measure


def test_juvenile_cmas_and_chaq_replace_mmt8_and_haq() -> None:
    record = {k: v for k, v in tis_pair().items() if not k.startswith(("mmt8", "haq"))}
    record |= {"cmas_baseline": 26, "cmas_followup": 39, "chaq_baseline": 1, "chaq_followup": 0.4}
    result = tis.score_one(record, population="juvenile")
    assert result.measures["mmt8"].percent == 25.0  # 13 / 52
    assert result.measures["mmt8"].points == 27.5
    assert result.measures["haq"].percent == pytest.approx(20.0)  # 0.6 / 3
    assert result.measures["haq"].points == 7.5


def test_cmas_is_not_accepted_for_adults() -> None:
    record = {k: v for k, v in tis_pair().items() if not k.startswith("mmt8")}
    record |= {"cmas_baseline": 26, "cmas_followup": 39}
    with pytest.raises(MissingColumnError, match="mmt8_baseline"):
        tis.score_one(record, population="adult")


def test_a_blank_measure_makes_the_tis_missing_and_is_named() -> None:
    result = tis.score_one(tis_pair(ptga_followup=None, ema_baseline=""))
    assert result.total is None
    assert result.category is None
    assert result.missing == ("ptga_followup", "ema_baseline")
    assert result.measures["pga"].points == 0.0


@pytest.mark.parametrize(
    ("overrides", "column", "fragment"),
    [
        ({"pga_baseline": 10.5}, "pga_baseline", "from 0 to 10"),
        ({"haq_followup": -0.5}, "haq_followup", "from 0 to 3"),
        ({"mmt8_followup": 81}, "mmt8_followup", "allowed: a number from 0 to 80 (the mmt8_max"),
        ({"mmt8_max": 100}, "mmt8_max", "80 (unilateral) or 150 (bilateral)"),
        ({"ck_uln": 0}, "ck_uln", "greater than 0"),
        ({"ck_uln": -3}, "ck_uln", "greater than 0"),
        ({"ck_baseline": "high"}, "ck_baseline", "is not a number"),
        # 10^13 does not fit the exact DECIMAL(18, 6) inputs: reported, not an engine overflow
        ({"ck_baseline": 10**13}, "ck_baseline", "at most 12 digits before the decimal point"),
        ({"ck_followup": None}, "ck_followup", "give ck baseline, follow-up and upper limit"),
    ],
)
def test_invalid_values_name_row_column_value_and_range(
    overrides: dict[str, Any], column: str, fragment: str
) -> None:
    with pytest.raises(InvalidInputError) as caught:
        tis.score_one(tis_pair(**overrides))
    problem = caught.value.problems[0]
    assert (problem.row, problem.column) == (1, column)
    assert fragment in problem.reason
    assert column in str(caught.value)


def test_no_enzyme_at_all_is_an_error_not_a_missing_score() -> None:
    with pytest.raises(InvalidInputError, match="no muscle enzyme given"):
        tis.score_one(tis_pair(ck_baseline=None, ck_followup=None, ck_uln=None))
