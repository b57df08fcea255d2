"""Every instrument, one Ibis definition, the same scores on DuckDB, PostgreSQL and Spark.

The bundled examples (examples/scoring, SYNTHETIC) hold the rules' traps: the 1.1 -> 0.6 cm
and 2.2 -> 0.7 cm band edges (exactly 5 % and 15 %), a blank CDASI item, CK chosen over
aldolase by its ratio to the upper limit of normal, an untestable MMT-8 muscle, a HAQ aid.
Their expected values are worked out by hand in tests/instruments/test_examples.py; here the
headline of each is asserted on every engine, and every output column must equal DuckDB's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from conformance.engines import Engine
from myositis.instruments.base import Instrument
from myositis.instruments.cdasi import CDASI
from myositis.instruments.doi import DOI
from myositis.instruments.haq import HAQ
from myositis.instruments.mmt8 import MMT8
from myositis.instruments.tis import TIS

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scoring"

#: (instrument, example file, output column, its values row by row)
CASES: list[tuple[Instrument, str, str, list[Any]]] = [
    (TIS("adult"), "tis_pairs_adult.csv", "tis", [47.5, 75.0, 0.0]),
    (TIS("juvenile"), "tis_pairs_juvenile.csv", "tis", [82.5, 12.5]),
    (DOI(), "tis_pairs_adult.csv", "doi_improved", [5, 5, 0]),
    (CDASI(), "cdasi_visits.csv", "cdasi_activity", [18, 4, None]),
    (MMT8(), "mmt8_visits.csv", "mmt8_unilateral", [64, 75, 80]),
    (HAQ(), "haq_visits.csv", "haq_index", [1.375, None]),
]


def _as_python(table: pa.Table, column: str) -> list[Any]:
    return [None if v is None else (float(v) if hasattr(v, "as_tuple") else v)
            for v in table.column(column).to_pylist()]  # fmt: skip


@pytest.mark.parametrize(
    ("instrument", "example", "column", "expected"),
    CASES,
    ids=[f"{c[0].name}-{c[1].split('.')[0]}" for c in CASES],
)
def test_scores_equal_on_every_engine(
    engine: Engine,
    reference: Engine,
    instrument: Instrument,
    example: str,
    column: str,
    expected: list[Any],
) -> None:
    data = pacsv.read_csv(EXAMPLES / example)
    # a table has no row order (Spark reads its files in any order): number the rows
    data = data.append_column("row_number", pa.array(range(data.num_rows), pa.int64()))
    name = f"{instrument.name}_{example.split('.')[0]}"
    engine.load(name, data)
    scored = instrument.scores(engine.scratch.table(name)).order_by("row_number")
    got = engine.scratch.to_pyarrow(scored)
    want = reference.con.to_pyarrow(instrument.scores(ibis.memtable(data)))
    assert _as_python(got, column) == expected
    for output in instrument.outputs:
        assert _as_python(got, output) == _as_python(want, output), (engine.name, output)
