"""The referral-centre preset of the synthetic registry (docs/synthetic.md, "Presets"): DM
counts, the JAK-treated share and CDASI capture follow its parameters, the same seed gives
the same registry, and the registry keeps the data model's integrity rules."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import ibis
import pytest
from scipy.stats import binom

from myositis.cli import main
from myositis.errors import InvalidInputError
from myositis.registry import connect, read_metadata
from myositis.registry.integrity import integrity_problems
from myositis.sources.synthetic import PRESETS, generate_registry

PERSONS = 100_000
SEED = 3
JAK = ("tofacitinib", "baricitinib", "upadacitinib", "ruxolitinib")


def _central(n: int, p: float) -> tuple[float, float]:
    """The central 99.9% of Binomial(n, p) (scipy.stats.binom.ppf)."""
    return binom.ppf(0.0005, n, p), binom.ppf(0.9995, n, p)


@pytest.fixture(scope="module")
def referral(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("referral") / "referral.duckdb"
    return generate_registry(path, patients=PERSONS, sites=2, seed=SEED, preset="referral-centre")


@pytest.fixture(scope="module")
def con(referral: Path) -> ibis.BaseBackend:
    return connect(referral, read_only=True)


def _jak_starts(con: ibis.BaseBackend) -> ibis.Table:
    """First systemic JAK start of each DM patient: person_id, start."""
    exposure = con.table("drug_exposure")
    jak = exposure.filter(exposure.ingredient.isin(JAK) & (exposure.formulation != "TOP"))
    jak = jak.semi_join(con.table("dm_subtype"), "person_id")
    return jak.group_by("person_id").aggregate(start=jak.start_date.min())


def test_preset_sets_the_prevalence_and_labels_the_registry(con: ibis.BaseBackend) -> None:
    """5 DM patients per 1,000: 100,000 persons give a count in the central 99.9% of
    Binomial(100000, 0.005) = [428, 575]; 1,000,000 persons would give about 5,000."""
    meta = read_metadata(con)
    assert (meta["preset"], meta["dm_per_1000"], meta["synthetic"]) == (
        "referral-centre",
        "5.0",
        "true",
    )
    low, high = _central(PERSONS, 0.005)
    assert (low, high) == (428, 575)
    assert low <= con.table("dm_subtype").count().execute() <= high


def test_jak_treated_share(con: ibis.BaseBackend) -> None:
    """Refractory DM patients (30%) start a JAK inhibitor unless the start would fall after
    the data cut-off, so the JAK-treated share is at most Binomial(n_dm, 0.30)'s upper bound
    and loses few to the cut-off (above Binomial(n_dm, 0.25)'s lower bound)."""
    n_dm = int(con.table("dm_subtype").count().execute())
    treated = int(_jak_starts(con).count().execute())
    assert PRESETS["referral-centre"].jak_fraction == 0.30
    assert _central(n_dm, 0.25)[0] <= treated <= _central(n_dm, 0.30)[1]


def test_cdasi_baseline_capture(con: ibis.BaseBackend) -> None:
    """A JAK-treated patient's baseline CDASI visit falls 1-30 days before the start with
    probability 0.92 and 35-120 days before with 0.04 (the preset's parameters)."""
    params = PRESETS["referral-centre"]
    starts = _jak_starts(con)
    visits = con.table("assessment").filter(ibis._.instrument == "cdasi")
    visits = (
        visits.select("person_id", "assessment_date").distinct().inner_join(starts, "person_id")
    )
    before = visits.start.delta(visits.assessment_date, unit="day")
    visits = visits.mutate(before=before)
    n = int(starts.count().execute())
    within = int(visits.filter(visits.before.between(1, 30)).person_id.nunique().execute())
    outside = int(visits.filter(visits.before.between(35, 120)).person_id.nunique().execute())
    low, high = _central(n, params.baseline_within_window)
    assert low <= within <= high
    low, high = _central(n, params.baseline_outside_window)
    assert low <= outside <= high
    after = int(visits.filter(visits.before < 0).person_id.nunique().execute())
    # no follow-up for 5% (plus courses ended before the first visit): at most the others
    assert after <= _central(n, 1 - params.no_followup_fraction)[1]
    assert after > 0.75 * n


def test_registry_keeps_the_integrity_rules(con: ibis.BaseBackend) -> None:
    assert integrity_problems(con) == []


def test_same_seed_same_counts(tmp_path: Path) -> None:
    def counts(path: Path) -> str:
        con = connect(path, read_only=True)
        rows = {
            name: con.table(name).count().execute()
            for name in ("person", "diagnosis", "drug_exposure", "assessment", "dm_subtype")
        }
        ids = con.table("dm_subtype").person_id.to_pyarrow().to_pylist()
        con.disconnect()
        return hashlib.sha256(repr((rows, sorted(ids))).encode()).hexdigest()

    small = {"patients": 10_000, "sites": 2, "seed": 4, "preset": "referral-centre"}
    first = generate_registry(tmp_path / "a.duckdb", **small)  # type: ignore[arg-type]
    again = generate_registry(tmp_path / "b.duckdb", **small)  # type: ignore[arg-type]
    other = generate_registry(
        tmp_path / "c.duckdb",
        **{**small, "seed": 5},  # type: ignore[arg-type]
    )
    assert counts(first) == counts(again) != counts(other)


def test_dm_per_1000_overrides_the_preset(tmp_path: Path) -> None:
    path = generate_registry(
        tmp_path / "x.duckdb", patients=1_000, sites=1, seed=1, preset="referral-centre",
        dm_per_1000=2.0,
    )  # fmt: skip
    con = connect(path, read_only=True)
    assert (read_metadata(con)["preset"], read_metadata(con)["dm_per_1000"]) == (
        "referral-centre",
        "2.0",
    )


def test_unknown_preset_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        generate_registry(tmp_path / "x.duckdb", patients=10, sites=1, seed=1, preset="clinic")
    assert [(p.column, p.value) for p in info.value.problems] == [("--preset", "clinic")]
    assert "population, referral-centre" in str(info.value)
    assert not (tmp_path / "x.duckdb").exists()


def test_command_line_preset_and_prevalence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cli.duckdb"
    argv = ["myositis", "registry", "synth", "-n", "2000", "--seed", "9", "--preset",
            "referral-centre", "--dm-per-1000", "3", "-o", str(out), "--quiet"]  # fmt: skip
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as info:
        main()
    assert info.value.code in (0, None)
    assert "preset referral-centre" in capsys.readouterr().out
    meta = read_metadata(connect(out, read_only=True))
    assert (meta["preset"], meta["dm_per_1000"], meta["seed"]) == ("referral-centre", "3.0", "9")
