"""Coded columns whose values lie outside the data model's vocabularies.

Studies match coded columns against fixed vocabularies (``docs/data-model.md``): a diagnosis
recorded with ``code_system`` ``ICD-10-CM`` instead of ``ICD10CM``, a subtype ``classic``
instead of one of ``DM_SUBTYPES``, a frequency ``b.i.d.`` or an instrument ``CDASI v2`` can never
match, so those rows would leave a study without a word. :func:`vocabulary_problems` counts such
rows per column with one grouped Ibis query each (portable, no engine-specific SQL), so that the
study report and ``myositis registry-check`` say so. Missing values (null) are allowed and not
counted. Values are compared the way the studies compare them (case and surrounding spaces as
noted per column).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import ibis.expr.types as ir
from ibis import BaseBackend

from myositis.codes.doses import FREQUENCIES
from myositis.registry.schema import CODE_SYSTEMS, DM_SUBTYPES, FORMULATIONS, INSTRUMENTS, SEXES

Normalise = Callable[[ir.StringValue], ir.StringValue]


def _upper(value: ir.StringValue) -> ir.StringValue:
    return value.strip().upper()


def _lower(value: ir.StringValue) -> ir.StringValue:
    return value.strip().lower()


def _exact(value: ir.StringValue) -> ir.StringValue:
    return value


#: (table, column) -> (allowed values, how studies compare them).
VOCABULARIES: Final[dict[tuple[str, str], tuple[tuple[str, ...], Normalise]]] = {
    ("person", "sex"): (SEXES, _upper),
    ("diagnosis", "code_system"): (CODE_SYSTEMS, _upper),
    ("diagnosis", "source_code_system"): (CODE_SYSTEMS, _upper),
    ("procedure", "code_system"): (CODE_SYSTEMS, _upper),
    ("procedure", "source_code_system"): (CODE_SYSTEMS, _upper),
    ("visit", "code_system"): (CODE_SYSTEMS, _upper),
    ("visit", "source_code_system"): (CODE_SYSTEMS, _upper),
    ("observation", "code_system"): (CODE_SYSTEMS, _upper),
    ("observation", "source_code_system"): (CODE_SYSTEMS, _upper),
    ("observation", "value_code_system"): (CODE_SYSTEMS, _upper),
    ("measurement", "code_system"): (CODE_SYSTEMS, _upper),
    ("measurement", "source_code_system"): (CODE_SYSTEMS, _upper),
    ("measurement", "value_code_system"): (CODE_SYSTEMS, _upper),
    ("death", "cause_code_system"): (CODE_SYSTEMS, _upper),
    ("dm_subtype", "subtype"): (DM_SUBTYPES, _exact),
    ("drug_exposure", "code_system"): (CODE_SYSTEMS, _upper),
    ("drug_exposure", "source_code_system"): (CODE_SYSTEMS, _upper),
    ("drug_exposure", "frequency"): (tuple(FREQUENCIES), _upper),
    ("drug_exposure", "formulation"): (FORMULATIONS, _upper),
    ("assessment", "instrument"): (INSTRUMENTS, _lower),
}

#: At most this many distinct unknown values are named per column (the row count is exact).
_SHOWN: Final = 5


def vocabulary_problems(con: BaseBackend) -> list[str]:
    """One message per coded column with values outside its vocabulary: how many rows, which
    values (the most frequent first), what is allowed and what to do."""
    messages = []
    for (table_name, column), (allowed, normalise) in VOCABULARIES.items():
        table = con.table(table_name)
        value = normalise(table[column].cast("string"))
        unknown = table.filter(value.notnull() & ~value.isin(list(allowed)))
        counts = unknown.group_by(value=unknown[column]).aggregate(rows=unknown.count())
        found = counts.order_by([counts.rows.desc(), counts.value]).to_pyarrow().to_pylist()
        if not found:
            continue
        rows = sum(int(r["rows"]) for r in found)
        named = ", ".join(f"{r['value']!r} ({int(r['rows']):,})" for r in found[:_SHOWN])
        more = f" and {len(found) - _SHOWN} more value(s)" if len(found) > _SHOWN else ""
        messages.append(
            f"{table_name}.{column}: {rows:,} row(s) with a value outside the data model: "
            f"{named}{more}; allowed: {', '.join(allowed)}. Studies cannot match these rows: "
            "recode them (docs/data-model.md)."
        )
    return messages


__all__ = ["VOCABULARIES", "vocabulary_problems"]
