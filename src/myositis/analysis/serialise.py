"""Plain-JSON forms of the statistics results, and tests that may not be computable.

The analysis modules return nested dictionaries of JSON types (numbers, strings, lists,
None) so that ``results.json`` holds every number the report shows, unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, Literal

from myositis.analysis.statistics import Summary, TestResult, binomial_ci, describe
from myositis.errors import InvalidInputError


def summary_dict(values: Sequence[float], conf: float = 0.95) -> dict[str, Any]:
    """n, mean, SD, median, quartiles, range and the t-interval of the mean (``describe``);
    ``{"n": 0}`` when there are no values."""
    if not values:
        return {"n": 0}
    s: Summary = describe(list(values), conf=conf)
    return {
        "n": s.n,
        "mean": s.mean,
        "sd": s.sd,
        "median": s.median,
        "q1": s.q1,
        "q3": s.q3,
        "min": s.minimum,
        "max": s.maximum,
        "ci_low": s.ci_low,
        "ci_high": s.ci_high,
        "conf": s.conf,
    }


def paired_test_dict(run: Callable[[], TestResult]) -> dict[str, Any]:
    """A test's result as a dictionary, or ``{"computed": False, "reason": ...}`` when the
    data do not allow it (too few pairs, all differences equal); warnings become notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            r = run()
        except InvalidInputError as exc:
            return {"computed": False, "reason": str(exc)}
    out: dict[str, Any] = {
        "computed": True,
        "method": r.method,
        "statistic": r.statistic,
        "p_value": r.p_value,
        "df": r.df,
        "estimate": r.estimate,
        "ci_low": r.ci_low,
        "ci_high": r.ci_high,
        "n": r.n,
    }
    if caught:
        out["note"] = "; ".join(str(w.message) for w in caught)
    return out


#: How each interval of :func:`proportion_dict` is named in the results.
_INTERVALS = {
    "exact": "exact (Clopper-Pearson)",
    "wilson": "Wilson score (no continuity correction)",
}


def proportion_dict(
    count: int, n: int, conf: float = 0.95, method: Literal["exact", "wilson"] = "exact"
) -> dict[str, Any]:
    """count / n with its interval: exact (Clopper-Pearson, R ``binom.test``) or Wilson's score
    interval (R ``prop.test(count, n, correct = FALSE)``); no interval when n is 0."""
    if n == 0:
        return {"count": count, "n": 0, "proportion": None, "ci_low": None, "ci_high": None}
    low, high = binomial_ci(count, n, conf=conf, method=method)
    return {
        "count": count,
        "n": n,
        "proportion": count / n,
        "ci_low": low,
        "ci_high": high,
        "method": _INTERVALS[method],
    }


def counts_dict(values: Sequence[str | None], order: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Category counts with percentages, in ``order`` first then alphabetically; missing
    values are counted as 'not recorded'."""
    labels = ["not recorded" if v is None or v == "" else str(v) for v in values]
    total = len(labels)
    seen = [o for o in order if o in labels]
    seen += sorted(set(labels) - set(seen))
    return [
        {
            "category": label,
            "count": labels.count(label),
            "percent": 100 * labels.count(label) / total if total else None,
        }
        for label in seen
    ]


__all__ = ["counts_dict", "proportion_dict", "paired_test_dict", "summary_dict"]
