"""Simulated operating characteristics of a trial specification (vectorised with numpy).

Each simulated trial enrols ``patients`` one after another: a stratum is drawn from the
product of the stratification factors' level shares (``simulation.level_shares``; equal when
not given), the arm is allocated by the specification's method (stratified permuted blocks
with random block sizes, or Pocock-Simon minimisation over the factors), a patient drops out
with probability ``dropout_rate`` (a non-responder, as the non-responder strategy counts
them) and otherwise responds with the arm's rate. The planned analysis is then run on every
trial: CMH (with or without continuity correction), Fisher's exact test, or logistic
regression adjusted for strata (Wald test, iteratively reweighted least squares).

Power is the share of trials whose two-sided p-value is at most ``alpha``; the type I error is
the same share when both arms respond at the control arm's rate. Each comes with its Monte
Carlo standard error ``sqrt(p (1 - p) / trials)``. Same specification and seed: same numbers.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from myositis.errors import TrialDesignError
from myositis.progress import Progress, silent
from myositis.trial.spec import TrialSpec


@dataclass(frozen=True)
class OperatingCharacteristics:
    """Simulated power and type I error of the planned analysis, with Monte Carlo SEs."""

    trials: int
    patients: int
    test: str
    alpha: float
    response_rates: tuple[tuple[str, float], ...]
    dropout_rate: float
    power: float
    power_mcse: float
    favouring_treatment: float  # share of trials significant with treated > control
    type_i_error: float
    type_i_mcse: float
    mean_treated: float  # patients allocated to the treated arm, on average
    seed: int
    #: (patients on the treated arm, simulated trials with that many) under the assumed rates
    treated_sizes: tuple[tuple[int, int], ...] = ()

    def fisher_reference(self, treated: str, control: str) -> float:
        """The exact power of Fisher's test at the same effective rates (each arm's rate x
        (1 - dropout): a dropout is a non-responder), averaged over the simulated arm sizes:
        what the simulation must reproduce when its planned test is Fisher's (its power is a
        saw-tooth in the arm sizes, so equal arms alone are not the reference)."""
        from myositis.trial.sample_size import fisher_power

        rates = dict(self.response_rates)
        keep = 1 - self.dropout_rate
        p_t, p_c = rates[treated] * keep, rates[control] * keep
        total = 0.0
        for n1, count in self.treated_sizes:
            n2 = self.patients - n1
            if n1 and n2 and p_t != p_c:
                total += count * fisher_power(n1, p_t, p_c, self.alpha, n2=n2)
        return total / self.trials


def _mcse(p: float, n: int) -> float:
    return math.sqrt(p * (1 - p) / n)


def _strata(spec: TrialSpec, shares: Mapping[str, Mapping[str, float]]
            ) -> tuple[list[str], np.ndarray, np.ndarray]:  # fmt: skip
    """Stratum names, their probabilities, and each stratum's level index per factor."""
    if spec.strata is None:
        return ["all"], np.ones(1), np.zeros((1, 1), dtype=int)
    factors = spec.strata.factors
    combos = list(itertools.product(*[range(len(levels)) for levels in factors.values()]))
    weights = np.ones(len(combos))
    for i, combo in enumerate(combos):
        for (factor, levels), j in zip(factors.items(), combo, strict=True):
            given = shares.get(factor)
            if given:
                weights[i] *= given[levels[j]] / sum(given.values())
            else:
                weights[i] /= len(levels)
    return spec.strata.names(), weights / weights.sum(), np.array(combos, dtype=int)


def _permuted_blocks(rng: np.random.Generator, trials: int, strata: int, length: int,
                     ratio: list[int], sizes: list[int]) -> np.ndarray:  # fmt: skip
    """Per trial and stratum, an allocation sequence (1 = treated arm, the first of the
    ratio) of ``length``, made of blocks of random size, each balanced to the ratio."""
    unit = sum(ratio)
    largest = max(sizes)
    blocks = -(-length // min(sizes)) + 1
    size = rng.choice(np.array(sizes), size=(trials, strata, blocks))
    position = np.arange(largest)
    # inside each block: the first size * ratio[0] / unit positions are treated, shuffled
    treated_count = size * ratio[0] // unit
    keys = rng.random((trials, strata, blocks, largest))
    keys = np.where(position < size[..., None], keys, 2.0)  # padding sorts last
    order = np.argsort(keys, axis=-1)
    shuffled_rank = np.argsort(order, axis=-1)  # where each position went
    arm = (shuffled_rank < treated_count[..., None]).astype(np.int8)
    valid = position < size[..., None]
    arm = arm.reshape(trials, strata, blocks * largest)
    valid = valid.reshape(trials, strata, blocks * largest)
    # keep the valid entries in order: a stable sort on "is padding"
    keep = np.argsort(~valid, axis=-1, kind="stable")[..., :length]
    return np.take_along_axis(arm, keep, axis=-1)


def _minimisation(rng: np.random.Generator, levels: np.ndarray, patient_levels: np.ndarray,
                  ratio: list[int], p: float) -> np.ndarray:  # fmt: skip
    """Pocock-Simon minimisation (range of ratio-scaled counts, equal factor weights) for
    every trial at once; returns 1 for the treated arm."""
    trials, n, factors = patient_levels.shape
    share = np.array(ratio, dtype=float)
    counts = np.zeros((trials, factors, int(levels.max()) + 1, 2))
    out = np.zeros((trials, n), dtype=np.int8)
    rows = np.arange(trials)
    for i in range(n):
        lv = patient_levels[:, i, :]  # (trials, factors)
        current = counts[rows[:, None], np.arange(factors)[None, :], lv]  # (trials, factors, 2)
        totals = np.zeros((trials, 2))
        for candidate in range(2):
            trial_counts = current.copy()
            trial_counts[..., candidate] += 1
            scaled = trial_counts / share
            totals[:, candidate] = (scaled.max(axis=-1) - scaled.min(axis=-1)).sum(axis=-1)
        best = np.where(totals[:, 0] < totals[:, 1], 0, 1)
        tie = totals[:, 0] == totals[:, 1]
        draw = rng.random(trials)
        chosen = np.where(draw < p, best, 1 - best)
        coin = np.asarray(rng.random(trials) < 0.5, dtype=int)
        chosen = np.where(tie, coin, chosen)
        arm_index = chosen  # 0 = treated (first in the ratio), 1 = control
        out[:, i] = (arm_index == 0).astype(np.int8)
        counts[rows[:, None], np.arange(factors)[None, :], lv, arm_index[:, None]] += 1
    return out


def _cmh_p(a: np.ndarray, n1: np.ndarray, m1: np.ndarray, total: np.ndarray,
           correct: bool) -> np.ndarray:  # fmt: skip
    """Two-sided CMH p-value per trial from per-stratum arrays of shape (trials, strata)."""
    from scipy import stats

    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.where(total > 0, n1 * m1 / np.maximum(total, 1), 0.0)
        n2, m2 = total - n1, total - m1
        variance = np.where(
            total > 1,
            n1 * n2 * m1 * m2 / (np.maximum(total, 1) ** 2 * np.maximum(total - 1, 1)),
            0.0,
        )
        delta = (a - expected).sum(axis=1)
        v = variance.sum(axis=1)
        shift = np.where(correct & (np.abs(delta) >= 0.5), 0.5, 0.0)
        statistic = np.where(v > 0, (np.abs(delta) - shift) ** 2 / np.where(v > 0, v, 1), 0.0)
    return np.asarray(stats.chi2.sf(statistic, 1))


def _fisher_p(x1: np.ndarray, n1: np.ndarray, x2: np.ndarray, n2: np.ndarray) -> np.ndarray:
    """Two-sided Fisher p-value per trial (R's rule), cached per margin."""
    from scipy import stats

    out = np.empty(len(x1))
    cache: dict[tuple[int, int, int], tuple[int, np.ndarray]] = {}
    keys = np.stack([n1, n2, x1 + x2, x1], axis=1)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    values = np.empty(len(unique))
    for j, (a_n, b_n, t, x) in enumerate(unique):
        key = (int(a_n), int(b_n), int(t))
        if key not in cache:
            lo, hi = max(0, key[2] - key[1]), min(key[2], key[0])
            support = np.arange(lo, hi + 1)
            pmf = stats.hypergeom.pmf(support, key[0] + key[1], key[0], key[2])
            ordered = np.sort(pmf)
            cumulative = np.cumsum(ordered)
            index = np.searchsorted(ordered, pmf * (1 + 1e-7), side="right") - 1
            cache[key] = (lo, np.minimum(cumulative[index], 1.0))
        lo, p_values = cache[key]
        values[j] = p_values[int(x) - lo]
    out[:] = values[inverse.ravel()]
    return out


def _logistic_p(y: np.ndarray, treated: np.ndarray, stratum: np.ndarray,
                strata: int) -> np.ndarray:  # fmt: skip
    """Wald p-value of the arm in ``logit P(y) = b0 + b_arm treated + strata`` per trial, by
    batched IRLS (25 iterations); trials whose fit separates get p = 1 (not significant)."""
    from scipy import stats

    trials, n = y.shape
    columns = [np.ones((trials, n)), treated.astype(float)]
    columns += [(stratum == s).astype(float) for s in range(1, strata)]
    x = np.stack(columns, axis=-1)  # (trials, n, k)
    k = x.shape[-1]
    beta = np.zeros((trials, k))
    ridge = 1e-10 * np.eye(k)
    cov = np.zeros((trials, k, k))
    for _ in range(25):
        eta = np.einsum("tnk,tk->tn", x, beta)
        mu = 1 / (1 + np.exp(-eta))
        w = np.clip(mu * (1 - mu), 1e-12, None)
        xtwx = np.einsum("tnk,tn,tnj->tkj", x, w, x) + ridge
        score = np.einsum("tnk,tn->tk", x, y - mu)
        step = np.linalg.solve(xtwx, score[..., None])[..., 0]
        beta = beta + step
        cov = xtwx
    inverse = np.linalg.inv(cov)
    se = np.sqrt(np.clip(inverse[:, 1, 1], 0, None))
    z = np.where(se > 0, beta[:, 1] / np.where(se > 0, se, 1), 0.0)
    p = 2 * stats.norm.sf(np.abs(z))
    separated = (np.abs(beta[:, 1]) > 15) | ~np.isfinite(p) | (se > 50)
    return np.where(separated, 1.0, p)


def _simulate(spec: TrialSpec, rates: Mapping[str, float], trials: int,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """p-values, the treated-minus-control response difference and the treated count."""
    sim = spec.simulation
    assert sim is not None
    n = sim.patients
    names, weights, combos = _strata(spec, sim.level_shares)
    stratum = rng.choice(len(names), size=(trials, n), p=weights)
    ratio = list(spec.allocation.ratio)
    if spec.allocation.method == "minimisation" and spec.strata is not None:
        levels = np.array([len(v) for v in spec.strata.factors.values()])
        treated = _minimisation(rng, levels, combos[stratum], ratio, spec.allocation.minimisation_p)
    else:
        sequences = _permuted_blocks(rng, trials, len(names), n, ratio,
                                     list(spec.allocation.block_sizes))  # fmt: skip
        onehot = stratum[..., None] == np.arange(len(names))
        rank = np.cumsum(onehot, axis=1) - 1
        rank_here = np.take_along_axis(rank, stratum[..., None], axis=-1)[..., 0]
        treated = sequences[np.arange(trials)[:, None], stratum, rank_here]
    treated = treated.astype(bool)
    rate = np.where(treated, rates[spec.treated_arm], rates[spec.control_arm or ""])
    stayed = rng.random((trials, n)) >= sim.dropout_rate
    y = (rng.random((trials, n)) < rate) & stayed
    x1 = (y & treated).sum(axis=1)
    n1 = treated.sum(axis=1)
    x2 = (y & ~treated).sum(axis=1)
    n2 = n - n1
    test = spec.analysis.primary_test
    if test == "fisher":
        p = _fisher_p(x1, n1, x2, n2)
    elif test == "cmh":
        s_onehot = stratum[..., None] == np.arange(len(names))
        a = (s_onehot & (y & treated)[..., None]).sum(axis=1)
        n1s = (s_onehot & treated[..., None]).sum(axis=1)
        m1s = (s_onehot & y[..., None]).sum(axis=1)
        totals = s_onehot.sum(axis=1)
        p = _cmh_p(a, n1s, m1s, totals, spec.analysis.cmh_correct)
    else:
        p = _logistic_p(y.astype(float), treated, stratum, len(names))
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = np.where(n1 > 0, x1 / np.maximum(n1, 1), 0) - np.where(
            n2 > 0, x2 / np.maximum(n2, 1), 0
        )
    return p, difference, n1


def adjusted(
    spec: TrialSpec,
    *,
    patients: int | None = None,
    response_rates: Mapping[str, float] | None = None,
    dropout_rate: float | None = None,
    test: str | None = None,
) -> TrialSpec:
    """``spec`` with other simulation assumptions or another planned test (validated as a
    specification, so a bad value is reported as the field it changes)."""
    from myositis.trial.spec import spec_from_mapping

    if spec.simulation is None:
        raise TrialDesignError(
            f"{spec.trial.id}: the specification has no 'simulation' section; add patients, "
            "response_rates, and optionally level_shares and dropout_rate"
        )
    data = spec.canonical()
    sim = data["simulation"]
    for key, value in (("patients", patients), ("response_rates", response_rates),
                       ("dropout_rate", dropout_rate)):  # fmt: skip
        if value is not None:
            sim[key] = dict(value) if isinstance(value, Mapping) else value
    if test is not None:
        data["analysis"]["primary_test"] = test
    return spec_from_mapping(data, source=f"{spec.trial.id} (with the options given)")


def simulate(
    spec: TrialSpec,
    *,
    trials: int | None = None,
    seed: int | None = None,
    response_rates: Mapping[str, float] | None = None,
    progress: Progress = silent,
) -> OperatingCharacteristics:
    """Power and type I error of ``spec``'s planned analysis by simulation (see module)."""
    sim = spec.simulation
    if sim is None:
        raise TrialDesignError(
            f"{spec.trial.id}: the specification has no 'simulation' section; add patients, "
            "response_rates, and optionally level_shares and dropout_rate"
        )
    if spec.control_arm is None:
        raise TrialDesignError("simulation compares two arms; this is a single-arm study")
    rates = dict(response_rates or sim.response_rates)
    if set(rates) != set(spec.arm_names):
        raise TrialDesignError(
            f"response_rates {rates}: give one rate per arm ({', '.join(spec.arm_names)})"
        )
    count = trials or sim.trials
    if count < 100:
        raise TrialDesignError(f"trials = {count}: simulate at least 100 trials")
    chosen_seed = sim.seed if seed is None else seed
    rng = np.random.default_rng(chosen_seed)
    alpha = spec.analysis.alpha
    progress("simulating the trial under the assumed rates (power)", 0, 2)
    p, difference, n1 = _simulate(spec, rates, count, rng)
    significant = p <= alpha
    power = float(significant.mean())
    favouring = float((significant & (difference > 0)).mean())
    control = rates[spec.control_arm]
    progress("simulating the trial with no difference (type I error)", 1, 2)
    null_p, _, _ = _simulate(spec, {a: control for a in spec.arm_names}, count, rng)
    progress("simulating the trial with no difference (type I error)", 2, 2)
    type_i = float((null_p <= alpha).mean())
    return OperatingCharacteristics(
        count, sim.patients, spec.analysis.primary_test, alpha,
        tuple(sorted(rates.items())), sim.dropout_rate, power, _mcse(power, count), favouring,
        type_i, _mcse(type_i, count), float(n1.mean()), chosen_seed,
        tuple((int(k), int(v)) for k, v in zip(*np.unique(n1, return_counts=True), strict=True)),
    )  # fmt: skip


__all__ = ["OperatingCharacteristics", "adjusted", "simulate"]
