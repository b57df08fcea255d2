"""The synthetic registry's deaths (docs/synthetic.md, "Deaths"): drawn from a stream of their
own after every other record and dated on each person's latest recorded date, so that every
other table and every derived observation period is that of a registry without them, no record
is dated after a death and the registry keeps its rules; DM patients die more often than the
others, at the rates the model states, of causes from their own mix."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections import Counter
from pathlib import Path
from typing import Any

import ibis
import pytest
from scipy.stats import binom

import myositis.sources.synthetic as synthetic
from myositis.registry import connect
from myositis.registry.death import records_after_death
from myositis.registry.integrity import integrity_problems
from myositis.registry.observation import derived_periods
from myositis.registry.schema import PROVENANCE_COLUMNS, TABLES
from myositis.registry.vocabulary import vocabulary_problems
from myositis.sources.synthetic import generate_registry
from myositis.sources.synthetic.catalogue import (
    DEATH_CAUSES_DM,
    DEATH_CAUSES_OTHER,
    DEATH_HAZARD_AT_50,
    DEATH_HAZARD_DOUBLING_YEARS,
    DEATH_RATE_RATIO,
)

from .conftest import SMALL

#: Many DM patients (about 4,000 of 40,000), so that their deaths are many.
RICH = {"patients": 40_000, "sites": 2, "seed": 4, "dm_per_1000": 100.0}


def _rows(con: ibis.BaseBackend, name: str) -> list[dict[str, Any]]:
    return con.table(name).to_pyarrow().to_pylist()


def _table_digest(con: ibis.BaseBackend, name: str) -> str:
    # in stored order: the rows must be the same rows in the same order
    rows = con.table(name).to_pyarrow().to_pylist()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def _periods(con: ibis.BaseBackend) -> dict[int, tuple[Any, Any]]:
    return {
        r["person_id"]: (r["start_date"], r["end_date"])
        for r in derived_periods(con).to_pyarrow().to_pylist()
    }


def _without(path: Path, **arguments: Any) -> ibis.BaseBackend:
    """The registry as the generator wrote it before it wrote deaths."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(synthetic, "add_deaths", lambda *args: None)
        generate_registry(path, **arguments)
    return connect(path, read_only=True)


@pytest.fixture(scope="module")
def without(tmp_path_factory: pytest.TempPathFactory) -> ibis.BaseBackend:
    return _without(tmp_path_factory.mktemp("deaths") / "without.duckdb", **SMALL)


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> tuple[ibis.BaseBackend, ibis.BaseBackend]:
    """RICH with its deaths, and as written without them."""
    folder = tmp_path_factory.mktemp("deaths")
    con = connect(generate_registry(folder / "rich.duckdb", **RICH), read_only=True)  # type: ignore[arg-type]
    return con, _without(folder / "rich-without.duckdb", **RICH)


def test_deaths_change_no_other_table_nor_any_derived_period(
    small_registry: Path, without: ibis.BaseBackend
) -> None:
    con = connect(small_registry, read_only=True)
    assert without.table("death").count().execute() == 0
    assert con.table("death").count().execute() > 0
    for name in TABLES:
        if name not in ("death", "registry_metadata"):  # metadata: its times and fingerprint
            assert _table_digest(con, name) == _table_digest(without, name), name
    # the metadata differ only in the times of writing and the fingerprint of the data
    meta = {r["key"]: r["value"] for r in _rows(con, "registry_metadata")}
    before = {r["key"]: r["value"] for r in _rows(without, "registry_metadata")}
    assert {k for k in meta.keys() | before.keys() if meta.get(k) != before.get(k)} == {
        "created_at",
        "data_fingerprint",
        "data_fingerprint_recorded_at",
        "data_fingerprint_stamp",
    }
    assert _periods(con) == _periods(without)
    con.disconnect()


def test_each_death_is_on_the_persons_latest_record_and_nothing_comes_after_it(
    small_registry: Path, without: ibis.BaseBackend
) -> None:
    con = connect(small_registry, read_only=True)
    last = {pid: end for pid, (_, end) in _periods(without).items()}
    deaths = _rows(con, "death")
    assert len({d["person_id"] for d in deaths}) == len(deaths)  # one death per person
    for d in deaths:
        assert d["death_date"] == last[d["person_id"]], d
    assert records_after_death(con) == []
    assert integrity_problems(con) == []
    assert vocabulary_problems(con) == []
    con.disconnect()


def test_nobody_still_taking_a_drug_at_the_cutoff_dies(small_registry: Path) -> None:
    """A drug exposure without an end date runs to the data cut-off: its person is alive."""
    con = connect(small_registry, read_only=True)
    taking = {r["person_id"] for r in _rows(con, "drug_exposure") if r["end_date"] is None}
    assert taking
    assert not taking & {d["person_id"] for d in _rows(con, "death")}
    con.disconnect()


def test_the_same_seed_gives_the_same_deaths(small_registry: Path, tmp_path: Path) -> None:
    again = generate_registry(tmp_path / "again.duckdb", **SMALL)  # type: ignore[arg-type]
    other = generate_registry(tmp_path / "other.duckdb", **{**SMALL, "seed": 12})  # type: ignore[arg-type]
    first, second, third = (
        _table_digest(connect(p, read_only=True), "death") for p in (small_registry, again, other)
    )
    assert first == second != third


def test_causes_are_icd10cm_from_each_groups_mix_without_provenance(small_registry: Path) -> None:
    con = connect(small_registry, read_only=True)
    dm = {r["person_id"] for r in _rows(con, "dm_subtype")}
    for d in _rows(con, "death"):
        assert d["cause_code_system"] == "ICD10CM", d
        mix = DEATH_CAUSES_DM if d["person_id"] in dm else DEATH_CAUSES_OTHER
        assert d["cause_code"] in {code for code, _ in mix}, d
        # generated, not imported: no provenance, as in every other synthetic table
        assert all(d[c] is None for c in PROVENANCE_COLUMNS), d
    con.disconnect()


def _expected(without: ibis.BaseBackend) -> dict[int, float]:
    """Each person's chance of a death, worked from the registry without deaths and the
    model's rule (docs/synthetic.md): 1 - exp(-h r t) over the observation period, h =
    0.45% x 2^((age - 50) / 8.5) at the period's middle, r the subtype's ratio (1 without DM),
    0 for a person still taking a drug at the cut-off. A birth year alone: 1 July."""
    births = {
        r["person_id"]: r["birth_date"] or dt.date(r["birth_year"], 7, 1)
        for r in _rows(without, "person")
    }
    ratio = {r["person_id"]: DEATH_RATE_RATIO[r["subtype"]] for r in _rows(without, "dm_subtype")}
    taking = {r["person_id"] for r in _rows(without, "drug_exposure") if r["end_date"] is None}
    chance = {}
    for pid, (start, end) in _periods(without).items():
        if pid in taking:
            continue
        years = (end - start).days / 365.25
        middle = start + (end - start) / 2
        age = (middle - births[pid]).days / 365.25
        hazard = DEATH_HAZARD_AT_50 * 2 ** ((age - 50) / DEATH_HAZARD_DOUBLING_YEARS)
        chance[pid] = 1 - math.exp(-hazard * ratio.get(pid, 1.0) * years)
    return chance


def test_deaths_follow_the_model_and_dm_patients_die_more_often(
    rich: tuple[ibis.BaseBackend, ibis.BaseBackend],
) -> None:
    """The number of deaths among DM patients and among the others lies within 4 standard
    deviations of the sum of each person's chance (a Poisson binomial), and DM patients die
    more often: their excess mortality (Kronzer et al. 2023: SMR 3.1 myopathic, 1.1 amyopathic)
    on top of their ages and long records."""
    con, without = rich
    chance = _expected(without)
    dm = {r["person_id"] for r in _rows(without, "dm_subtype")}
    died = {d["person_id"] for d in _rows(con, "death")}
    assert died <= set(chance)  # nobody without a period or still taking a drug
    shares = {}
    for group, members in (("dm", dm), ("other", set(chance) - dm)):
        p = [chance[pid] for pid in members if pid in chance]
        mean, sd = sum(p), math.sqrt(sum(q * (1 - q) for q in p))
        observed = len(died & members)
        assert abs(observed - mean) <= 4 * sd, (group, observed, mean, sd)
        shares[group] = observed / len(members)
    assert shares["dm"] > 2 * shares["other"] > 0, shares


def test_causes_follow_each_groups_mix(rich: tuple[ibis.BaseBackend, ibis.BaseBackend]) -> None:
    """Each cause's count within the central 99.9% of Binomial(deaths, its weight's share)."""
    con, _ = rich
    dm = {r["person_id"] for r in _rows(con, "dm_subtype")}
    deaths = _rows(con, "death")
    for mix, group in (
        (DEATH_CAUSES_DM, [d for d in deaths if d["person_id"] in dm]),
        (DEATH_CAUSES_OTHER, [d for d in deaths if d["person_id"] not in dm]),
    ):
        counts = Counter(d["cause_code"] for d in group)
        total = sum(w for _, w in mix)
        n = len(group)
        assert n >= 100
        for code, weight in mix:
            low, high = binom.ppf([0.0005, 0.9995], n, weight / total)
            assert low <= counts[code] <= high, (code, counts[code], n, weight / total)
