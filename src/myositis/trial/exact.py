"""Exact conditional inference for one 2x2 table (Fisher) or several (stratified, exact
Cochran-Mantel-Haenszel), as R ``fisher.test`` and ``mantelhaen.test(exact = TRUE)``.

Given every stratum's margins, the count ``S`` of responders in the first arm summed over
strata has the distribution of a sum of independent (noncentral) hypergeometric variables;
under a common odds ratio ``psi`` each stratum's probabilities are the central ones times
``psi^x``, renormalised (Mantel N, Biometrics 1977; Agresti A, Categorical Data Analysis,
section 16.1).

- Two-sided p-value: the probability, at ``psi = 1``, of every ``S`` no more likely than the
  one observed (relative tolerance 1e-7, R's rule).
- Estimate: the conditional maximum-likelihood odds ratio, the ``psi`` whose conditional
  mean of ``S`` equals the observed one.
- Interval: ``psi_L`` with ``P(S >= s; psi_L) = alpha/2`` and ``psi_U`` with
  ``P(S <= s; psi_U) = alpha/2`` (0 and infinity at the ends of the support).

R finds the roots with ``uniroot``'s default tolerance (about 1e-4), so R's printed estimate
and limits agree with these (solved to 1e-12) to about four significant digits; the p-value
is exact in both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from myositis.errors import TrialDesignError

#: R's relative tolerance for "no more likely than the observed table".
RELATIVE_TOLERANCE = 1e-7


@dataclass(frozen=True)
class Table2x2:
    """One stratum: responders and patients in arm 1 (treated) and arm 2 (control)."""

    x1: int
    n1: int
    x2: int
    n2: int

    def __post_init__(self) -> None:
        if self.n1 < 0 or self.n2 < 0 or not 0 <= self.x1 <= self.n1 or not 0 <= self.x2 <= self.n2:
            raise TrialDesignError(
                f"table {self.x1}/{self.n1} vs {self.x2}/{self.n2}: responders must lie between "
                "0 and the number of patients of their arm"
            )

    @property
    def total(self) -> int:
        return self.n1 + self.n2

    @property
    def responders(self) -> int:
        return self.x1 + self.x2


@dataclass(frozen=True)
class ExactResult:
    """Exact conditional test and conditional MLE of the (common) odds ratio."""

    statistic: int  # S, responders in arm 1 summed over strata
    p_value: float
    odds_ratio: float
    lower: float
    upper: float
    conf_level: float
    method: str


class _Conditional:
    """The conditional distribution of S given every stratum's margins."""

    def __init__(self, tables: Sequence[Table2x2]) -> None:
        from scipy import stats

        log_pmf = np.zeros(1)
        self.low = 0
        for t in tables:
            lo, hi = max(0, t.responders - t.n2), min(t.responders, t.n1)
            support = np.arange(lo, hi + 1)
            stratum = stats.hypergeom.logpmf(support, t.total, t.n1, t.responders)
            # convolution of the probabilities (in log space for stability)
            combined = np.full(len(log_pmf) + len(stratum) - 1, -np.inf)
            for i, value in enumerate(stratum):
                combined[i : i + len(log_pmf)] = np.logaddexp(
                    combined[i : i + len(log_pmf)], log_pmf + value
                )
            log_pmf = combined
            self.low += lo
        self.log_pmf = log_pmf
        self.support = np.arange(self.low, self.low + len(log_pmf))
        self.high = int(self.support[-1])

    def pmf(self, psi: float) -> np.ndarray:
        weights = self.log_pmf if psi == 1 else self.log_pmf + self.support * math.log(psi)
        weights = weights - weights.max()
        probabilities = np.exp(weights)
        return probabilities / probabilities.sum()

    def mean(self, psi: float) -> float:
        return float(np.sum(self.support * self.pmf(psi)))

    def lower_tail(self, s: int, psi: float) -> float:
        return float(np.sum(self.pmf(psi)[self.support <= s]))

    def upper_tail(self, s: int, psi: float) -> float:
        return float(np.sum(self.pmf(psi)[self.support >= s]))


def _solve(function: Callable[[float], float], target: float, increasing: bool) -> float:
    """The psi > 0 where ``function(psi) == target``, searched on the log scale."""
    from scipy import optimize

    def gap(log_psi: float) -> float:
        return float(function(math.exp(log_psi))) - target

    low, high = -1.0, 1.0
    while gap(low) * (1 if increasing else -1) > 0:
        low *= 2
    while gap(high) * (1 if increasing else -1) < 0:
        high *= 2
    return math.exp(optimize.brentq(gap, low, high, xtol=1e-13, rtol=1e-13))


def exact_conditional(
    tables: Sequence[Table2x2], conf_level: float = 0.95, *, method: str | None = None
) -> ExactResult:
    """Exact conditional test of a (common) odds ratio of 1 over one or more 2x2 tables."""
    if not tables:
        raise TrialDesignError("no 2x2 table to test: give at least one stratum")
    if not 0 < conf_level < 1:
        raise TrialDesignError(f"conf_level = {conf_level}: must lie between 0 and 1")
    dist = _Conditional(tables)
    s = sum(t.x1 for t in tables)
    null = dist.pmf(1.0)
    observed = null[s - dist.low]
    p_value = float(min(1.0, np.sum(null[null <= observed * (1 + RELATIVE_TOLERANCE)])))
    alpha = (1 - conf_level) / 2
    if dist.low == dist.high:
        estimate, lower, upper = math.nan, 0.0, math.inf
    else:
        if s == dist.low:
            estimate = 0.0
        elif s == dist.high:
            estimate = math.inf
        else:
            estimate = _solve(dist.mean, s, increasing=True)
        lower = (
            0.0
            if s == dist.low
            else _solve(lambda psi: dist.upper_tail(s, psi), alpha, increasing=True)
        )
        upper = (
            math.inf
            if s == dist.high
            else _solve(lambda psi: dist.lower_tail(s, psi), alpha, increasing=False)
        )
    name = method or (
        "Fisher's exact test" if len(tables) == 1 else "exact conditional test (2 x 2 x K)"
    )
    return ExactResult(s, p_value, estimate, lower, upper, conf_level, name)


def fisher(table: Table2x2, conf_level: float = 0.95) -> ExactResult:
    """Fisher's exact test, two-sided (R ``fisher.test``)."""
    return exact_conditional([table], conf_level, method="Fisher's exact test")


__all__ = ["ExactResult", "Table2x2", "exact_conditional", "fisher"]
