"""Pocock-Simon minimisation (Pocock SJ, Simon R. Biometrics 1975;31:103-115).

Each new patient is allocated in turn. For each arm, the patient is placed there in thought,
and for every prognostic factor the counts of patients already allocated with the patient's
level of that factor are taken per arm (each divided by the arm's share of the ratio, so that
2:1 is "balanced" at 2:1). The factor's imbalance is the range of those counts (maximum minus
minimum, Pocock and Simon's measure), the arm's total is the weighted sum over factors. The arm
with the smallest total is chosen with probability ``p`` (0.8 by default) and another arm
otherwise, so the next allocation is never certain; ties go to a random one of the tied arms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from myositis.errors import TrialDesignError


@dataclass(frozen=True)
class MinimisedAllocation:
    """One patient's allocation and why: each arm's imbalance total at that moment."""

    sequence: int
    levels: tuple[tuple[str, str], ...]
    arm: str
    totals: tuple[tuple[str, Fraction], ...]
    preferred: tuple[str, ...]  # the arms with the smallest total


@dataclass
class Minimiser:
    """Allocates patients one at a time (constructor stores options; state grows with use)."""

    arms: Sequence[str]
    factors: Mapping[str, Sequence[str]]
    seed: int
    weights: Mapping[str, float] | None = None
    ratio: Sequence[int] | None = None
    p: float = 0.8
    allocations: list[MinimisedAllocation] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if len(self.arms) < 2 or len(set(self.arms)) != len(self.arms):
            raise TrialDesignError(f"arms {list(self.arms)}: give two or more distinct names")
        if not self.factors:
            raise TrialDesignError("minimisation needs at least one prognostic factor")
        for name, levels in self.factors.items():
            if len(levels) < 2 or len(set(levels)) != len(levels):
                raise TrialDesignError(f"factor {name!r}: give two or more distinct levels")
        ratio = list(self.ratio) if self.ratio is not None else [1] * len(self.arms)
        if len(ratio) != len(self.arms) or any(r < 1 for r in ratio):
            raise TrialDesignError(f"ratio {ratio}: one whole number of at least 1 per arm")
        self._share = dict(zip(self.arms, ratio, strict=True))
        weights = dict(self.weights or dict.fromkeys(self.factors, 1.0))
        if set(weights) != set(self.factors) or any(w <= 0 for w in weights.values()):
            raise TrialDesignError(f"weights {weights}: one positive weight per factor")
        self._weights = {k: Fraction(str(w)) for k, w in weights.items()}
        if not 1 / len(self.arms) <= self.p <= 1:
            raise TrialDesignError(f"p = {self.p}: between 1/(number of arms) and 1")
        self._rng = np.random.default_rng(self.seed)
        self._counts = {
            (factor, level, arm): 0
            for factor, levels in self.factors.items()
            for level in levels
            for arm in self.arms
        }

    def totals(self, levels: Mapping[str, str]) -> dict[str, Fraction]:
        """Each arm's weighted imbalance if this patient were allocated to it."""
        self._check(levels)
        totals: dict[str, Fraction] = {}
        for candidate in self.arms:
            total = Fraction(0)
            for factor, level in levels.items():
                counts = [
                    Fraction(self._counts[(factor, level, arm)] + (arm == candidate))
                    / self._share[arm]
                    for arm in self.arms
                ]
                total += self._weights[factor] * (max(counts) - min(counts))
            totals[candidate] = total
        return totals

    def assign(self, levels: Mapping[str, str]) -> MinimisedAllocation:
        """Allocate the next patient, who has ``levels`` (factor -> level)."""
        totals = self.totals(levels)
        best = min(totals.values())
        preferred = [arm for arm in self.arms if totals[arm] == best]
        others = [arm for arm in self.arms if arm not in preferred]
        if others and self._rng.random() >= self.p:
            arm = str(self._rng.choice(others))
        else:
            arm = str(self._rng.choice(preferred))
        for factor, level in levels.items():
            self._counts[(factor, level, arm)] += 1
        allocation = MinimisedAllocation(
            sequence=len(self.allocations) + 1,
            levels=tuple(sorted(levels.items())),
            arm=arm,
            totals=tuple(totals.items()),
            preferred=tuple(preferred),
        )
        self.allocations.append(allocation)
        return allocation

    def _check(self, levels: Mapping[str, str]) -> None:
        if set(levels) != set(self.factors):
            raise TrialDesignError(
                f"patient factors {sorted(levels)}: expected exactly {sorted(self.factors)}"
            )
        for factor, level in levels.items():
            if level not in self.factors[factor]:
                raise TrialDesignError(
                    f"factor {factor!r}: level {level!r} is not one of {list(self.factors[factor])}"
                )


__all__ = ["MinimisedAllocation", "Minimiser"]
