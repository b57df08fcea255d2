"""The instruments' names, options and rule-table constants, without the query engine.

Everything here comes from the rule tables in ``data/`` (or is an option's default) and is
defined only here: the instrument modules take their copies from this module, and the
command line builds its help texts from it without importing Ibis, DuckDB or PyArrow, so
``myositis score --help`` starts at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

from myositis.instruments.rules import dec, load_table

Population = Literal["adult", "juvenile"]
POPULATIONS: Final = ("adult", "juvenile")

# -- CDASI v2 (Yassaee 2010; Anyanwu 2015) ----------------------------------------------------

#: Activity at or below this is mild (Anyanwu 2015, Stanford cut-off).
CDASI_SEVERITY_CUTOFF_DEFAULT: Final = 14
#: A fall in activity of at least this many points is a meaningful improvement (Anyanwu 2015).
CDASI_MCID_DEFAULT: Final = 5
#: The 15 anatomical locations in form order (column prefixes).
CDASI_LOCATIONS: Final = (
    "scalp",
    "malar",
    "periorbital",
    "face_other",
    "neck_v",
    "neck_posterior",
    "upper_back",
    "back_buttocks",
    "abdomen",
    "thigh_lateral",
    "legs_feet",
    "arm",
    "mechanics_hands",
    "hands_dorsum",
    "gottron_not_hands",
)

# -- Core set measures, TIS and DOI (Rider 2004, 2017; Aggarwal 2017) ------------------------

#: Muscle enzymes in the order of ``data/enzymes.csv``.
ENZYMES: Final = tuple(row["enzyme"] for row in load_table("enzymes"))
#: The six core set measures, by their output stems.
MEASURE_KEYS: Final = ("pga", "ptga", "mmt8", "haq", "enzyme", "ema")
#: measure -> ((edge percent, points), ...) in increasing order of edge (Rider 2017, Table 3)
TIS_POINTS: Final = {
    key: tuple(
        (dec(row["improvement_above_percent"]), dec(row["points"]))
        for row in load_table("tis_points")
        if row["measure"] == key
    )
    for key in MEASURE_KEYS
}
#: population -> ((category, minimum TIS), ...) in increasing order
TIS_CATEGORIES: Final = {
    population: tuple(
        (row["category"], dec(row["minimum_tis"]))
        for row in load_table("tis_categories")
        if row["population"] == population
    )
    for population in POPULATIONS
}

# -- HAQ-DI and CHAQ (Fries 1980; Singh 1994) --------------------------------------------------

HAQForm = Literal["haq-di", "chaq"]
HAQ_FORMS: Final = ("haq-di", "chaq")
#: Answered categories needed for an index (open reading: 6 of 8).
HAQ_MIN_CATEGORIES_DEFAULT: Final = 6
#: The eight categories in form order.
HAQ_CATEGORIES: Final = tuple(row["category"] for row in load_table("haq_categories"))


def haq_item_count(form: str, category: str) -> int:
    """Number of items of ``category`` on ``form`` (``data/haq_items.csv``)."""
    return sum(
        row["form"] == form and row["category"] == category for row in load_table("haq_items")
    )


# -- MMT-8 (Rider 2010) -----------------------------------------------------------------------


@dataclass(frozen=True)
class MuscleGroup:
    """One muscle group of the MMT-8 and the columns that carry its grades."""

    key: str
    label: str
    axial: bool
    field_meaning: str
    minimum: Decimal
    maximum: Decimal

    @property
    def right(self) -> str:
        return f"{self.key}_right"

    @property
    def left(self) -> str:
        return f"{self.key}_left"

    def columns(self) -> tuple[str, ...]:
        """Input columns in form order: the one axial column, or right then left."""
        return (self.key,) if self.axial else (self.right, self.left)


MMT8_GROUPS: Final = tuple(
    MuscleGroup(
        key=row["group"],
        label=row["label"],
        axial=row["sides"] == "axial",
        field_meaning=row["meaning"],
        minimum=dec(row["minimum"]),
        maximum=dec(row["maximum"]),
    )
    for row in load_table("mmt8_groups")
)
