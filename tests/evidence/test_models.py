"""Equal/random-effects models pinned to R metafor 3.8-1 (values printed with digits=10).

Data: dat.bcg log risk ratios, ``dat <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos,
di=cneg, data=dat.bcg)``; single-arm proportions dat.pritz1997; synthetic mean changes.
"""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.meta_analysis import combine_effects

from myositis.errors import EvidenceError
from myositis.evidence.effects import means
from myositis.evidence.models import MetaAnalysis, MetaRegression, fit_model
from myositis.evidence.pooling import leave_one_out, meta_regression, pool, subgroups

from .conftest import MN_ROWS, bcg_log_rr, pritz

REL = 1e-7


@pytest.mark.parametrize(
    ("method", "est", "se", "lo", "hi", "tau2", "i2", "pi_lo", "pi_hi"),
    [
        (
            "REML",
            -0.7145323484,
            0.1797815318,
            -1.066897676,
            -0.362167021,
            0.313243326,
            92.22138607,
            -1.8666923466,
            0.4376276499,
        ),
        (
            "DL",
            -0.7141172221,
            0.1787420895,
            -1.06444528,
            -0.3637891641,
            0.3087602629,
            92.11734685,
            -1.8581537527,
            0.4299193086,
        ),
        (
            "PM",
            -0.7149704056,
            0.1808979841,
            -1.069523939,
            -0.3604168719,
            0.3180937119,
            92.33090029,
            -1.875854596,
            0.4459137848,
        ),
        (
            "EE",
            -0.4302851637,
            0.04049875171,
            -0.5096612584,
            -0.3509090689,
            0.0,
            92.11734685,
            None,
            None,
        ),
    ],
)
def test_bcg_against_metafor(method, est, se, lo, hi, tau2, i2, pi_lo, pi_hi) -> None:  # type: ignore[no-untyped-def]
    """R: ``res <- rma(yi, vi, data=dat, method=m); predict(res)``; Q(12) = 152.2330081."""
    yi, vi = bcg_log_rr()
    fit = MetaAnalysis(method=method).fit(yi, vi)
    assert fit.coef[0] == pytest.approx(est, rel=REL)
    assert fit.se[0] == pytest.approx(se, rel=REL)
    assert fit.ci_low[0] == pytest.approx(lo, rel=REL)
    assert fit.ci_high[0] == pytest.approx(hi, rel=REL)
    assert fit.tau2 == pytest.approx(tau2, rel=REL, abs=1e-12)
    assert fit.i2 == pytest.approx(i2, rel=REL)
    assert fit.q == pytest.approx(152.2330080824, rel=1e-9)
    assert fit.q_pvalue == pytest.approx(1.996764591e-26, rel=1e-6)
    if pi_lo is not None:
        _, _, low, high = fit.predict_interval()
        assert (low, high) == (pytest.approx(pi_lo, rel=REL), pytest.approx(pi_hi, rel=REL))


def test_bcg_hksj_against_metafor() -> None:
    """R: ``rma(yi, vi, data=dat, test="knha")``: se 0.1807917455, CI -1.108443723 to
    -0.3206209737, PI -1.996016967 to 0.5669522703 (t, 12 df). Here s^2 > 1, so the modified
    form (``test="adhoc"``) gives the same."""
    yi, vi = bcg_log_rr()
    for test in ("knha", "adhoc"):
        fit = fit_model(yi, vi, method="REML", test=test)
        assert fit.se[0] == pytest.approx(0.1807917455, rel=REL)
        assert fit.ci_low[0] == pytest.approx(-1.108443723, rel=REL)
        assert fit.ci_high[0] == pytest.approx(-0.3206209737, rel=REL)
        assert fit.df == 12
        _, _, low, high = fit.predict_interval()
        assert low == pytest.approx(-1.996016967, rel=REL)
        assert high == pytest.approx(0.5669522703, rel=REL)


def test_modified_hksj_differs_when_variance_factor_below_one() -> None:
    """dat.pritz1997, raw proportions, REML. R:
    ``rma(yi, vi, data=escalc("PR", xi=xi, ni=ni, data=dat.pritz1997), test="knha")``
    se 0.04144990183, CI 0.7072049307 to 0.8862990681; ``test="adhoc"``: se 0.04233731543
    (s^2 < 1 is raised to 1), CI 0.7052877902 to 0.8882162087, PI 0.5033687668 to
    1.090135232."""
    e = pritz("PR")
    knha = fit_model(e.yi, e.vi, test="knha")
    adhoc = fit_model(e.yi, e.vi, test="adhoc")
    assert knha.se[0] == pytest.approx(0.04144990183, rel=REL)
    assert knha.ci_low[0] == pytest.approx(0.7072049307, rel=REL)
    assert adhoc.se[0] == pytest.approx(0.04233731543, rel=REL)
    assert adhoc.ci_low[0] == pytest.approx(0.7052877902, rel=REL)
    assert adhoc.ci_high[0] == pytest.approx(0.8882162087, rel=REL)
    _, _, low, high = adhoc.predict_interval()
    assert (low, high) == (
        pytest.approx(0.5033687668, rel=REL),
        pytest.approx(1.090135232, rel=REL),
    )


def test_few_studies_truncated_dl_and_hksj() -> None:
    """The first 3 BCG trials: Q = 0.9325 < df, so DL tau^2 = 0 (truncated). R:
    ``rma(yi, vi, data=dat[1:3,], method="DL", test=t)``: z: se 0.3068850031;
    knha: se 0.2095453704, CI -2.231835109 to -0.4286331893; adhoc: CI -2.650653746 to
    -0.009814552891."""
    yi, vi = bcg_log_rr()
    z = fit_model(yi[:3], vi[:3], method="DL")
    knha = fit_model(yi[:3], vi[:3], method="DL", test="knha")
    adhoc = fit_model(yi[:3], vi[:3], method="DL", test="adhoc")
    assert z.tau2 == 0.0
    assert z.coef[0] == pytest.approx(-1.330234149, rel=REL)
    assert z.se[0] == pytest.approx(0.3068850031, rel=REL)
    assert knha.se[0] == pytest.approx(0.2095453704, rel=REL)
    assert (knha.ci_low[0], knha.ci_high[0]) == (
        pytest.approx(-2.231835109, rel=REL),
        pytest.approx(-0.4286331893, rel=REL),
    )
    assert (adhoc.ci_low[0], adhoc.ci_high[0]) == (
        pytest.approx(-2.650653746, rel=REL),
        pytest.approx(-0.009814552891, rel=1e-6),
    )


def test_statsmodels_agrees_where_it_computes_the_same_thing() -> None:
    """statsmodels ``combine_effects(method_re="chi2")`` is DL (untruncated; Q > df here)."""
    yi, vi = bcg_log_rr()
    sm = combine_effects(yi, vi, method_re="chi2")
    fit = fit_model(yi, vi, method="DL")
    assert fit.tau2 == pytest.approx(sm.tau2, rel=1e-12)
    assert fit.coef[0] == pytest.approx(sm.mean_effect_re, rel=1e-12)


def test_meta_regression_against_metafor(bcg) -> None:  # type: ignore[no-untyped-def]
    """R: ``rma(yi, vi, mods=~ablat, data=dat, method="REML")``: intercept 0.251464294374
    (se 0.249103666389), ablat -0.029101660928 (se 0.00719555475708), tau^2 0.0763546947057,
    I^2 68.3931305090, QM 16.3571255722, QE 30.7330900107, R^2 75.6244783615."""
    res = meta_regression(bcg, "ablat")
    assert res.coef == [
        pytest.approx(0.251464294374, rel=REL),
        pytest.approx(-0.029101660928, rel=REL),
    ]
    assert res.se == [
        pytest.approx(0.249103666389, rel=REL),
        pytest.approx(0.00719555475708, rel=REL),
    ]
    assert res.tau2 == pytest.approx(0.0763546947057, rel=REL)
    assert res.i2 == pytest.approx(68.3931305090, rel=REL)
    assert res.qm == pytest.approx(16.3571255722, rel=REL)
    assert res.q == pytest.approx(30.7330900107, rel=1e-9)
    assert res.r2 == pytest.approx(75.6244783615, rel=REL)


@pytest.mark.parametrize(
    ("method", "b0", "b1", "tau2", "qm"),
    [
        ("DL", 0.2595437124340, -0.0292287387552, 0.0633005024264, 18.8452335426),
        ("PM", 0.2219161999064, -0.0285645305411, 0.14213126335464, 9.91797755607916),
        ("EE", 0.3435645774466, -0.0292369342595, 0.0, 121.499918072),
    ],
)
def test_meta_regression_other_estimators(method, b0, b1, tau2, qm) -> None:  # type: ignore[no-untyped-def]
    """R: ``rma(yi, vi, mods=~ablat, data=dat, method=m)``."""
    yi, vi = bcg_log_rr()
    ablat = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33], float)
    fit = MetaRegression(method=method).fit(yi, vi, ablat)
    assert fit.coef[0] == pytest.approx(b0, rel=REL)
    assert fit.coef[1] == pytest.approx(b1, rel=REL)
    assert fit.tau2 == pytest.approx(tau2, rel=REL, abs=1e-12)
    assert fit.qm == pytest.approx(qm, rel=REL)


def test_meta_regression_knha_reports_f() -> None:
    """R: ``rma(yi, vi, mods=~ablat, data=dat, test="knha")``: se 0.283930037419 and
    0.00820154179601; F(1, 11) = 12.5905455261, p = 0.00456554558896."""
    yi, vi = bcg_log_rr()
    ablat = np.array([44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33], float)
    fit = MetaRegression(test="knha").fit(yi, vi, ablat)
    assert fit.se[1] == pytest.approx(0.00820154179601, rel=REL)
    assert fit.qm == pytest.approx(12.5905455261, rel=REL)
    assert fit.qm_pvalue == pytest.approx(0.00456554558896, rel=1e-6)


def test_subgroups_against_metafor(bcg) -> None:  # type: ignore[no-untyped-def]
    """R: separate ``rma(yi, vi, data=dat, subset=alloc==g)`` per allocation, then
    ``rma(estimates, sei=ses, method="EE")$QE`` = 1.86144614123 (p 0.394268523295).
    random: -0.970964475758 (tau^2 0.392526549118); alternate -0.540792961849;
    systematic -0.424207342954 (se 0.359745387368)."""
    res = subgroups(bcg, "alloc")
    assert res.q_between == pytest.approx(1.86144614123, rel=REL)
    assert res.q_between_pvalue == pytest.approx(0.394268523295, rel=1e-6)
    assert res.q_between_df == 2
    assert res.groups["random"].estimate == pytest.approx(-0.970964475758, rel=REL)
    assert res.groups["random"].tau2 == pytest.approx(0.392526549118, rel=REL)
    assert res.groups["alternate"].estimate == pytest.approx(-0.540792961849, rel=REL)
    assert res.groups["systematic"].se == pytest.approx(0.359745387368, rel=REL)
    dl = subgroups(bcg, "alloc", method="DL")
    assert dl.q_between == pytest.approx(1.53676887206, rel=REL)


def test_leave_one_out_against_metafor(bcg) -> None:  # type: ignore[no-untyped-def]
    """R: ``leave1out(rma(yi, vi, data=dat))``: without trial 1: -0.707083788031 (se
    0.189961024703, Q 151.5825727471, tau^2 0.336156745300); without trial 8:
    -0.794767610948 (I^2 87.0313670666)."""
    rows = dict(leave_one_out(bcg))
    assert rows["1"].estimate == pytest.approx(-0.707083788031, rel=REL)
    assert rows["1"].se == pytest.approx(0.189961024703, rel=REL)
    assert rows["1"].q == pytest.approx(151.5825727471, rel=1e-9)
    assert rows["1"].tau2 == pytest.approx(0.336156745300, rel=REL)
    assert rows["8"].estimate == pytest.approx(-0.794767610948, rel=REL)
    assert rows["8"].i2 == pytest.approx(87.0313670666, rel=REL)
    dl = dict(leave_one_out(bcg, method="DL"))
    assert dl["4"].estimate == pytest.approx(-0.618696870715, rel=REL)


@pytest.mark.parametrize(
    ("method", "est", "se", "tau2", "i2", "pi_lo", "pi_hi"),
    [
        (
            "REML",
            -10.101941532419,
            1.220512597297,
            3.349046344599,
            48.618148989779,
            -14.41328199632,
            -5.79060106851,
        ),
        (
            "DL",
            -10.091890659314,
            1.212879786988,
            3.271018518711,
            48.029462625437,
            -14.35997759725,
            -5.82380372138,
        ),
        (
            "PM",
            -10.062024220874,
            1.190718255601,
            3.048624605139,
            46.275083833797,
            -14.2042005176,
            -5.9198479241,
        ),
    ],
)
def test_mean_changes_against_metafor(method, est, se, tau2, i2, pi_lo, pi_hi) -> None:  # type: ignore[no-untyped-def]
    """Synthetic mean changes (conftest.MN_ROWS). R:
    ``d <- escalc("MN", mi=m, sdi=s, ni=n, data=mn); rma(yi, vi, data=d, method=meth)``;
    Q(4) = 7.69666853966."""
    e = means(*zip(*[(r[0], r[1], r[2], r[3]) for r in MN_ROWS], strict=True))
    res = pool(e, method)
    assert res.estimate == pytest.approx(est, rel=REL)
    assert res.se == pytest.approx(se, rel=REL)
    assert res.tau2 == pytest.approx(tau2, rel=REL)
    assert res.i2 == pytest.approx(i2, rel=REL)
    assert res.q == pytest.approx(7.69666853966, rel=1e-9)
    assert (res.pi_low, res.pi_high) == (
        pytest.approx(pi_lo, rel=REL),
        pytest.approx(pi_hi, rel=REL),
    )


def test_mean_changes_hksj_against_metafor() -> None:
    """R: ``rma(yi, vi, data=d, test="knha")``: se 1.19567702635, CI -13.42167315961 to
    -6.78220990523; ``test="adhoc"``: se 1.22051259730, CI -13.49062775902 to
    -6.71325530582, PI -16.20929871973 to -3.99458434511."""
    e = means(*zip(*[(r[0], r[1], r[2], r[3]) for r in MN_ROWS], strict=True))
    knha = pool(e, "REML", "knha")
    adhoc = pool(e, "REML", "adhoc")
    assert knha.se == pytest.approx(1.19567702635, rel=REL)
    assert knha.ci_low == pytest.approx(-13.42167315961, rel=REL)
    assert adhoc.se == pytest.approx(1.22051259730, rel=REL)
    assert (adhoc.ci_low, adhoc.ci_high) == (
        pytest.approx(-13.49062775902, rel=REL),
        pytest.approx(-6.71325530582, rel=REL),
    )
    assert adhoc.pi_low == pytest.approx(-16.20929871973, rel=REL)


def test_one_study_is_refused() -> None:
    yi, vi = bcg_log_rr()
    with pytest.raises(EvidenceError, match="at least 2 studies"):
        MetaAnalysis().fit(yi[:1], vi[:1])


def test_zero_variance_is_refused() -> None:
    with pytest.raises(EvidenceError, match="zero variance"):
        MetaAnalysis().fit(np.array([0.1, 0.2]), np.array([0.01, 0.0]))
