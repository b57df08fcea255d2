"""The trial's statistics, pinned to R 4.2 (stats) and to Newcombe's published examples.

The stratified example used throughout (strata naive/MTX, naive/AZA, relapsing/MTX,
relapsing/AZA; responders/patients, baricitinib then placebo):
7/10 vs 3/9, 3/6 vs 1/6, 6/9 vs 3/10, 3/6 vs 1/6 (19/31 vs 8/31 overall). In R:

    tab <- array(c(7,3,3,6, 3,1,3,5, 6,3,3,7, 3,1,3,5), dim = c(2, 2, 4))
"""

from __future__ import annotations

import math

import pytest

from myositis.errors import TrialDesignError
from myositis.trial.cmh import cmh
from myositis.trial.exact import Table2x2, exact_conditional, fisher
from myositis.trial.intervals import newcombe, wilson
from myositis.trial.logistic import logistic

STRATA = {
    "naive/methotrexate": Table2x2(7, 10, 3, 9),
    "naive/azathioprine": Table2x2(3, 6, 1, 6),
    "relapsing/methotrexate": Table2x2(6, 9, 3, 10),
    "relapsing/azathioprine": Table2x2(3, 6, 1, 6),
}

#: R's uniroot (default tol about 1.2e-4) finds the conditional MLE and exact limits
ROOT = 2e-4


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "lower", "upper"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),  # Newcombe 1998 Table II, example (a)
        (9, 10, 3, 10, 0.1705, 0.8090),  # (b)
        (5, 56, 0, 29, -0.0381, 0.1926),  # (d)
        (0, 10, 0, 20, -0.1611, 0.2775),  # (e)
        (0, 10, 0, 10, -0.2775, 0.2775),  # (f)
        (10, 10, 0, 20, 0.6791, 1.0000),  # (g)
        (10, 10, 0, 10, 0.6075, 1.0000),  # (h)
    ],
)
def test_newcombe_method_10_reproduces_the_published_table(
    x1: int, n1: int, x2: int, n2: int, lower: float, upper: float
) -> None:
    """Newcombe RG, Stat Med 1998;17:873-890, Table II, method 10 (four decimals). Examples
    (a), (b) and (d) are also quoted to four decimals by the test suites of the R packages
    ratesci (moverci type 'wilson') and propint; statsmodels'
    confint_proportions_2indep(method='newcomb') agrees to 1e-12 on all of them."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    result = newcombe(x1, n1, x2, n2)
    assert round(result.lower, 4) == lower
    assert round(result.upper, 4) == upper
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert result.lower == pytest.approx(float(low), abs=1e-12)
    assert result.upper == pytest.approx(float(high), abs=1e-12)
    assert result.estimate == pytest.approx(x1 / n1 - x2 / n2)


def test_wilson_matches_r_prop_test_without_correction() -> None:
    """R: print(prop.test(19, 31, correct = FALSE)$conf.int, digits = 10) = 0.4382410862,
    0.7626689858; prop.test(11, 11, correct = FALSE)$conf.int = 0.741167033, 1 (as
    statistics.md's Wilson 11/11)."""
    result = wilson(19, 31)
    assert result.lower == pytest.approx(0.4382410862, abs=1e-10)
    assert result.upper == pytest.approx(0.7626689858, abs=1e-10)
    assert wilson(11, 11).lower == pytest.approx(0.7411670, abs=1e-7)
    assert wilson(11, 11).upper == 1.0


def test_fisher_matches_r() -> None:
    """R: fisher.test(matrix(c(19, 8, 12, 23), 2)): p-value = 0.00981259288806, odds ratio
    (conditional MLE) 4.4324484876, 95 % CI 1.37206824872 to 15.5809680241."""
    result = fisher(Table2x2(19, 31, 8, 31))
    assert result.p_value == pytest.approx(0.00981259288806, abs=1e-13)
    assert result.odds_ratio == pytest.approx(4.4324484876, rel=ROOT)
    assert result.lower == pytest.approx(1.37206824872, rel=ROOT)
    assert result.upper == pytest.approx(15.5809680241, rel=ROOT)


def test_fisher_at_the_edges_of_the_support() -> None:
    """R: f <- fisher.test(matrix(c(10, 0, 0, 10), 2)); print(c(f$p.value, f$conf.int),
    digits = 10): 1.082508822e-05, 11.13591314, Inf (odds ratio Inf)."""
    result = fisher(Table2x2(10, 10, 0, 10))
    assert result.p_value == pytest.approx(1.082508822e-05, rel=1e-9)
    assert math.isinf(result.odds_ratio) and math.isinf(result.upper)
    assert result.lower == pytest.approx(11.13591314, rel=ROOT)


def test_cmh_with_and_without_continuity_correction_matches_r() -> None:
    """R: mantelhaen.test(tab): X-squared = 6.26644233223, p = 0.0123045960849, common odds
    ratio 4.78181818182, CI 1.57673459372 to 14.5019873447;
    mantelhaen.test(tab, correct = FALSE): X-squared = 7.58969124777, p = 0.00587030022441."""
    corrected = cmh(STRATA)
    assert corrected.statistic == pytest.approx(6.26644233223, abs=1e-10)
    assert corrected.p_value == pytest.approx(0.0123045960849, abs=1e-13)
    assert corrected.odds_ratio == pytest.approx(4.78181818182, abs=1e-10)
    assert corrected.lower == pytest.approx(1.57673459372, abs=1e-10)
    assert corrected.upper == pytest.approx(14.5019873447, abs=1e-9)
    plain = cmh(STRATA, correct=False)
    assert plain.statistic == pytest.approx(7.58969124777, abs=1e-10)
    assert plain.p_value == pytest.approx(0.00587030022441, abs=1e-13)


def test_exact_cmh_matches_r() -> None:
    """R: mantelhaen.test(tab, exact = TRUE): S = 19, p-value = 0.0105335205888, common odds
    ratio (conditional MLE) 4.29236960908, CI 1.34133702307 to 15.0898085772."""
    result = exact_conditional(list(STRATA.values()))
    assert result.statistic == 19
    assert result.p_value == pytest.approx(0.0105335205888, abs=1e-13)
    assert result.odds_ratio == pytest.approx(4.29236960908, rel=ROOT)
    assert result.lower == pytest.approx(1.34133702307, rel=ROOT)
    assert result.upper == pytest.approx(15.0898085772, rel=ROOT)


def test_cmh_leaves_out_a_stratum_of_one_patient_and_says_so() -> None:
    strata = dict(STRATA) | {"lonely": Table2x2(1, 1, 0, 0)}
    result = cmh(strata)
    assert result.omitted == ("lonely",)
    assert result.statistic == pytest.approx(6.26644233223, abs=1e-10)
    with pytest.raises(TrialDesignError, match="undefined"):
        cmh({"a": Table2x2(3, 3, 2, 2)})


def _patients() -> tuple[list[int], list[int], list[str]]:
    y: list[int] = []
    treated: list[int] = []
    stratum: list[str] = []
    for name, t in STRATA.items():
        y += [1] * t.x1 + [0] * (t.n1 - t.x1) + [1] * t.x2 + [0] * (t.n2 - t.x2)
        treated += [1] * t.n1 + [0] * t.n2
        stratum += [name] * t.total
    return y, treated, stratum


def test_stratified_logistic_regression_matches_r_glm() -> None:
    """R (data frame of the 62 patients, arm placebo as reference, strata in plan order):
    g <- glm(resp ~ arm + stratum, family = binomial); summary(g)$coefficients['armbaricitinib', ]
    = 1.56426615511, 0.565733278738, 2.76502410924, 0.0056918588833;
    confint.default(g)['armbaricitinib', ] = 0.455449303927, 2.67308300629.
    (R stops IRLS at a relative deviance change of 1e-8, hence 1e-6 on the standard error.)"""
    y, treated, stratum = _patients()
    result = logistic([bool(v) for v in y], [bool(v) for v in treated], stratum,
                      strata_order=list(STRATA))  # fmt: skip
    assert result.converged
    assert result.log_odds_ratio == pytest.approx(1.56426615511, abs=1e-7)
    assert result.standard_error == pytest.approx(0.565733278738, abs=1e-6)
    assert result.z == pytest.approx(2.76502410924, abs=1e-5)
    assert result.p_value == pytest.approx(0.0056918588833, abs=1e-7)
    assert math.log(result.lower) == pytest.approx(0.455449303927, abs=1e-6)
    assert math.log(result.upper) == pytest.approx(2.67308300629, abs=1e-6)


def test_logistic_flags_an_arm_where_everyone_responded() -> None:
    y = [True] * 10 + [True] * 3 + [False] * 7
    treated = [True] * 10 + [False] * 10
    result = logistic(y, treated, ["s"] * 20)
    assert not result.converged
    assert "separation" in result.note
