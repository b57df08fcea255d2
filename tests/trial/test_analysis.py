"""The planned analysis of a seeded synthetic BIRD-like trial, pinned to R 4.2.

The seed-7 trial's primary endpoint gives, per stratum (responders/patients, baricitinib then
placebo): naive/MTX 6/13 vs 2/13, naive/AZA 1/4 vs 0/4, relapsing/MTX 5/10 vs 1/11,
relapsing/AZA 2/3 vs 2/4 (14/30 vs 5/32). In R:

    tab <- array(c(6,2,7,11, 1,0,3,4, 5,1,5,10, 2,2,1,2), dim = c(2, 2, 4))
"""

from __future__ import annotations

from functools import cache

import pytest

from myositis.errors import TrialDesignError
from myositis.trial.analysis import BinaryAnalysis, analyse_binary, paired_change
from myositis.trial.endpoints import derive_endpoints
from myositis.trial.spec import load_trial_spec
from myositis.trial.synthetic import generate_trial


@cache
def _analysis() -> BinaryAnalysis:
    spec = load_trial_spec("bird")
    trial = generate_trial(spec, seed=7)
    t = trial.tables
    endpoints = derive_endpoints(spec, trial.enrolment, t["assessment"], t["laboratory"],
                                 t["drug_exposure"])  # fmt: skip
    return analyse_binary(spec, endpoints, trial.allocation)


def test_counts_by_arm_and_stratum() -> None:
    a = _analysis()
    assert (a.treated.arm, a.treated.responders, a.treated.patients) == ("baricitinib", 14, 30)
    assert (a.control.arm, a.control.responders, a.control.patients) == ("placebo", 5, 32)
    assert [(s.stratum, s.treated, s.control) for s in a.strata] == [
        ("naive/methotrexate", (6, 13), (2, 13)),
        ("naive/azathioprine", (1, 4), (0, 4)),
        ("relapsing/methotrexate", (5, 10), (1, 11)),
        ("relapsing/azathioprine", (2, 3), (2, 4)),
    ]
    assert a.risk_difference.estimate == pytest.approx(14 / 30 - 5 / 32)
    assert a.risk_difference.method.startswith("Newcombe")


def test_planned_tests_match_r() -> None:
    """R: m <- mantelhaen.test(tab): X-squared 5.93906433471, p 0.0148088783073, common OR
    5.63965517241 (1.55284548689 to 20.4822119987); mantelhaen.test(tab, correct = FALSE):
    7.35584945306, p 0.00668449208301; mantelhaen.test(tab, exact = TRUE): p 0.0113978487939,
    OR 5.108841926; fisher.test(matrix(c(14, 5, 16, 27), 2)): p 0.0125758374211, OR
    4.60129762093; glm(resp ~ arm + s, binomial) arm: 1.7431460935, se 0.655296421758,
    z 2.66008791689, p 0.00781202569261 (R's IRLS stops at a deviance change of 1e-8, so its
    standard error is good to about 2e-5 here)."""
    a = _analysis()
    assert a.cmh.statistic == pytest.approx(5.93906433471, abs=1e-10)
    assert a.cmh.p_value == pytest.approx(0.0148088783073, abs=1e-12)
    assert a.cmh.odds_ratio == pytest.approx(5.63965517241, abs=1e-10)
    assert (a.cmh.lower, a.cmh.upper) == pytest.approx((1.55284548689, 20.4822119987), abs=1e-9)
    assert a.cmh_uncorrected.statistic == pytest.approx(7.35584945306, abs=1e-10)
    assert a.cmh_uncorrected.p_value == pytest.approx(0.00668449208301, abs=1e-12)
    assert a.cmh_exact.p_value == pytest.approx(0.0113978487939, abs=1e-12)
    assert a.cmh_exact.odds_ratio == pytest.approx(5.108841926, rel=2e-4)
    assert a.fisher.p_value == pytest.approx(0.0125758374211, abs=1e-12)
    assert a.fisher.odds_ratio == pytest.approx(4.60129762093, rel=2e-4)
    assert a.logistic.log_odds_ratio == pytest.approx(1.7431460935, abs=1e-6)
    assert a.logistic.standard_error == pytest.approx(0.655296421758, rel=1e-4)
    assert a.logistic.p_value == pytest.approx(0.00781202569261, rel=1e-3)
    # the plan (bird.yaml): CMH with continuity correction is the primary test
    assert a.primary_test == "cmh"
    assert a.primary_p == a.cmh.p_value
    assert "composite strategy" in a.estimand


def test_analysis_refuses_patients_without_an_arm() -> None:
    spec = load_trial_spec("bird")
    trial = generate_trial(spec, seed=7)
    t = trial.tables
    endpoints = derive_endpoints(spec, trial.enrolment, t["assessment"], t["laboratory"],
                                 t["drug_exposure"])  # fmt: skip
    partial = dict(list(trial.allocation.items())[1:])
    with pytest.raises(TrialDesignError, match="no allocation for person"):
        analyse_binary(spec, endpoints, partial)
    with pytest.raises(TrialDesignError, match="not in the specification"):
        analyse_binary(spec, endpoints, trial.allocation, "week99")


def test_paired_tests_match_r() -> None:
    """R ?wilcox.test depression data: wilcox.test(x, y, paired = TRUE) V = 40,
    p = 0.0390625 (exact); t.test(extra ~ group, data = sleep, paired = TRUE): t = -4.0621,
    df = 9, p = 0.002833 (statistics.md)."""
    x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
    y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
    result = paired_change(x, y)
    assert result.wilcoxon_exact and result.v == 40
    assert result.p_wilcoxon == pytest.approx(0.0390625, abs=1e-10)
    one = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
    two = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]
    sleep = paired_change(one, two)
    assert sleep.t == pytest.approx(-4.0621, abs=5e-5)
    assert sleep.df == 9
    assert sleep.p_t == pytest.approx(0.002833, abs=5e-7)
    assert not sleep.wilcoxon_exact  # a zero difference: R also falls back to the approximation
