"""Pool effect sizes and report them on the scale readers expect.

This module ties :mod:`effects`, :mod:`models` and :mod:`glmm` together: it fits the model,
back-transforms proportions (``PLO`` by the inverse logit, ``PFT`` by Miller's inversion at the
harmonic mean of the sample sizes, metafor's ``transf.ipft.hm``), and adds subgroup analysis,
leave-one-out and meta-regression. ``tau2`` and ``se`` stay on the model scale, as metafor
reports them; ``i2`` is in percent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import stats

from myositis.errors import EvidenceError
from myositis.evidence.effects import EffectSizes, to_natural
from myositis.evidence.glmm import BinomialNormalGLMM
from myositis.evidence.models import METHODS, MetaRegression, Method, Test, fit_model

PoolMethod = Literal["EE", "DL", "REML", "PM", "GLMM"]
POOL_METHODS: tuple[PoolMethod, ...] = ("EE", "DL", "REML", "PM", "GLMM")
SUMMARY_KEYS = (
    "k",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "pi_low",
    "pi_high",
    "tau2",
    "i2",
    "q",
    "q_pvalue",
)


@dataclass(frozen=True)
class StudyEstimate:
    """One study's effect with its confidence interval, on the natural scale."""

    study: str
    yi: float
    vi: float
    estimate: float
    ci_low: float
    ci_high: float
    weight: float | None
    events: float | None = None
    n: float | None = None


@dataclass(frozen=True)
class PoolResult:
    """A pooled estimate; ``estimate``/``ci_*``/``pi_*`` on the natural scale.

    ``se`` and ``tau2`` are on the model scale (logit for PLO and GLMM, double arcsine for PFT).
    ``pi_low``/``pi_high`` are ``None`` for an equal-effects model (metafor prints none).
    """

    measure: str
    method: str
    test: str
    k: int
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float | None
    pi_high: float | None
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    model_estimate: float
    model_ci_low: float
    model_ci_high: float
    studies: tuple[StudyEstimate, ...] = ()
    q_lrt: float | None = None
    q_lrt_pvalue: float | None = None

    def summary(self) -> dict[str, Any]:
        """The documented JSON object: k, estimate, se, ci_low, ci_high, pi_low, pi_high,
        tau2, i2, q, q_pvalue."""
        data = asdict(self)
        return {key: data[key] for key in SUMMARY_KEYS}


@dataclass(frozen=True)
class SubgroupResult:
    """Pooled estimates within subgroups and the test of subgroup differences.

    ``q_between`` is the Wald-type test that the subgroup estimates (each with its own tau^2)
    are equal: the equal-effects ``Q`` of the subgroup estimates with their standard errors,
    on G-1 df (metafor: ``rma(estimates, sei=ses, method="EE")$QE``; RevMan and meta do the
    same with separate tau^2).
    """

    column: str
    groups: dict[str, PoolResult]
    overall: PoolResult
    q_between: float
    q_between_df: int
    q_between_pvalue: float


@dataclass(frozen=True)
class RegressionResult:
    """Meta-regression on one covariate; coefficient arrays are intercept first."""

    moderator: str
    method: str
    test: str
    k: int
    coef: list[float]
    se: list[float]
    stat: list[float]
    pval: list[float]
    ci_low: list[float]
    ci_high: list[float]
    tau2: float
    i2: float
    r2: float | None
    qm: float
    qm_pvalue: float
    q: float
    q_df: int
    q_pvalue: float
    extra: dict[str, Any] = field(default_factory=dict)


def _study_rows(
    effects: EffectSizes, weights: np.ndarray | None, crit: float
) -> tuple[StudyEstimate, ...]:
    rows = []
    total = None if weights is None else float(np.sum(weights))
    for i, name in enumerate(effects.study):
        y, v = float(effects.yi[i]), float(effects.vi[i])
        own_n = None if effects.n is None else effects.n[i : i + 1]
        vals = to_natural(
            effects.measure, np.array([y, y - crit * v**0.5, y + crit * v**0.5]), own_n
        )
        rows.append(
            StudyEstimate(
                study=name,
                yi=y,
                vi=v,
                estimate=float(vals[0]),
                ci_low=float(vals[1]),
                ci_high=float(vals[2]),
                weight=None
                if weights is None or total is None
                else 100.0 * float(weights[i]) / total,
                events=None if effects.events is None else float(effects.events[i]),
                n=None if effects.n is None else float(effects.n[i]),
            )
        )
    return tuple(rows)


def pool(
    effects: EffectSizes, method: PoolMethod = "REML", test: Test = "z", level: float = 95.0
) -> PoolResult:
    """Pool ``effects`` with ``method`` (EE, DL, REML, PM; GLMM for PLO) and ``test``.

    Equivalent to ``rma(yi, vi, method=method, test=test)`` followed by
    ``predict(res, transf=...)``, or to ``rma.glmm(measure="PLO", xi, ni)`` for GLMM.
    """
    if effects.k < 2:
        raise EvidenceError(f"pooling needs at least 2 studies; got {effects.k}")
    crit_z = float(stats.norm.ppf(0.5 + level / 200.0))
    if method == "GLMM":
        if effects.measure != "PLO" or effects.events is None or effects.n is None:
            raise EvidenceError("--method GLMM is the binomial-normal model for --measure PLO")
        if test != "z":
            raise EvidenceError("the Hartung-Knapp adjustment is not available with --method GLMM")
        g = BinomialNormalGLMM(level=level).fit(effects.events, effects.n)
        nat = to_natural("PLO", np.array([g.coef, g.ci_low, g.ci_high, g.pi_low, g.pi_high]), None)
        return PoolResult(
            measure="PLO",
            method="GLMM",
            test="z",
            k=g.k,
            estimate=float(nat[0]),
            se=g.se,
            ci_low=float(nat[1]),
            ci_high=float(nat[2]),
            pi_low=float(nat[3]),
            pi_high=float(nat[4]),
            tau2=g.tau2,
            i2=g.i2,
            h2=g.h2,
            q=g.q,
            q_df=g.q_df,
            q_pvalue=g.q_pvalue,
            model_estimate=g.coef,
            model_ci_low=g.ci_low,
            model_ci_high=g.ci_high,
            studies=_study_rows(effects, None, crit_z),
            q_lrt=g.q_lrt,
            q_lrt_pvalue=g.q_lrt_pvalue,
        )
    if method not in METHODS:
        raise EvidenceError(f"unknown method {method!r}; choose one of {', '.join(POOL_METHODS)}")
    if np.any(effects.vi <= 0):
        raise EvidenceError("every sampling variance must be positive (a zero variance was given)")
    fit = fit_model(effects.yi, effects.vi, method=method, test=test, level=level)
    est, _, pi_lo, pi_hi = fit.predict_interval()
    nat = to_natural(
        effects.measure, np.array([est, fit.ci_low[0], fit.ci_high[0], pi_lo, pi_hi]), effects.n
    )
    has_pi = method != "EE"
    return PoolResult(
        measure=effects.measure,
        method=method,
        test=test,
        k=fit.k,
        estimate=float(nat[0]),
        se=float(fit.se[0]),
        ci_low=float(nat[1]),
        ci_high=float(nat[2]),
        pi_low=float(nat[3]) if has_pi else None,
        pi_high=float(nat[4]) if has_pi else None,
        tau2=fit.tau2,
        i2=fit.i2,
        h2=fit.h2,
        q=fit.q,
        q_df=fit.q_df,
        q_pvalue=fit.q_pvalue,
        model_estimate=float(fit.coef[0]),
        model_ci_low=float(fit.ci_low[0]),
        model_ci_high=float(fit.ci_high[0]),
        studies=_study_rows(effects, fit.weights, crit_z),
    )


def _single_study(effects: EffectSizes, method: str, test: str, level: float) -> PoolResult:
    """A subgroup of one study: its own estimate (tau^2 = 0), as rma() gives for k = 1."""
    crit = float(stats.norm.ppf(0.5 + level / 200.0))
    y, v = float(effects.yi[0]), float(effects.vi[0])
    nat = to_natural(
        effects.measure, np.array([y, y - crit * v**0.5, y + crit * v**0.5]), effects.n
    )
    return PoolResult(
        measure=effects.measure,
        method=method,
        test="z",
        k=1,
        estimate=float(nat[0]),
        se=v**0.5,
        ci_low=float(nat[1]),
        ci_high=float(nat[2]),
        pi_low=None,
        pi_high=None,
        tau2=0.0,
        i2=0.0,
        h2=1.0,
        q=0.0,
        q_df=0,
        q_pvalue=float("nan"),
        model_estimate=y,
        model_ci_low=y - crit * v**0.5,
        model_ci_high=y + crit * v**0.5,
        studies=_study_rows(effects, np.array([1.0]), crit),
    )


def subgroups(
    effects: EffectSizes,
    column: str,
    method: PoolMethod = "REML",
    test: Test = "z",
    level: float = 95.0,
) -> SubgroupResult:
    """Pool within each subgroup of ``effects.extra[column]`` and test their differences."""
    if column not in effects.extra:
        raise EvidenceError(f"no subgroup column {column!r} was read")
    labels = [str(label) for label in effects.extra[column]]
    order = list(dict.fromkeys(labels))
    if len(order) < 2:
        raise EvidenceError(
            f"column {column!r} has a single subgroup ({order[0]!r}); nothing to compare"
        )
    groups: dict[str, PoolResult] = {}
    for label in order:
        part = effects.subset([lab == label for lab in labels])
        try:
            groups[label] = (
                _single_study(part, method, test, level)
                if part.k == 1
                else pool(part, method, test, level)
            )
        except EvidenceError as exc:
            raise EvidenceError(f"subgroup {label!r} ({column}): {exc}") from exc
    est = np.array([g.model_estimate for g in groups.values()])
    se = np.array([g.se for g in groups.values()])
    between = fit_model(est, se**2, method="EE")
    return SubgroupResult(
        column=column,
        groups=groups,
        overall=pool(effects, method, test, level),
        q_between=between.q,
        q_between_df=between.q_df,
        q_between_pvalue=between.q_pvalue,
    )


def leave_one_out(
    effects: EffectSizes, method: PoolMethod = "REML", test: Test = "z", level: float = 95.0
) -> list[tuple[str, PoolResult]]:
    """The pooled result with each study left out in turn (metafor ``leave1out``)."""
    if effects.k < 3:
        raise EvidenceError(f"leave-one-out needs at least 3 studies; got {effects.k}")
    out = []
    for i, name in enumerate(effects.study):
        keep = np.ones(effects.k, dtype=bool)
        keep[i] = False
        try:
            out.append((name, pool(effects.subset(keep), method, test, level)))
        except EvidenceError as exc:
            raise EvidenceError(f"leave-one-out without {name!r}: {exc}") from exc
    return out


def meta_regression(
    effects: EffectSizes,
    moderator: str,
    method: PoolMethod = "REML",
    test: Test = "z",
    level: float = 95.0,
) -> RegressionResult:
    """Mixed-effects meta-regression on ``effects.extra[moderator]`` (``mods = ~ moderator``).

    ``r2`` is metafor's pseudo-R^2: the percentage reduction of tau^2 from the intercept-only
    model fitted with the same method (``None`` for EE or when that tau^2 is 0).
    """
    if method == "GLMM":
        raise EvidenceError("meta-regression is available with EE, DL, REML or PM, not GLMM")
    if moderator not in effects.extra:
        raise EvidenceError(f"no moderator column {moderator!r} was read")
    cov = np.asarray(effects.extra[moderator], dtype=np.float64)
    reg_method: Method = method
    fit = MetaRegression(method=reg_method, test=test, level=level).fit(effects.yi, effects.vi, cov)
    r2: float | None = None
    if method != "EE":
        tau2_0 = fit_model(effects.yi, effects.vi, method=reg_method).tau2
        if tau2_0 > 0:
            r2 = max(0.0, 100.0 * (tau2_0 - fit.tau2) / tau2_0)
    assert fit.qm is not None and fit.qm_pvalue is not None  # p = 2, so QM exists
    return RegressionResult(
        moderator=moderator,
        method=method,
        test=test,
        k=fit.k,
        coef=fit.coef.tolist(),
        se=fit.se.tolist(),
        stat=fit.stat.tolist(),
        pval=fit.pval.tolist(),
        ci_low=fit.ci_low.tolist(),
        ci_high=fit.ci_high.tolist(),
        tau2=fit.tau2,
        i2=fit.i2,
        r2=r2,
        qm=fit.qm,
        qm_pvalue=fit.qm_pvalue,
        q=fit.q,
        q_df=fit.q_df,
        q_pvalue=fit.q_pvalue,
    )
