"""Kaplan-Meier pinned to R survival 3.5-3 (R 4.2.2).

Every table below is R's ``summary(fit, censored = TRUE)`` for
``fit <- survfit(Surv(time, status) ~ 1, conf.type = <type>)``, printed with digits = 10 or 12;
medians and their intervals are ``quantile(fit, 0.5)`` / ``summary(fit)$table``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight

from myositis.analysis.survival import KaplanMeier, kaplan_meier
from myositis.errors import InvalidInputError

NA = math.nan

# R survival `aml` (Miller 1997), aml[aml$x == "Maintained", ] and "Nonmaintained".
MAINT_T = [9, 13, 13, 18, 23, 28, 31, 34, 45, 48, 161]
MAINT_S = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0]
NONM_T = [5, 5, 8, 8, 12, 16, 23, 27, 30, 33, 43, 45]
NONM_S = [1, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1]

# columns: time, n.risk, n.event, n.censor, surv, std.err (of S)
MAINT_TABLE = [
    (9, 11, 1, 0, 0.9090909091, 0.0866784172),
    (13, 10, 1, 1, 0.8181818182, 0.1162912998),
    (18, 8, 1, 0, 0.7159090909, 0.1396649706),
    (23, 7, 1, 0, 0.6136363636, 0.1526323310),
    (28, 6, 0, 1, 0.6136363636, 0.1526323310),
    (31, 5, 1, 0, 0.4909090909, 0.1641932672),
    (34, 4, 1, 0, 0.3681818182, 0.1626688858),
    (45, 3, 0, 1, 0.3681818182, 0.1626688858),
    (48, 2, 1, 0, 0.1840909091, 0.1534927458),
    (161, 1, 0, 1, 0.1840909091, 0.1534927458),
]
MAINT_CI = {
    "log": (
        [
            0.75413384508,
            0.61924898740,
            0.48842628742,
            0.37686705950,
            0.37686705950,
            0.25485995120,
            0.15487711790,
            0.15487711790,
            0.03591789849,
            0.03591789849,
        ],
        [
            1,
            1,
            1,
            0.9991576002,
            0.9991576002,
            0.9455849552,
            0.8752606781,
            0.8752606781,
            0.9435257695,
            0.9435257695,
        ],
    ),
    "log-log": (
        [
            0.50808020577,
            0.44742861468,
            0.35019038591,
            0.26575204000,
            0.26575204000,
            0.16733090978,
            0.09282957494,
            0.09282957494,
            0.01173848012,
            0.01173848012,
        ],
        [
            0.9866738227,
            0.9511622286,
            0.8990239742,
            0.8352992433,
            0.8352992433,
            0.7533997904,
            0.6570408324,
            0.6570408324,
            0.5250148427,
            0.5250148427,
        ],
    ),
    "plain": (
        [
            0.73920433313,
            0.59025505880,
            0.44217077872,
            0.31448249195,
            0.31448249195,
            0.16909620065,
            0.04935666056,
            0.04935666056,
            0,
            0,
        ],
        [
            1,
            1,
            0.9896474031,
            0.9127902353,
            0.9127902353,
            0.8127219812,
            0.6870069758,
            0.6870069758,
            0.4849311627,
            0.4849311627,
        ],
    ),
}
# summary(fit)$table: median, 0.95LCL, 0.95UCL
MAINT_MEDIAN = {"log": (31, 18, None), "log-log": (31, 13, None), "plain": (31, 18, 48)}

NONM_TABLE = [
    (5, 12, 2, 0, 0.83333333333, 0.10758287073),
    (8, 10, 2, 0, 0.66666666667, 0.13608276349),
    (12, 8, 1, 0, 0.58333333333, 0.14231876064),
    (16, 7, 0, 1, 0.58333333333, 0.14231876064),
    (23, 6, 1, 0, 0.48611111111, 0.14813006255),
    (27, 5, 1, 0, 0.38888888889, 0.14698618395),
    (30, 4, 1, 0, 0.29166666667, 0.13871516913),
    (33, 3, 1, 0, 0.19444444444, 0.12187450538),
    (43, 2, 1, 0, 0.09722222222, 0.09186636497),
    (45, 1, 1, 0, 0.0, NA),
]
NONM_CI = {
    "log": (
        [
            0.64703698701,
            0.44684608115,
            0.36161370521,
            0.36161370521,
            0.26751824886,
            0.18539652610,
            0.11483115015,
            0.05692155257,
            0.01525652717,
            NA,
        ],
        [
            1,
            0.9946253603,
            0.9409980122,
            0.9409980122,
            0.8833192253,
            0.8157357157,
            0.7408220185,
            0.6642236599,
            0.6195486291,
            NA,
        ],
    ),
    "log-log": (
        [
            0.481714942195,
            0.337018932541,
            0.270138924085,
            0.270138924085,
            0.191876619619,
            0.126272012195,
            0.072401608908,
            0.031198642931,
            0.005746305696,
            NA,
        ],
        [
            0.9555093657,
            0.8597117991,
            0.8009401923,
            0.8009401923,
            0.7296715698,
            0.6498174083,
            0.5608860527,
            0.4614294762,
            0.3489038611,
            NA,
        ],
    ),
    "plain": (
        [
            0.62247478135,
            0.39994935131,
            0.30439368816,
            0.30439368816,
            0.19578152348,
            0.10080126213,
            0.01978993105,
            0,
            0,
            NA,
        ],
        [
            1,
            0.9333839820,
            0.8622729785,
            0.8622729785,
            0.7764406987,
            0.6769765157,
            0.5635434023,
            0.4333140856,
            0.2772769889,
            NA,
        ],
    ),
}
NONM_MEDIAN = {"log": (23, 8, None), "log-log": (23, 5, 33), "plain": (23, 8, 33)}


def _same(actual: tuple[float, ...], expected: list[float], tol: float) -> None:
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        if math.isnan(e):
            assert math.isnan(a)
        else:
            assert a == pytest.approx(e, abs=tol)


def _check(
    km: KaplanMeier,
    table: Sequence[tuple[float, ...]],
    ci: tuple[list[float], list[float]],
    median: tuple[float | None, ...],
) -> None:
    cols = list(zip(*table, strict=True))
    assert km.times == tuple(float(v) for v in cols[0])
    assert km.n_risk == tuple(float(v) for v in cols[1])
    assert km.n_event == tuple(float(v) for v in cols[2])
    assert km.n_censor == tuple(float(v) for v in cols[3])
    _same(km.survival, list(cols[4]), 1e-10)
    _same(km.std_err, list(cols[5]), 1e-10)
    _same(km.ci_low, ci[0], 1e-10)
    _same(km.ci_high, ci[1], 1e-10)
    assert (km.median, *km.median_ci) == median


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_aml_maintained_matches_r(conf_type: str) -> None:
    """R: survfit(Surv(time, status) ~ 1, data = aml[aml$x == "Maintained", ],
    conf.type = conf_type); median 31 weeks (statistics.md)."""
    km = kaplan_meier(MAINT_T, MAINT_S, conf_type=conf_type)  # type: ignore[arg-type]
    assert km.conf_type == conf_type
    _check(km, MAINT_TABLE, MAINT_CI[conf_type], MAINT_MEDIAN[conf_type])


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_aml_nonmaintained_matches_r_including_na_at_zero(conf_type: str) -> None:
    """R: survfit(Surv(time, status) ~ 1, data = aml[aml$x == "Nonmaintained", ],
    conf.type = conf_type); median 23 weeks; S = 0 at 45 gives std.err NaN and NA limits."""
    km = kaplan_meier(NONM_T, [bool(s) for s in NONM_S], conf_type=conf_type)  # type: ignore[arg-type]
    _check(km, NONM_TABLE, NONM_CI[conf_type], NONM_MEDIAN[conf_type])


def test_default_interval_is_log_like_r() -> None:
    assert kaplan_meier(MAINT_T, MAINT_S).conf_type == "log"


def test_std_err_agrees_with_statsmodels_greenwood() -> None:
    """Peer check: statsmodels SurvfuncRight reports the same Greenwood SE of S at event times."""
    km = kaplan_meier(MAINT_T, MAINT_S)
    sm = SurvfuncRight(np.array(MAINT_T, float), np.array(MAINT_S, float))
    event_rows = [i for i, d in enumerate(km.n_event) if d > 0]
    assert [km.times[i] for i in event_rows] == list(sm.surv_times)
    assert [km.std_err[i] for i in event_rows] == pytest.approx(list(sm.surv_prob_se), abs=1e-12)
    assert [km.survival[i] for i in event_rows] == pytest.approx(list(sm.surv_prob), abs=1e-12)


def test_median_on_a_flat_stretch_at_one_half_is_a_midpoint() -> None:
    """R: fit <- survfit(Surv(1:6, rep(1, 6)) ~ 1); quantile(fit, 0.5): 3.5 (S = 0.5 on [3, 4)),
    lower 2, upper NA; with conf.type = "plain": lower 2, upper 5;
    with conf.type = "log-log": lower 1, upper NA."""
    t, s = [1, 2, 3, 4, 5, 6], [1] * 6
    assert (kaplan_meier(t, s).median, kaplan_meier(t, s).median_ci) == (3.5, (2.0, None))
    assert kaplan_meier(t, s, conf_type="plain").median_ci == (2.0, 5.0)
    assert kaplan_meier(t, s, conf_type="log-log").median_ci == (1.0, None)


def test_median_when_curve_ends_at_one_half_uses_last_time() -> None:
    """R: quantile(survfit(Surv(c(1,2,3,4), c(1,1,0,0)) ~ 1), 0.5): 3 = (2 + 4) / 2, lower 1,
    upper NA; log interval at t = 2: 0.187658928707 to 1."""
    km = kaplan_meier([1, 2, 3, 4], [1, 1, 0, 0])
    assert km.median == 3.0
    assert km.median_ci == (1.0, None)
    assert km.interval_at(2) == pytest.approx((0.187658928707, 1.0), abs=1e-11)


def test_censoring_first_and_tied_times() -> None:
    """R: time <- c(0.5,1,1,2,2,3,4,4,6); status <- c(0,1,0,1,1,0,1,1,0).
    log: surv 1 .875 .583333333333 .583333333333 .194444444444 .194444444444;
    std.err 0 .116926793337 .185560961332 .185560961332 .170386724255 .170386724255;
    median 4 (2, NA). log-log: NA limits at S = 1; lower 0.38700001403203 at t = 1; median
    CI (1, NA)."""
    t = [0.5, 1, 1, 2, 2, 3, 4, 4, 6]
    s = [0, 1, 0, 1, 1, 0, 1, 1, 0]
    km = kaplan_meier(t, s)
    assert km.times == (0.5, 1.0, 2.0, 3.0, 4.0, 6.0)
    assert km.n_censor == (1.0, 1.0, 0.0, 1.0, 0.0, 1.0)
    _same(
        km.survival,
        [1, 0.875, 0.583333333333, 0.583333333333, 0.194444444444, 0.194444444444],
        1e-11,
    )
    _same(
        km.std_err,
        [0, 0.116926793337, 0.185560961332, 0.185560961332, 0.170386724255, 0.170386724255],
        1e-11,
    )
    assert (km.ci_low[0], km.ci_high[0]) == (1.0, 1.0)
    assert (km.median, km.median_ci) == (4.0, (2.0, None))
    ll = kaplan_meier(t, s, conf_type="log-log")
    assert math.isnan(ll.ci_low[0]) and math.isnan(ll.ci_high[0])
    assert ll.ci_low[1] == pytest.approx(0.38700001403203, abs=1e-12)
    assert ll.median_ci == (1.0, None)


def test_min_2022_time_to_improvement_as_cumulative_incidence() -> None:
    """Min 2022: 8 of 11 improved within 1 month, 2 more within 1.5 months, the last by 2.
    R: survfit(Surv(c(rep(1, 8), 1.5, 1.5, 2), rep(1, 11)) ~ 1): surv 0.2727272727273,
    0.0909090909091, 0; std.err 0.1342816265229, 0.0866784172041, NaN; log CI at 1:
    0.103902477032 to 0.715865178713; median 1 (1, NA); log-log median CI (1, 1.5)."""
    t = [1.0] * 8 + [1.5, 1.5, 2.0]
    km = kaplan_meier(t, [True] * 11)
    assert km.cumulative_incidence_at(1.0) == pytest.approx(8 / 11)
    assert km.cumulative_incidence_at(1.49) == pytest.approx(8 / 11)
    assert km.cumulative_incidence_at(1.5) == pytest.approx(10 / 11)
    assert km.cumulative_incidence_at(2.0) == 1.0
    assert km.cumulative_incidence_at(0.5) == 0.0
    _same(km.std_err, [0.1342816265229, 0.0866784172041, NA], 1e-12)
    assert km.interval_at(1.2) == pytest.approx((0.103902477032, 0.715865178713), abs=1e-11)
    assert (km.median, km.median_ci) == (1.0, (1.0, None))
    assert kaplan_meier(t, [1] * 11, conf_type="log-log").median_ci == (1.0, 1.5)
    # R: summary(fit, times = c(0, 1, 1.2, 2, 2.5), extend = TRUE)$n.risk 11 11 3 1 0
    assert [km.n_risk_at(x) for x in (0, 1, 1.2, 2, 2.5)] == [11, 11, 3, 1, 0]


def test_survival_at_is_a_right_continuous_step_that_stays_flat_after_follow_up() -> None:
    km = kaplan_meier(MAINT_T, MAINT_S)
    assert km.survival_at(0) == 1.0
    assert km.survival_at(8.99) == 1.0
    assert km.survival_at(9) == pytest.approx(10 / 11)
    assert km.survival_at(200) == km.survival[-1]
    assert km.median is not None and km.survival_at(km.median) <= 0.5


def test_conf_level_changes_the_interval() -> None:
    """R: summary(survfit(Surv(time, status) ~ 1, data = aml[aml$x == "Maintained", ],
    conf.int = 0.9)) lower 0.7771352944721 0.6476142780142 0.5193939654121 0.4075938491827
    0.2831872786606 0.1780123698738 0.0467105894602; upper 1 1 0.986776629258 0.923835302058
    0.850997744945 0.761508042030 0.725519913184 (event times only)."""
    km90 = kaplan_meier(MAINT_T, MAINT_S, conf=0.9)
    rows = [i for i, d in enumerate(km90.n_event) if d > 0]
    assert [km90.ci_low[i] for i in rows] == pytest.approx(
        [
            0.7771352944721,
            0.6476142780142,
            0.5193939654121,
            0.4075938491827,
            0.2831872786606,
            0.1780123698738,
            0.0467105894602,
        ],
        abs=1e-12,
    )
    assert [km90.ci_high[i] for i in rows] == pytest.approx(
        [1, 1, 0.986776629258, 0.923835302058, 0.850997744945, 0.761508042030, 0.725519913184],
        abs=1e-11,
    )


@pytest.mark.parametrize(
    ("durations", "events", "match"),
    [
        ([1, 2], [1], "equal lengths"),
        ([], [], "at least one"),
        ([1, -2], [1, 0], "duration"),
        ([1, float("nan")], [1, 0], "duration"),
        ([1, None], [1, 0], "duration"),
        ([1, 2], [1, 2], "event"),
        ([1, 2], [1, None], "event"),
    ],
)
def test_bad_input_is_rejected(durations: list[object], events: list[object], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        kaplan_meier(durations, events)  # type: ignore[arg-type]


def test_bad_options_are_rejected() -> None:
    with pytest.raises(InvalidInputError, match="conf_type"):
        kaplan_meier([1, 2], [1, 1], conf_type="arcsin")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="confidence level"):
        kaplan_meier([1, 2], [1, 1], conf=1.5)
    with pytest.raises(InvalidInputError, match="number"):
        kaplan_meier([1, 2], [1, 1]).survival_at(float("nan"))
