"""Statistics pinned to R (stats 4.2.2) output; each test names the R call that produced it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from myositis.analysis.statistics import (
    Rate,
    Summary,
    TestResult,
    binomial_ci,
    describe,
    paired_t,
    poisson_rate,
    wilcoxon_signed_rank,
    wilcoxon_signed_rank_conditional,
)
from myositis.errors import InvalidInputError

# R's `sleep` data: extra hours of sleep, group 1 then group 2 (same 10 patients).
SLEEP_1 = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0]
SLEEP_2 = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4]

# R ?wilcox.test depression example (Hollander & Wolfe 1973, p. 29).
DEPR_X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
DEPR_Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]

# Tied example with one zero difference (made up for this test, run through R).
TIED_A = [10, 12, 15, 14, 9, 20, 18, 11, 13, 16]
TIED_B = [8, 10, 12, 14, 10, 15, 14, 8, 10, 12]

# set.seed(1); u <- round(rnorm(60, 0.3), 3); v <- round(rnorm(60), 3)
LARGE_U = [
    -0.326,
    0.484,
    -0.536,
    1.895,
    0.63,
    -0.52,
    0.787,
    1.038,
    0.876,
    -0.005,
    1.812,
    0.69,
    -0.321,
    -1.915,
    1.425,
    0.255,
    0.284,
    1.244,
    1.121,
    0.894,
    1.219,
    1.082,
    0.375,
    -1.689,
    0.92,
    0.244,
    0.144,
    -1.171,
    -0.178,
    0.718,
    1.659,
    0.197,
    0.688,
    0.246,
    -1.077,
    -0.115,
    -0.094,
    0.241,
    1.4,
    1.063,
    0.135,
    0.047,
    0.997,
    0.857,
    -0.389,
    -0.407,
    0.665,
    1.069,
    0.188,
    1.181,
    0.698,
    -0.312,
    0.641,
    -0.829,
    1.733,
    2.28,
    -0.067,
    -0.744,
    0.87,
    0.165,
]
LARGE_V = [
    2.402,
    -0.039,
    0.69,
    0.028,
    -0.743,
    0.189,
    -1.805,
    1.466,
    0.153,
    2.173,
    0.476,
    -0.71,
    0.611,
    -0.934,
    -1.254,
    0.291,
    -0.443,
    0.001,
    0.074,
    -0.59,
    -0.569,
    -0.135,
    1.178,
    -1.524,
    0.594,
    0.333,
    1.063,
    -0.304,
    0.37,
    0.267,
    -0.543,
    1.208,
    1.16,
    0.7,
    1.587,
    0.558,
    -1.277,
    -0.573,
    -1.225,
    -0.473,
    -0.62,
    0.042,
    -0.911,
    0.158,
    -0.655,
    1.767,
    0.717,
    0.91,
    0.384,
    1.682,
    -0.636,
    -0.462,
    1.432,
    -0.651,
    -0.207,
    -0.393,
    -0.32,
    -0.279,
    0.494,
    -0.177,
]


# --- describe -------------------------------------------------------------------------------


def test_describe_matches_r_mean_sd_quantile_and_t_interval() -> None:
    """R: z <- c(17,22,25,27,28,30,31,33,34,38,20); mean(z) 27.72727273; sd(z) 6.357529537;
    quantile(z, type = 7) 17, 23.5, 28, 32, 38; t.test(z)$conf.int 23.45622627 31.99831919."""
    s = describe([17, 22, 25, 27, 28, 30, 31, 33, 34, 38, 20])
    assert isinstance(s, Summary)
    assert s.n == 11
    assert s.mean == pytest.approx(27.72727273, abs=1e-8)
    assert s.sd == pytest.approx(6.357529537, abs=1e-9)
    assert (s.minimum, s.q1, s.median, s.q3, s.maximum) == pytest.approx((17, 23.5, 28, 32, 38))
    assert s.ci_low == pytest.approx(23.45622627, abs=1e-8)
    assert s.ci_high == pytest.approx(31.99831919, abs=1e-8)


def test_describe_interpolates_type7_quantiles_and_honours_conf() -> None:
    """R: z2 <- c(3.1,4.7,2.2,9.9,5.0,6.4); quantile(z2) 2.20 3.50 4.85 6.05 9.90;
    sd(z2) 2.728674892; t.test(z2)$conf.int 2.353097985 8.080235348;
    t.test(z2, conf.level = 0.9)$conf.int 2.971949407 7.461383926."""
    z2 = [3.1, 4.7, 2.2, 9.9, 5.0, 6.4]
    s = describe(z2)
    assert (s.q1, s.median, s.q3) == pytest.approx((3.5, 4.85, 6.05))
    assert s.sd == pytest.approx(2.728674892, abs=1e-9)
    assert (s.ci_low, s.ci_high) == pytest.approx((2.353097985, 8.080235348), abs=1e-8)
    s90 = describe(z2, conf=0.9)
    assert (s90.ci_low, s90.ci_high) == pytest.approx((2.971949407, 7.461383926), abs=1e-8)


def test_describe_single_value_has_no_sd_or_interval() -> None:
    s = describe([4.0])
    assert (s.n, s.mean, s.median, s.sd, s.ci_low, s.ci_high) == (1, 4.0, 4.0, None, None, None)


@pytest.mark.parametrize("bad", [[1.0, None, 3.0], [1.0, float("nan")], [1.0, math.inf], ["2"]])
def test_describe_rejects_missing_values_with_their_position(bad: list[object]) -> None:
    with pytest.raises(InvalidInputError) as err:
        describe(bad)  # type: ignore[arg-type]
    assert err.value.problems[0].row == next(
        i for i, v in enumerate(bad, 1) if not isinstance(v, float) or not math.isfinite(v)
    )


def test_describe_rejects_empty_input_and_bad_conf() -> None:
    with pytest.raises(InvalidInputError, match="at least 1"):
        describe([])
    with pytest.raises(InvalidInputError, match="confidence level"):
        describe([1.0, 2.0], conf=95)


# --- paired t -------------------------------------------------------------------------------


def test_paired_t_matches_r_sleep() -> None:
    """R: t.test(sleep$extra[sleep$group == 1], sleep$extra[sleep$group == 2], paired = TRUE)
    t = -4.0621277, df = 9, p-value = 0.00283289, mean difference -1.58,
    95 percent CI -2.4598857633 -0.7001142367."""
    r = paired_t(SLEEP_1, SLEEP_2)
    assert isinstance(r, TestResult)
    assert r.method == "Paired t-test"
    assert r.statistic == pytest.approx(-4.0621277, abs=1e-7)
    assert r.df == 9
    assert r.p_value == pytest.approx(0.00283289, abs=1e-8)
    assert r.estimate == pytest.approx(-1.58)
    assert r.ci_low == pytest.approx(-2.4598857633, abs=1e-10)
    assert r.ci_high == pytest.approx(-0.7001142367, abs=1e-10)


def test_paired_t_rejects_unequal_lengths_and_constant_differences() -> None:
    with pytest.raises(InvalidInputError, match="equal lengths"):
        paired_t([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(InvalidInputError, match="all equal"):
        paired_t([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])
    with pytest.raises(InvalidInputError, match="at least 2 pairs"):
        paired_t([1.0], [0.0])
    with pytest.raises(InvalidInputError):
        paired_t([1.0, None], [0.0, 1.0])  # type: ignore[list-item]


# --- Wilcoxon signed rank -------------------------------------------------------------------


def test_wilcoxon_exact_matches_r_depression_example() -> None:
    """R: wilcox.test(x, y, paired = TRUE, alternative = "two.sided") (?wilcox.test example)
    V = 40, p-value = 0.0390625 (Wilcoxon signed rank exact test)."""
    r = wilcoxon_signed_rank(DEPR_X, DEPR_Y)
    assert r.method == "Wilcoxon signed rank exact test"
    assert r.statistic == 40
    assert r.p_value == pytest.approx(0.0390625, abs=1e-12)
    # V is the sum of positive ranks of x - y, so swapping the samples gives n(n+1)/2 - V.
    assert wilcoxon_signed_rank(DEPR_Y, DEPR_X).statistic == 45 - 40


def test_wilcoxon_normal_approximation_when_exact_false() -> None:
    """R: wilcox.test(x, y, paired = TRUE, exact = FALSE)$p.value 0.0440109840129515."""
    r = wilcoxon_signed_rank(DEPR_X, DEPR_Y, exact=False)
    assert r.method == "Wilcoxon signed rank test with continuity correction"
    assert r.statistic == 40
    assert r.p_value == pytest.approx(0.0440109840129515, rel=1e-10)


def test_wilcoxon_ties_and_zero_fall_back_to_corrected_normal_approximation() -> None:
    """R: a <- c(10,12,15,14,9,20,18,11,13,16); b <- c(8,10,12,14,10,15,14,8,10,12)
    wilcox.test(a, b, paired = TRUE): V = 44, p-value = 0.0123820938621975 (warns: ties, zeroes);
    wilcox.test(a, b, paired = TRUE, correct = FALSE)$p.value 0.010448775628266."""
    r = wilcoxon_signed_rank(TIED_A, TIED_B)
    assert r.statistic == 44
    assert r.n == 9  # the zero difference is dropped, as in R
    assert r.method == "Wilcoxon signed rank test with continuity correction"
    assert r.p_value == pytest.approx(0.0123820938621975, rel=1e-10)
    r2 = wilcoxon_signed_rank(TIED_A, TIED_B, correct=False)
    assert r2.method == "Wilcoxon signed rank test"
    assert r2.p_value == pytest.approx(0.010448775628266, rel=1e-10)
    with pytest.warns(UserWarning, match="ties or zero"):
        r3 = wilcoxon_signed_rank(TIED_A, TIED_B, exact=True)
    assert r3.p_value == r.p_value


def test_wilcoxon_uses_normal_approximation_from_50_pairs() -> None:
    """R: set.seed(1); u <- round(rnorm(60, 0.3), 3); v <- round(rnorm(60), 3)
    wilcox.test(u, v, paired = TRUE): V = 1147, p-value = 0.0883416571802689."""
    r = wilcoxon_signed_rank(LARGE_U, LARGE_V)
    assert r.statistic == 1147
    assert r.method == "Wilcoxon signed rank test with continuity correction"
    assert r.p_value == pytest.approx(0.0883416571802689, rel=1e-10)


def test_wilcoxon_rejects_all_zero_differences() -> None:
    with pytest.raises(InvalidInputError, match="all paired differences are zero"):
        wilcoxon_signed_rank([1.0, 2.0], [1.0, 2.0])
    with pytest.raises(InvalidInputError, match="all paired differences are zero"):
        wilcoxon_signed_rank_conditional([1.0, 2.0], [1.0, 2.0])


@pytest.mark.parametrize(
    ("before", "after", "v", "n", "p"),
    [
        # a, b above: ties and one zero; wilcox.test can only approximate (0.01238...).
        (TIED_A, TIED_B, 44, 9, 0.0078125),
        # Min 2022 pairs of examples/min2022 (tests/study/test_min2022.py): all 11 improved.
        (
            [17, 26, 28, 30, 38, 24, 25, 29, 31, 27, 30],
            [6, 9, 9, 9, 15, 9, 9, 12, 12, 9, 10],
            66,
            11,
            0.0009765625,
        ),
        # x <- c(5, 3, 3, 0, -2, 4, 4, -1, 6, 0, 2, 2); y <- rep(0, 12): mixed signs, two zeros.
        ([5, 3, 3, 0, -2, 4, 4, -1, 6, 0, 2, 2], [0] * 12, 51, 10, 0.015625),
        # i <- 1:60; x <- (i * 7) %% 23 - 8; y <- rep(0, 60): 57 non-zero, many ties.
        ([(i * 7) % 23 - 8 for i in range(1, 61)], [0] * 60, 1226, 57, 0.00119589579021),
    ],
)
def test_exact_wilcoxon_with_ties_matches_r_coin(
    before: list[float], after: list[float], v: float, n: int, p: float
) -> None:
    """R 4.2 coin 1.4-2: wilcoxsign_test(before ~ after, distribution = "exact",
    zero.method = "Wilcoxon"); p from pvalue(), V from statistic(type = "linear")."""
    r = wilcoxon_signed_rank_conditional(before, after)
    assert (r.statistic, r.n) == (v, n)
    assert r.p_value == pytest.approx(p, rel=1e-10)
    assert r.method == "Wilcoxon signed rank exact test (conditional on ties)"


def test_exact_wilcoxon_without_ties_is_r_wilcox_test_exact() -> None:
    """Without ties or zeros the conditional distribution is the ordinary one: R
    wilcox.test(x, y, paired = TRUE) p = 0.0390625 (coin gives the same)."""
    r = wilcoxon_signed_rank_conditional(DEPR_X, DEPR_Y)
    assert r.statistic == 40
    assert r.p_value == pytest.approx(0.0390625, abs=1e-12)


def test_exact_wilcoxon_large_sample_is_bitwise_the_whole_array_convolution() -> None:
    """The in-place convolution gives, bit for bit, the p-value of the plain form (a new
    array (dist + dist shifted) / 2 per rank), here on 1,200 tied integer differences as a
    referral-centre cohort has them; the plain form is written out below as the reference."""
    rng = np.random.default_rng(7)
    before = rng.integers(12, 60, 1_200).astype(float)
    after = before - rng.integers(-6, 25, 1_200)
    d = before - after
    d = d[d != 0]
    doubled = np.rint(2 * stats.rankdata(np.abs(d))).astype(np.int64)
    v = int(doubled[d > 0].sum())
    dist = np.zeros(int(doubled.sum()) + 1)
    dist[0] = 1.0
    for r in doubled:
        shifted = np.zeros_like(dist)
        shifted[r:] = dist[:-r]
        dist = 0.5 * (dist + shifted)
    expected = min(2 * min(float(dist[: v + 1].sum()), float(dist[v:].sum())), 1.0)
    result = wilcoxon_signed_rank_conditional(before, after)
    assert result.statistic == v / 2
    assert result.p_value == expected


def _whole_array_p(before: np.ndarray, after: np.ndarray) -> float:
    """The conditional exact p-value by the plain whole-array convolution (the reference)."""
    d = before - after
    d = d[d != 0]
    doubled = np.rint(2 * stats.rankdata(np.abs(d))).astype(np.int64)
    v = int(doubled[d > 0].sum())
    dist = np.zeros(int(doubled.sum()) + 1)
    dist[0] = 1.0
    for r in doubled:
        shifted = np.zeros_like(dist)
        shifted[r:] = dist[:-r]
        dist = 0.5 * (dist + shifted)
    return min(2 * min(float(dist[: v + 1].sum()), float(dist[v:].sum())), 1.0)


@pytest.mark.parametrize(
    ("n", "low", "high", "seed"),
    [
        (600, -6, 25, 1),  # most improve: V far above the centre (upper tail only)
        (600, -25, 6, 2),  # most worsen: V far below it (lower tail only)
        (400, -10, 10, 3),  # no change on average: V near the centre, p near 1
        (40, -3, 4, 4),
        (7, -2, 3, 5),
    ],
)
def test_exact_wilcoxon_computing_one_tail_is_bitwise_the_whole_distribution(
    n: int, low: int, high: int, seed: int
) -> None:
    """Only the smaller tail's entries are computed (the distribution is exactly symmetric);
    the p-value is still, bit for bit, the whole distribution's, below, above and near the
    centre, with ties and zeros."""
    rng = np.random.default_rng(seed)
    before = rng.integers(12, 60, n).astype(float)
    after = before - rng.integers(low, high, n)
    assert wilcoxon_signed_rank_conditional(before, after).p_value == _whole_array_p(before, after)


def test_exact_wilcoxon_at_the_centre_takes_the_smaller_of_both_tails() -> None:
    """V exactly half the rank sum (here 1, 2 up and 3 down: V = 3 of 6): both tails are
    computed and the p-value is 1, as the whole distribution gives."""
    before, after = np.array([1.0, 2.0, 0.0]), np.array([0.0, 0.0, 3.0])
    r = wilcoxon_signed_rank_conditional(before, after)
    assert (r.statistic, r.p_value) == (3.0, 1.0) == (3.0, _whole_array_p(before, after))


# --- binomial intervals ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        (10, 10, 0.6915028922, 1.0),
        (11, 11, 0.7150858471, 1.0),
        (5, 10, 0.1870860284, 0.8129139716),
        (0, 10, 0.0, 0.3084971078),
    ],
)
def test_clopper_pearson_matches_r_binom_test(x: int, n: int, low: float, high: float) -> None:
    """R: binom.test(x, n)$conf.int (Clopper-Pearson), printed with digits = 10."""
    assert binomial_ci(x, n) == pytest.approx((low, high), abs=1e-10)


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        (11, 11, 0.741167033, 1.0),
        (5, 10, 0.2365930905, 0.7634069095),
        (3, 17, 0.06191126638, 0.41029458569),
    ],
)
def test_wilson_matches_r_prop_test_without_correction(
    x: int, n: int, low: float, high: float
) -> None:
    """R: prop.test(x, n, correct = FALSE)$conf.int (Wilson score interval)."""
    assert binomial_ci(x, n, method="wilson") == pytest.approx((low, high), abs=1e-10)


def test_binomial_ci_rejects_impossible_counts() -> None:
    with pytest.raises(InvalidInputError, match="cannot exceed"):
        binomial_ci(12, 11)
    with pytest.raises(InvalidInputError, match="negative"):
        binomial_ci(-1, 11)
    with pytest.raises(InvalidInputError, match="positive"):
        binomial_ci(0, 0)
    with pytest.raises(InvalidInputError, match="whole number"):
        binomial_ci(2.5, 11)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="method"):
        binomial_ci(2, 11, method="wald")  # type: ignore[arg-type]


# --- Poisson rates --------------------------------------------------------------------------


def test_poisson_rate_matches_r_poisson_test() -> None:
    """R: poisson.test(137, 24.19893): event rate 5.661407343, 95% CI 4.753124805 6.692709334."""
    r = poisson_rate(137, 24.19893)
    assert isinstance(r, Rate)
    assert r.rate == pytest.approx(5.661407343, abs=1e-9)
    assert (r.ci_low, r.ci_high) == pytest.approx((4.753124805, 6.692709334), abs=1e-9)


def test_poisson_rate_per_100_patient_years_and_zero_events() -> None:
    """R: poisson.test(1, 30.5)$conf.int 0.0008300920651 0.1826768325 (x 100 for per 100 PY);
    poisson.test(0, 10)$conf.int 0 0.3688879454."""
    r = poisson_rate(1, 30.5, per=100)
    assert r.rate == pytest.approx(100 / 30.5)
    assert (r.ci_low, r.ci_high) == pytest.approx((0.08300920651, 18.26768325), abs=1e-8)
    z = poisson_rate(0, 10)
    assert (z.rate, z.ci_low) == (0.0, 0.0)
    assert z.ci_high == pytest.approx(0.3688879454, abs=1e-10)


@pytest.mark.parametrize(
    ("events", "pt", "match"),
    [
        (-1, 10.0, "negative"),
        (2, 0.0, "positive"),
        (2, -3.0, "positive"),
        (2, float("nan"), "positive"),
        (1.5, 10.0, "whole number"),
    ],
)
def test_poisson_rate_rejects_bad_input(events: int, pt: float, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        poisson_rate(events, pt)


def test_exact_decimal_and_numpy_scores_are_accepted() -> None:
    """Registry scores may arrive as Decimal (exact-decimal engine) or numpy scalars."""
    from decimal import Decimal

    import numpy as np

    expected = describe([17, 22, 25, 27, 28, 30, 31, 33, 34, 38, 20])
    decimals = [Decimal(v) for v in (17, 22, 25, 27, 28, 30, 31, 33, 34, 38, 20)]
    as_decimal = describe(decimals)  # type: ignore[arg-type]
    as_numpy = describe(np.array([17, 22, 25, 27, 28, 30, 31, 33, 34, 38, 20]))  # type: ignore[arg-type]
    assert as_decimal == expected == as_numpy
    assert poisson_rate(np.int64(137), Decimal("24.19893")) == poisson_rate(137, 24.19893)  # type: ignore[arg-type]
    assert binomial_ci(np.int64(5), np.int64(10)) == binomial_ci(5, 10)  # type: ignore[arg-type]
