"""Allocation lists: stratified permuted blocks with random block sizes (as R ``blockrand``).

Within each stratum, blocks follow one another until the stratum's list is long enough; each
block's size is drawn with equal probability from ``block_sizes``, and it holds every arm in
proportion to ``ratio`` (1:1 by default) in a random order. Every complete block is balanced,
so the arms never differ by more than half the largest block; random sizes keep the next
allocation from being guessed at the end of a block. Unlike ``blockrand``, whose
``block.sizes`` are multiples of the number of arms, ``block_sizes`` here are the sizes
themselves (4 and 6 for 1:1 blocks of four and six).

The list is made by the unblinded statistician from a recorded seed (numpy's PCG64): the same
seed and arguments give the same list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from myositis.errors import TrialDesignError


@dataclass(frozen=True)
class Allocation:
    """One line of an allocation list."""

    stratum: str
    sequence: int  # 1-based position within the stratum
    block: int  # 1-based block number within the stratum
    block_size: int
    arm: str


def permuted_blocks(
    per_stratum: int,
    *,
    arms: Sequence[str] = ("A", "B"),
    ratio: Sequence[int] | None = None,
    block_sizes: Sequence[int] = (4, 6),
    strata: Sequence[str] = ("all",),
    seed: int,
) -> list[Allocation]:
    """An allocation list of at least ``per_stratum`` lines for each stratum (whole blocks)."""
    weights = list(ratio) if ratio is not None else [1] * len(arms)
    if len(arms) < 2 or len(set(arms)) != len(arms):
        raise TrialDesignError(f"arms {list(arms)}: give two or more distinct arm names")
    if len(weights) != len(arms) or any(w < 1 for w in weights):
        raise TrialDesignError(
            f"ratio {weights}: give one whole number of at least 1 per arm ({len(arms)} arms)"
        )
    unit = sum(weights)
    bad = [b for b in block_sizes if b < unit or b % unit]
    if not block_sizes or bad:
        raise TrialDesignError(
            f"block sizes {list(block_sizes)}: each must be a multiple of {unit} "
            f"(the arms {':'.join(map(str, weights))} in every block)"
        )
    if per_stratum < 1:
        raise TrialDesignError(f"per_stratum = {per_stratum}: at least 1 allocation per stratum")
    if not strata or len(set(strata)) != len(strata):
        raise TrialDesignError(f"strata {list(strata)}: give one or more distinct names")
    rng = np.random.default_rng(seed)
    allocations: list[Allocation] = []
    for stratum in strata:
        sequence = 0
        block = 0
        while sequence < per_stratum:
            block += 1
            size = int(rng.choice(block_sizes))
            content = np.repeat(np.array(arms), [w * size // unit for w in weights])
            for arm in rng.permutation(content):
                sequence += 1
                allocations.append(Allocation(stratum, sequence, block, size, str(arm)))
    return allocations


__all__ = ["Allocation", "permuted_blocks"]
