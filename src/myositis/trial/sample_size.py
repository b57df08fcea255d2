"""Sample size and power for a binary endpoint in a two-arm trial (1:1 or another ratio).

The BIRD trial's primary endpoint, prednisone-free moderate improvement (TIS >= 40) at week 24,
is a proportion per arm; its assumed response rates are not public, so they are inputs here.
Arm 1 has ``n`` patients and rate ``p1``; arm 2 has ``ratio * n`` patients and rate ``p2``
(``ratio = 1`` is R ``power.prop.test``'s equal arms).

- ``test="chisq"`` (normal approximation, two-sided), with ``k = ratio``,
  ``pbar = (p1 + k p2) / (1 + k)`` and ``d = |p1 - p2|``::

      power = Phi((d sqrt(n) - z sqrt(pbar (1 - pbar) (1 + 1/k))) / sqrt(p1 q1 + p2 q2 / k))

  For ``k = 1`` this is R ``power.prop.test``; for other ratios it is the formula of Fleiss,
  Tytun and Ury (Biometrics 1980;36:343-346) without continuity correction (R
  ``Hmisc::bpower`` / ``Hmisc::bsamsize``). ``strict=True`` adds the probability of rejecting
  in the wrong direction, ``Phi((-d sqrt(n) - z sqrt(...)) / sqrt(...))``, as R's
  ``strict = TRUE``. For a size, the ``n`` that gives the power (a real number, as R prints it;
  round it up to recruit).
- ``correct=True``: the continuity-corrected size of Fleiss, Tytun and Ury (1980; Fleiss,
  Levin and Paik, Statistical Methods for Rates and Proportions, 3rd ed. 2003, section 4.3)::

      n' = n / 4 * (1 + sqrt(1 + 2 (k + 1) / (k n d)))^2

  where ``n`` is the uncorrected size; the power of ``n'`` patients is the uncorrected power
  at ``n = (n' - (k + 1) / (2 k d))^2 / n'``, the exact inverse of that formula.
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

from myositis.errors import TrialDesignError

Test = Literal["chisq", "fisher"]

#: Fisher sizes: the power must hold for this many larger sizes per arm as well.
STEADY = 5


@dataclass(frozen=True)
class PowerResult:
    """Size and power of a two-arm comparison of proportions (``n_per_arm`` is arm 1's size;
    arm 2 has ``ratio`` times as many)."""

    test: Test
    p1: float
    p2: float
    alpha: float
    n_per_arm: float  # arm 1: a real number for the chi-square formula, whole for Fisher
    power: float
    ratio: float = 1.0
    strict: bool = False
    correct: bool = False

    @property
    def n2(self) -> float:
        """Patients in arm 2 (``ratio * n_per_arm``)."""
        return self.ratio * self.n_per_arm

    @property
    def n_total(self) -> int:
        """Patients to recruit: both arms, each rounded up to a whole patient."""
        return math.ceil(self.n_per_arm - 1e-9) + math.ceil(self.n2 - 1e-9)


def _check(p1: float, p2: float, alpha: float, power: float | None, ratio: float = 1.0) -> None:
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
    if not ratio > 0 or not math.isfinite(ratio):
        raise TrialDesignError(
            f"ratio = {ratio}: the allocation ratio (patients in arm 2 per patient in arm 1) "
            "must be a positive number, e.g. 1 for 1:1 or 2 for 1:2"
        )


def _uncorrected_power(n: float, p1: float, p2: float, alpha: float, ratio: float,
                       strict: bool) -> float:  # fmt: skip
    from scipy import stats

    z = stats.norm.isf(alpha / 2)
    pbar = (p1 + ratio * p2) / (1 + ratio)
    null_sd = math.sqrt(pbar * (1 - pbar) * (1 + 1 / ratio))
    spread = math.sqrt(p1 * (1 - p1) + p2 * (1 - p2) / ratio)
    shift = math.sqrt(max(n, 0.0)) * abs(p1 - p2)
    power = float(stats.norm.cdf((shift - z * null_sd) / spread))
    if strict:
        power += float(stats.norm.cdf((-shift - z * null_sd) / spread))
    return power


def _correction(p1: float, p2: float, ratio: float) -> float:
    """``(k + 1) / (k d)``: twice the continuity correction's shift in patients."""
    return (ratio + 1) / (ratio * abs(p1 - p2))


def chisq_power(
    n: float,
    p1: float,
    p2: float,
    alpha: float = 0.05,
    *,
    ratio: float = 1.0,
    strict: bool = False,
    correct: bool = False,
) -> float:
    """Power of the two-sided comparison of two proportions with ``n`` patients in arm 1 and
    ``ratio * n`` in arm 2 (R ``power.prop.test(n, p1, p2, sig.level = alpha,
    strict = strict)$power`` for ``ratio = 1`` and ``correct = False``)."""
    _check(p1, p2, alpha, None, ratio)
    if correct:
        a = _correction(p1, p2, ratio)
        n = (n - a / 2) ** 2 / n if n > a / 2 else 0.0
    return _uncorrected_power(n, p1, p2, alpha, ratio, strict)


def fisher_power(
    n: int, p1: float, p2: float, alpha: float = 0.05, *, n2: int | None = None
) -> float:
    """Exact power of the two-sided Fisher exact test with ``n`` patients in arm 1 and ``n2``
    (default ``n``) in arm 2.

    For each total of responders ``t`` the test is conditional on the margins: the count in
    arm 1 is hypergeometric, and an outcome is rejected when the probability of all tables no
    more likely than it (R ``fisher.test``'s rule, relative tolerance 1e-7) is at most
    ``alpha``. The power sums the binomial probability of every rejected outcome.
    """
    import numpy as np
    from scipy import stats

    _check(p1, p2, alpha, None)
    m = n if n2 is None else n2
    if n < 1 or m < 1:
        raise TrialDesignError(f"arms of {n} and {m} patients: each arm needs at least one")
    x1 = np.arange(n + 1)
    w1, w2 = stats.binom.pmf(x1, n, p1), stats.binom.pmf(np.arange(m + 1), m, p2)
    total = 0.0
    for t in range(n + m + 1):
        support = np.arange(max(0, t - m), min(t, n) + 1)
        pmf = stats.hypergeom.pmf(support, n + m, n, t)
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
    ratio: float = 1.0,
    strict: bool = False,
    correct: bool = False,
) -> PowerResult:
    """Patients in arm 1 for ``power`` at two-sided level ``alpha`` (arm 2: ``ratio`` times as
    many); see the module docstring."""
    from scipy import optimize

    _check(p1, p2, alpha, power, ratio)
    if test == "chisq":
        n = optimize.brentq(
            lambda m: _uncorrected_power(m, p1, p2, alpha, ratio, strict) - power,
            1e-6, 1e7, xtol=1e-10,
        )  # fmt: skip
        if correct:
            a = _correction(p1, p2, ratio)
            n = n / 4 * (1 + math.sqrt(1 + 2 * a / n)) ** 2
        return PowerResult(test, p1, p2, alpha, float(n), power, ratio, strict, correct)
    if correct or strict:
        raise TrialDesignError(
            "correct and strict belong to the normal approximation (test='chisq'); the exact "
            "Fisher power already counts every rejected table"
        )
    if ratio != 1 and not float(ratio).is_integer():
        raise TrialDesignError(
            f"ratio = {ratio}: with test='fisher' arm 2 must hold a whole multiple of arm 1; "
            "give a whole ratio (2 for 1:2) or use test='chisq'"
        )
    k = int(ratio)
    # Fisher's power is a saw-tooth in n: the size given keeps the power for STEADY more
    start = math.ceil(sample_size(p1, p2, power=power, alpha=alpha, ratio=ratio).n_per_arm)
    powers: dict[int, float] = {}
    for m in range(max(2, start), max_per_arm + STEADY + 1):
        powers[m] = fisher_power(m, p1, p2, alpha, n2=k * m)
        first = m - STEADY
        if first >= start and all(powers[j] >= power for j in range(first, m + 1)):
            return PowerResult(test, p1, p2, alpha, float(first), powers[first], ratio)
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
    n_per_arm: int,
    p1: float,
    p2: float,
    *,
    alpha: float = 0.05,
    test: Test = "chisq",
    ratio: float = 1.0,
    strict: bool = False,
    correct: bool = False,
) -> PowerResult:
    """Power with ``n_per_arm`` patients in arm 1 (and ``ratio`` times as many in arm 2)."""
    if test == "chisq":
        value = chisq_power(n_per_arm, p1, p2, alpha, ratio=ratio, strict=strict, correct=correct)
    else:
        n2 = n_per_arm * ratio
        if not float(n2).is_integer():
            raise TrialDesignError(
                f"arm 2 would hold {n2} patients: with test='fisher' give a ratio that makes "
                "whole arms"
            )
        value = fisher_power(n_per_arm, p1, p2, alpha, n2=int(n2))
    return PowerResult(test, p1, p2, alpha, float(n_per_arm), value, ratio, strict, correct)


__all__ = [
    "PowerResult",
    "chisq_power",
    "fisher_power",
    "power_for",
    "sample_size",
]
