"""Stratified permuted blocks with random block sizes: balance, strata, reproducibility."""

from __future__ import annotations

from collections import Counter
from itertools import groupby

import pytest

from myositis.errors import TrialDesignError
from myositis.trial.randomisation import permuted_blocks


def test_every_block_is_balanced_and_sizes_are_random() -> None:
    """Each complete block holds the arms in the ratio; both block sizes occur; the list is
    whole blocks, at least as long as asked, per stratum."""
    allocations = permuted_blocks(
        200, arms=("bari", "placebo"), block_sizes=(4, 6), strata=("MTX", "AZA"), seed=7
    )
    for stratum in ("MTX", "AZA"):
        rows = [a for a in allocations if a.stratum == stratum]
        assert len(rows) >= 200 and len(rows) - 200 < 6
        assert [a.sequence for a in rows] == list(range(1, len(rows) + 1))
        sizes = set()
        for _, block in groupby(rows, key=lambda a: a.block):
            members = list(block)
            sizes.add(members[0].block_size)
            assert len(members) == members[0].block_size
            assert Counter(a.arm for a in members) == {
                "bari": len(members) // 2,
                "placebo": len(members) // 2,
            }
        assert sizes == {4, 6}


def test_unequal_ratio() -> None:
    allocations = permuted_blocks(30, arms=("active", "placebo"), ratio=(2, 1),
                                  block_sizes=(3, 6), seed=1)  # fmt: skip
    counts = Counter(a.arm for a in allocations)
    assert counts["active"] == 2 * counts["placebo"]


def test_same_seed_same_list_other_seed_other_list() -> None:
    first = permuted_blocks(40, seed=2026)
    assert permuted_blocks(40, seed=2026) == first
    assert [a.arm for a in permuted_blocks(40, seed=2027)] != [a.arm for a in first]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"block_sizes": (3, 4)}, "multiple of 2"),
        ({"arms": ("A", "A")}, "distinct arm names"),
        ({"ratio": (1,)}, "one whole number of at least 1 per arm"),
        ({"strata": ()}, "one or more distinct names"),
    ],
)
def test_designs_that_cannot_balance_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(TrialDesignError, match=message):
        permuted_blocks(10, seed=1, **kwargs)  # type: ignore[arg-type]
