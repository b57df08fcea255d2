"""Members' characteristics at the index date, the first rows of every Table 1: the number of
members, sex, age, race, ethnicity, site and DM subtype (format-1 studies add their own rows,
:func:`myositis.analysis.baseline.baseline_characteristics`; format-2 studies show these).

Each member is anything with ``sex, age_at_index, race, ethnicity, site, subtype``
attributes or keys (a format-1 :class:`~myositis.cohort.build.Patient`, or a row of
:func:`myositis.cohort.members.characteristics`); the age and subtype rules are in
:mod:`myositis.cohort.members`. Categories: sex F, M, U first; subtypes in the data model's
order (``DM_SUBTYPES``); others alphabetically; a missing value is 'not recorded'.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from myositis.analysis.serialise import counts_dict, summary_dict
from myositis.registry.schema import DM_SUBTYPES

_FIELDS = ("sex", "age_at_index", "race", "ethnicity", "site", "subtype")


def _get(member: Any, name: str) -> Any:
    return member[name] if isinstance(member, Mapping) else getattr(member, name)


def characteristics_at_index(members: Sequence[Any], conf: float = 0.95) -> dict[str, Any]:
    """``n``, ``sex``, ``age_at_index`` (summary and ``missing``), ``race``, ``ethnicity``,
    ``site`` and ``subtype`` (category counts with percentages) of ``members``."""
    values = {name: [_get(m, name) for m in members] for name in _FIELDS}
    ages = [a for a in values["age_at_index"] if a is not None]
    return {
        "n": len(members),
        "sex": counts_dict(values["sex"], order=("F", "M", "U")),
        "age_at_index": summary_dict(ages, conf) | {"missing": len(members) - len(ages)},
        "race": counts_dict(values["race"]),
        "ethnicity": counts_dict(values["ethnicity"]),
        "site": counts_dict(values["site"]),
        "subtype": counts_dict(values["subtype"], order=DM_SUBTYPES),
    }


__all__ = ["characteristics_at_index"]
