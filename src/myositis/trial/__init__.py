"""Trial design: sample size and power for a binary endpoint, and allocation lists.

- :func:`sample_size`, :func:`power_for` (R ``power.prop.test``; exact Fisher power);
- :func:`permuted_blocks` (stratified permuted blocks with random block sizes, as R
  ``blockrand``);
- :class:`Minimiser` (Pocock-Simon minimisation).

Scoring the endpoints themselves (TIS, IMACS DOI) is in :mod:`myositis.instruments`.
"""

from __future__ import annotations

from myositis.trial.minimisation import MinimisedAllocation, Minimiser
from myositis.trial.randomisation import Allocation, permuted_blocks
from myositis.trial.sample_size import PowerResult, power_for, sample_size

__all__ = [
    "Allocation",
    "MinimisedAllocation",
    "Minimiser",
    "PowerResult",
    "permuted_blocks",
    "power_for",
    "sample_size",
]
