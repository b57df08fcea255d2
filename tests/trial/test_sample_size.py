"""Sample size and power for two proportions, pinned to R (stats 4.x)."""

from __future__ import annotations

import pytest

from myositis.errors import TrialDesignError
from myositis.trial.sample_size import chisq_power, fisher_power, power_for, sample_size


def test_size_and_power_match_r_power_prop_test() -> None:
    """R: power.prop.test(p1 = .50, p2 = .75, power = .90)$n = 76.70693;
    power.prop.test(n = 50, p1 = .50, p2 = .75)$power = 0.7401659;
    power.prop.test(p1 = 0.3, p2 = 0.7, power = 0.8)$n = 23.3128845943;
    power.prop.test(n = 31, p1 = 0.3, p2 = 0.7)$power = 0.902856803923.
    (R's n comes from uniroot with tolerance 1.2e-4, hence the looser size tolerance.)"""
    result = sample_size(0.5, 0.75, power=0.9)
    assert result.n_per_arm == pytest.approx(76.70693, abs=1e-3)
    assert result.n_total == 154  # 77 per arm
    assert chisq_power(50, 0.5, 0.75) == pytest.approx(0.7401659, abs=1e-7)
    assert sample_size(0.3, 0.7).n_per_arm == pytest.approx(23.3128845943, abs=1e-3)
    assert power_for(31, 0.3, 0.7).power == pytest.approx(0.902856803923, abs=1e-12)


#: R, exact power of fisher.test by enumeration:
#:   fpow <- function(n, p1, p2, alpha = 0.05) { s <- 0; for (x1 in 0:n) for (x2 in 0:n)
#:     if (fisher.test(matrix(c(x1, n - x1, x2, n - x2), 2))$p.value <= alpha)
#:       s <- s + dbinom(x1, n, p1) * dbinom(x2, n, p2); s }
#:   for (n in 24:35) cat(n, sprintf("%.12f", fpow(n, 0.3, 0.7)), "\n")
R_FISHER_POWER_03_07 = {
    24: 0.749643054682,
    25: 0.782198747860,
    26: 0.755932239048,
    27: 0.762865662241,
    28: 0.790169279105,
    29: 0.814277979346,
    30: 0.838342587926,
    31: 0.859693410316,
    32: 0.878522454106,
    33: 0.895039691963,
    34: 0.875929406042,
    35: 0.882260764547,
}


def test_exact_fisher_power_matches_r_along_the_saw_tooth() -> None:
    """The power falls from n = 25 to 26 and from 33 to 34 (a saw-tooth); R as above, and
    fpow(20, 20, 0.2, 0.6) = 0.650224920935 (sprintf('%.12f'))."""
    for n, expected in R_FISHER_POWER_03_07.items():
        assert fisher_power(n, 0.3, 0.7) == pytest.approx(expected, abs=1e-12), n
    assert fisher_power(20, 0.2, 0.6) == pytest.approx(0.650224920935, abs=1e-12)


def test_fisher_size_keeps_the_power_for_larger_sizes() -> None:
    """Power 0.8 is first reached at n = 29 (R: 0.8143 above, 0.7902 at 28) and holds from
    there through 34 (0.8759), so 29 per arm; 25 (0.7822) never reached it."""
    result = sample_size(0.3, 0.7, power=0.8, test="fisher")
    assert result.n_per_arm == 29
    assert result.power == pytest.approx(R_FISHER_POWER_03_07[29], abs=1e-12)
    # at 0.78 the first size reaching it, 25, dips at 26: the steady size is 28
    assert sample_size(0.3, 0.7, power=0.78, test="fisher").n_per_arm == 28


@pytest.mark.parametrize(
    ("p1", "p2", "power", "message"),
    [
        (0.0, 0.5, 0.8, "strictly between 0 and 1"),
        (0.3, 1.2, 0.8, "p2 = 1.2"),
        (0.4, 0.4, 0.8, "equal rates"),
        (0.3, 0.7, 1.0, "power = 1.0"),
    ],
)
def test_impossible_designs_are_named(p1: float, p2: float, power: float, message: str) -> None:
    with pytest.raises(TrialDesignError, match=message):
        sample_size(p1, p2, power=power)


def test_fisher_search_limit_is_stated() -> None:
    """0.3 vs 0.7: the normal approximation needs 23.3 per arm, the exact test 29 (above), so
    a search up to 25 fails; 0.3 vs 0.4 at power 0.9 needs 476.007 by the normal
    approximation (so 477), beyond the limit before the search starts."""
    with pytest.raises(TrialDesignError, match=r"up to 25 patients per arm; raise max_per_arm"):
        sample_size(0.3, 0.7, power=0.8, test="fisher", max_per_arm=25)
    with pytest.raises(TrialDesignError, match=r"already needs 477 patients per arm, more than "):
        sample_size(0.3, 0.4, power=0.9, test="fisher", max_per_arm=40)


def test_strict_power_counts_both_tails_as_r() -> None:
    """R: sprintf('%.12f', power.prop.test(n = 31, p1 = 0.3, p2 = 0.7, strict = TRUE)$power)
    = 0.902856816300; power.prop.test(n = 10, p1 = 0.4, p2 = 0.6, strict = TRUE)$power =
    0.140194411800 (0.138405975775 without strict);
    power.prop.test(p1 = 0.4, p2 = 0.6, power = 0.5, strict = TRUE, tol = 1e-12)$n =
    48.0144349305."""
    assert chisq_power(31, 0.3, 0.7, strict=True) == pytest.approx(0.902856816300, abs=1e-12)
    assert chisq_power(10, 0.4, 0.6, strict=True) == pytest.approx(0.140194411800, abs=1e-12)
    assert chisq_power(10, 0.4, 0.6) == pytest.approx(0.138405975775, abs=1e-12)
    size = sample_size(0.4, 0.6, power=0.5, strict=True)
    assert size.n_per_arm == pytest.approx(48.0144349305, abs=1e-8)
    assert size.strict


def test_unequal_allocation_matches_hmisc() -> None:
    """Fleiss, Tytun and Ury (1980) without continuity correction, R Hmisc 4.8:
    bsamsize(0.3, 0.7, fraction = 1/3, power = 0.8) -> n1 = 17.2613270491, n2 = 34.5226540983;
    bpower(0.3, 0.7, n1 = 20, n2 = 40) = 0.857211461 (both tails, as strict = TRUE);
    bpower(0.25, 0.6, n1 = 31, n2 = 31) = 0.811859998993 (equal arms: power.prop.test strict)."""
    size = sample_size(0.3, 0.7, ratio=2)
    assert size.n_per_arm == pytest.approx(17.2613270491, abs=1e-8)
    assert size.n2 == pytest.approx(34.5226540983, abs=1e-8)
    assert size.n_total == 18 + 35
    assert chisq_power(20, 0.3, 0.7, ratio=2, strict=True) == pytest.approx(0.857211461, abs=1e-9)
    assert chisq_power(31, 0.25, 0.6, strict=True) == pytest.approx(0.811859998993, abs=1e-12)


def test_continuity_corrected_size_is_fleiss_and_inverts() -> None:
    """Fleiss, Tytun and Ury (1980): n' = n/4 (1 + sqrt(1 + 2(k+1)/(k n d)))^2. R, the formula
    on R's own uncorrected sizes:
    n <- power.prop.test(p1 = 0.3, p2 = 0.7, power = 0.8, tol = 1e-12)$n  # 23.3128845969
    n / 4 * (1 + sqrt(1 + 4 / (n * 0.4)))^2                                # 28.0903885647
    n1 <- Hmisc::bsamsize(0.3, 0.7, fraction = 1/3, power = 0.8)[["n1"]]
    n1 / 4 * (1 + sqrt(1 + 2 * 3 / (2 * n1 * 0.4)))^2                       # 20.8426525006
    The corrected power of the corrected size is the target (the inverse is exact)."""
    equal = sample_size(0.3, 0.7, correct=True)
    assert equal.n_per_arm == pytest.approx(28.0903885647, abs=1e-8)
    assert chisq_power(equal.n_per_arm, 0.3, 0.7, correct=True) == pytest.approx(0.8, abs=1e-10)
    unequal = sample_size(0.3, 0.7, correct=True, ratio=2)
    assert unequal.n_per_arm == pytest.approx(20.8426525006, abs=1e-8)
    assert unequal.n_total == 21 + 42
    assert power_for(21, 0.3, 0.7, ratio=2, correct=True).power > 0.8
    # the correction always costs patients
    assert chisq_power(31, 0.3, 0.7, correct=True) < chisq_power(31, 0.3, 0.7)


def test_fisher_with_unequal_arms_is_the_exact_enumeration() -> None:
    """R: fpow2 <- function(n1, n2, p1, p2) { s <- 0; for (a in 0:n1) for (b in 0:n2)
    if (fisher.test(matrix(c(a, n1 - a, b, n2 - b), 2))$p.value <= 0.05)
    s <- s + dbinom(a, n1, p1) * dbinom(b, n2, p2); s }; sprintf('%.12f', fpow2(20, 40, 0.3, 0.7))
    (value pasted below)."""
    assert fisher_power(20, 0.3, 0.7, n2=40) == pytest.approx(R_FISHER_20_40, abs=1e-12)
    assert sample_size(0.3, 0.7, ratio=2, test="fisher").n_per_arm >= 18
    with pytest.raises(TrialDesignError, match="whole ratio"):
        sample_size(0.3, 0.7, ratio=1.5, test="fisher")
    with pytest.raises(TrialDesignError, match="allocation ratio"):
        sample_size(0.3, 0.7, ratio=0)


#: R fpow2(20, 40, 0.3, 0.7) (test_fisher_with_unequal_arms_is_the_exact_enumeration)
R_FISHER_20_40 = 0.800063453467
