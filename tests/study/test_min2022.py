"""Acceptance: the pipeline, run on examples/min2022, prints every number Min et al. publish.

Published numbers: Min MS et al., J Am Acad Dermatol 2022;86:423-425 (via the seed article and
shared/reference/evidence.md). The data set is SYNTHETIC (examples/min2022/README.md). Test
statistics are pinned to R 4.x on the same 11 pairs (calls in each test's docstring).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from myositis.study.runner import StudyRun, run_study

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"
DATA = ROOT / "examples" / "min2022"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    return run_study(SPEC, DATA, tmp_path_factory.mktemp("min2022"))


@pytest.fixture(scope="module")
def results(run: StudyRun) -> dict[str, Any]:
    # Read back what was written: the file is the deliverable, not the in-memory dict.
    data: dict[str, Any] = json.loads(run.results_json.read_text(encoding="utf-8"))
    return data


def _counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {r["category"]: r["count"] for r in rows}


def test_eleven_patients_and_a_meaningful_attrition_table(results: dict[str, Any]) -> None:
    steps = [(s["label"], s["remaining"], s["excluded"]) for s in results["attrition"]]
    assert [s[1] for s in steps] == [18, 15, 13, 12, 11]
    assert [s[2] for s in steps] == [0, 3, 2, 1, 1]
    # The exposure step states every exclusion it applied (code set, formulation, route).
    assert results["attrition"][2]["criterion"].endswith(
        "(excluding jak_topical_exclude, formulations TOP, routes topical); index = first start"
    )
    assert results["baseline_characteristics"]["n"] == 11


def test_demographics_and_subtypes(results: dict[str, Any]) -> None:
    """10 women and 1 man, all white, aged 19 to 74; amyopathic 5, the other three subtypes 2
    each; 4 to 9 previous systemic therapies; all received tofacitinib."""
    b = results["baseline_characteristics"]
    assert _counts(b["sex"]) == {"F": 10, "M": 1}
    assert _counts(b["race"]) == {"White": 11}
    assert (b["age_at_index"]["min"], b["age_at_index"]["max"]) == (19, 74)
    assert _counts(b["subtype"]) == {
        "amyopathic": 5,
        "classic_active_myositis": 2,
        "classic_postmyopathic": 2,
        "juvenile_postmyopathic": 2,
    }
    prior = b["prior_systemic_therapies"]
    assert (prior["min"], prior["max"]) == (4, 9)
    assert _counts(b["jak_inhibitor"]) == {"tofacitinib": 11}


def test_cdasi_baseline_and_improvement(results: dict[str, Any]) -> None:
    """Baseline mean 27.7 (range 17-38); mean improvement 17.8; every patient >= 11 points;
    subtype means from 16.75 to 19."""
    c = results["cdasi"]["overall"]
    assert round(c["baseline"]["mean"], 1) == 27.7
    assert (c["baseline"]["min"], c["baseline"]["max"]) == (17, 38)
    assert round(c["improvement"]["mean"], 1) == 17.8
    assert c["improvement"]["min"] >= 11
    means = [g["improvement"]["mean"] for g in results["cdasi"]["by_subtype_group"] if g["n"]]
    assert min(means) == pytest.approx(16.75)
    assert max(means) == pytest.approx(19.0)
    # Each subtype on its own as well; a mean of 16.75 is only possible for the 4 classic
    # patients together (docs/study-spec.md), whose two subtypes average to it.
    by_subtype = {s["subtype"]: s for s in results["cdasi"]["by_subtype"]}
    assert {k: s["n"] for k, s in by_subtype.items()} == _counts(
        results["baseline_characteristics"]["subtype"]
    )
    classic = [
        by_subtype[k]["improvement"]["mean"]
        for k in ("classic_active_myositis", "classic_postmyopathic")
    ]
    assert sum(classic) / 2 == pytest.approx(16.75)
    assert by_subtype["amyopathic"]["improvement"]["mean"] == pytest.approx(18.2)


def test_paired_tests_match_r(results: dict[str, Any]) -> None:
    """R: b <- c(17,26,28,30,38,24,25,29,31,27,30); f <- c(6,9,9,9,15,9,9,12,12,9,10)
    t.test(b, f, paired = TRUE): t = 18.357082, df = 10, p = 4.952729e-09,
    CI 15.65545337 to 19.98091026; wilcox.test(b, f, paired = TRUE) (ties: normal
    approximation with continuity correction): V = 66, p = 0.003822353727;
    library(coin); wilcoxsign_test(b ~ f, distribution = "exact"): p = 0.0009765625."""
    c = results["cdasi"]["overall"]
    t = c["paired_t"]
    assert t["statistic"] == pytest.approx(18.357082, rel=1e-7)
    assert t["df"] == 10
    assert t["p_value"] == pytest.approx(4.952729e-09, rel=1e-6)
    assert (t["ci_low"], t["ci_high"]) == pytest.approx((15.65545337, 19.98091026), rel=1e-8)
    w = c["wilcoxon"]
    assert w["statistic"] == 66
    assert w["p_value"] == pytest.approx(0.003822353727, rel=1e-8)
    # Exact despite the ties: coin::wilcoxsign_test(b ~ f, distribution = "exact") p = 2 / 2^11.
    exact = c["wilcoxon_exact"]
    assert (exact["statistic"], exact["p_value"]) == (66, pytest.approx(0.0009765625, rel=1e-10))


def test_every_patient_responds_and_the_timing_is_8_2_1(results: dict[str, Any]) -> None:
    """8 within 1 month, 2 within 1.5 months, 1 by 2 months (disjoint intervals).
    R: d <- c(21,24,26,28,28,29,30,27,42,39,55) / 30.4375
    summary(survfit(Surv(d, rep(1, 11)) ~ 1), times = c(1, 1.5)): S(1) = 0.2727272727 with
    log CI 0.10390247703 to 0.7158651787; median 0.9199178645 (lower 0.887063655)."""
    r = results["response"]
    assert (r["responders_at_followup"]["count"], r["responders_at_followup"]["n"]) == (11, 11)
    assert r["responders_at_followup"]["ci_low"] == pytest.approx(0.7150858, abs=1e-7)
    ttr = r["time_to_response"]
    assert [w["count"] for w in ttr["windows"]] == [8, 2, 1]
    assert [w["label"] for w in ttr["windows"]] == [
        "within 1 month",
        "> 1 to 1.5 months",
        "> 1.5 to 2 months",
    ]
    assert (ttr["later"], ttr["no_response"]) == (0, 0)
    first = ttr["windows"][0]
    assert first["km_cumulative_incidence"] == pytest.approx(1 - 0.2727272727, abs=1e-9)
    assert first["km_ci_low"] == pytest.approx(1 - 0.7158651787, abs=1e-9)
    assert first["km_ci_high"] == pytest.approx(1 - 0.10390247703, abs=1e-9)
    assert ttr["median_months"] == pytest.approx(0.9199178645, abs=1e-9)
    assert ttr["median_ci_low"] == pytest.approx(0.887063655, abs=1e-9)


def test_treatment_duration(results: dict[str, Any]) -> None:
    """Treated for 11 to 40 months, mean 27.2."""
    months = results["treatment_duration"]["months"]
    assert (round(months["min"]), round(months["max"])) == (11, 40)
    assert round(months["mean"], 1) == 27.2


def test_dose_above_label_in_10_of_11(results: dict[str, Any]) -> None:
    """10 of 11 above the RA/PsA label dose; only one kept on 5 mg twice daily.
    R: binom.test(10, 11)$conf.int = 0.5872200830 0.9977010278."""
    d = results["dosing"]
    assert (d["above_label"]["count"], d["above_label"]["n"]) == (10, 11)
    assert (d["above_label"]["ci_low"], d["above_label"]["ci_high"]) == pytest.approx(
        (0.5872200830, 0.9977010278), abs=1e-9
    )
    assert d["at_or_below_label"] == 1
    kept_on_5_bid = [p for p in d["patients"] if p["max_mg_per_day"] == 10]
    assert len(kept_on_5_bid) == 1
    # "5 mg or 10 mg twice a day or 11 mg extended release twice a day"; everyone started on
    # 5 mg twice daily but one needed more.
    assert {r["regimen"] for r in d["regimens"]} == {
        "tofacitinib 5 mg IR twice daily",
        "tofacitinib 10 mg IR twice daily",
        "tofacitinib 11 mg ER twice daily",
    }
    on_5_bid = [p for p in d["patients"] if p["first_mg_per_day"] == 10]
    assert sum(not p["escalated"] for p in on_5_bid) == 1


def test_monotherapy_in_3_and_tapering_in_10_of_11(results: dict[str, Any]) -> None:
    """Monotherapy in 3, up to 3 additional therapies in the rest; all but one tapered or
    stopped concomitant therapies. R: binom.test(3, 11)$conf.int = 0.06021773417 0.60974255957.
    """
    t = results["concomitant_therapy"]
    assert t["monotherapy"]["count"] == 3
    assert t["monotherapy"]["ci_low"] == pytest.approx(0.06021773417, abs=1e-9)
    assert t["max_additional_therapies"] == 3
    assert (t["tapered_or_stopped"]["count"], t["tapered_or_stopped"]["n"]) == (10, 11)


def test_one_adverse_event(results: dict[str, Any]) -> None:
    """One orolabial herpes simplex infection, no discontinuation for adverse events.
    R: poisson.test(1, 9108 / 365.25)$conf.int * 100 = 0.1015297471 22.3434645206;
    rate 100 / (9108 / 365.25) = 4.010210804 per 100 patient-years."""
    ae = results["adverse_events"]
    assert ae["events"] == 1
    assert ae["by_term"] == [{"term": "herpes simplex, orolabial", "events": 1, "patients": 1}]
    assert ae["led_to_discontinuation"] == 0
    inc = ae["incidence_per_100_patient_years"]
    assert inc["rate"] == pytest.approx(4.010210804, rel=1e-9)
    assert (inc["ci_low"], inc["ci_high"]) == pytest.approx((0.1015297471, 22.3434645206), rel=1e-8)


def test_no_death(results: dict[str, Any]) -> None:
    """The series reports no death, and the folder records none (it has no death.csv)."""
    d = results["deaths"]
    assert (d["deaths"], d["patients_died"]["n"], d["outside_follow_up"]) == (0, 11, 0)
    assert d["patients"] == [] and d["by_cause"] == []


def test_pruritus_and_myositis(results: dict[str, Any]) -> None:
    """Pruritus improved in all; myositis resolved in the 2 with active muscle disease."""
    assert results["pruritus"]["improved"]["count"] == 11
    m = results["myositis"]
    assert m["active_at_baseline"] == 2
    assert (m["resolved"]["count"], m["resolved"]["n"]) == (2, 2)


def test_provenance_and_synthetic_label(run: StudyRun, results: dict[str, Any]) -> None:
    assert results["synthetic"] is True
    assert len(results["spec_sha256"]) == 64
    assert len(results["data_fingerprint"]) == 64
    assert results["software_version"]
    html = run.report.read_text(encoding="utf-8")
    assert "SYNTHETIC DATA" in html
    for shown in ("27.7", "17.8", "16.75", "19.00", "27.2"):
        assert shown in html, shown
    assert sorted(p.name for p in run.tables) == sorted(
        p.name for p in (run.out / "tables").glob("*.csv")
    )


def test_the_data_fingerprint_is_the_same_from_csv_and_duckdb(
    results: dict[str, Any], tmp_path: Path
) -> None:
    """The fingerprint hashes content, not storage: the same tables in DuckDB give the same."""
    from myositis.registry import append_arrow, connect, create_registry
    from myositis.registry.fingerprint import data_fingerprint

    source = connect(DATA)
    target = create_registry(tmp_path / "copy.duckdb")
    target.raw_sql("DELETE FROM registry_metadata")
    from myositis.registry.schema import TABLES

    for name in TABLES:
        append_arrow(target, name, source.table(name).to_pyarrow())
    assert data_fingerprint(target) == results["data_fingerprint"]


def test_the_csv_files_are_what_the_generator_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/min2022/*.csv are reproducible from make_dataset.py (no hand edits drift)."""
    import importlib.util

    loader = importlib.util.spec_from_file_location("make_dataset", DATA / "make_dataset.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    module.main()
    written = sorted(p.name for p in tmp_path.glob("*.csv"))
    assert written == sorted(p.name for p in DATA.glob("*.csv"))
    for name in written:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


def test_the_command_line_reproduces_it(tmp_path: Path) -> None:
    """The acceptance step as a user types it: `myositis study run SPEC --data DIR --out OUT`."""
    import subprocess
    import sys

    out = tmp_path / "min2022-report"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "myositis.cli",
            "study",
            "run",
            str(SPEC),
            "--data",
            str(DATA),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cohort: 11 patients (SYNTHETIC data; 5 inclusion steps)" in done.stdout
    assert f"report: {(out / 'report.html').resolve()}" in done.stdout
    written = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert round(written["cdasi"]["overall"]["improvement"]["mean"], 1) == 17.8
    from myositis.report.tables import tables

    assert sorted(p.name for p in (out / "tables").glob("*.csv")) == sorted(
        f"{name}.csv" for name in tables(written)
    )
