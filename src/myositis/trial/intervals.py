"""Confidence intervals for one proportion (Wilson) and for a difference of two independent
proportions (Newcombe's hybrid score interval).

- Wilson score interval (Wilson EB, J Am Stat Assoc 1927;22:209-212), without continuity
  correction: ``(2 n p + z^2 +/- z sqrt(z^2 + 4 n p (1 - p))) / (2 (n + z^2))``; R
  ``prop.test(x, n, correct = FALSE)$conf.int``.
- Newcombe hybrid score interval for ``p1 - p2`` (Newcombe RG, Stat Med 1998;17:873-890,
  method 10, "square and add" of the two Wilson intervals ``[l1, u1]`` and ``[l2, u2]``)::

      lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
      upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

  It is not R ``PropCIs::diffscoreci``, which inverts the Miettinen-Nurminen-type score test
  (Newcombe's method 8 family); Newcombe's worked examples (Table II) are in the tests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

from myositis.errors import TrialDesignError


@dataclass(frozen=True)
class Interval:
    """An estimate with its two-sided confidence interval."""

    estimate: float
    lower: float
    upper: float
    conf_level: float
    method: str


def _z(conf_level: float) -> float:
    if not 0 < conf_level < 1:
        raise TrialDesignError(
            f"conf_level = {conf_level}: a confidence level lies between 0 and 1 (0.95 for 95 %)"
        )

    return NormalDist().inv_cdf(1 - (1 - conf_level) / 2)


def _counts(x: int, n: int, what: str) -> None:
    if n < 1 or not 0 <= x <= n:
        raise TrialDesignError(
            f"{what}: {x} of {n} is impossible; give 0 <= responders <= patients and "
            "at least 1 patient"
        )


def wilson(x: int, n: int, conf_level: float = 0.95) -> Interval:
    """Wilson score interval for ``x`` responders of ``n`` (no continuity correction)."""
    _counts(x, n, "proportion")
    z = _z(conf_level)
    p = x / n
    centre = 2 * n * p + z * z
    half = z * math.sqrt(z * z + 4 * n * p * (1 - p))
    denominator = 2 * (n + z * z)
    lower = 0.0 if x == 0 else (centre - half) / denominator
    upper = 1.0 if x == n else (centre + half) / denominator
    return Interval(p, lower, upper, conf_level, "Wilson score")


def newcombe(x1: int, n1: int, x2: int, n2: int, conf_level: float = 0.95) -> Interval:
    """Newcombe's hybrid score interval (method 10) for ``x1/n1 - x2/n2``."""
    _counts(x1, n1, "arm 1")
    _counts(x2, n2, "arm 2")
    one, two = wilson(x1, n1, conf_level), wilson(x2, n2, conf_level)
    p1, p2 = one.estimate, two.estimate
    d = p1 - p2
    lower = d - math.sqrt((p1 - one.lower) ** 2 + (two.upper - p2) ** 2)
    upper = d + math.sqrt((one.upper - p1) ** 2 + (p2 - two.lower) ** 2)
    return Interval(d, lower, upper, conf_level, "Newcombe hybrid score (method 10)")


__all__ = ["Interval", "newcombe", "wilson"]
