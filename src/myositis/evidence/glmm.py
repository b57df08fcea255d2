"""Binomial-normal random-effects model for single-arm proportions (metafor ``rma.glmm``).

Model (Hamza et al. 2008; Stijnen et al. 2010): ``x_i ~ Binomial(n_i, expit(b + u_i))``,
``u_i ~ N(0, tau^2)``, fitted by maximum likelihood. metafor's ``rma.glmm(measure="PLO")``
delegates to ``lme4::glmer(cbind(x, n-x) ~ 1 + (1 | study), nAGQ = 7)``: the marginal
likelihood is integrated by adaptive Gauss-Hermite quadrature with 7 nodes per study, centred
at each study's conditional mode and scaled by the curvature there. This module does the same
with scipy, and takes the standard error of ``b`` from the inverse of the numerical Hessian of
the (AGQ) deviance in ``(b, tau)``, which is what ``vcov()`` of a glmer fit with nAGQ > 1
returns. With dat.pritz1997 it gives metafor's 0.7984 (0.6924 to 0.8746).

Heterogeneity, as metafor prints it for this model:

- Wald-type ``Q``: the Wald test that the study-specific logits are equal in the fixed-effects
  (saturated) logistic model. Studies with 0 or n events have an infinite logit whose variance
  is infinite, so they contribute nothing (glm's estimate diverges); the statistic is the
  inverse-variance ``Q`` of the other studies, on ``k - 1`` df as metafor reports it;
- likelihood-ratio ``Q``: twice the log-likelihood gap between the saturated and the
  common-proportion binomial model (``k - 1`` df);
- ``I^2`` from ``tau^2`` and the typical within-study variance of the (continuity-corrected)
  logits, as for ``rma.uni``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import optimize, special, stats
from statsmodels.tools.numdiff import approx_hess3

from myositis.errors import EvidenceError
from myositis.evidence.effects import ilogit, proportions

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class GLMMFit:
    """A fitted binomial-normal model; ``coef``/``se``/``ci_*``/``pi_*`` are on the logit scale."""

    k: int
    n_agq: int
    coef: float
    se: float
    ci_low: float
    ci_high: float
    pi_low: float
    pi_high: float
    tau2: float
    i2: float
    h2: float
    q: float
    q_df: int
    q_pvalue: float
    q_lrt: float
    q_lrt_pvalue: float
    loglik: float
    level: float

    @property
    def proportion(self) -> tuple[float, float, float]:
        """The pooled proportion and its confidence interval (back-transformed)."""
        return (
            float(ilogit(self.coef)),
            float(ilogit(self.ci_low)),
            float(ilogit(self.ci_high)),
        )


def _log_integrand(
    x: FloatArray, n: FloatArray, beta: float, tau: float, z: FloatArray
) -> FloatArray:
    eta = beta + tau * z
    return np.asarray(x * eta - n * np.logaddexp(0.0, eta) - 0.5 * z**2, dtype=np.float64)


def _conditional_modes(
    x: FloatArray, n: FloatArray, beta: float, tau: float
) -> tuple[FloatArray, FloatArray]:
    """Mode of ``log f(x|u) + log phi(z)`` in ``z = u / tau`` and the curvature-based scale.

    The function is concave, but plain Newton steps can overshoot and oscillate when the
    study's proportion is far from ``expit(b)``; steps are halved until the function rises.
    """
    z = np.zeros_like(x)
    current = _log_integrand(x, n, beta, tau, z)
    for _ in range(200):
        p = ilogit(beta + tau * z)
        grad = tau * (x - n * p) - z
        hess = -(tau**2) * n * p * (1.0 - p) - 1.0
        step = -grad / hess
        for _ in range(60):
            trial = _log_integrand(x, n, beta, tau, z + step)
            worse = trial < current - 1e-14
            if not np.any(worse):
                break
            step = np.where(worse, step / 2.0, step)
        z = z + step
        current = _log_integrand(x, n, beta, tau, z)
        if np.max(np.abs(step)) < 1e-12:
            break
    p = ilogit(beta + tau * z)
    scale = 1.0 / np.sqrt(tau**2 * n * p * (1.0 - p) + 1.0)
    return z, scale


class BinomialNormalGLMM:
    """ML fit of the binomial-normal model by adaptive Gauss-Hermite quadrature.

    ``n_agq`` is the number of quadrature nodes per study (metafor's and lme4's default, 7);
    ``n_agq=1`` is the Laplace approximation.
    """

    def __init__(self, n_agq: int = 7, level: float = 95.0) -> None:
        self.n_agq = n_agq
        self.level = level

    def loglik(self, params: FloatArray, x: FloatArray, n: FloatArray) -> float:
        """Marginal log-likelihood at ``params = (b, tau)`` (binomial constants included)."""
        beta, tau = float(params[0]), abs(float(params[1]))
        nodes, weights = special.roots_hermite(self.n_agq)
        const = special.gammaln(n + 1) - special.gammaln(x + 1) - special.gammaln(n - x + 1)
        if tau == 0.0:
            p = ilogit(np.full_like(x, beta))
            return float(np.sum(const + special.xlogy(x, p) + special.xlogy(n - x, 1.0 - p)))
        mode, scale = _conditional_modes(x, n, beta, tau)
        # z_ij = mode_i + sqrt(2) scale_i t_j; integrand f(x|z) phi(z) e^{t^2} times weights.
        z = mode[:, None] + np.sqrt(2.0) * scale[:, None] * nodes[None, :]
        eta = beta + tau * z
        log_binom = x[:, None] * eta - n[:, None] * np.logaddexp(0.0, eta)
        log_phi = -0.5 * z**2 - 0.5 * np.log(2.0 * np.pi)
        terms = log_binom + log_phi + nodes[None, :] ** 2 + np.log(weights)[None, :]
        log_int = special.logsumexp(terms, axis=1) + np.log(np.sqrt(2.0) * scale)
        return float(np.sum(const + log_int))

    def fit(self, events: FloatArray, n: FloatArray) -> GLMMFit:
        """Validate counts, fit by ML and return the estimates (see the module docstring)."""
        x = np.asarray(events, dtype=np.float64)
        size = np.asarray(n, dtype=np.float64)
        k = len(x)
        if k < 2:
            raise EvidenceError(f"pooling needs at least 2 studies; got {k}")
        if np.any(size <= 0) or np.any(x < 0) or np.any(x > size):
            raise EvidenceError("every study needs 0 <= events <= n and n > 0")
        if np.all(x == 0) or np.all(x == size):
            raise EvidenceError(
                "the GLMM cannot be estimated when every study has 0 events or every study "
                "has all events (the likelihood has no maximum)"
            )
        start_effects = proportions([str(i) for i in range(k)], x, size, "PLO")
        w0 = 1.0 / start_effects.vi
        beta0 = float(np.sum(w0 * start_effects.yi) / np.sum(w0))
        start = np.array([beta0, 0.5])

        def objective(params: FloatArray) -> float:
            return -self.loglik(params, x, size)

        best = optimize.minimize(
            objective,
            start,
            method="L-BFGS-B",
            bounds=[(None, None), (0.0, None)],
            options={"ftol": 1e-15, "gtol": 1e-10, "maxiter": 2000},
        )
        polished = optimize.minimize(
            objective,
            best.x,
            method="Nelder-Mead",
            options={"xatol": 1e-10, "fatol": 1e-13, "maxiter": 5000},
        )
        params = polished.x if polished.fun <= best.fun else best.x
        beta, tau = float(params[0]), abs(float(params[1]))
        loglik = -objective(np.array([beta, tau]))

        if tau > 1e-6:
            hess = approx_hess3(np.array([beta, tau]), objective)
            var_beta = float(np.linalg.inv(hess)[0, 0])
        else:
            hess_b = approx_hess3(np.array([beta]), lambda b: objective(np.array([b[0], 0.0])))
            var_beta = 1.0 / float(hess_b[0, 0])
        se = float(np.sqrt(var_beta))
        tau2 = tau**2
        crit = float(stats.norm.ppf(0.5 + self.level / 200.0))
        half_pi = crit * float(np.sqrt(se**2 + tau2))

        # Heterogeneity statistics (module docstring).
        inner = (x > 0) & (x < size)
        q_wald = 0.0
        if np.count_nonzero(inner) >= 2:
            y_in = np.log(x[inner] / (size[inner] - x[inner]))
            w_in = 1.0 / (1.0 / x[inner] + 1.0 / (size[inner] - x[inner]))
            mean_in = float(np.sum(w_in * y_in) / np.sum(w_in))
            q_wald = float(np.sum(w_in * (y_in - mean_in) ** 2))
        p_sat = x / size
        p_common = float(np.sum(x) / np.sum(size))
        ll_sat = float(np.sum(special.xlogy(x, p_sat) + special.xlogy(size - x, 1.0 - p_sat)))
        ll_common = float(
            np.sum(special.xlogy(x, p_common) + special.xlogy(size - x, 1.0 - p_common))
        )
        q_lrt = 2.0 * (ll_sat - ll_common)
        w = 1.0 / start_effects.vi
        vt = (k - 1) / float(np.sum(w) - np.sum(w**2) / np.sum(w))
        return GLMMFit(
            k=k,
            n_agq=self.n_agq,
            coef=beta,
            se=se,
            ci_low=beta - crit * se,
            ci_high=beta + crit * se,
            pi_low=beta - half_pi,
            pi_high=beta + half_pi,
            tau2=tau2,
            i2=100.0 * tau2 / (vt + tau2),
            h2=(vt + tau2) / vt,
            q=q_wald,
            q_df=k - 1,
            q_pvalue=float(stats.chi2.sf(q_wald, k - 1)),
            q_lrt=q_lrt,
            q_lrt_pvalue=float(stats.chi2.sf(q_lrt, k - 1)),
            loglik=loglik,
            level=self.level,
        )
