"""Trials: design, concealed allocation, endpoints from visit data, analysis and simulation.

- specification: :func:`load_trial_spec` (YAML, validated, hashed; ``bird`` and ``stir``
  bundled);
- design: :func:`sample_size`, :func:`power_for` (R ``power.prop.test``, Fleiss-Tytun-Ury with
  an allocation ratio and continuity correction, exact Fisher power), :func:`permuted_blocks`
  (as R ``blockrand``), :class:`Minimiser` (Pocock-Simon), :func:`simulate` (operating
  characteristics);
- concealed allocation: :func:`create_allocation`, :func:`randomise_next`, :func:`unblind`;
- endpoints: :func:`derive_endpoints` (TIS, DOI, prednisone-free response, intercurrent
  events, derivation listing) and :func:`generate_trial` (synthetic BIRD-like data);
- analysis: :func:`analyse_binary` (Newcombe, Fisher, CMH, logistic), :func:`single_arm`,
  :func:`paired_change`, :func:`tis_categories`.

Names are loaded on first use, so ``import myositis.trial`` stays cheap (no numpy, scipy,
statsmodels or pyarrow until a function needs them).
"""

from __future__ import annotations

import importlib
from typing import Any

# Eager: the function ``sample_size`` shares its name with its module, so it is bound here
# once (the module imports nothing heavy until a function runs).
from myositis.trial.sample_size import PowerResult as PowerResult
from myositis.trial.sample_size import power_for as power_for
from myositis.trial.sample_size import sample_size as sample_size

_WHERE = {
    "Allocation": "randomisation",
    "permuted_blocks": "randomisation",
    "MinimisedAllocation": "minimisation",
    "Minimiser": "minimisation",
    "TrialSpec": "spec",
    "load_trial_spec": "spec",
    "spec_from_mapping": "spec",
    "derive_endpoints": "endpoints",
    "TrialEndpoints": "endpoints",
    "analyse_binary": "analysis",
    "paired_change": "analysis",
    "single_arm": "analysis",
    "tis_categories": "analysis",
    "simulate": "simulation",
    "generate_trial": "synthetic",
    "Stores": "concealment",
    "create_allocation": "concealment",
    "randomise_next": "concealment",
    "unblind": "concealment",
}

__all__ = sorted([*_WHERE, "PowerResult", "power_for", "sample_size"])


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'myositis.trial' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"myositis.trial.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))
