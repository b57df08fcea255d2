"""One definition for every engine: each instrument's scores and value checks compile, from the
same Ibis expressions, for DuckDB (run in every other test), PostgreSQL and Spark SQL.

The issue asks for one definition of each rule that scores one visit in-process and millions of
rows inside the query engine (DuckDB now; PostgreSQL and Spark later). These tests compile
only: the rule tables must not need a second copy for another engine.
"""

from __future__ import annotations

import ibis
import pytest

from myositis.instruments.base import Instrument
from myositis.instruments.cdasi import CDASI
from myositis.instruments.cdasi import ITEMS as CDASI_ITEMS
from myositis.instruments.doi import DOI
from myositis.instruments.engine import ROW
from myositis.instruments.haq import HAQ
from myositis.instruments.haq import ITEMS as HAQ_ITEMS
from myositis.instruments.mmt8 import COLUMNS as MMT8_COLUMNS
from myositis.instruments.mmt8 import MMT8
from myositis.instruments.tis import TIS
from myositis.instruments.validation import problems_query

from .conftest import tis_pair

ibis.pyspark  # noqa: B018  (loading the backend registers the options its compiler reads)

TIS_COLUMNS = [*tis_pair(), "aldolase_baseline", "aldolase_followup", "aldolase_uln"]
JUVENILE_COLUMNS = [
    c.replace("mmt8", "cmas").replace("haq", "chaq") for c in TIS_COLUMNS if c != "mmt8_max"
]
CASES: dict[str, tuple[Instrument, list[str]]] = {
    "cdasi": (CDASI(), [f.column for f in CDASI_ITEMS]),
    "tis adult": (TIS("adult"), TIS_COLUMNS),
    "tis juvenile": (TIS("juvenile"), JUVENILE_COLUMNS),
    "doi": (DOI(), TIS_COLUMNS),
    "mmt8": (MMT8(), list(MMT8_COLUMNS)),
    "haq": (HAQ(), [f.column for fields in HAQ_ITEMS["haq-di"].values() for f in fields]),
    "chaq": (HAQ("chaq"), [f.column for fields in HAQ_ITEMS["chaq"].values() for f in fields]),
}


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "pyspark"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_scores_and_checks_compile_for_every_engine(case: str, dialect: str) -> None:
    instrument, columns = CASES[case]
    assert not instrument.missing_columns(columns)
    table = ibis.table({ROW: "int64"} | {c: "string" for c in columns}, name="visits")
    scored = ibis.to_sql(instrument.scores(table), dialect=dialect)
    checks = problems_query(table, instrument.fields(columns), instrument.row_rules(columns))
    checked = ibis.to_sql(checks, dialect=dialect)
    for output in instrument.outputs:
        assert output in scored
    assert "visits" in scored and "visits" in checked
