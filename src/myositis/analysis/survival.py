"""Kaplan-Meier estimate of time to an event, with R survival's intervals and median.

In the study report the "event" is the first clinically meaningful improvement, so the curve of
interest is the cumulative incidence 1 - S(t): the share of patients who improved by time t.

The estimate itself comes from lifelines (``KaplanMeierFitter``). lifelines does not expose the
Greenwood variance, uses the log-log interval only and a different median rule, so the standard
errors, the three interval transforms and the median with its interval are computed here the way
R's ``survfit`` and ``quantile.survfit`` define them (survival 3.5; Therneau's documentation of
``survfit.formula`` and ``quantile.survfit``). Reference values: docs/statistics.md.
"""

from __future__ import annotations

import bisect
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, NoReturn

import numpy as np
from lifelines import KaplanMeierFitter
from scipy import stats

from myositis.errors import InputProblem, InvalidInputError

__all__ = ["KaplanMeier", "kaplan_meier"]

ConfType = Literal["log", "log-log", "plain"]

# R's quantile.survfit default tolerance, sqrt(.Machine$double.eps).
_TOLERANCE = math.sqrt(np.finfo(float).eps)


@dataclass(frozen=True)
class KaplanMeier:
    """A Kaplan-Meier curve, one entry per distinct observed time (events or censorings).

    The fields mirror R ``summary(survfit(...), censored = TRUE)``: ``std_err`` is the Greenwood
    standard error of S(t) (not of the cumulative hazard), ``ci_low``/``ci_high`` the pointwise
    interval of S(t) on the ``conf_type`` scale. Where R reports NA the value is NaN: the
    standard error and interval once S(t) = 0, and the log-log interval while S(t) = 1.
    ``median`` is the R median survival time, None when the curve never reaches 1/2.
    """

    times: tuple[float, ...]
    n_risk: tuple[float, ...]
    n_event: tuple[float, ...]
    n_censor: tuple[float, ...]
    survival: tuple[float, ...]
    std_err: tuple[float, ...]
    ci_low: tuple[float, ...]
    ci_high: tuple[float, ...]
    conf_type: str
    median: float | None
    median_ci: tuple[float | None, float | None]
    conf: float = 0.95
    n: int = 0

    def _index(self, t: float) -> int:
        """Index of the last time <= t, or -1 before the first time."""
        if not isinstance(t, numbers.Real | Decimal) or math.isnan(float(t)):
            raise InvalidInputError(
                [InputProblem(None, None, repr(t), "the time must be a number", "Kaplan-Meier")]
            )
        return bisect.bisect_right(self.times, float(t)) - 1

    def survival_at(self, t: float) -> float:
        """S(t): the step function is right-continuous, 1 before the first time, and stays at
        its last value after the last observed time (R ``summary(fit, times, extend = TRUE)``).
        """
        i = self._index(t)
        return 1.0 if i < 0 else self.survival[i]

    def cumulative_incidence_at(self, t: float) -> float:
        """1 - S(t): the estimated share of patients with the event by time t."""
        return 1.0 - self.survival_at(t)

    def interval_at(self, t: float) -> tuple[float, float]:
        """Pointwise interval of S(t) (NaN where R reports NA); (1, 1) before the first time."""
        i = self._index(t)
        return (1.0, 1.0) if i < 0 else (self.ci_low[i], self.ci_high[i])

    def n_risk_at(self, t: float) -> int:
        """Number at risk at time t: patients whose follow-up lasts at least t (neither the
        event nor censoring before t), as R ``summary(fit, times = t, extend = TRUE)$n.risk``.
        """
        self._index(t)  # validates t
        j = bisect.bisect_left(self.times, float(t))
        return 0 if j == len(self.times) else int(self.n_risk[j])


def _fail(reason: str, value: object = None, row: int | None = None) -> NoReturn:
    raise InvalidInputError(
        [InputProblem(row, None, None if value is None else repr(value), reason, "Kaplan-Meier")]
    )


def _check_inputs(
    durations: Sequence[float], events: Sequence[bool | int]
) -> tuple[np.ndarray, np.ndarray]:
    if len(durations) != len(events):
        _fail(
            f"durations and events must have equal lengths, got {len(durations)} and {len(events)}"
        )
    if len(durations) == 0:
        _fail("needs at least one patient")
    problems: list[InputProblem] = []
    t: list[float] = []
    e: list[bool] = []
    for row, (d, ev) in enumerate(zip(durations, events, strict=True), start=1):
        if (
            d is None
            or isinstance(d, bool)
            or not isinstance(d, numbers.Real | Decimal)
            or not math.isfinite(float(d))
            or float(d) < 0
        ):
            problems.append(
                InputProblem(
                    row, "duration", repr(d), "must be a finite number >= 0", "Kaplan-Meier"
                )
            )
        else:
            t.append(float(d))
        if ev is None or not isinstance(ev, bool | int | np.integer | np.bool_) or ev not in (0, 1):
            problems.append(
                InputProblem(
                    row,
                    "event",
                    repr(ev),
                    "must be 1/True (event) or 0/False (censored)",
                    "Kaplan-Meier",
                )
            )
        else:
            e.append(bool(ev))
    if problems:
        raise InvalidInputError(problems)
    return np.asarray(t, dtype=float), np.asarray(e, dtype=bool)


def _interval(
    surv: np.ndarray, se_log: np.ndarray, z: float, conf_type: ConfType
) -> tuple[np.ndarray, np.ndarray]:
    """Pointwise interval of S as R ``survfit(conf.type = ...)`` (``conf.lower = "usual"``).

    ``se_log`` is the Greenwood standard error of log S (R's ``fit$std.err``).
    log: S exp(+/- z se_log), capped at 1. log-log: exp(-exp(log(-log S) -/+ z se_log / log S)),
    undefined at S = 0 or 1. plain: S +/- z S se_log, clipped to [0, 1].
    """
    low = np.full(surv.shape, np.nan)
    high = np.full(surv.shape, np.nan)
    positive = surv > 0
    s = surv[positive]
    se = se_log[positive]
    if conf_type == "log":
        low[positive] = s * np.exp(-z * se)
        high[positive] = np.minimum(1.0, s * np.exp(z * se))
    elif conf_type == "log-log":
        inside = positive & (surv < 1)
        s, se = surv[inside], se_log[inside]
        log_s = np.log(s)
        low[inside] = np.exp(-np.exp(np.log(-log_s) - z * se / log_s))
        high[inside] = np.exp(-np.exp(np.log(-log_s) + z * se / log_s))
    elif conf_type == "plain":
        half = z * s * se
        low[positive] = np.maximum(0.0, s - half)
        high[positive] = np.minimum(1.0, s + half)
    else:
        _fail("conf_type must be 'log', 'log-log' or 'plain'", conf_type)
    return low, high


def _r_quantile_time(times: np.ndarray, surv: np.ndarray, p: float = 0.5) -> float | None:
    """The time at which the curve ``surv`` first reaches ``1 - p``, by R's rule.

    R survival ``quantile.survfit`` works on F = 1 - S with the point (0, 0) prepended, drops NA
    values and keeps only the first time of each distinct F. The quantile is the first time
    where F >= p; if F equals p (within sqrt(machine epsilon)) on a flat stretch it is the
    midpoint between the start of that stretch and the next time F rises above p, or the last
    observed time if it never does. None (R's NA) when F never reaches p.
    """
    x = np.concatenate(([0.0], times))
    y = np.concatenate(([0.0], 1.0 - surv))
    x_max = float(x[-1])
    if bool(np.all(np.isnan(y))) or float(np.nanmax(y)) < p:
        return None
    # As R: drop repeated values first (NaNs count as one value), then the NaNs themselves.
    _, first = np.unique(y, return_index=True, equal_nan=True)
    order = np.sort(first)
    x, y = x[order], y[order]
    last_is_na = bool(np.isnan(y[-1]))
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    reach = np.flatnonzero(y + _TOLERANCE >= p)
    above = np.flatnonzero(y - _TOLERANCE >= p)
    if reach.size == 0:
        return None
    start = float(x[reach[0]])
    if not last_is_na and abs(p - float(y[-1])) < _TOLERANCE:
        return (start + x_max) / 2
    if above.size == 0:
        return None
    return (start + float(x[above[0]])) / 2


def kaplan_meier(
    durations: Sequence[float],
    events: Sequence[bool | int],
    conf: float = 0.95,
    conf_type: ConfType = "log",
) -> KaplanMeier:
    """Kaplan-Meier estimate with Greenwood standard errors, as R survival.

    Matches R ``survfit(Surv(durations, events) ~ 1, conf.int = conf, conf.type = conf_type)``
    and ``summary(fit, censored = TRUE)`` (R's default interval is ``"log"``). S(t) is the
    product over event times u <= t of (1 - d_u / n_u); Greenwood's variance of log S(t) is the
    sum of d_u / (n_u (n_u - d_u)); ``std_err`` is S(t) times its square root. The median and
    its interval apply R's ``quantile.survfit`` rule to S(t) and to the interval's bounds (the
    lower bound of the median from the lower curve, the upper bound from the upper curve).

    ``events`` holds 1/True where the event happened at that time, 0/False where follow-up
    ended without it (censored).
    """
    if not (isinstance(conf, int | float) and 0 < conf < 1):
        _fail("the confidence level must be a number strictly between 0 and 1", conf)
    if conf_type not in ("log", "log-log", "plain"):
        _fail("conf_type must be 'log', 'log-log' or 'plain'", conf_type)
    t, e = _check_inputs(durations, events)

    fitter = KaplanMeierFitter().fit(t, event_observed=e)
    table = fitter.event_table
    table = table[table["removed"] > 0]  # lifelines adds a time-0 row even without data there
    times = table.index.to_numpy(dtype=float)
    n_risk = table["at_risk"].to_numpy(dtype=float)
    n_event = table["observed"].to_numpy(dtype=float)
    n_censor = table["censored"].to_numpy(dtype=float)
    surv = fitter.survival_function_.loc[times].iloc[:, 0].to_numpy(dtype=float)

    # Greenwood: cumulative sum of d / (n (n - d)); infinite once everyone at risk has the
    # event, where S = 0 and R reports NaN for the standard error and NA for the interval.
    with np.errstate(divide="ignore"):
        terms = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event)), 0.0)
    se_log = np.sqrt(np.cumsum(terms))
    std_err = np.where(surv > 0, surv * se_log, np.nan)
    z = float(stats.norm.ppf((1 + conf) / 2))
    low, high = _interval(surv, se_log, z, conf_type)

    median = _r_quantile_time(times, surv)
    median_low = _r_quantile_time(times, low)
    median_high = _r_quantile_time(times, high)

    def as_tuple(a: np.ndarray) -> tuple[float, ...]:
        return tuple(float(v) for v in a)

    return KaplanMeier(
        times=as_tuple(times),
        n_risk=as_tuple(n_risk),
        n_event=as_tuple(n_event),
        n_censor=as_tuple(n_censor),
        survival=as_tuple(surv),
        std_err=as_tuple(std_err),
        ci_low=as_tuple(low),
        ci_high=as_tuple(high),
        conf_type=conf_type,
        median=median,
        median_ci=(median_low, median_high),
        conf=float(conf),
        n=int(t.size),
    )
