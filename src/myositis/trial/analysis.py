"""The planned analysis of a binary endpoint, and the single-arm summaries of a pilot.

Two-arm (unblinded: needs the allocation, person -> arm, from the unblinded store):

- response proportions by arm with Wilson intervals (:func:`myositis.trial.intervals.wilson`);
- risk difference, treated minus control, with Newcombe's hybrid score interval (method 10);
- Fisher's exact test (R ``fisher.test``) with the conditional MLE odds ratio;
- the Cochran-Mantel-Haenszel test stratified by the randomisation strata, with and without
  continuity correction (R ``mantelhaen.test``) and exact (``exact = TRUE``);
- logistic regression of response on arm adjusted for the strata (R ``glm``).

Single arm: the proportion with its exact Clopper-Pearson interval (R ``binom.test``), the
count per TIS category, and paired change of a score (R ``t.test(paired = TRUE)`` and
``wilcox.test(paired = TRUE)``: exact when there are fewer than 50 pairs without ties or
zero differences, otherwise the normal approximation with continuity and tie correction).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from myositis.errors import TrialDesignError
from myositis.trial.cmh import CMHResult, cmh
from myositis.trial.endpoints import TrialEndpoints
from myositis.trial.exact import ExactResult, Table2x2, exact_conditional, fisher
from myositis.trial.intervals import Interval, newcombe, wilson
from myositis.trial.logistic import LogisticResult, logistic
from myositis.trial.spec import TrialSpec


@dataclass(frozen=True)
class ArmSummary:
    arm: str
    patients: int
    responders: int
    proportion: Interval  # Wilson score interval


@dataclass(frozen=True)
class StratumCounts:
    stratum: str
    treated: tuple[int, int]  # responders, patients
    control: tuple[int, int]


@dataclass(frozen=True)
class BinaryAnalysis:
    """Every planned statistic of one endpoint; ``primary_p`` is the planned test's p-value."""

    endpoint: str
    spec_sha256: str
    estimand: str
    treated: ArmSummary
    control: ArmSummary
    risk_difference: Interval
    fisher: ExactResult
    cmh: CMHResult
    cmh_uncorrected: CMHResult
    cmh_exact: ExactResult
    logistic: LogisticResult
    strata: tuple[StratumCounts, ...]
    primary_test: str
    primary_p: float


def analyse_binary(
    spec: TrialSpec,
    endpoints: TrialEndpoints,
    allocation: Mapping[int, str],
    endpoint: str | None = None,
) -> BinaryAnalysis:
    """Analyse ``endpoint`` (default: the primary) of a two-arm trial as planned."""
    if spec.control_arm is None:
        raise TrialDesignError(
            f"{spec.trial.id} is a single-arm study: use single_arm() for its summaries"
        )
    name = endpoint or spec.primary.name
    if name not in {e.name for e in spec.endpoints}:
        raise TrialDesignError(
            f"endpoint {name!r} is not in the specification "
            f"({', '.join(e.name for e in spec.endpoints)})"
        )
    treated, control = spec.treated_arm, spec.control_arm
    missing = [p.person_id for p in endpoints.patients if p.person_id not in allocation]
    if missing:
        raise TrialDesignError(
            f"no allocation for person(s) {', '.join(map(str, missing[:10]))}: every analysed "
            "patient needs an arm from the allocation store"
        )
    unknown = sorted({allocation[p.person_id] for p in endpoints.patients} - {treated, control})
    if unknown:
        raise TrialDesignError(
            f"unknown arm(s) {unknown}: the plan's arms are {treated}, {control}"
        )
    cells: dict[str, list[int]] = {s: [0, 0, 0, 0] for s in spec.stratum_names}
    responder, is_treated, stratum = [], [], []
    for p in endpoints.patients:
        r = p.endpoint(name).responder
        t = allocation[p.person_id] == treated
        c = cells[p.stratum]
        offset = 0 if t else 2
        c[offset] += int(r)
        c[offset + 1] += 1
        responder.append(r)
        is_treated.append(t)
        stratum.append(p.stratum)
    x1 = sum(c[0] for c in cells.values())
    n1 = sum(c[1] for c in cells.values())
    x2 = sum(c[2] for c in cells.values())
    n2 = sum(c[3] for c in cells.values())
    if n1 == 0 or n2 == 0:
        raise TrialDesignError("both arms need patients to compare them")
    level = spec.analysis.conf_level
    tables = {s: Table2x2(*c) for s, c in cells.items() if c[1] + c[3] > 0}
    corrected = cmh(tables, correct=True, conf_level=level)
    uncorrected = cmh(tables, correct=False, conf_level=level)
    exact = exact_conditional(list(tables.values()), level)
    overall = fisher(Table2x2(x1, n1, x2, n2), level)
    fit = logistic(responder, is_treated, stratum, strata_order=spec.stratum_names,
                   conf_level=level)  # fmt: skip
    planned = spec.analysis.primary_test
    if planned == "cmh":
        p_value = (corrected if spec.analysis.cmh_correct else uncorrected).p_value
    elif planned == "fisher":
        p_value = overall.p_value
    else:
        p_value = fit.p_value
    return BinaryAnalysis(
        name, endpoints.spec_sha256, spec.intercurrent_events.estimand,
        ArmSummary(treated, n1, x1, wilson(x1, n1, level)),
        ArmSummary(control, n2, x2, wilson(x2, n2, level)),
        newcombe(x1, n1, x2, n2, level), overall, corrected, uncorrected, exact, fit,
        tuple(StratumCounts(s, (c[0], c[1]), (c[2], c[3])) for s, c in cells.items()),
        planned, p_value,
    )  # fmt: skip


@dataclass(frozen=True)
class Proportion:
    """A single-arm proportion with its exact Clopper-Pearson interval (R ``binom.test``)."""

    endpoint: str
    responders: int
    patients: int
    estimate: float
    lower: float
    upper: float
    conf_level: float


def single_arm(endpoints: TrialEndpoints, endpoint: str, conf_level: float = 0.95) -> Proportion:
    """Responders of ``endpoint`` among all patients, with the Clopper-Pearson interval."""
    from scipy import stats

    values = [p.endpoint(endpoint).responder for p in endpoints.patients]
    if not values:
        raise TrialDesignError("no patients to summarise")
    x, n = sum(values), len(values)
    ci = stats.binomtest(x, n).proportion_ci(conf_level, method="exact")
    return Proportion(endpoint, x, n, x / n, float(ci.low), float(ci.high), conf_level)


def tis_categories(endpoints: TrialEndpoints, visit: str) -> dict[str, int]:
    """Patients per 2016 ACR/EULAR category at ``visit`` (``not computable`` included)."""
    counts: Counter[str] = Counter()
    for p in endpoints.patients:
        score = p.visit(visit)
        counts[score.tis_category or "not computable"] += 1
    order = ("none", "minimal", "moderate", "major", "not computable")
    return {k: counts[k] for k in order if counts[k]}


@dataclass(frozen=True)
class PairedChange:
    """Change of a score between two visits in the same patients."""

    n: int
    mean_before: float
    sd_before: float
    mean_after: float
    sd_after: float
    mean_change: float  # after - before
    t: float
    df: int
    p_t: float  # paired t-test, two-sided
    v: float  # Wilcoxon signed-rank statistic (sum of ranks of positive before - after)
    p_wilcoxon: float
    wilcoxon_exact: bool


def paired_change(before: Sequence[float], after: Sequence[float]) -> PairedChange:
    """Paired t-test and Wilcoxon signed-rank test of ``before`` against ``after``."""
    import numpy as np
    from scipy import stats

    if len(before) != len(after) or len(before) < 2:
        raise TrialDesignError(
            f"paired change needs two or more pairs of equal length (got {len(before)} and "
            f"{len(after)} values)"
        )
    b, a = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    diff = b - a
    t = stats.ttest_rel(b, a)
    nonzero = diff[diff != 0]
    exact = len(nonzero) == len(diff) < 50 and len(np.unique(np.abs(nonzero))) == len(nonzero)
    w = stats.wilcoxon(b, a, method="exact" if exact else "approx", correction=not exact,
                       zero_method="wilcox")  # fmt: skip
    ranks = stats.rankdata(np.abs(nonzero))
    v = float(ranks[nonzero > 0].sum())
    return PairedChange(
        len(b), float(b.mean()), float(b.std(ddof=1)), float(a.mean()), float(a.std(ddof=1)),
        float((a - b).mean()), float(t.statistic), len(b) - 1, float(t.pvalue), v,
        float(w.pvalue), exact,
    )  # fmt: skip


__all__ = [
    "ArmSummary",
    "BinaryAnalysis",
    "PairedChange",
    "Proportion",
    "StratumCounts",
    "analyse_binary",
    "paired_change",
    "single_arm",
    "tis_categories",
]
