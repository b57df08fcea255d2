"""The synthetic registry's ``--core-set`` option (docs/synthetic.md, "Core set measures"):
the other IMACS core set measures at the JAK course's visits, so a TIS study runs on synthetic
data at any size. Without the option the registry is unchanged; with it only core set rows
are added, each on its scale; and the TIS the cohort language computes at week 24 is the
in-process instrument's (:func:`myositis.instruments.tis.score_one`, tested against Rider et
al. 2017) of the rows that the outcome's rules, worked here in Python, pick."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import ibis
import pytest

from myositis.cohort.run import load_cohort, run_cohort
from myositis.instruments import tis
from myositis.instruments.constants import ENZYMES
from myositis.instruments.core_set import REGISTRY_SOURCES
from myositis.registry import connect, read_metadata
from myositis.registry.integrity import integrity_problems
from myositis.sources.synthetic import generate_registry

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cohorts"
SMALL = {"patients": 30_000, "sites": 2, "seed": 5, "preset": "referral-centre"}
#: What the option may add: the core set measures (assessment) and MMT-8 and CK at a core set
#: visit that did not record them.
CORE = {"pga", "ptga", "ema", "haq", "chaq", "cmas"}
TABLES = ("person", "person_race", "diagnosis", "dm_subtype", "drug_exposure", "adverse_event")


@pytest.fixture(scope="module")
def registries(tmp_path_factory: pytest.TempPathFactory) -> tuple[ibis.BaseBackend, ...]:
    root = tmp_path_factory.mktemp("core_set")
    plain = generate_registry(root / "plain.duckdb", **SMALL)  # type: ignore[arg-type]
    core = generate_registry(root / "core.duckdb", core_set=True, **SMALL)  # type: ignore[arg-type]
    return connect(plain, read_only=True), connect(core, read_only=True)


def _rows(con: ibis.BaseBackend, name: str, drop: tuple[str, ...] = ()) -> Counter[tuple]:
    table = con.table(name)
    keep = [c for c in table.columns if c not in drop]
    return Counter(tuple(r.values()) for r in table.select(keep).to_pyarrow().to_pylist())


def test_the_option_adds_core_set_rows_at_treated_visits_and_changes_nothing_else(
    registries: tuple[ibis.BaseBackend, ...],
) -> None:
    plain, core = registries
    for name in TABLES:
        assert _rows(plain, name) == _rows(core, name), name
    assert "core_set" not in read_metadata(plain) and read_metadata(core)["core_set"] == "true"
    # every row without the option is there with it (assessment ids aside: added rows take
    # ids in between), and the added ones are core set measures, MMT-8 or CK only
    drop = ("assessment_id",)
    before, after = _rows(plain, "assessment", drop), _rows(core, "assessment", drop)
    added = after - before
    assert not before - after and added
    columns = [c for c in core.table("assessment").columns if c not in drop]
    added_rows = [dict(zip(columns, row, strict=True)) for row in added.elements()]
    assert {r["instrument"] for r in added_rows} == CORE | {"mmt8"}
    labs = _rows(core, "laboratory") - _rows(plain, "laboratory")
    assert not _rows(plain, "laboratory") - _rows(core, "laboratory")
    lab_columns = core.table("laboratory").columns
    assert {dict(zip(lab_columns, r, strict=True))["test"] for r in labs} == {"ck"}
    # on the dates of a CDASI visit of a JAK-treated patient
    a = plain.table("assessment")
    visits = a.filter(a.instrument == "cdasi").select("person_id", "assessment_date").distinct()
    dates = {tuple(r.values()) for r in visits.to_pyarrow().to_pylist()}
    assert all((r["person_id"], r["assessment_date"]) in dates for r in added_rows)


def test_each_measure_is_on_its_scale_and_children_get_chaq_and_cmas(
    registries: tuple[ibis.BaseBackend, ...],
) -> None:
    _, core = registries
    a = core.table("assessment")
    rows = a.filter(a.instrument.isin(sorted(CORE))).to_pyarrow().to_pylist()
    scale = {"pga": (10, 0.1), "ptga": (10, 0.1), "ema": (10, 0.1), "haq": (3, 0.125),
             "chaq": (3, 0.125), "cmas": (52, 1)}  # fmt: skip
    for r in rows:
        top, step = scale[r["instrument"]]
        assert 0 <= r["value"] <= top, r
        assert abs(r["value"] / step - round(r["value"] / step)) < 1e-9, r
    subtype = {
        r["person_id"]: r["subtype"] for r in core.table("dm_subtype").to_pyarrow().to_pylist()
    }
    child = {r["person_id"] for r in rows if subtype[r["person_id"]].startswith("juvenile")}
    assert child and {r["instrument"] for r in rows if r["person_id"] in child} == (CORE - {"haq"})
    assert "chaq" not in {r["instrument"] for r in rows if r["person_id"] not in child}
    assert integrity_problems(core) == []


def _pick(rows: list[dict[str, Any]], low: int, high: int, at: int | None) -> dict | None:
    """The outcome's rule (docs/cohort-language.md, "Outcomes"): baseline closest to the index
    in its window, the later on a tie, then the lower value; follow-up closest to ``at``, the
    earlier on a tie, then the lower value."""
    inside = [r for r in rows if low <= r["day"] <= high]
    if not inside:
        return None
    if at is None:
        return min(inside, key=lambda r: (abs(r["day"]), -r["day"], r["value"]))
    return min(inside, key=lambda r: (abs(r["day"] - at), r["day"], r["value"]))


def test_tis_at_week_24_is_the_instrument_on_the_rows_the_rules_pick(
    registries: tuple[ibis.BaseBackend, ...],
) -> None:
    _, core = registries
    cohort = load_cohort(EXAMPLES / "tis-week24.yaml")
    outcome = next(o for o in cohort.outcomes if o.name == "tis")
    members = run_cohort(core, cohort).members.to_pylist()
    a, lab = core.table("assessment"), core.table("laboratory")
    measures = a.filter(a.value.notnull()).to_pyarrow().to_pylist()
    enzymes = lab.filter(lab.value.notnull() & (lab.uln > 0)).to_pyarrow().to_pylist()
    computed = 0
    for m in members:
        index: dt.date = m["index_date"]
        values: dict[str, Any] = {"mmt8_max": outcome.mmt8_max}
        for stem in ("pga", "ptga", "mmt8", "haq", "ema"):
            instrument, measure = REGISTRY_SOURCES[stem]
            rows = [
                {"day": (r["assessment_date"] - index).days, "value": r["value"]}
                for r in measures
                if r["person_id"] == m["person_id"]
                and (r["instrument"], r["measure"]) == (instrument, measure)
            ]
            for part, window, at in (("baseline", (-30, 0), None), ("followup", (112, 224), 168)):
                chosen = _pick(rows, *window, at)
                values[f"{stem}_{part}"] = None if chosen is None else chosen["value"]
        enzyme_ok, any_enzyme = True, False
        for enzyme in ENZYMES:
            rows = [
                {"day": (r["result_date"] - index).days, "value": r["value"], "uln": r["uln"]}
                for r in enzymes
                if r["person_id"] == m["person_id"] and r["test"].lower() == enzyme
            ]
            base, follow = _pick(rows, -30, 0, None), _pick(rows, 112, 224, 168)
            if base is None:
                continue
            any_enzyme = True
            enzyme_ok &= follow is not None  # measured at baseline: needed at follow-up
            values |= {f"{enzyme}_baseline": base["value"], f"{enzyme}_uln": base["uln"]}
            values[f"{enzyme}_followup"] = None if follow is None else follow["value"]
        expected = tis.score_one(values).total if enzyme_ok and any_enzyme else None
        assert m["tis_tis"] == expected, (m["person_id"], values, m["tis_missing"])
        computed += expected is not None
    # seed 5: 35 new users, 15 with every measure in both windows (the others miss a visit
    # in a window, or are children, whose adult TIS has no HAQ)
    assert (len(members), computed) == (35, 15)
