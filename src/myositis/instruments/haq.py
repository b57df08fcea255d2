"""HAQ-DI (adults) and CHAQ (children): the disability index of the Health Assessment
Questionnaire.

Rules (instruments.md section 5; Fries et al., Arthritis Rheum 1980;23:137-145 and the Stanford
HAQ-DI scoring instructions; Singh et al., Arthritis Rheum 1994;37:1761-1769 for the CHAQ):

- Eight categories: dressing and grooming, arising, eating, walking, hygiene, reach, grip,
  activities. HAQ-DI: 20 items (2, 2, 3, 2, 3, 2, 3, 3 per category); CHAQ: 30 items
  (4, 2, 3, 2, 5, 4, 5, 5). Every item is a whole number 0-3 (0 without any difficulty,
  1 with some, 2 with much difficulty, 3 unable to do); a CHAQ item answered "not applicable"
  is left blank. Items per form live in ``data/haq_items.csv``.
- A category scores its worst (highest) answered item; blank items are skipped.
- Use of an aid or device (``<category>_aid`` = 1) or help from another person
  (``<category>_help`` = 1) raises that category to at least 2 (``data/haq_categories.csv``).
  The raise applies only to a category with at least one answered item: aid or help alone
  does not make a category answered (the reading of the Stanford 20-item scoring used by the
  German RheMIT/DRFZ documentation; see docs/instruments/haq.md).
- Index = mean of the answered categories' scores (0-3), computed only when at least
  ``min_categories`` categories are answered (default 6 of 8; an **open** reading in
  instruments.md, configurable).

The index is a mean of whole numbers: the sum and the count are exact integers and the one
division is done in double precision, which IEEE 754 rounds correctly (9/8 is exactly 1.125).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import ibis
import ibis.expr.types as ir

from myositis.instruments.base import Instrument
from myositis.instruments.constants import (
    HAQ_CATEGORIES,
    HAQ_FORMS,
    HAQ_MIN_CATEGORIES_DEFAULT,
    HAQForm,
)
from myositis.instruments.engine import lit, missing_names, number, split_names
from myositis.instruments.rules import Field, dec, load_table

Form = HAQForm
FORMS: Final = HAQ_FORMS
MIN_CATEGORIES_DEFAULT: Final = HAQ_MIN_CATEGORIES_DEFAULT

#: The eight categories in form order, with label and the aid/help floor.
CATEGORIES: Final = HAQ_CATEGORIES
LABELS: Final = {row["category"]: row["label"] for row in load_table("haq_categories")}
AID_OR_HELP_FLOOR: Final = {
    row["category"]: dec(row["aid_or_help_floor"]) for row in load_table("haq_categories")
}
AID_EXAMPLES: Final = {row["category"]: row["aid_examples"] for row in load_table("haq_categories")}

_SCALE = "0 without any difficulty, 1 with some, 2 with much difficulty, 3 unable to do"


def _items(form: str) -> dict[str, tuple[Field, ...]]:
    rows = [row for row in load_table("haq_items") if row["form"] == form]
    return {
        category: tuple(
            Field(
                column=f"{category}_{row['item']}",
                minimum=dec(row["minimum"]),
                maximum=dec(row["maximum"]),
                integer=True,
                meaning=f"{row['text']}: {_SCALE}"
                + ("; leave blank if not applicable" if form == "chaq" else ""),
            )
            for row in rows
            if row["category"] == category
        )
        for category in CATEGORIES
    }


#: form -> category -> item fields, in form order
ITEMS: Final = {form: _items(form) for form in FORMS}


def aid_column(category: str) -> str:
    """Column flagging aids or devices used for ``category`` (0/1, optional)."""
    return f"{category}_aid"


def help_column(category: str) -> str:
    """Column flagging help from another person for ``category`` (0/1, optional)."""
    return f"{category}_help"


AID_HELP_FIELDS: Final = tuple(
    field
    for category in CATEGORIES
    for field in (
        Field(
            aid_column(category),
            dec(0),
            dec(1),
            integer=True,
            meaning=f"1 if aids or devices are used for {LABELS[category].lower()} "
            f"(e.g. {AID_EXAMPLES[category]}), else 0",
        ),
        Field(
            help_column(category),
            dec(0),
            dec(1),
            integer=True,
            meaning=f"1 if help from another person is needed for {LABELS[category].lower()}, "
            "else 0",
        ),
    )
)


def score_column(category: str) -> str:
    """Output column holding a category's score."""
    return f"{category}_score"


def _worst(values: Sequence[ir.DecimalValue]) -> ir.DecimalValue:
    """Highest non-blank value (blank when all are blank). Blanks become -1 before GREATEST
    (engines differ on GREATEST with NULLs) and -1 becomes blank again after it; every item
    appears once, so the compiled SQL stays linear in the number of items."""
    none = lit(-1)
    filled = [value.fill_null(none) for value in values]
    greatest = filled[0] if len(filled) == 1 else ibis.greatest(*filled)
    return greatest.nullif(none)


def _flag(table: ir.Table, column: str) -> ir.BooleanValue:
    # An absent or blank aid/help column means "not checked".
    if column not in table.columns:
        return ibis.literal(False)
    return (number(table, column) == lit(1)).fill_null(False)


class HAQ(Instrument):
    """HAQ-DI or CHAQ disability index for each questionnaire (one row each)."""

    name = "haq"
    title = "HAQ disability index (HAQ-DI / CHAQ)"
    outputs = (
        *(score_column(c) for c in CATEGORIES),
        "haq_categories_answered",
        "haq_index",
        "haq_form",
        "haq_missing",
    )

    def __init__(self, form: Form = "haq-di", min_categories: int = MIN_CATEGORIES_DEFAULT) -> None:
        self.form = form
        self.min_categories = min_categories

    def _items(self) -> dict[str, tuple[Field, ...]]:
        if self.form not in ITEMS:
            raise ValueError(f"form must be 'haq-di' or 'chaq', not {self.form!r}")
        minimum = self.min_categories
        if isinstance(minimum, bool) or not isinstance(minimum, int):
            raise ValueError(f"min_categories must be a whole number, not {minimum!r}")
        if not 1 <= minimum <= len(CATEGORIES):
            raise ValueError(
                f"min_categories must be from 1 to {len(CATEGORIES)}, not {self.min_categories}"
            )
        return ITEMS[self.form]

    def fields(self, columns: Sequence[str]) -> list[Field]:
        items = [f for fields in self._items().values() for f in fields]
        return [f for f in (*items, *AID_HELP_FIELDS) if f.column in columns]

    def missing_columns(self, columns: Sequence[str]) -> list[str]:
        return [
            f.column for fields in self._items().values() for f in fields if f.column not in columns
        ]

    def scores(self, table: ir.Table) -> ir.Table:
        items = self._items()
        # Three steps, each reading the previous step's columns by name, so no expression is
        # repeated inside another: worst item -> category score -> index.
        worst = {c: f"_haq_worst_{c}" for c in CATEGORIES}
        step = table.mutate(
            **{
                worst[c]: _worst([number(table, f.column) for f in fields])
                for c, fields in items.items()
            }
        )
        category_scores: dict[str, ir.DecimalValue] = {}
        answered: dict[str, ir.BooleanValue] = {}
        for category in CATEGORIES:
            value = step[worst[category]]
            floor = lit(AID_OR_HELP_FLOOR[category])
            raised = _flag(step, aid_column(category)) | _flag(step, help_column(category))
            # Aid/help lifts an answered category to the floor; it never lowers a score and
            # never answers a category on its own (a blank worst item stays blank).
            category_scores[category] = ibis.ifelse(raised & (value < floor), floor, value)
            answered[category] = value.notnull()
        step = step.mutate(
            **{score_column(c): category_scores[c].cast("int32") for c in CATEGORIES},
            haq_categories_answered=_sum([answered[c].cast("int32") for c in CATEGORIES]),
            _haq_total=_sum([category_scores[c].fill_null(lit(0)) for c in CATEGORIES]),
            haq_missing=missing_names((c, ~answered[c]) for c in CATEGORIES),
        )
        count = step.haq_categories_answered
        # nullif: no division by zero in any engine, even in the branch that is discarded.
        index = step._haq_total.cast("float64") / count.nullif(0).cast("float64")
        step = step.mutate(
            haq_index=ibis.ifelse(
                count >= ibis.literal(self.min_categories), index, ibis.null("float64")
            ),
            haq_form=ibis.literal(self.form),
        )
        return step.drop("_haq_total", *worst.values()).relocate("haq_missing", after="haq_form")


def _sum(values: Sequence[ir.NumericValue]) -> ir.NumericValue:
    total = values[0]
    for value in values[1:]:
        total = total + value
    return total


def scores(
    table: ir.Table, form: Form = "haq-di", min_categories: int = MIN_CATEGORIES_DEFAULT
) -> ir.Table:
    """``table`` with the HAQ outputs appended (see :class:`HAQ`)."""
    return HAQ(form, min_categories).scores(table)


@dataclass(frozen=True)
class HAQResult:
    """One questionnaire's disability index with its explanation: each category's score
    (``None`` when no item of it was answered), how many categories were answered, the form
    and the unanswered categories."""

    index: float | None
    categories: dict[str, int | None]
    categories_answered: int
    form: str
    missing: tuple[str, ...]


def score_one(
    answers: Mapping[str, Any],
    form: Form = "haq-di",
    min_categories: int = MIN_CATEGORIES_DEFAULT,
) -> HAQResult:
    """Score one questionnaire from a mapping of column -> answer.

    Columns: ``<category>_<n>`` for every item of the form (see ``data/haq_items.csv``),
    optionally ``<category>_aid`` and ``<category>_help`` (0/1).
    """
    out = HAQ(form, min_categories).evaluate(answers)
    return HAQResult(
        index=out["haq_index"],
        categories={c: out[score_column(c)] for c in CATEGORIES},
        categories_answered=out["haq_categories_answered"],
        form=out["haq_form"],
        missing=split_names(out["haq_missing"]),
    )
