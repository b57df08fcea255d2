"""What the registry's instruments hold, as a REDCap mapping sees them: each instrument's
items with their ranges (from ``myositis.instruments``, never restated here), its score
measures, and the scores the import computes from items.

Scores are never read from a REDCap calculated field (projects often carry a wrong
calculation). MMT-8 and HAQ/CHAQ scores are computed at import from the item rows by
``myositis.instruments.mmt8`` and ``.haq`` and stored beside them (``total``, ``score``),
because studies read those scores; CDASI activity and damage are not stored, because studies
compute them from the items (``myositis.cohort.cdasi_activity``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, Final

from myositis.instruments import cdasi, haq, mmt8
from myositis.instruments.core_set import MEASURES
from myositis.instruments.rules import Field, dec


def _haq_items(form: str) -> dict[str, Field]:
    items = {f.column: f for fields in haq.ITEMS[form].values() for f in fields}
    return items | {f.column: f for f in haq.AID_HELP_FIELDS}


#: instrument -> item measure -> its field (range, whole numbers).
ITEMS: Final[dict[str, dict[str, Field]]] = {
    "cdasi": {f.column: f for f in cdasi.ITEMS},
    "mmt8": {f.column: f for f in mmt8.FIELDS},
    "haq": _haq_items("haq-di"),
    "chaq": _haq_items("chaq"),
}

#: Items a mapping may leave out without a message (HAQ aids and help are optional).
OPTIONAL_ITEMS: Final = {
    "haq": frozenset(f.column for f in haq.AID_HELP_FIELDS),
    "chaq": frozenset(f.column for f in haq.AID_HELP_FIELDS),
}

_CORE: Final = {m.column: m for m in MEASURES}


def _score(low: Decimal, high: Decimal | None, meaning: str) -> Field:
    return Field("score", minimum=low, maximum=high, meaning=meaning)


#: instrument -> score measure -> its range. Sources: CDASI ranges from
#: ``instruments.cdasi``; the core set scales from ``instruments/data/tis_measures.csv``;
#: the pruritus numeric rating scale 0-10; MMT-8 totals 0-80 unilateral, 0-150 bilateral.
SCORES: Final[dict[str, dict[str, Field]]] = {
    "cdasi": {
        "activity": _score(dec(0), dec(100), "CDASI activity"),
        "damage": _score(dec(0), dec(32), "CDASI damage"),
        "total": _score(dec(0), dec(132), "CDASI total"),
    },
    "pga": {"score": _score(_CORE["pga"].minimum, _CORE["pga"].maximum, _CORE["pga"].label)},
    "ptga": {"score": _score(_CORE["ptga"].minimum, _CORE["ptga"].maximum, _CORE["ptga"].label)},
    "ema": {"score": _score(_CORE["ema"].minimum, _CORE["ema"].maximum, _CORE["ema"].label)},
    "mmt8": {"total": _score(dec(0), dec(150), "MMT-8 total")},
    "haq": {"score": _score(_CORE["haq"].minimum, _CORE["haq"].maximum, _CORE["haq"].label)},
    "chaq": {"score": _score(_CORE["chaq"].minimum, _CORE["chaq"].maximum, _CORE["chaq"].label)},
    "cmas": {"total": _score(_CORE["cmas"].minimum, _CORE["cmas"].maximum, _CORE["cmas"].label)},
    "pruritus_nrs": {"score": _score(dec(0), dec(10), "pruritus numeric rating scale")},
}


def _mmt8_total(items: Mapping[str, Any]) -> float | None:
    total = mmt8.score_one(items).unilateral
    return None if total is None else float(total)


def _haq_score(form: haq.Form) -> Callable[[Mapping[str, Any]], float | None]:
    def score(items: Mapping[str, Any]) -> float | None:
        return haq.score_one(items, form=form).index

    return score


#: instrument -> (score measure, its computation from one administration's items): the
#: unilateral MMT-8 total (0-80) and the HAQ-DI / CHAQ disability index.
COMPUTED: Final[dict[str, tuple[str, Callable[[Mapping[str, Any]], float | None]]]] = {
    "mmt8": ("total", _mmt8_total),
    "haq": ("score", _haq_score("haq-di")),
    "chaq": ("score", _haq_score("chaq")),
}


def measure_field(instrument: str, measure: str) -> Field | None:
    """The item or score ``measure`` of ``instrument`` (None: the instrument has no such)."""
    return ITEMS.get(instrument, {}).get(measure) or SCORES.get(instrument, {}).get(measure)


def out_of_range(spec: Field, value: float) -> str | None:
    """Why ``value`` does not fit ``spec`` (None: it fits)."""
    number = Decimal(str(value))
    if spec.integer and number != number.to_integral_value():
        return f"must be a whole number from {spec.minimum} to {spec.maximum}"
    if (spec.minimum is not None and number < spec.minimum) or (
        spec.maximum is not None and number > spec.maximum
    ):
        return f"outside the range {spec.minimum} to {spec.maximum}"
    return None


__all__ = ["COMPUTED", "ITEMS", "OPTIONAL_ITEMS", "SCORES", "measure_field", "out_of_range"]
