"""Simulated operating characteristics: consistent with the exact Fisher power, the
vectorised kernels pinned to R, seeded and fast."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from myositis.errors import TrialDesignError
from myositis.trial import simulation
from myositis.trial.sample_size import fisher_power
from myositis.trial.simulation import simulate
from myositis.trial.spec import TrialSpec, load_trial_spec, spec_from_mapping


def _variant(**changes: Any) -> TrialSpec:
    data = load_trial_spec("bird").canonical()
    for path, value in changes.items():
        node = data
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return spec_from_mapping(data)


def test_simulated_power_agrees_with_the_exact_fisher_power() -> None:
    """31 + 31 patients (one block of 62: complete randomisation with equal arms), no
    dropout, Fisher's test, rates 0.3 and 0.7: the exact power is 0.859693410316 (R
    enumeration with fisher.test, tests/trial/test_sample_size.py); the simulated power must
    lie within 3 Monte Carlo standard errors, and the type I error at 0.3 within 3 SEs of the
    exact size of the test (R enumeration, both arms 0.3: fpow(31, 0.3, 0.3))."""
    spec = _variant(strata=None, allocation__block_sizes=[62], simulation__dropout_rate=0.0,
                    simulation__level_shares={}, analysis__primary_test="fisher",
                    simulation__response_rates={"baricitinib": 0.7, "placebo": 0.3})  # fmt: skip
    result = simulate(spec, trials=10_000, seed=11)
    exact = fisher_power(31, 0.3, 0.7)
    assert exact == pytest.approx(0.859693410316, abs=1e-12)
    assert abs(result.power - exact) < 3 * result.power_mcse
    assert result.mean_treated == 31
    size = _exact_size(31, 0.3)
    assert abs(result.type_i_error - size) < 3 * max(result.type_i_mcse, 1e-3)
    assert result.type_i_error <= 0.05


def _exact_size(n: int, p: float) -> float:
    """Rejection probability of the two-sided Fisher test at level 0.05 when both arms
    respond at p (the same enumeration as fisher_power, which refuses p1 == p2)."""
    from scipy import stats

    w = stats.binom.pmf(np.arange(n + 1), n, p)
    x1, x2 = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    pv = simulation._fisher_p(x1.ravel(), np.full(x1.size, n), x2.ravel(), np.full(x1.size, n))
    return float(np.sum(np.outer(w, w).ravel()[pv <= 0.05]))


def test_seeded_and_ten_thousand_trials_in_seconds() -> None:
    spec = load_trial_spec("bird")
    start = time.perf_counter()
    first = simulate(spec)
    elapsed = time.perf_counter() - start
    assert first.trials == 10_000 and first.patients == 62
    assert elapsed < 10, f"10,000 simulated trials took {elapsed:.1f} s"
    assert simulate(spec) == first
    assert simulate(spec, seed=1) != first
    assert first.test == "cmh"
    assert 0 < first.type_i_error < 0.05  # CMH with continuity correction is conservative
    assert first.power > first.type_i_error


def test_stratified_blocks_keep_every_stratum_balanced() -> None:
    rng = np.random.default_rng(3)
    sequences = simulation._permuted_blocks(rng, 500, 4, 62, [1, 1], [4, 6])
    running = np.cumsum(2 * sequences.astype(int) - 1, axis=-1)
    assert np.abs(running).max() <= 3  # never more than half the largest block apart
    unequal = simulation._permuted_blocks(rng, 200, 2, 60, [2, 1], [3, 6])
    assert np.all(unequal.sum(axis=-1) >= 38)  # 2:1 over complete blocks: 40 of 60


def test_minimisation_balances_the_factors() -> None:
    spec = _variant(allocation__method="minimisation")
    result = simulate(spec, trials=1_000, seed=5)
    assert abs(result.mean_treated - 31) < 0.5
    assert result.power > 0.5


STRATA = [(7, 10, 3, 9), (3, 6, 1, 6), (6, 9, 3, 10), (3, 6, 1, 6)]


def test_vectorised_tests_match_r() -> None:
    """The test-statistics example (tests/trial/test_statistics.py): R
    mantelhaen.test(tab)$p.value = 0.0123045960849; correct = FALSE: 0.00587030022441;
    fisher.test(matrix(c(19, 8, 12, 23), 2))$p.value = 0.00981259288806;
    glm(resp ~ arm + stratum, binomial) arm p = 0.0056918588833."""
    a = np.array([[s[0] for s in STRATA]])
    n1 = np.array([[s[1] for s in STRATA]])
    m1 = np.array([[s[0] + s[2] for s in STRATA]])
    total = np.array([[s[1] + s[3] for s in STRATA]])
    assert simulation._cmh_p(a, n1, m1, total, True)[0] == pytest.approx(0.0123045960849,
                                                                        abs=1e-12)  # fmt: skip
    assert simulation._cmh_p(a, n1, m1, total, False)[0] == pytest.approx(0.00587030022441,
                                                                         abs=1e-12)  # fmt: skip
    p = simulation._fisher_p(np.array([19]), np.array([31]), np.array([8]), np.array([31]))
    assert p[0] == pytest.approx(0.00981259288806, abs=1e-13)
    y, treated, stratum = [], [], []
    for k, (x1, m, x2, c) in enumerate(STRATA):
        y += [1] * x1 + [0] * (m - x1) + [1] * x2 + [0] * (c - x2)
        treated += [1] * m + [0] * c
        stratum += [k] * (m + c)
    p = simulation._logistic_p(np.array([y], dtype=float), np.array([treated], dtype=bool),
                               np.array([stratum]), 4)  # fmt: skip
    assert p[0] == pytest.approx(0.0056918588833, rel=1e-5)


def test_simulation_needs_its_assumptions() -> None:
    spec = _variant(simulation=None)
    with pytest.raises(TrialDesignError, match="no 'simulation' section"):
        simulate(spec)
    with pytest.raises(TrialDesignError, match="one rate per arm"):
        simulate(load_trial_spec("bird"), response_rates={"baricitinib": 0.5})
