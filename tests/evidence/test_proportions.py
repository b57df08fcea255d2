"""Single-arm proportions (dat.pritz1997) pinned to R metafor 3.8-1.

R, for measure m in PR, PLO, PFT:
``dd <- escalc(measure=m, xi=xi, ni=ni, data=dat.pritz1997); res <- rma(yi, vi, data=dd,
method=meth); predict(res, transf=tr, targs=list(ni=dat.pritz1997$ni))`` with
``tr = transf.ilogit`` (PLO) or ``transf.ipft.hm`` (PFT).
"""

from __future__ import annotations

import numpy as np
import pytest

from myositis.evidence.effects import ipft_hm, proportions
from myositis.evidence.pooling import pool

from .conftest import PRITZ_N, pritz

REL = 1e-7


def test_escalc_continuity_correction() -> None:
    """R: ``escalc("PR", xi=c(10,0,5), ni=c(10,10,10))`` -> 0.9545, 0.0455, 0.5 (vi 0.0039,
    0.0039, 0.0250); PLO -> 3.0445, -3.0445, 0 (vi 2.0952, 2.0952, 0.4); PFT (no correction)
    -> 1.4177, 0.1531, 0.7854 (vi 0.0238)."""
    pr = proportions(["a", "b", "c"], [10, 0, 5], [10, 10, 10], "PR")
    assert np.round(pr.yi, 4).tolist() == [0.9545, 0.0455, 0.5]
    assert np.round(pr.vi, 4).tolist() == [0.0039, 0.0039, 0.025]
    plo = proportions(["a", "b", "c"], [10, 0, 5], [10, 10, 10], "PLO")
    assert np.round(plo.yi, 4).tolist() == [3.0445, -3.0445, 0.0]
    assert np.round(plo.vi, 4).tolist() == [2.0952, 2.0952, 0.4]
    pft = proportions(["a", "b", "c"], [10, 0, 5], [10, 10, 10], "PFT")
    assert np.round(pft.yi, 4).tolist() == [1.4177, 0.1531, 0.7854]
    assert np.round(pft.vi, 4).tolist() == [0.0238] * 3


@pytest.mark.parametrize(
    ("measure", "method", "est", "lo", "hi", "pi_lo", "pi_hi", "tau2", "i2", "q"),
    [
        (
            "PR",
            "REML",
            0.796751999417904,
            0.713772385974748,
            0.87973161286106,
            0.530584200706661,
            1.06291979812915,
            0.01664984159,
            75.27789192,
            48.34528081,
        ),
        (
            "PR",
            "DL",
            0.798030460973905,
            0.718331880691565,
            0.877729041256245,
            0.546114009758013,
            1.0499469121898,
            0.01486675697,
            73.11009517,
            48.34528081,
        ),
        (
            "PR",
            "PM",
            0.797442680706355,
            0.71626886270408,
            0.878616498708631,
            0.539107410984462,
            1.05577795042825,
            0.01565757325,
            74.11669407,
            48.34528081,
        ),
        (
            "PLO",
            "REML",
            0.757479298945467,
            0.660521964094252,
            0.833716207868904,
            0.466134550039725,
            0.917850049332564,
            0.364587846484,
            56.559607570446,
            29.785416460258,
        ),
        (
            "PLO",
            "DL",
            0.757306614841311,
            0.660566937418204,
            0.833427630796706,
            0.46714462561406,
            0.917401208636152,
            0.361558277235,
            56.354479658374,
            29.785416460258,
        ),
        (
            "PLO",
            "PM",
            0.758661083795331,
            0.660198951896235,
            0.83569302635449,
            0.459150256683666,
            0.920887705538466,
            0.385858773388,
            57.947273031341,
            29.785416460258,
        ),
        (
            "PFT",
            "REML",
            0.802899884200186,
            0.702205663153482,
            0.889346759456544,
            0.464630610497986,
            0.998942021266444,
            0.02576109703,
            69.88684364,
            40.56638151,
        ),
        (
            "PFT",
            "DL",
            0.802335044188981,
            0.704667786728203,
            0.886600741380991,
            0.479148645143117,
            0.996537813196622,
            0.02353756953,
            67.95375995,
            40.56638151,
        ),
        (
            "PFT",
            "PM",
            0.802806524572351,
            0.702636588297855,
            0.888877120851844,
            0.467136968669802,
            0.998615260928486,
            0.0253707509,
            69.5645433,
            40.56638151,
        ),
    ],
)
def test_pritz_random_effects(measure, method, est, lo, hi, pi_lo, pi_hi, tau2, i2, q) -> None:  # type: ignore[no-untyped-def]
    """See the module docstring for the R calls."""
    res = pool(pritz(measure), method)
    assert res.estimate == pytest.approx(est, rel=REL)
    assert (res.ci_low, res.ci_high) == (pytest.approx(lo, rel=REL), pytest.approx(hi, rel=REL))
    assert (res.pi_low, res.pi_high) == (
        pytest.approx(pi_lo, rel=REL),
        pytest.approx(pi_hi, rel=REL),
    )
    assert res.tau2 == pytest.approx(tau2, rel=1e-6)
    assert res.i2 == pytest.approx(i2, rel=1e-6)
    assert res.q == pytest.approx(q, rel=1e-9)


@pytest.mark.parametrize(
    ("measure", "est", "lo", "hi"),
    [
        ("PR", 0.830757554979655, 0.792874355666946, 0.868640754292365),
        ("PLO", 0.719365272234918, 0.662754363498496, 0.769774401586619),
        ("PFT", 0.781689161599149, 0.731063164316741, 0.828965867542055),
    ],
)
def test_pritz_equal_effects_has_no_prediction_interval(measure, est, lo, hi) -> None:  # type: ignore[no-untyped-def]
    """R: ``rma(yi, vi, data=dd, method="EE")``; predict() prints no pi.lb/pi.ub."""
    res = pool(pritz(measure), "EE")
    assert res.estimate == pytest.approx(est, rel=REL)
    assert (res.ci_low, res.ci_high) == (pytest.approx(lo, rel=REL), pytest.approx(hi, rel=REL))
    assert res.pi_low is None and res.pi_high is None


def test_pft_hksj_clips_at_one() -> None:
    """R: ``rma(yi, vi, data=escalc("PFT", ...), test="knha")``: 0.8029 (0.69185611286508 to
    0.896799915595591), PI 0.428450738209549 to 1 (transf.ipft.hm clips); adhoc CI
    0.691296835318512 to 0.897195770203129."""
    knha = pool(pritz("PFT"), "REML", "knha")
    assert knha.ci_low == pytest.approx(0.69185611286508, rel=REL)
    assert knha.ci_high == pytest.approx(0.896799915595591, rel=REL)
    assert knha.pi_low == pytest.approx(0.428450738209549, rel=REL)
    assert knha.pi_high == 1.0
    adhoc = pool(pritz("PFT"), "REML", "adhoc")
    assert adhoc.ci_low == pytest.approx(0.691296835318512, rel=REL)


def test_ipft_hm_clips_both_ends() -> None:
    n = np.array(PRITZ_N, float)
    assert ipft_hm(np.array([-1.0, 0.0, 2.0]), n).tolist() == [0.0, 0.0, 1.0]


def test_glmm_against_metafor() -> None:
    """R: ``rma.glmm(measure="PLO", xi=xi, ni=ni, data=dat.pritz1997)`` (nAGQ = 7, the
    default): estimate 1.3766043890 (se 0.2883871878), tau^2 0.5893309018, I^2 67.7897368096;
    ``predict(res, transf=transf.ilogit)``: 0.798445096529633 (0.692402619995603 to
    0.874553367602886), PI 0.442583571370136 to 0.951841095822147;
    Wld(13) 25.09790891, LRT(13) 42.23239803. lme4's optimiser stops earlier than ours, hence
    the tolerance of 1e-5 (relative) on b and 5e-5 on tau^2."""
    res = pool(pritz("PLO"), "GLMM")
    assert res.model_estimate == pytest.approx(1.3766043890, rel=1e-5)
    assert res.se == pytest.approx(0.2883871878, rel=1e-5)
    assert res.tau2 == pytest.approx(0.5893309018, rel=5e-5)
    assert res.i2 == pytest.approx(67.7897368096, rel=1e-5)
    assert round(res.estimate, 4) == 0.7984
    assert round(res.ci_low, 4) == 0.6924
    assert round(res.ci_high, 4) == 0.8746
    assert res.estimate == pytest.approx(0.798445096529633, rel=1e-6)
    assert res.pi_low == pytest.approx(0.442583571370136, rel=1e-5)
    assert res.pi_high == pytest.approx(0.951841095822147, rel=1e-5)
    assert res.q == pytest.approx(25.09790891, rel=1e-7)
    assert res.q_lrt == pytest.approx(42.23239803, rel=1e-8)


def test_glmm_when_most_studies_are_all_responders() -> None:
    """Three of five studies with x = n (the bundled JAK-inhibitor response rows). R:
    ``rma.glmm(measure="PLO", xi=c(3,11,10,5,18), ni=c(3,11,10,10,20))``: b 2.907078451
    (se 1.381967931), tau^2 3.409114298, I^2 76.933174248; back-transformed 0.9482
    (0.5495 to 0.9964)."""
    e = proportions(list("abcde"), [3, 11, 10, 5, 18], [3, 11, 10, 10, 20], "PLO")
    res = pool(e, "GLMM")
    assert res.model_estimate == pytest.approx(2.907078451, rel=1e-5)
    assert res.se == pytest.approx(1.381967931, rel=1e-4)
    assert res.tau2 == pytest.approx(3.409114298, rel=1e-4)
    assert res.i2 == pytest.approx(76.933174248, rel=1e-5)
    assert [round(v, 4) for v in (res.estimate, res.ci_low, res.ci_high)] == [
        0.9482,
        0.5495,
        0.9964,
    ]
