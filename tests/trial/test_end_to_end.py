"""A trial as a team runs it from the command line (issue 12, "Done when"): a seeded
allocation for 62 patients in strata, reproducible and balanced, handed out one patient at a
time; a synthetic BIRD-like trial's week-24 endpoint derived, traceable to the visits, and
reported blinded and unblinded with a CONSORT diagram; the simulated power against the exact
Fisher power; sample size options; the specification check."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from myositis.registry.connect import connect
from myositis.report.consort import group_boxes
from myositis.trial.concealment import Stores, read_blinded_log, slot_arms
from myositis.trial.spec import load_trial_spec

from .conftest import ALLOCATION_SEED, Demo, cli

PRIMARY = "pf_moderate_w24"


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_seeded_allocation_is_reproducible_balanced_and_handed_out_one_at_a_time(
    tmp_path: Path,
) -> None:
    made = []
    for copy in ("a", "b"):
        run = cli(
            "trial",
            "allocation",
            "create",
            "bird",
            "--unblinded-dir",
            tmp_path / copy / "u",
            "--blinded-dir",
            tmp_path / copy / "b",
            "--seed",
            ALLOCATION_SEED,
            "--per-stratum",
            31,
            "--user",
            "stat.unblinded",
        )
        assert run.code == 0, run.text
        made.append(json.loads((tmp_path / copy / "u" / "allocation.json").read_text()))
    slots = Counter(r["stratum"] for r in made[0]["allocations"])
    assert f"{sum(slots.values())} slots in 4 strata" in run.out
    assert all(f"{stratum}: {n} slots" in run.out and n >= 31 for stratum, n in slots.items())
    # reproducible: the same seed gives the same arms in every slot (pack codes are random)
    arms = [[(r["stratum"], r["sequence"], r["arm"]) for r in m["allocations"]] for m in made]
    assert arms[0] == arms[1]
    assert [r["pack"] for r in made[0]["allocations"]] != [
        r["pack"] for r in made[1]["allocations"]
    ]
    blinded, unblinded = tmp_path / "a" / "b", tmp_path / "a" / "u"
    verify = cli("trial", "log", "verify", "--blinded-dir", blinded, "--unblinded-dir", unblinded)
    assert verify.code == 0, verify.text
    assert f"matches all {sum(slots.values())} commitments" in verify.out
    assert verify.out.count("every block keeps the ratio") == 4
    # balanced: blocks of 4 and 6 keep every stratum within 3 of equal all along the list
    for stratum in load_trial_spec("bird").stratum_names:
        running, worst = 0, 0
        for r in made[0]["allocations"]:
            if r["stratum"] == stratum:
                running += 1 if r["arm"] == "baricitinib" else -1
                worst = max(worst, abs(running))
        assert worst <= 3
    # 62 patients randomised one at a time: each gets the next pack of their stratum, and
    # sees nothing else
    plan = json.loads((blinded / "plan.json").read_text())
    strata = ["naive/methotrexate"] * 25 + ["naive/azathioprine"] * 10
    strata += ["relapsing/methotrexate"] * 20 + ["relapsing/azathioprine"] * 7
    given: Counter[str] = Counter()
    for k, stratum in enumerate(strata):
        run = cli(
            "trial",
            "randomise-next",
            "--blinded-dir",
            blinded,
            "--patient",
            1001 + k,
            "--stratum",
            stratum,
            "--user",
            "site1.investigator",
        )
        assert run.code == 0, run.text
        slot = plan["strata"][stratum][given[stratum]]
        given[stratum] += 1
        assert f"person {1001 + k}, stratum {stratum}: dispense pack {slot['pack']}" in run.out
        packs = [s["pack"] for slots in plan["strata"].values() for s in slots]
        assert sum(p in run.out for p in packs) == 1  # its own pack, no other
        assert "baricitinib" not in run.text.lower() and "placebo" not in run.text.lower()
    shown = cli("trial", "log", "show", "--blinded-dir", blinded)
    assert shown.out.count(" randomised ") == 62
    # the 62 handed out are the first slots of each stratum, so balanced as the list is
    stores = Stores(blinded, unblinded)
    behind = slot_arms(stores)
    handed = [
        behind[(e["stratum"], e["sequence"])]
        for e in read_blinded_log(stores)
        if e["event"] == "randomised"
    ]
    counts = Counter(handed)
    assert sum(counts.values()) == 62 and abs(counts["baricitinib"] - counts["placebo"]) <= 4 * 3


def test_the_week_24_endpoint_is_derived_and_traceable_to_the_visits(demo: Demo) -> None:
    run = demo.runs["endpoints"]
    assert f"primary {PRIMARY} (arms pooled):" in run.out and "of 62 responders" in run.out
    endpoints = [r for r in _rows(demo.endpoints / "endpoints.csv") if r["endpoint"] == PRIMARY]
    visits = {(r["person_id"], r["visit"]): r for r in _rows(demo.endpoints / "visits.csv")}
    listing = _rows(demo.endpoints / "listing.csv")
    assert len(endpoints) == 62 and "arm" not in endpoints[0]
    con = connect(demo.trial / "registry.duckdb")
    assessments = {r["assessment_id"]: r for r in con.table("assessment").to_pyarrow().to_pylist()}
    day0 = {
        int(r["person_id"]): dt.date.fromisoformat(r["randomisation_date"])
        for r in _rows(demo.trial / "enrolment.csv")
    }
    week24 = load_trial_spec("bird").visit("week24")
    for row in endpoints:
        person = row["person_id"]
        visit = visits[(person, "week24")]
        if row["responder"] == "True":
            assert float(visit["tis"]) >= 40 and row["basis"] == "responder"
        line = next(
            t for t in listing if t["person_id"] == person and t["step"] == f"endpoint {PRIMARY}"
        )
        assert line["detail"] == row["reason"]
        ids = [int(s.split()[1]) for s in line["sources"].split("; ") if s.startswith("assessment")]
        if row["observed"]:  # traced to the week-24 assessments of this very patient
            assert ids, line
            for i in ids:
                a = assessments[i]
                assert a["person_id"] == int(person)
                assert week24.contains((a["assessment_date"] - day0[int(person)]).days)
        else:
            assert row["basis"] in ("dropout", "missing_visit")


def test_reported_blinded_and_unblinded_with_a_consort_diagram(demo: Demo) -> None:
    blinded = json.loads((demo.blinded / "results.json").read_text())
    unblinded = json.loads((demo.unblinded / "results.json").read_text())
    assert (blinded["kind"], unblinded["kind"]) == ("trial-blinded", "trial-unblinded")
    assert blinded["synthetic"] and "SYNTHETIC DATA" in (demo.blinded / "report.html").read_text()
    c = blinded["consort"]
    screened = _rows(demo.trial / "screening.csv")
    assert c["assessed"] == len(screened) == c["excluded"] + c["randomised"]
    assert c["randomised"] == 62 and [g["allocated"] for g in c["groups"]] == [62]
    u = unblinded["consort"]
    assert [g["arm"] for g in u["groups"]] == ["baricitinib", "placebo"]
    assert sum(g["allocated"] for g in u["groups"]) == 62
    assert sum(g["withdrew"] for g in u["groups"]) == c["groups"][0]["withdrew"]
    svg = (demo.unblinded / "consort.svg").read_text()
    for text in (
        f"Assessed for eligibility (n = {c['assessed']})",
        "Randomised (n = 62)",
        "Allocated to Baricitinib 4 mg",
        "Analysed (n = 31): all randomised",
    ):
        assert text in svg
    assert (demo.unblinded / "consort.png").read_bytes()[:4] == b"\x89PNG"
    # the arms in the report are those behind each patient's pack, read here as an auditor
    stores = Stores(demo.trial / "allocation" / "blinded", demo.trial / "allocation" / "unblinded")
    behind = slot_arms(stores)
    log = read_blinded_log(stores)
    arm_of = {
        e["person_id"]: behind[(e["stratum"], e["sequence"])]
        for e in log
        if e["event"] == "randomised"
    }
    assert {p["person_id"]: p["arm"] for p in unblinded["patients"]} == arm_of
    # receipt of the allocated intervention, counted here per arm from the enrolment file
    enrolment = {int(r["person_id"]): r for r in _rows(demo.trial / "enrolment.csv")}
    undosed = {p for p, r in enrolment.items() if not r["first_dose_date"]}
    assert all(enrolment[p]["not_received_reason"] for p in undosed)
    assert c["groups"][0]["received"] == 62 - len(undosed)
    for g in u["groups"]:
        people = {p for p, arm in arm_of.items() if arm == g["arm"]}
        assert (g["received"], g["not_received"]) == (
            len(people - undosed),
            len(people & undosed),
        )
        box = group_boxes(g, u)["allocation"]
        assert f"- Received the allocated intervention (n = {g['received']})" in box
        assert f"- Did not receive the allocated intervention (n = {g['not_received']})" in box
    assert svg.count("Received the allocated intervention") == 2  # drawn, one per arm
    assert (log[-1]["event"], log[-1]["user"]) == ("allocation_read", "stat.unblinded")
    # the 2 x 2 x 4 table counted from the blinded endpoints and the store
    responders = {
        int(r["person_id"]): r["responder"] == "True"
        for r in _rows(demo.blinded / "endpoints.csv")
        if r["endpoint"] == PRIMARY
    }
    stratum = {p["person_id"]: p["stratum"] for p in blinded["patients"]}
    a = next(x for x in unblinded["analyses"] if x["primary"])
    for s in a["strata"]:
        for arm, key in (("baricitinib", "treated"), ("placebo", "control")):
            people = [p for p in arm_of if arm_of[p] == arm and stratum[p] == s["stratum"]]
            assert s[key] == [sum(responders[p] for p in people), len(people)]


def test_the_unblinded_analysis_of_the_synthetic_trial_matches_r(demo: Demo) -> None:
    """The session's trial (seeds 7 and 86421) gives, per stratum (responders/patients,
    baricitinib then placebo): naive/MTX 6/14 vs 2/13, naive/AZA 2/4 vs 0/5, relapsing/MTX
    7/10 vs 0/10, relapsing/AZA 1/3 vs 2/3 (16/31 vs 4/31). R 4.2:

        tab <- array(c(6,2,8,11, 2,0,2,5, 7,0,3,10, 1,2,2,1), dim = c(2, 2, 4))
        mantelhaen.test(tab)  # X2 8.432878676913, p 0.003684965119, OR 5.7352941176
                              # (1.6799359154 to 19.5802698872)
        mantelhaen.test(tab, correct = FALSE)  # X2 10.047165673508, p 0.001525825189
        fisher.test(matrix(c(16,4,15,27), 2))  # p 0.002335064338, OR 6.95678046
        mk <- function(x, n) c(rep(1, x), rep(0, n - x))
        y <- c(mk(6,14), mk(2,13), mk(2,4), mk(0,5), mk(7,10), mk(0,10), mk(1,3), mk(2,3))
        arm <- factor(rep(c("b","p","b","p","b","p","b","p"), c(14,13,4,5,10,10,3,3)),
                      levels = c("p","b"))
        s <- factor(rep(c("nm","na","rm","ra"), c(27,9,20,6)), levels = c("nm","na","rm","ra"))
        glm(y ~ arm + s, family = binomial)  # arm 2.0273834570 (SE 0.6613737118),
                                             # p 0.002173697360
    """
    a = next(
        x
        for x in json.loads((demo.unblinded / "results.json").read_text())["analyses"]
        if x["primary"]
    )
    assert [(s["treated"], s["control"]) for s in a["strata"]] == [
        ([6, 14], [2, 13]),
        ([2, 4], [0, 5]),
        ([7, 10], [0, 10]),
        ([1, 3], [2, 3]),
    ]
    assert a["cmh"]["statistic"] == pytest.approx(8.432878676913, abs=1e-10)
    assert a["cmh"]["p_value"] == pytest.approx(0.003684965119, abs=1e-11)
    assert a["cmh"]["odds_ratio"] == pytest.approx(5.7352941176, abs=1e-9)
    assert (a["cmh"]["lower"], a["cmh"]["upper"]) == pytest.approx(
        (1.6799359154, 19.5802698872), abs=1e-9
    )
    assert a["cmh_uncorrected"]["p_value"] == pytest.approx(0.001525825189, abs=1e-11)
    assert a["fisher"]["p_value"] == pytest.approx(0.002335064338, abs=1e-11)
    assert a["fisher"]["odds_ratio"] == pytest.approx(6.95678046, rel=2e-4)
    assert a["logistic"]["log_odds_ratio"] == pytest.approx(2.0273834570, abs=1e-6)
    assert a["logistic"]["standard_error"] == pytest.approx(0.6613737118, rel=1e-4)
    assert a["logistic"]["p_value"] == pytest.approx(0.002173697360, rel=1e-3)
    assert a["primary_test"] == "cmh" and a["primary_p"] == a["cmh"]["p_value"]
    out = demo.runs["unblinded"].out
    assert "primary pf_moderate_w24 (baricitinib): 16 of 31 responders" in out
    assert "planned cmh p = 0.0037" in out
    html = (demo.unblinded / "report.html").read_text()
    assert "Among all randomised adults" in html  # the estimand, stated
    # risk difference 16/31 - 4/31 = 0.387, Newcombe (tests/trial/test_statistics.py)
    assert "38.7 percentage points (95% CI 15.6 to 56.9; Newcombe hybrid score)" in html


def test_a_report_renders_again_from_its_results_alone(demo: Demo, tmp_path: Path) -> None:
    for folder in (demo.blinded, demo.unblinded):
        for command in (("trial", "render"), ("report",)):  # the top-level command too
            again = tmp_path / "-".join((*command, folder.name))
            run = cli(*command, folder / "results.json", "-o", again)
            assert run.code == 0, run.text
            for name in ("report.html", "results.json", "consort.svg", "listing.csv"):
                assert (again / name).read_bytes() == (folder / name).read_bytes(), name
    wrong = tmp_path / "study.json"
    wrong.write_text('{"kind": "study"}')
    run = cli("trial", "render", wrong, "-o", tmp_path / "x")
    assert run.code == 2 and "not a trial report's" in run.err and not (tmp_path / "x").exists()
    edited = json.loads((demo.blinded / "results.json").read_text())
    del edited["consort"]["groups"]
    damaged = tmp_path / "damaged.json"
    damaged.write_text(json.dumps(edited))
    run = cli("trial", "render", damaged, "-o", tmp_path / "y")
    assert run.code == 2 and "cannot render this results.json" in run.err
    assert "Traceback" not in run.err and not (tmp_path / "y").exists()


def test_simulated_power_agrees_with_the_exact_fisher_power(tmp_path: Path) -> None:
    """31 + 31 patients (one block of 62), no strata, no dropout, Fisher's test, rates 0.3
    and 0.7: R enumeration with fisher.test gives the exact power 0.859693410316
    (tests/trial/test_sample_size.py); the simulation lies within 3 Monte Carlo SEs."""
    data = load_trial_spec("bird").canonical()
    data["strata"] = None
    data["allocation"]["block_sizes"] = [62]
    data["simulation"]["level_shares"] = {}
    path = tmp_path / "bird-unstratified.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    args = ["--test", "fisher", "--rates", "baricitinib=0.7,placebo=0.3", "--trials", "10000"]
    run = cli("trial", "simulate", path, *args, "--dropout", 0, "--seed", 11, "--json")
    assert run.code == 0, run.text
    result = json.loads(run.out)
    exact = result["reference"]["fisher_power"]
    assert exact == pytest.approx(0.859693410316, abs=1e-12)
    assert result["reference"]["fisher_power_equal_arms"] == exact
    assert abs(result["power"] - exact) < 3 * result["power_mcse"]
    assert result["power_mcse"] == pytest.approx((exact * (1 - exact) / 10_000) ** 0.5, rel=0.05)


def test_simulated_power_of_the_stratified_trial_agrees_with_the_exact_fisher_power() -> None:
    """BIRD as planned (4 strata, blocks of 4 and 6, 10 % dropout) with Fisher's test: the
    arms are not always 31 + 31, and Fisher's power is a saw-tooth in the arm sizes (R
    enumeration: 0.8597 at 31 + 31, 0.8786 at 30 + 32), so the reference is the exact power
    averaged over the simulated arm sizes at the effective rates 0.7 x 0.9 and 0.3 x 0.9."""
    run = cli("trial", "simulate", "bird", "--test", "fisher", "--rates",
              "baricitinib=0.7,placebo=0.3", "--trials", 10_000, "--json")  # fmt: skip
    assert run.code == 0, run.text
    result = json.loads(run.out)
    reference = result["reference"]
    assert (reference["treated_rate"], reference["control_rate"]) == pytest.approx((0.63, 0.27))
    assert abs(result["power"] - reference["fisher_power"]) < 3 * result["power_mcse"]
    assert sum(n for _, n in result["treated_sizes"]) == 10_000
    bird = cli("trial", "simulate", "bird", "--trials", 2000)
    assert bird.code == 0, bird.text
    assert "power 0." in bird.out and "(Monte Carlo SE 0.0" in bird.out
    assert "type I error 0.0" in bird.out and "exact Fisher power" in bird.out


@pytest.mark.parametrize(
    ("args", "key", "value"),
    [
        # R Hmisc::bsamsize(0.3, 0.7, fraction = 1/3, power = 0.8)[["n1"]] = 17.2613270491
        (["--ratio", "2"], "n_per_arm", 17.2613270491),
        # R: n <- power.prop.test(p1 = .3, p2 = .7, power = .8)$n;
        #    n / 4 * (1 + sqrt(1 + 4 / (n * 0.4)))^2 = 28.0903885647
        (["--correct"], "n_per_arm", 28.0903885647),
        # R power.prop.test(n = 31, p1 = .3, p2 = .7, strict = TRUE)$power = 0.902856816300
        (["--strict", "--n", "31"], "power", 0.902856816300),
    ],
)
def test_sample_size_takes_a_ratio_strict_and_the_continuity_correction(
    args: list[str], key: str, value: float
) -> None:
    run = cli("trial", "sample-size", "--p1", "0.3", "--p2", "0.7", *args, "--json")
    assert run.code == 0, run.text
    assert json.loads(run.out)[key] == pytest.approx(value, abs=1e-8)
    text = cli("trial", "sample-size", "--p1", "0.3", "--p2", "0.7", *args).out
    assert "recruit" in text and "power" in text


def test_check_prints_the_identity_and_hash() -> None:
    run = cli("trial", "check", "bird")
    assert run.code == 0, run.text
    assert run.out.startswith("ok: bird version 1: Baricitinib")
    assert f"spec_sha256: {load_trial_spec('bird').sha256()}" in run.out
    assert "primary endpoint: pf_moderate_w24 at week24 (tis >= 40, prednisone-free 28 days)" in (
        run.out
    )
