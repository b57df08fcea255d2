"""Equal- and random-effects models for study-level effects (the job of metafor's ``rma.uni``).

One weighted least-squares model ``y = X b + u + e``, ``e ~ N(0, v_i)``, ``u ~ N(0, tau^2)``,
with the between-study variance from:

- ``EE``   none (equal/common effect, ``tau^2 = 0``);
- ``DL``   DerSimonian-Laird: ``tau^2 = max(0, (Q_E - (k-p)) / tr(P))``;
- ``PM``   Paule-Mandel: the root of ``Q(tau^2) = k - p`` (0 when ``Q(0) < k - p``);
- ``REML`` restricted maximum likelihood by Fisher scoring (Viechtbauer 2005), as metafor.

The iterative estimators use metafor's own starting values and stopping rules, so estimates
agree with metafor's to every printed digit, not only to the tolerance of either program.

Inference (``test``): ``z`` (normal), ``knha`` (Hartung-Knapp / Sidik-Jonkman: variances
times ``s^2 = sum w_i r_i^2 / (k-p)``, t with k-p df) and ``adhoc`` (the modified form for
few studies, Knapp & Hartung 2003 / Roever et al. 2015: ``s^2`` not allowed below 1), as
``rma(..., test="knha")`` and ``test="adhoc"``.

Heterogeneity as metafor reports it: ``Q_E`` with k-p df from the equal-effects fit;
``I^2 = 100 tau^2 / (tau^2 + s_v^2)`` and ``H^2 = (tau^2 + s_v^2) / s_v^2`` with the
"typical" within-study variance ``s_v^2 = (k-p) / tr(P)`` (for EE: ``I^2 = (Q-df)/Q``,
``H^2 = Q/df``).

statsmodels' ``combine_effects`` is not used: its DL estimate is not truncated at 0, its
Paule-Mandel iteration stops elsewhere (0.31807 vs metafor's 0.31809 for dat.bcg), and
it has neither REML nor moderators. The tests check it agrees with this module where it can.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, stats

from myositis.errors import EvidenceError

Method = Literal["EE", "DL", "REML", "PM"]
Test = Literal["z", "knha", "adhoc"]
METHODS: tuple[Method, ...] = ("EE", "DL", "REML", "PM")
TESTS: tuple[Test, ...] = ("z", "knha", "adhoc")

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class ModelFit:
    """A fitted model on the model scale; arrays are per coefficient (intercept first)."""

    method: Method
    test: Test
    level: float
    k: int
    p: int
    coef: FloatArray
    se: FloatArray
    vcov: FloatArray
    stat: FloatArray
    pval: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    df: int | None
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    qm: float | None
    qm_pvalue: float | None
    weights: FloatArray
    crit: float

    def predict_interval(self, x: FloatArray | None = None) -> tuple[float, float, float, float]:
        """Mean and its prediction interval at covariate row ``x`` (intercept-only by default).

        Returns ``(estimate, se, pi_low, pi_high)``; the prediction interval uses
        ``sqrt(se^2 + tau^2)`` and the same critical value as the confidence interval, as
        metafor's ``predict.rma``. For an equal-effects model it is the confidence interval.
        """
        row = np.zeros(self.p) if x is None else np.asarray(x, dtype=np.float64)
        if x is None:
            row[0] = 1.0
        est = float(row @ self.coef)
        se = float(np.sqrt(row @ self.vcov @ row))
        half = self.crit * float(np.sqrt(se**2 + self.tau2))
        return est, se, est - half, est + half


def _wls(y: FloatArray, w: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    xtw = x.T * w
    vb = np.asarray(np.linalg.inv(xtw @ x), dtype=np.float64)
    return vb @ (xtw @ y), vb


def _p_matrix(w: FloatArray, x: FloatArray) -> FloatArray:
    xtw = x.T * w
    vb = np.linalg.inv(xtw @ x)
    wm = np.diag(w)
    return wm - (w[:, None] * x) @ vb @ xtw


def _q_at(tau2: float, y: FloatArray, v: FloatArray, x: FloatArray) -> float:
    w = 1.0 / (v + tau2)
    b, _ = _wls(y, w, x)
    r = y - x @ b
    return float(np.sum(w * r**2))


def _tau2_dl(y: FloatArray, v: FloatArray, x: FloatArray) -> float:
    k, p = x.shape
    q = _q_at(0.0, y, v, x)
    trace = float(np.trace(_p_matrix(1.0 / v, x)))
    return max(0.0, (q - (k - p)) / trace)


def _tau2_pm(y: FloatArray, v: FloatArray, x: FloatArray) -> float:
    # Brent's root finder on [0, 100] with tolerance eps^(1/4), exactly as metafor calls
    # uniroot() (rma.uni control: tau2.max = 100, tol = .Machine$double.eps^0.25), so the
    # estimate equals metafor's to all digits rather than being a slightly different root.
    k, p = x.shape
    target = float(k - p)
    if _q_at(0.0, y, v, x) <= target:
        return 0.0
    upper = 100.0
    while _q_at(upper, y, v, x) > target:
        upper *= 10.0
    tol = float(np.finfo(np.float64).eps) ** 0.25
    return float(optimize.brentq(lambda t: _q_at(t, y, v, x) - target, 0.0, upper, xtol=tol))


def _tau2_he(y: FloatArray, v: FloatArray, x: FloatArray) -> float:
    """Hedges' estimator ``(RSS_OLS - tr(P_OLS V)) / (k - p)``, metafor's REML start."""
    k, p = x.shape
    resid_maker = np.eye(k) - x @ np.linalg.inv(x.T @ x) @ x.T
    rss = float(y @ resid_maker @ y)
    return max(0.0, (rss - float(np.sum(np.diag(resid_maker) * v))) / (k - p))


def _tau2_reml(y: FloatArray, v: FloatArray, x: FloatArray) -> float:
    # Fisher scoring on the restricted likelihood with metafor's start (Hedges), step halving
    # at the boundary and stopping rule (change < 1e-5), so that the iterations, and hence the
    # estimate, are metafor's own (Viechtbauer 2005; rma.uni control threshold = 1e-5).
    tau2 = _tau2_he(y, v, x)
    for _ in range(100):
        p_mat = _p_matrix(1.0 / (v + tau2), x)
        py = p_mat @ y
        adj = (float(py @ py) - float(np.trace(p_mat))) / float(np.sum(p_mat * p_mat))
        while tau2 + adj < 0:
            adj /= 2.0
        previous, tau2 = tau2, tau2 + adj
        if abs(tau2 - previous) < 1e-5:
            return max(0.0, tau2)
    raise EvidenceError("the REML estimate of tau^2 did not converge in 100 iterations")


def fit_model(
    yi: FloatArray,
    vi: FloatArray,
    x: FloatArray | None = None,
    *,
    method: Method = "REML",
    test: Test = "z",
    level: float = 95.0,
) -> ModelFit:
    """Fit the model of the module docstring; ``x`` is the design matrix (intercept first).

    Equivalent to ``metafor::rma(yi, vi, mods=x[, -1], method=method, test=test)``.
    """
    y = np.asarray(yi, dtype=np.float64)
    v = np.asarray(vi, dtype=np.float64)
    k = len(y)
    design = np.ones((k, 1)) if x is None else np.asarray(x, dtype=np.float64)
    p = design.shape[1]
    if method not in METHODS:
        raise EvidenceError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    if test not in TESTS:
        raise EvidenceError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}")
    if k <= p:
        raise EvidenceError(
            f"{k} studies cannot estimate {p} coefficient(s): at least {p + 1} are needed"
        )
    if np.linalg.matrix_rank(design) < p:
        raise EvidenceError("the moderator does not vary between studies; it cannot be estimated")

    if method == "EE":
        tau2 = 0.0
    elif method == "DL":
        tau2 = _tau2_dl(y, v, design)
    elif method == "PM":
        tau2 = _tau2_pm(y, v, design)
    else:
        tau2 = _tau2_reml(y, v, design)

    w = 1.0 / (v + tau2)
    coef, vb = _wls(y, w, design)
    resid = y - design @ coef

    df: int | None = None
    if test == "z":
        crit = float(stats.norm.ppf(0.5 + level / 200.0))
    else:
        s2 = float(np.sum(w * resid**2)) / (k - p)
        if test == "adhoc":
            s2 = max(1.0, s2)
        vb = vb * s2
        df = k - p
        crit = float(stats.t.ppf(0.5 + level / 200.0, df))
    se = np.sqrt(np.diag(vb))
    stat = coef / se
    pval = 2.0 * (stats.norm.sf(np.abs(stat)) if df is None else stats.t.sf(np.abs(stat), df))

    q = _q_at(0.0, y, v, design)
    q_df = k - p
    q_pvalue = float(stats.chi2.sf(q, q_df)) if q_df > 0 else float("nan")
    if method == "EE":
        i2 = max(0.0, 100.0 * (q - q_df) / q) if q > 0 else 0.0
        h2 = q / q_df
    else:
        vt = q_df / float(np.trace(_p_matrix(1.0 / v, design)))
        i2 = 100.0 * tau2 / (vt + tau2)
        h2 = (vt + tau2) / vt

    qm: float | None = None
    qm_pvalue: float | None = None
    if p > 1:
        b = coef[1:]
        qm = float(b @ np.linalg.solve(vb[1:, 1:], b))
        if df is None:
            qm_pvalue = float(stats.chi2.sf(qm, p - 1))
        else:
            qm = qm / (p - 1)  # an F statistic, as metafor reports it under knha/adhoc
            qm_pvalue = float(stats.f.sf(qm, p - 1, df))

    return ModelFit(
        method=method,
        test=test,
        level=level,
        k=k,
        p=p,
        coef=coef,
        se=se,
        vcov=vb,
        stat=stat,
        pval=pval,
        ci_low=coef - crit * se,
        ci_high=coef + crit * se,
        df=df,
        tau2=float(tau2),
        i2=float(i2),
        h2=float(h2),
        q=q,
        q_df=q_df,
        q_pvalue=q_pvalue,
        qm=qm,
        qm_pvalue=qm_pvalue,
        weights=w,
        crit=crit,
    )


class MetaAnalysis:
    """Equal- or random-effects meta-analysis (intercept-only model), sklearn style.

    >>> fit = MetaAnalysis(method="REML").fit(yi, vi)   # doctest: +SKIP
    """

    def __init__(self, method: Method = "REML", test: Test = "z", level: float = 95.0) -> None:
        self.method = method
        self.test = test
        self.level = level

    def fit(self, yi: FloatArray, vi: FloatArray) -> ModelFit:
        """Validate the inputs and fit; see :func:`fit_model`."""
        _check_inputs(yi, vi)
        return fit_model(yi, vi, method=self.method, test=self.test, level=self.level)


class MetaRegression:
    """Mixed-effects meta-regression on one study-level covariate (``mods = ~ covariate``)."""

    def __init__(self, method: Method = "REML", test: Test = "z", level: float = 95.0) -> None:
        self.method = method
        self.test = test
        self.level = level

    def fit(self, yi: FloatArray, vi: FloatArray, covariate: FloatArray) -> ModelFit:
        """Fit ``yi ~ 1 + covariate``; see :func:`fit_model`."""
        _check_inputs(yi, vi)
        cov = np.asarray(covariate, dtype=np.float64)
        if cov.shape != np.shape(yi) or not np.all(np.isfinite(cov)):
            raise EvidenceError("the moderator needs one finite number per study")
        design = np.column_stack([np.ones(len(cov)), cov])
        return fit_model(yi, vi, design, method=self.method, test=self.test, level=self.level)


def _check_inputs(yi: FloatArray, vi: FloatArray) -> None:
    y = np.asarray(yi, dtype=np.float64)
    v = np.asarray(vi, dtype=np.float64)
    if y.shape != v.shape or y.ndim != 1:
        raise EvidenceError("effects and variances must be two lists of the same length")
    if len(y) < 2:
        raise EvidenceError(f"pooling needs at least 2 studies; got {len(y)}")
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(v))):
        raise EvidenceError("effects and variances must be finite numbers")
    if np.any(v <= 0):
        raise EvidenceError("every sampling variance must be positive (a zero variance was given)")
