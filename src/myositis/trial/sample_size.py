"""Sample size and power for a binary endpoint in a two-arm trial (1:1 or another ratio).

The BIRD trial's primary endpoint, prednisone-free moderate improvement (TIS >= 40) at week 24,
is a proportion per arm; its assumed response rates are not public, so they are inputs here.

- ``test="chisq"``: R ``power.prop.test`` (two-sided, equal arms): power =
  ``Phi((sqrt(n) |p1 - p2| - z(1 - alpha/2) sqrt((p1 + p2)(1 - (p1 + p2)/2)))
  / sqrt(p1 (1 - p1) + p2 (1 - p2)))``; for a size, the ``n`` per arm that gives the power
  (a real number, as R prints it; round it up to recruit).
- ``test="fisher"``: exact power of the two-sided Fisher exact test, summing the binomial
  probability of every outcome table that the test rejects (scipy ``fisher_exact``, whose
  p-values equal R ``fisher.test``'s). Its power is not monotone in ``n`` (a saw-tooth), so the
  size given is the smallest ``n`` per arm, from the chi-square size up, whose power and that
  of the next ``STEADY`` (5) sizes all reach the target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import optimize, stats

from myositis.errors import TrialDesignError

Test = Literal["chisq", "fisher"]

#: Fisher sizes: the power must hold for this many larger sizes per arm as well.
STEADY = 5


@dataclass(frozen=True)
class PowerResult:
    """Per-arm size and power of a two-arm comparison of proportions."""

    test: Test
    p1: float
    p2: float
    alpha: float
    n_per_arm: float  # a real number for the chi-square formula, whole for Fisher
    power: float

    @property
    def n_total(self) -> int:
        """Patients to recruit: both arms, each rounded up to a whole patient."""
        return 2 * math.ceil(self.n_per_arm - 1e-9)


def _check(p1: float, p2: float, alpha: float, power: float | None) -> None:
    for name, value in (("p1", p1), ("p2", p2)):
        if not 0 < value < 1:
            raise TrialDesignError(
                f"{name} = {value}: a response rate must lie strictly between 0 and 1"
            )
    if p1 == p2:
        raise TrialDesignError(
            f"p1 = p2 = {p1}: equal rates give no difference to power a trial for"
        )
    if not 0 < alpha < 1:
        raise TrialDesignError(f"alpha = {alpha}: the significance level must lie between 0 and 1")
    if power is not None and not alpha < power < 1:
        raise TrialDesignError(f"power = {power}: must lie between alpha ({alpha}) and 1")


def chisq_power(n: float, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Power of the two-sided comparison of two proportions with ``n`` per arm (R
    ``power.prop.test(n, p1, p2, sig.level = alpha)$power``)."""
    _check(p1, p2, alpha, None)
    z = stats.norm.isf(alpha / 2)
    pooled = (p1 + p2) * (1 - (p1 + p2) / 2)
    spread = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return float(stats.norm.cdf((math.sqrt(n) * abs(p1 - p2) - z * math.sqrt(pooled)) / spread))


def fisher_power(n: int, p1: float, p2: float, alpha: float = 0.05) -> float:
    """Exact power of the two-sided Fisher exact test with ``n`` patients per arm.

    For each total of responders ``t`` the test is conditional on the margins: the count in
    arm 1 is hypergeometric, and an outcome is rejected when the probability of all tables no
    more likely than it (R ``fisher.test``'s rule, relative tolerance 1e-7) is at most
    ``alpha``. The power sums the binomial probability of every rejected outcome.
    """
    _check(p1, p2, alpha, None)
    x1 = np.arange(n + 1)
    w1, w2 = stats.binom.pmf(x1, n, p1), stats.binom.pmf(x1, n, p2)
    total = 0.0
    for t in range(2 * n + 1):
        support = np.arange(max(0, t - n), min(t, n) + 1)
        pmf = stats.hypergeom.pmf(support, 2 * n, n, t)
        # p-value of each outcome: the mass of the outcomes no more likely than it
        order = np.sort(pmf)
        p_values = np.cumsum(order)[np.searchsorted(order, pmf * (1 + 1e-7), side="right") - 1]
        rejected = support[p_values <= alpha]
        total += float(np.sum(w1[rejected] * w2[t - rejected]))
    return total


def sample_size(
    p1: float,
    p2: float,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    test: Test = "chisq",
    max_per_arm: int = 300,
) -> PowerResult:
    """Patients per arm for ``power`` at two-sided level ``alpha`` (see the module docstring)."""
    _check(p1, p2, alpha, power)
    if test == "chisq":
        n = optimize.brentq(lambda m: chisq_power(m, p1, p2, alpha) - power, 2, 1e7, xtol=1e-10)
        return PowerResult(test, p1, p2, alpha, float(n), power)
    # Fisher's power is a saw-tooth in n: the size given keeps the power for STEADY more
    start = math.ceil(sample_size(p1, p2, power=power, alpha=alpha).n_per_arm)
    powers: dict[int, float] = {}
    for m in range(max(2, start), max_per_arm + STEADY + 1):
        powers[m] = fisher_power(m, p1, p2, alpha)
        first = m - STEADY
        if first >= start and all(powers[k] >= power for k in range(first, m + 1)):
            return PowerResult(test, p1, p2, alpha, float(first), powers[first])
    if start > max_per_arm:
        raise TrialDesignError(
            f"the normal approximation already needs {start} patients per arm, more than "
            f"max_per_arm ({max_per_arm}); raise max_per_arm (--max-per-arm; the exact power "
            "takes about a second per size at 300 per arm, growing with the square of the "
            "size), use the chi-squared test (--test chisq) for a trial this large, or check "
            "p1 and p2"
        )
    raise TrialDesignError(
        f"the Fisher exact test does not keep power {power} with up to {max_per_arm} patients "
        "per arm; raise max_per_arm (--max-per-arm) or check p1 and p2"
    )


def power_for(
    n_per_arm: int, p1: float, p2: float, *, alpha: float = 0.05, test: Test = "chisq"
) -> PowerResult:
    """Power with ``n_per_arm`` patients in each arm."""
    value = (chisq_power if test == "chisq" else fisher_power)(n_per_arm, p1, p2, alpha)
    return PowerResult(test, p1, p2, alpha, float(n_per_arm), value)


__all__ = [
    "PowerResult",
    "chisq_power",
    "fisher_power",
    "power_for",
    "sample_size",
]
