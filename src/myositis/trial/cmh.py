"""Cochran-Mantel-Haenszel test and the Mantel-Haenszel common odds ratio over strata, as R
``mantelhaen.test`` for 2 x 2 x K tables.

With ``a_k`` responders of ``n1_k`` in arm 1 and ``m1_k`` responders of ``N_k`` patients in
stratum ``k`` (Mantel N, Haenszel W, J Natl Cancer Inst 1959;22:719-748)::

    E_k = n1_k m1_k / N_k
    V_k = n1_k n2_k m1_k m2_k / (N_k^2 (N_k - 1))
    X^2 = (|sum(a_k - E_k)| - c)^2 / sum V_k        (1 degree of freedom)

with the continuity correction ``c = 1/2`` when asked for and ``|sum(a_k - E_k)| >= 1/2``
(R's rule), else 0. The common odds ratio is ``sum(a_k d_k / N_k) / sum(b_k c_k / N_k)``;
its interval uses the Robins-Breslow-Greenland variance of its logarithm (Robins J, Breslow
N, Greenland S, Biometrics 1986;42:311-323), as R does.

A stratum of fewer than two patients carries no information (``V_k`` is undefined); R stops
on it, this function leaves it out and names it in ``omitted``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from statistics import NormalDist

from myositis.errors import TrialDesignError
from myositis.trial.exact import Table2x2


@dataclass(frozen=True)
class CMHResult:
    """The CMH chi-square (with or without continuity correction) and the MH odds ratio."""

    statistic: float
    p_value: float
    correct: bool
    odds_ratio: float
    lower: float
    upper: float
    conf_level: float
    strata_used: tuple[str, ...]
    omitted: tuple[str, ...]  # strata of fewer than 2 patients


def cmh(
    strata: Mapping[str, Table2x2], *, correct: bool = True, conf_level: float = 0.95
) -> CMHResult:
    """Cochran-Mantel-Haenszel test of a common odds ratio of 1 (two-sided)."""
    from scipy import stats

    used = {name: t for name, t in strata.items() if t.total >= 2}
    omitted = tuple(name for name in strata if name not in used)
    if not used:
        raise TrialDesignError(
            "no stratum has two or more patients: the Cochran-Mantel-Haenszel test needs at "
            "least one stratum of two or more"
        )
    delta = variance = 0.0
    r = s = pr = ps_qr = qs = 0.0
    for t in used.values():
        a, b = t.x1, t.n1 - t.x1
        c, d = t.x2, t.n2 - t.x2
        n = t.total
        delta += a - t.n1 * t.responders / n
        variance += t.n1 * t.n2 * t.responders * (n - t.responders) / (n * n * (n - 1))
        rk, sk = a * d / n, b * c / n
        pk, qk = (a + d) / n, (b + c) / n
        r += rk
        s += sk
        pr += pk * rk
        ps_qr += pk * sk + qk * rk
        qs += qk * sk
    if variance == 0:
        raise TrialDesignError(
            "the Cochran-Mantel-Haenszel test is undefined: in every stratum all patients "
            "responded, none did, or only one arm is present"
        )
    yates = 0.5 if correct and abs(delta) >= 0.5 else 0.0
    statistic = (abs(delta) - yates) ** 2 / variance
    p_value = float(stats.chi2.sf(statistic, 1))
    if r > 0 and s > 0:
        odds_ratio = r / s
        sd = math.sqrt(pr / (2 * r * r) + ps_qr / (2 * r * s) + qs / (2 * s * s))
        z = NormalDist().inv_cdf(1 - (1 - conf_level) / 2)
        lower, upper = odds_ratio * math.exp(-z * sd), odds_ratio * math.exp(z * sd)
    else:
        odds_ratio = 0.0 if r == 0 and s > 0 else math.inf if s == 0 and r > 0 else math.nan
        lower, upper = (0.0, math.inf)
    return CMHResult(
        statistic, p_value, correct, odds_ratio, lower, upper, conf_level,
        tuple(used), omitted,
    )  # fmt: skip


__all__ = ["CMHResult", "cmh"]
