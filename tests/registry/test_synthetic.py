"""Properties of the synthetic registry: determinism, labelling, prevalence, code formats,
item ranges, subtypes, JAK courses and attrition (docs/synthetic.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import ibis
import pytest
from scipy.stats import binom

from myositis.codes import FREQUENCIES, label_dose, load_codeset, normalise_icd
from myositis.errors import InvalidInputError
from myositis.registry import connect, read_metadata
from myositis.registry.schema import DM_SUBTYPES, TABLES
from myositis.sources.synthetic import generate_registry
from myositis.sources.synthetic.cdasi_items import item_ranges

from .conftest import SMALL

JAK = ("tofacitinib", "baricitinib", "upadacitinib", "ruxolitinib")
DM_CODES = {c.code for c in load_codeset("dm_diagnosis") if c.system in ("ICD10CM", "ICD9CM")}


def _checksums(path: Path) -> dict[str, str]:
    con = connect(path, read_only=True)
    sums = {}
    for name, schema in TABLES.items():
        table = con.table(name)
        if name == "registry_metadata":
            # the times of writing (creation, fingerprint record) differ from run to run
            table = table.filter(~table.key.isin(["created_at", "data_fingerprint_recorded_at"]))
        rows = table.order_by(list(schema.names)).to_pyarrow().to_pylist()
        sums[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    con.disconnect()
    return sums


@pytest.fixture(scope="module")
def con(small_registry: Path) -> ibis.BaseBackend:
    return connect(small_registry, read_only=True)


def test_same_seed_same_registry_other_seed_other(small_registry: Path, tmp_path: Path) -> None:
    again = generate_registry(tmp_path / "again.duckdb", **SMALL)  # type: ignore[arg-type]
    other = generate_registry(
        tmp_path / "other.duckdb",
        **{**SMALL, "seed": 12},  # type: ignore[arg-type]
    )
    first = _checksums(small_registry)
    assert _checksums(again) == first
    differing = {k for k, v in _checksums(other).items() if first[k] != v}
    # every table changes (metadata through its seed) but those the generator leaves empty
    empty = {"observation_period", "import_log"}
    assert differing == set(TABLES) - empty


def test_labelled_synthetic(con: ibis.BaseBackend) -> None:
    meta = read_metadata(con)
    assert meta["synthetic"] == "true"
    assert meta["seed"] == str(SMALL["seed"])
    assert meta["generator"].startswith("myositis.sources.synthetic")
    assert meta["patients"] == str(SMALL["patients"])
    sites = con.table("person").site.value_counts().to_pyarrow().to_pydict()
    assert sorted(sites["site"]) == ["synthetic-site-1", "synthetic-site-2", "synthetic-site-3"]
    assert con.table("person").count().execute() == SMALL["patients"]


def test_dm_prevalence_is_binomial(con: ibis.BaseBackend) -> None:
    """Each person is DM with probability dm_per_1000/1000; the count lies within the central
    99.9% of Binomial(20000, 0.01) = [155, 248] (scipy.stats.binom.ppf)."""
    n, p = SMALL["patients"], SMALL["dm_per_1000"] / 1000
    count = con.table("dm_subtype").count().execute()
    assert binom.ppf(0.0005, n, p) <= count <= binom.ppf(0.9995, n, p)


def test_default_prevalence_is_the_population_based_one(tmp_path: Path) -> None:
    """Without --dm-per-1000, 0.2 per 1,000 (Bendewald 2010: 21.42 per 100,000; Kronzer 2023:
    13 per 100,000): 50,000 persons give a DM count in the central 99.9% of
    Binomial(50000, 0.0002) = [2, 22] (scipy.stats.binom.ppf)."""
    path = generate_registry(tmp_path / "default.duckdb", patients=50_000, sites=1, seed=5)
    con = connect(path, read_only=True)
    assert read_metadata(con)["dm_per_1000"] == "0.2"
    count = con.table("dm_subtype").count().execute()
    assert binom.ppf(0.0005, 50_000, 0.0002) <= count <= binom.ppf(0.9995, 50_000, 0.0002)
    assert (binom.ppf(0.0005, 50_000, 0.0002), binom.ppf(0.9995, 50_000, 0.0002)) == (2, 22)


def test_every_dm_patient_has_one_subtype_and_dm_codes(con: ibis.BaseBackend) -> None:
    subtype = con.table("dm_subtype")
    assert subtype.person_id.nunique().execute() == subtype.count().execute()
    assert set(subtype.subtype.to_pyarrow().to_pylist()) <= set(DM_SUBTYPES)
    diagnosis = con.table("diagnosis").to_pyarrow().to_pylist()
    with_dm_code = {
        r["person_id"]
        for r in diagnosis
        if normalise_icd(r["code"], system=r["code_system"]) in DM_CODES
    }
    assert with_dm_code == set(subtype.person_id.to_pyarrow().to_pylist())


def test_code_formats_follow_the_calendar(con: ibis.BaseBackend) -> None:
    icd10_start, x3_start = dt.date(2015, 10, 1), dt.date(2022, 10, 1)
    rows = con.table("diagnosis").to_pyarrow().to_pylist()
    dm = [r for r in rows if r["code"].replace(".", "") in {c.replace(".", "") for c in DM_CODES}]
    assert {r["code"] for r in dm if r["code_system"] == "ICD9CM"} == {"710.3", "7103"}
    for r in dm:
        code = normalise_icd(r["code"], system=r["code_system"])
        if r["code_system"] == "ICD9CM":
            assert r["diagnosis_date"] < icd10_start, r
        else:
            assert r["diagnosis_date"] >= icd10_start, r
            if code.endswith("3"):
                assert r["diagnosis_date"] >= x3_start, r
    dotted = [r for r in dm if "." in r["code"]]
    assert 0.5 < len(dotted) / len(dm) < 0.9  # about 70% dotted by default
    assert any(normalise_icd(r["code"]).endswith("3") for r in dm if r["code_system"] == "ICD10CM")


def test_cdasi_items_within_ranges_and_complete(con: ibis.BaseBackend) -> None:
    ranges = item_ranges()
    cdasi = con.table("assessment").filter(ibis._.instrument == "cdasi")
    stats = (
        cdasi.group_by("measure")
        .aggregate(lo=ibis._.value.min(), hi=ibis._.value.max(), n=ibis._.count())
        .to_pyarrow()
        .to_pylist()
    )
    assert {s["measure"] for s in stats} == set(ranges)
    for s in stats:
        low, high = ranges[s["measure"]]
        assert low <= s["lo"] and s["hi"] <= high, s
    per_visit = cdasi.group_by("assessment_id").aggregate(n=ibis._.count()).n
    assert per_visit.min().execute() == per_visit.max().execute() == len(ranges)
    other = con.table("assessment").filter(ibis._.instrument != "cdasi")
    bounds = other.group_by(["instrument", "measure"]).aggregate(
        lo=ibis._.value.min(), hi=ibis._.value.max()
    )
    got = {(r["instrument"], r["measure"]): r for r in bounds.to_pyarrow().to_pylist()}
    assert set(got) == {("pruritus_nrs", "score"), ("mmt8", "total")}
    assert got[("pruritus_nrs", "score")]["lo"] >= 0 and got[("pruritus_nrs", "score")]["hi"] <= 10
    assert got[("mmt8", "total")]["lo"] >= 0 and got[("mmt8", "total")]["hi"] <= 80


def test_jak_courses_have_frequencies_units_and_escalations(con: ibis.BaseBackend) -> None:
    exposure = con.table("drug_exposure")
    dm_ids = con.table("dm_subtype").select("person_id")
    jak = exposure.filter(exposure.ingredient.isin(JAK) & (exposure.formulation != "TOP"))
    dm_jak = jak.semi_join(dm_ids, "person_id").to_pyarrow().to_pylist()
    assert dm_jak
    for r in dm_jak:
        assert r["frequency"] in FREQUENCIES and r["dose_unit"] == "mg" and r["dose"] > 0, r
        assert r["code_system"] in ("RXNORM", "ATC") and r["route"] == "oral", r
    tofacitinib = [r for r in dm_jak if r["ingredient"] == "tofacitinib"]
    daily = {r["dose"] * {"QD": 1, "BID": 2}[r["frequency"]] for r in tofacitinib}
    assert label_dose("tofacitinib", "IR") in daily  # 5 mg BID starts
    assert 20.0 in daily and 22.0 in daily  # escalations above the label (seed)
    starters = {r["person_id"] for r in dm_jak}
    assert len(starters) < len(dm_jak)  # dose changes are successive rows


def test_lookalikes_present(con: ibis.BaseBackend) -> None:
    exposure = con.table("drug_exposure")
    dm_ids = con.table("dm_subtype").select("person_id")
    systemic = exposure.filter(exposure.ingredient.isin(JAK) & (exposure.formulation != "TOP"))
    non_dm_jak = systemic.anti_join(dm_ids, "person_id")
    assert non_dm_jak.count().execute() > 0  # RA on tofacitinib: excluded only by a DM code
    topical = exposure.filter(exposure.code == "D11AH09").to_pyarrow().to_pylist()
    assert topical and all(r["formulation"] == "TOP" for r in topical)
    diagnosis = con.table("diagnosis")
    pm = diagnosis.filter(diagnosis.code.isin(["M33.22", "M3322", "M33.20", "M3320", "710.4"]))
    assert pm.anti_join(dm_ids, "person_id").count().execute() > 0


def test_attrition_and_taper(con: ibis.BaseBackend) -> None:
    exposure = con.table("drug_exposure").to_pyarrow().to_pylist()
    starts: dict[int, dt.date] = {}
    for r in exposure:
        if r["ingredient"] in JAK and r["formulation"] != "TOP":
            starts[r["person_id"]] = min(r["start_date"], starts.get(r["person_id"], dt.date.max))
    dm = set(con.table("dm_subtype").person_id.to_pyarrow().to_pylist())
    starts = {p: d for p, d in starts.items() if p in dm}
    visits: dict[int, set[dt.date]] = {}
    cdasi = con.table("assessment").filter(ibis._.instrument == "cdasi")
    for r in cdasi.select("person_id", "assessment_date").distinct().to_pyarrow().to_pylist():
        visits.setdefault(r["person_id"], set()).add(r["assessment_date"])
    with_baseline = {
        p for p, s in starts.items() if any(0 < (s - v).days <= 30 for v in visits.get(p, ()))
    }
    with_followup = {p for p, s in starts.items() if any(v > s for v in visits.get(p, ()))}
    assert 0 < len(with_baseline) < len(starts)
    assert 0 < len(with_followup) < len(starts)
    # prednisone after the JAK start only falls
    for person, start in starts.items():
        doses = sorted(
            (r["start_date"], r["dose"])
            for r in exposure
            if r["person_id"] == person
            and r["ingredient"] == "prednisone"
            and r["start_date"] >= start
        )
        assert [d for _, d in doses] == sorted((d for _, d in doses), reverse=True)


def test_adverse_events(con: ibis.BaseBackend) -> None:
    events = con.table("adverse_event").to_pyarrow().to_pylist()
    assert events
    assert {e["suspected_drug"] for e in events} <= set(JAK)
    assert all(1 <= e["grade"] <= 5 for e in events)
    assert {e["term"] for e in events} >= {"herpes zoster", "upper respiratory tract infection"}


def test_bad_arguments_are_reported(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as info:
        generate_registry(tmp_path / "x.duckdb", patients=0, sites=0, seed=-1)
    assert {p.column for p in info.value.problems} == {"--patients", "--sites", "--seed"}
    assert not (tmp_path / "x.duckdb").exists()


def test_generated_cdasi_visits_score_with_the_instruments_module(con: ibis.BaseBackend) -> None:
    """The generator writes items only; myositis.instruments scores them. Every visit must
    score (no missing item), within the CDASI v2 ranges (activity 0-100, damage 0-32), and
    JAK-treated responders must improve on average."""
    from myositis.instruments.cdasi import CDASI

    cdasi = con.table("assessment").filter(ibis._.instrument == "cdasi")
    wide = cdasi.pivot_wider(
        id_cols=["assessment_id", "person_id", "assessment_date"],
        names_from="measure",
        values_from="value",
    )
    scored = CDASI().scores(wide).to_pyarrow().to_pylist()
    assert scored
    for visit in scored:
        assert visit["cdasi_missing"] in (None, ""), visit["cdasi_missing"]
        assert 0 <= visit["cdasi_activity"] <= 100
        assert 0 <= visit["cdasi_damage"] <= 32
    exposure = con.table("drug_exposure")
    jak = exposure.filter(exposure.ingredient.isin(JAK) & (exposure.formulation != "TOP"))
    starts = {
        r["person_id"]: r["t0"]
        for r in jak.group_by("person_id")
        .aggregate(t0=jak.start_date.min())
        .to_pyarrow()
        .to_pylist()
    }
    change = []
    for person, t0 in starts.items():
        visits = sorted(
            (v["assessment_date"], v["cdasi_activity"]) for v in scored if v["person_id"] == person
        )
        before = [a for d, a in visits if d < t0]
        after = [a for d, a in visits if d > t0]
        if before and after:
            change.append(before[-1] - after[-1])
    assert len(change) >= 10
    assert sum(change) / len(change) > 5  # most respond (responder_fraction 0.8)
