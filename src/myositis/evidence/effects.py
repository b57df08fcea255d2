"""Study-level effect sizes and their sampling variances (the job of metafor's ``escalc``).

Single-arm measures, as metafor defines them (Viechtbauer 2010, ``?escalc``):

- ``PR``  raw proportion ``x/n``, variance ``p(1-p)/n``;
- ``PLO`` logit ``log(x/(n-x))``, variance ``1/x + 1/(n-x)``;
- ``PFT`` Freeman-Tukey double arcsine
  ``(asin(sqrt(x/(n+1))) + asin(sqrt((x+1)/(n+1))))/2``, variance ``1/(4n+2)``;
- ``MN``  mean (or mean change), variance ``sd^2/n``;
- ``GEN`` any effect already on its analysis scale, given with its variance;
- ``IRLN`` log incidence rate ``log(x/t)``, variance ``1/x`` (used for pooled site rates).

For ``PR``, ``PLO`` and ``IRLN`` metafor's default continuity correction applies (``add=1/2,
to="only0"``): 1/2 is added to ``x`` and ``n-x`` of a study only when ``x = 0`` or ``x = n``.
``PFT`` needs no correction and gets none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, cast

import numpy as np
from numpy.typing import NDArray

Measure = Literal["PR", "PLO", "PFT", "MN", "GEN", "IRLN"]
MEASURES: tuple[Measure, ...] = ("PR", "PLO", "PFT", "MN", "GEN")
PROPORTION_MEASURES: tuple[Measure, ...] = ("PR", "PLO", "PFT")

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class EffectSizes:
    """Effect sizes ``yi`` with sampling variances ``vi``, one per study, on the model scale.

    ``events`` and ``n`` are kept for proportions (the GLMM and the Freeman-Tukey
    back-transformation need them); ``n`` is kept for means too.
    """

    measure: Measure
    study: tuple[str, ...]
    yi: FloatArray
    vi: FloatArray
    n: FloatArray | None = None
    events: FloatArray | None = None
    extra: dict[str, tuple[object, ...]] = field(default_factory=dict)

    @property
    def k(self) -> int:
        return len(self.study)

    def subset(self, mask: Sequence[bool] | NDArray[np.bool_]) -> EffectSizes:
        """The studies where ``mask`` is true, in their original order."""
        keep = np.asarray(mask, dtype=bool)
        idx = np.flatnonzero(keep)
        return EffectSizes(
            measure=self.measure,
            study=tuple(self.study[i] for i in idx),
            yi=self.yi[keep],
            vi=self.vi[keep],
            n=None if self.n is None else self.n[keep],
            events=None if self.events is None else self.events[keep],
            extra={name: tuple(values[i] for i in idx) for name, values in self.extra.items()},
        )


def _as_float(values: Sequence[float] | FloatArray) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


def proportions(
    study: Sequence[str],
    events: Sequence[float] | FloatArray,
    n: Sequence[float] | FloatArray,
    measure: Measure,
) -> EffectSizes:
    """Single-arm proportions on the raw (PR), logit (PLO) or double-arcsine (PFT) scale.

    Follows ``metafor::escalc(measure=..., xi=events, ni=n)`` with its defaults, including
    the continuity correction for PR and PLO described in the module docstring. Inputs must
    already be validated (``0 <= events <= n``, ``n > 0``).
    """
    x = _as_float(events)
    size = _as_float(n)
    if measure in ("PR", "PLO"):
        boundary = (x == 0) | (x == size)
        xc = np.where(boundary, x + 0.5, x)
        nc = np.where(boundary, size + 1.0, size)
        if measure == "PR":
            yi = xc / nc
            vi = yi * (1.0 - yi) / nc
        else:
            yi = np.log(xc / (nc - xc))
            vi = 1.0 / xc + 1.0 / (nc - xc)
    elif measure == "PFT":
        yi = 0.5 * (
            np.arcsin(np.sqrt(x / (size + 1.0))) + np.arcsin(np.sqrt((x + 1.0) / (size + 1.0)))
        )
        vi = 1.0 / (4.0 * size + 2.0)
    else:
        raise ValueError(f"not a proportion measure: {measure}")
    return EffectSizes(measure=measure, study=tuple(study), yi=yi, vi=vi, n=size, events=x)


def means(
    study: Sequence[str],
    mean: Sequence[float] | FloatArray,
    sd: Sequence[float] | FloatArray,
    n: Sequence[float] | FloatArray,
) -> EffectSizes:
    """Single-arm means or mean changes: ``yi = mean``, ``vi = sd^2 / n`` (escalc ``MN``)."""
    size = _as_float(n)
    return EffectSizes(
        measure="MN",
        study=tuple(study),
        yi=_as_float(mean),
        vi=_as_float(sd) ** 2 / size,
        n=size,
    )


def generic(
    study: Sequence[str], yi: Sequence[float] | FloatArray, vi: Sequence[float] | FloatArray
) -> EffectSizes:
    """Effects already on their analysis scale (log risk ratios, ...) with their variances."""
    return EffectSizes(measure="GEN", study=tuple(study), yi=_as_float(yi), vi=_as_float(vi))


def rates(
    study: Sequence[str],
    events: Sequence[float] | FloatArray,
    person_time: Sequence[float] | FloatArray,
) -> EffectSizes:
    """Log incidence rates (escalc ``IRLN``): ``log(x/t)``, variance ``1/x``; 1/2 is added to
    the events of a study with none (metafor's ``to="only0"``)."""
    x = _as_float(events)
    x = np.where(x == 0, x + 0.5, x)
    return EffectSizes(
        measure="IRLN",
        study=tuple(study),
        yi=np.log(x / _as_float(person_time)),
        vi=1.0 / x,
        events=_as_float(events),
    )


def ilogit(values: FloatArray | float) -> FloatArray:
    """Inverse logit (metafor ``transf.ilogit``)."""
    return cast(FloatArray, 1.0 / (1.0 + np.exp(-np.asarray(values, dtype=np.float64))))


def _pft(p: float, n: float) -> float:
    x = p * n
    return float(
        0.5 * (np.arcsin(np.sqrt(x / (n + 1.0))) + np.arcsin(np.sqrt((x + 1.0) / (n + 1.0))))
    )


def ipft_hm(values: FloatArray | float, n: FloatArray) -> FloatArray:
    """Back-transform double-arcsine values with the harmonic mean of the sample sizes.

    Miller's (1978) inversion as metafor's ``transf.ipft.hm`` computes it, including its
    clipping: values beyond the transform of 0 or 1 at the harmonic mean map to 0 or 1.
    """
    y = np.atleast_1d(np.asarray(values, dtype=np.float64))
    nhm = 1.0 / float(np.mean(1.0 / n))
    s = np.sin(2.0 * y)
    with np.errstate(invalid="ignore", divide="ignore"):
        inner = 1.0 - (s + (s - 1.0 / s) / nhm) ** 2
        z = 0.5 * (1.0 - np.sign(np.cos(2.0 * y)) * np.sqrt(inner))
    z = np.where(np.isnan(z), np.nan, z)
    z = np.where(y > _pft(1.0, nhm), 1.0, z)
    z = np.where(y < _pft(0.0, nhm), 0.0, z)
    return z


def to_natural(measure: Measure, values: FloatArray | float, n: FloatArray | None) -> FloatArray:
    """Model-scale values back on the scale readers expect (proportions for PLO and PFT)."""
    arr = np.asarray(values, dtype=np.float64)
    if measure == "PLO":
        return ilogit(arr)
    if measure == "IRLN":
        return np.exp(arr)
    if measure == "PFT":
        if n is None:
            raise ValueError("the Freeman-Tukey back-transformation needs the sample sizes")
        return ipft_hm(arr, n).reshape(arr.shape)
    return arr
