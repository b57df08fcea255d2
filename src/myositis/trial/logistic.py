"""Logistic regression of response on arm, adjusted for the randomisation strata, as R
``glm(response ~ arm + stratum, family = binomial)``; the fit is statsmodels' GLM (binomial,
logit link, iteratively reweighted least squares).

The arm effect is the log odds ratio of the treated against the control arm with its Wald
standard error, z, two-sided p-value and Wald interval (R ``confint.default``). Strata enter
as indicator columns against the first stratum of the plan. A stratum in which every
patient responded, or none did, separates the data: its coefficient runs off to infinity.
Such strata are reported in ``separated`` and the fit is flagged ``converged=False`` when
the arm effect itself is not estimable (every treated patient responded, say).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from myositis.errors import TrialDesignError


@dataclass(frozen=True)
class LogisticResult:
    """The arm effect of a stratum-adjusted logistic regression."""

    log_odds_ratio: float
    standard_error: float
    z: float
    p_value: float
    odds_ratio: float
    lower: float  # odds-ratio scale
    upper: float
    conf_level: float
    strata: tuple[str, ...]
    separated: tuple[str, ...]
    converged: bool
    note: str = ""


def logistic(
    responder: Sequence[bool],
    treated: Sequence[bool],
    stratum: Sequence[str],
    *,
    strata_order: Sequence[str] | None = None,
    conf_level: float = 0.95,
) -> LogisticResult:
    """Fit ``logit P(response) = b0 + b_arm * treated + sum b_k [stratum = k]``."""
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    n = len(responder)
    if not n == len(treated) == len(stratum):
        raise TrialDesignError("responder, treated and stratum must have one value per patient")
    y = np.asarray(responder, dtype=float)
    arm = np.asarray(treated, dtype=float)
    if arm.min(initial=1) == arm.max(initial=0):
        raise TrialDesignError("logistic regression needs patients in both arms")
    order = [s for s in (strata_order or sorted(set(stratum))) if s in set(stratum)]
    columns = [np.ones(n), arm]
    columns += [np.array([s == level for s in stratum], dtype=float) for level in order[1:]]
    design = np.column_stack(columns)
    separated = tuple(
        level for level in order
        if len({bool(r) for r, s in zip(responder, stratum, strict=True) if s == level}) == 1
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        fit = sm.GLM(y, design, family=sm.families.Binomial()).fit(tol=1e-12, maxiter=100)
    beta, se = float(fit.params[1]), float(fit.bse[1])
    # every patient of one arm with the same outcome: the arm effect runs off to infinity
    arm_separated = any(len(set(y[arm == side].tolist())) == 1 for side in (0.0, 1.0))
    converged = bool(fit.converged) and math.isfinite(se) and se < 1e3 and not arm_separated
    z = beta / se if se > 0 else math.nan
    p = 2 * NormalDist().cdf(-abs(z)) if math.isfinite(z) else math.nan
    q = NormalDist().inv_cdf(1 - (1 - conf_level) / 2)
    note = (
        ""
        if converged
        else "not estimable: every patient of one arm had the same outcome (separation); "
        "report the exact conditional odds ratio instead"
    )
    return LogisticResult(
        beta, se, z, p, _exp(beta), _exp(beta - q * se), _exp(beta + q * se),
        conf_level, tuple(order), separated, converged, note,
    )  # fmt: skip


def _exp(value: float) -> float:
    return math.exp(value) if value < 700 else math.inf


__all__ = ["LogisticResult", "logistic"]
