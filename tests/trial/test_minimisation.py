"""Pocock-Simon minimisation: the imbalance totals by hand, balance, ratio, bad input."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction

import numpy as np
import pytest

from myositis.errors import TrialDesignError
from myositis.trial.minimisation import Minimiser

FACTORS = {"sex": ("F", "M"), "site": ("1", "2")}


def test_totals_are_the_summed_ranges_of_the_counts() -> None:
    """Pocock and Simon 1975, range measure. After one F/site-1 patient in arm X, a second
    F/site-1 patient in X would make both factors' counts 2 vs 0 (total 2 + 2 = 4), in the
    other arm 1 vs 1 (total 0), so with p = 1 the second goes to the other arm. A third
    patient, M/site 2, meets no earlier patient of his levels: 1 vs 0 twice, total 2 either
    way, a tie."""
    m = Minimiser(arms=("A", "B"), factors=FACTORS, seed=3, p=1.0)
    first = m.assign({"sex": "F", "site": "1"}).arm
    other = "B" if first == "A" else "A"
    assert m.totals({"sex": "F", "site": "1"}) == {first: 4, other: 0}
    assert m.assign({"sex": "F", "site": "1"}).arm == other
    third = m.assign({"sex": "M", "site": "2"})
    assert dict(third.totals) == {"A": 2, "B": 2} and third.preferred == ("A", "B")


def test_weights_scale_a_factors_imbalance() -> None:
    m = Minimiser(arms=("A", "B"), factors=FACTORS, weights={"sex": 2, "site": 0.5},
                  seed=1, p=1.0)  # fmt: skip
    first = m.assign({"sex": "F", "site": "1"}).arm
    other = "B" if first == "A" else "A"
    # to the first patient's arm: sex 2 x 2 = 4, site 0.5 x 2 = 1; to the other: 0
    assert m.totals({"sex": "F", "site": "1"}) == {first: 5, other: 0}
    assert m.totals({"sex": "F", "site": "2"}) == {first: Fraction(9, 2), other: Fraction(1, 2)}


def test_margins_stay_balanced_far_better_than_chance() -> None:
    """200 patients with random levels (seeded): every level's arms differ by at most 3
    (p = 0.8); simple randomisation of the same patients is far less balanced."""
    rng = np.random.default_rng(11)
    patients = [{"sex": str(rng.choice(["F", "M"])), "site": str(rng.choice(["1", "2"]))}
                for _ in range(200)]  # fmt: skip
    m = Minimiser(arms=("A", "B"), factors=FACTORS, seed=5)
    arms = [m.assign(p).arm for p in patients]
    for factor, levels in FACTORS.items():
        for level in levels:
            counts = Counter(a for a, p in zip(arms, patients, strict=True) if p[factor] == level)
            assert abs(counts["A"] - counts["B"]) <= 3, (factor, level, counts)


def test_an_unequal_ratio_is_kept() -> None:
    rng = np.random.default_rng(2)
    m = Minimiser(arms=("active", "placebo"), factors=FACTORS, ratio=(2, 1), seed=9)
    arms = Counter(
        m.assign({"sex": str(rng.choice(["F", "M"])), "site": str(rng.choice(["1", "2"]))}).arm
        for _ in range(300)
    )
    assert 190 <= arms["active"] <= 210  # 2:1 of 300 is 200


def test_same_seed_same_allocations() -> None:
    patients = [{"sex": s, "site": t} for s in "FM" for t in "12"] * 5
    runs = [Minimiser(arms=("A", "B"), factors=FACTORS, seed=4) for _ in range(2)]
    first, again = ([m.assign(p).arm for p in patients] for m in runs)
    assert first == again


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ({"sex": "X", "site": "1"}, "level 'X' is not one of"),
        ({"sex": "F"}, "expected exactly"),
    ],
)
def test_unknown_levels_and_missing_factors_are_named(levels: dict[str, str], message: str) -> None:
    m = Minimiser(arms=("A", "B"), factors=FACTORS, seed=1)
    with pytest.raises(TrialDesignError, match=message):
        m.assign(levels)
    assert m.allocations == []


def test_designs_that_cannot_work_are_refused() -> None:
    with pytest.raises(TrialDesignError, match="two or more distinct levels"):
        Minimiser(arms=("A", "B"), factors={"sex": ("F",)}, seed=1)
    with pytest.raises(TrialDesignError, match="p = 0.3"):
        Minimiser(arms=("A", "B"), factors=FACTORS, seed=1, p=0.3)
