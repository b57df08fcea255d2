"""IMACS 2004 preliminary definition of improvement.

Source: Rider et al., Arthritis Rheum 2004;50:2281-2290: "3 of any 6 core set measures improved
by >= 20%, with no more than 2 worse by >= 25%, which cannot include MMT"; both bounds inclusive
and percent change relative to baseline (the open reading of instruments.md section 3).
Baseline values of ``tis_pair``: global activities 5 cm, HAQ 1.5, MMT-8 60/80, CK 1000 U/L.
"""

from __future__ import annotations

from typing import Any

import pytest

from myositis.errors import InvalidInputError
from myositis.instruments import doi

from .conftest import tis_pair

THREE_IMPROVED = {"pga_followup": 4, "ptga_followup": 4, "ema_followup": 4}  # each exactly -20 %


@pytest.mark.parametrize(
    ("changes", "met", "improved", "worsened"),
    [
        (THREE_IMPROVED, True, 3, 0),
        # 4.05 is a 19 % improvement: only two measures improved
        (THREE_IMPROVED | {"pga_followup": "4.05"}, False, 2, 0),
        # HAQ 1.5 -> 1.875 and CK 1000 -> 1250 are exactly 25 % worse: two worse is allowed
        (THREE_IMPROVED | {"haq_followup": "1.875", "ck_followup": 1250}, True, 3, 2),
        # 24.9 % worse is not worse
        (THREE_IMPROVED | {"haq_followup": "1.87"}, True, 3, 0),
        # three worse is too many (HAQ, CK and a fourth improved measure cannot save it)
        (
            THREE_IMPROVED
            | {"haq_followup": 2, "ck_followup": 1300, "mmt8_followup": 72, "ptga_followup": 7},
            False,
            3,
            3,
        ),
        # MMT-8 60 -> 45 is 25 % worse: MMT may not be among the worsened measures
        (THREE_IMPROVED | {"mmt8_followup": 45}, False, 3, 1),
        # MMT-8 60 -> 72 is a 20 % improvement (higher is better)
        ({"pga_followup": 4, "ptga_followup": 4, "mmt8_followup": 72}, True, 3, 0),
    ],
)
def test_definition_of_improvement(
    changes: dict[str, Any], met: bool, improved: int, worsened: int
) -> None:
    result = doi.score_one(tis_pair(**changes))
    assert (result.met, result.improved, result.worsened) == (met, improved, worsened)


def test_the_result_names_the_improved_and_worsened_measures_and_the_enzyme() -> None:
    """HAQ 1.5 -> 1.875 and CK 1000 -> 1250 are exactly 25 % worse (Rider 2004: >= 25 %)."""
    changes = THREE_IMPROVED | {"haq_followup": "1.875", "ck_followup": 1250}
    result = doi.score_one(tis_pair(**changes))
    assert result.improved_measures == ("pga", "ptga", "ema")
    assert result.worsened_measures == ("haq", "enzyme")
    assert result.enzyme_used == "ck"
    unchanged = doi.score_one(tis_pair())
    assert (unchanged.improved_measures, unchanged.worsened_measures) == ((), ())


def test_percent_is_relative_to_baseline_not_to_the_scale() -> None:
    """pga 2 -> 1.6 is 20 % of the baseline but only 4 % of the 10 cm scale."""
    result = doi.score_one(tis_pair(pga_baseline=2, pga_followup="1.6", ptga_followup=4,
                                    ema_followup=4))  # fmt: skip
    assert (result.met, result.improved) == (True, 3)


def test_baseline_zero_cannot_improve_and_any_rise_is_worse() -> None:
    """Relative change from 0 is undefined: lower-is-better measures cannot improve from 0."""
    result = doi.score_one(tis_pair(pga_baseline=0, pga_followup=1, ema_baseline=0,
                                    ema_followup=0))  # fmt: skip
    assert (result.improved, result.worsened) == (0, 1)


def test_most_abnormal_enzyme_is_used() -> None:
    record = tis_pair(aldolase_baseline=42, aldolase_followup=28, aldolase_uln=7)  # 6 x ULN; CK 5 x
    out = doi.DOI().evaluate(record | THREE_IMPROVED)
    assert out["enzyme_used"] == "aldolase"
    assert out["doi_improved"] == 4  # aldolase fell by 33 %


def test_a_blank_measure_makes_the_definition_missing_and_is_named() -> None:
    result = doi.score_one(tis_pair(ptga_followup=None))
    assert (result.met, result.improved, result.worsened) == (None, None, None)
    assert result.missing == ("ptga_followup",)


def test_bad_values_are_rejected_as_for_the_tis() -> None:
    with pytest.raises(InvalidInputError, match=r"row 1, column 'haq_baseline': value '4'"):
        doi.score_one(tis_pair(haq_baseline=4))


@pytest.mark.parametrize(
    ("baseline", "followup", "improved", "worsened"),
    [(40000, 32000, 1, 0), (40000, 32001, 0, 0), (40000, 50000, 0, 1), (10**11, 8 * 10**10, 1, 0)],
)
def test_very_high_ck_is_compared_exactly(
    baseline: int, followup: int, improved: int, worsened: int
) -> None:
    """20 % of a CK of 40,000 U/L is 8,000; 25 % worse is 50,000 (inclusive bounds, Rider 2004).
    20 x 40,000 once overflowed the engine's DECIMAL(18, 12) product."""
    result = doi.score_one(tis_pair(ck_baseline=baseline, ck_followup=followup))
    assert (result.improved, result.worsened) == (improved, worsened)
