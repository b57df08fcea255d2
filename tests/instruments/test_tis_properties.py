"""Properties of the TIS that must hold for any valid input (Hypothesis).

Rules (instruments.md section 2; Aggarwal 2017, Rider 2017 Table 3): points per measure never
negative, TIS in 0-100 and a multiple of 2.5 (every table entry is); the conversion table is
monotone in each measure's improvement, so improving any core set measure never lowers the TIS.
Scored through the batch expressions (DuckDB), many pairs per query.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from myositis.instruments import tis

COLUMNS = (
    "pga_baseline", "pga_followup", "ptga_baseline", "ptga_followup", "ema_baseline",
    "ema_followup", "haq_baseline", "haq_followup", "mmt8_baseline", "mmt8_followup", "mmt8_max",
    "ck_baseline", "ck_followup", "ck_uln",
)  # fmt: skip
# measure -> (followup column, step that improves it, bound)
IMPROVE = {
    "pga": ("pga_followup", Decimal("-0.1"), Decimal(0)),
    "ptga": ("ptga_followup", Decimal("-0.1"), Decimal(0)),
    "ema": ("ema_followup", Decimal("-0.1"), Decimal(0)),
    "haq": ("haq_followup", Decimal("-0.125"), Decimal(0)),
    "mmt8": ("mmt8_followup", Decimal(1), Decimal(80)),
    "enzyme": ("ck_followup", Decimal(-1), Decimal(0)),
}

vas = st.integers(min_value=0, max_value=100).map(lambda n: Decimal(n) / 10)
haq = st.integers(min_value=0, max_value=24).map(lambda n: Decimal(n) / 8)
mmt = st.integers(min_value=0, max_value=80).map(Decimal)
ck = st.integers(min_value=0, max_value=5000).map(Decimal)
pairs = st.fixed_dictionaries(
    {
        "pga_baseline": vas, "pga_followup": vas, "ptga_baseline": vas, "ptga_followup": vas,
        "ema_baseline": vas, "ema_followup": vas, "haq_baseline": haq, "haq_followup": haq,
        "mmt8_baseline": mmt, "mmt8_followup": mmt, "mmt8_max": st.just(Decimal(80)),
        "ck_baseline": ck.map(lambda v: v + 1), "ck_followup": ck, "ck_uln": st.just(Decimal(200)),
    }
)  # fmt: skip


def score_rows(rows: list[dict[str, Any]], population: tis.Population = "adult") -> list[Any]:
    arrow = pa.Table.from_pylist(
        [{c: str(r[c]) for c in COLUMNS} for r in rows],
        schema=pa.schema([(c, pa.string()) for c in COLUMNS]),
    )
    return tis.scores(ibis.memtable(arrow), population).to_pyarrow().to_pylist()


@settings(max_examples=40, deadline=None)
@given(st.lists(pairs, min_size=1, max_size=30), st.sampled_from(["adult", "juvenile"]))
def test_tis_is_within_0_and_100_and_a_multiple_of_2_5(
    rows: list[dict[str, Any]], population: tis.Population
) -> None:
    for out in score_rows(rows, population):
        total = Decimal(str(out["tis"]))
        assert 0 <= total <= 100
        assert total % Decimal("2.5") == 0
        points = [Decimal(str(out[f"{m}_points"])) for m in IMPROVE]
        assert all(p >= 0 for p in points)
        assert sum(points) == total


@settings(max_examples=40, deadline=None)
@given(pairs, st.sampled_from(sorted(IMPROVE)), st.integers(min_value=1, max_value=40))
def test_improving_any_core_set_measure_never_lowers_the_tis(
    row: dict[str, Any], measure: str, steps: int
) -> None:
    column, step, bound = IMPROVE[measure]
    better = dict(row)
    moved = row[column] + step * steps
    better[column] = max(moved, bound) if step < 0 else min(moved, bound)
    before, after = score_rows([row, better])
    assert after["tis"] >= before["tis"]
    assert after[f"{measure}_points"] >= before[f"{measure}_points"]
