"""Label doses of the JAK inhibitors and the daily frequency of dosing codes.

``label_doses.csv`` holds the approved daily dose by ingredient, formulation, indication and
region with its source (FDA or EU label). Ruxolitinib has no single label dose (myelofibrosis
dosing depends on the platelet count), which is recorded as an empty dose: ``label_dose``
returns ``None`` for it rather than a number that would look valid.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from importlib.resources import files
from typing import Final

from myositis.errors import InputProblem, InvalidInputError


def _read(name: str) -> list[dict[str, str]]:
    text = files("myositis.codes").joinpath(f"data/{name}").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


#: Administrations per day by frequency code (``drug_exposure.frequency``), exact fractions.
FREQUENCIES: Final[dict[str, Fraction]] = {
    row["code"]: Fraction(row["per_day"]) for row in _read("frequencies.csv")
}


@dataclass(frozen=True)
class LabelDose:
    """One approved dose: mg per day or ``None`` when the label has no single dose."""

    ingredient: str
    formulation: str
    indication: str
    region: str
    mg_per_day: float | None
    source: str
    status: str


@cache
def label_doses() -> tuple[LabelDose, ...]:
    """Every row of ``data/label_doses.csv``."""
    return tuple(
        LabelDose(
            ingredient=r["ingredient"],
            formulation=r["formulation"],
            indication=r["indication"],
            region=r["region"],
            mg_per_day=float(r["label_mg_per_day"]) if r["label_mg_per_day"] else None,
            source=r["source"],
            status=r["status"],
        )
        for r in _read("label_doses.csv")
    )


def label_dose(
    ingredient: str, formulation: str, *, indication: str | None = None, region: str = "US"
) -> float | None:
    """The label daily dose in mg for an ingredient and formulation (``IR`` or ``ER``).

    Defaults to the US label and the first indication listed (rheumatoid arthritis for
    tofacitinib, baricitinib and upadacitinib). Returns ``None`` when the label has no single
    dose (ruxolitinib) or when no label dose is recorded for that combination.
    """
    for row in label_doses():
        if (
            row.ingredient == ingredient.strip().lower()
            and row.formulation == formulation.strip().upper()
            and row.region == region
            and (indication is None or row.indication == indication)
        ):
            return row.mg_per_day
    return None


def frequency_per_day(code: str) -> float:
    """Administrations per day for a frequency code: QD 1, BID 2, TID 3, QID 4, QW 1/7,
    Q2W 1/14, Q4W 1/28, ONCE 1 (one administration on the single day of its exposure row).

    Daily dose = dose x frequency_per_day. Unknown codes raise :class:`InvalidInputError`.
    """
    key = code.strip().upper()
    if key not in FREQUENCIES:
        raise InvalidInputError(
            [
                InputProblem(
                    None, "frequency", code, f"unknown frequency; allowed: {', '.join(FREQUENCIES)}"
                )
            ]
        )
    return float(FREQUENCIES[key])
