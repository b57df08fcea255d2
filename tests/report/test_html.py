"""The HTML report, results.json, the CSV tables and the shareable (suppressed) outputs."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from myositis.analysis.results import analyse
from myositis.network.packages import read_site_package
from myositis.registry import connect
from myositis.report.kernel import fmt, percent, pvalue
from myositis.report.study import render_study_html
from myositis.study.runner import StudyRun, run_study, study_cohort
from myositis.study.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "studies" / "jak-refractory-dm.yaml"
DATA = ROOT / "examples" / "min2022"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> StudyRun:
    return run_study(
        SPEC,
        DATA,
        tmp_path_factory.mktemp("report"),
    )


def test_report_is_self_contained_with_four_figures(run: StudyRun) -> None:
    html = run.report.read_text(encoding="utf-8")
    assert html.count("<svg") == 4
    # Nothing to fetch: no scripts, stylesheets or images from elsewhere (SVG namespaces only).
    assert "<script" not in html and "<link" not in html
    assert 'src="http' not in html and 'href="http' not in html
    assert "For local use" in html
    assert run.results["spec_sha256"] in html and run.results["data_fingerprint"] in html


def test_the_exact_wilcoxon_row_appears_only_where_r_had_to_approximate(
    run: StudyRun, tmp_path: Path
) -> None:
    """The min2022 CDASI and pruritus pairs tie, so R's wilcox.test is approximate and the
    exact test conditional on ties is printed too; when R's test is exact it is not repeated."""
    from myositis.analysis.statistics import R_EXACT_WILCOXON

    exact_row = "<td>Wilcoxon signed rank exact test (conditional on ties)</td>"
    assert run.report.read_text(encoding="utf-8").count(exact_row) == 2
    results = json.loads(json.dumps(run.results, default=str))
    for section in (results["cdasi"]["overall"], results["pruritus"]):
        section["wilcoxon"]["method"] = R_EXACT_WILCOXON
    assert exact_row not in render_study_html(results)
    rows = list(csv.DictReader((run.out / "tables" / "cdasi_tests.csv").open(encoding="utf-8")))
    assert [r["test"] for r in rows] == ["paired_t", "wilcoxon", "wilcoxon_exact"]
    assert float(rows[2]["p_value"]) == pytest.approx(0.0009765625, rel=1e-10)


def test_synthetic_banner_follows_the_registry_flag(run: StudyRun) -> None:
    results = dict(run.results)
    assert "SYNTHETIC DATA" in render_study_html(results)
    results["synthetic"] = False
    assert "SYNTHETIC DATA" not in render_study_html(results)


def test_results_json_and_tables_hold_the_report_numbers(run: StudyRun) -> None:
    written = json.loads(run.results_json.read_text(encoding="utf-8"))
    assert written["attrition"] == run.results["attrition"]
    rows = list(csv.DictReader((run.out / "tables" / "attrition.csv").open(encoding="utf-8")))
    assert [int(r["remaining"]) for r in rows] == [s["remaining"] for s in written["attrition"]]
    patients = list(csv.DictReader((run.out / "tables" / "patients.csv").open(encoding="utf-8")))
    assert len(patients) == 11
    assert sum(float(p["improvement"]) for p in patients) == 196


def test_analyse_is_deterministic(run: StudyRun) -> None:
    spec = load_spec(SPEC)
    again = analyse(study_cohort(connect(DATA), spec), spec.analysis)
    assert json.dumps(again, default=str, sort_keys=True) == json.dumps(
        {k: run.results[k] for k in again}, default=str, sort_keys=True
    )


def test_only_the_site_packages_are_shareable(run: StudyRun) -> None:
    """A suppressed copy of results.json gave the hidden counts back (the 1 man as 11 - 10
    women or as 9.1% of 11; 3 on monotherapy as a proportion of 0.27; 1 event from its rate
    per patient-years), so shareable/ holds the site packages and nothing else."""
    shared = sorted(p.name for p in (run.out / "shareable").iterdir())
    assert shared == ["site-synthetic_site_1.json", "site-synthetic_site_2.json"]
    assert sorted(p.name for p in run.shareable) == shared
    for path in run.shareable:
        assert "person_id" not in path.read_text(encoding="utf-8")
    assert "shareable/" in run.results["local_use"]
    assert "Share only\nthe site packages" in run.report.read_text(encoding="utf-8")


def test_site_packages_verify_and_carry_the_spec_hash(run: StudyRun) -> None:
    packages = sorted((run.out / "shareable").glob("site-*.json"))
    assert [p.name for p in packages] == [
        "site-synthetic_site_1.json",
        "site-synthetic_site_2.json",
    ]
    one = read_site_package(packages[0])
    assert one.spec_hash == run.results["spec_sha256"]
    assert one.site == "synthetic-site-1"
    # Site 1 holds patients 1-6: 6 responders of 6; the event count (1) is suppressed.
    assert one.aggregates["counts"]["cdasi_responders"] == {"count": 6, "denominator": 6}
    assert one.aggregates["rates"]["adverse_events"]["events"] is None


def test_display_formatting() -> None:
    assert (fmt(27.727), fmt(None), fmt(float("nan")), fmt(16.75, 2)) == ("27.7", "-", "-", "16.75")
    assert (pvalue(4.95e-9), pvalue(0.0038), pvalue(None)) == ("< 0.001", "0.004", "-")
    assert percent(10 / 11) == "90.9%"


def _visible(html: str) -> str:
    """The page's text a reader sees outside the figures (SVG markup dropped)."""
    return re.sub(r"<svg.*?</svg>", "", html, flags=re.S)


def test_every_element_id_is_unique_and_every_anchor_resolves(run: StudyRun) -> None:
    """Four inline SVGs once shared matplotlib's ids (clip paths, markers); each figure's ids
    now carry its name, and the contents links reach the sections."""
    html = run.report.read_text(encoding="utf-8")
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) > 100 and len(ids) == len(set(ids))
    references = set(re.findall(r'(?:url\(#|href="#)([^")]+)', html))
    assert references and references <= set(ids)
    contents = re.search(r'<nav class="toc".*?</nav>', html, flags=re.S)
    assert contents is not None
    links = re.findall(r'href="#([^"]+)"', contents.group(0))
    assert links[:3] == ["sec-attrition", "sec-baseline", "sec-cdasi"]
    assert links[-1] == "sec-codes" and len(links) == 12


def test_the_study_page_is_a_template_on_the_base_with_one_set_of_styles(run: StudyRun) -> None:
    html = run.report.read_text(encoding="utf-8")
    assert html.count("<style>") == 1 and html.count("<footer") == 1
    assert "metafor" not in html  # the base's footer names metafor only for the pooled reports
    assert html.startswith("<!DOCTYPE html>") and "<title>Systemic JAK inhibitors" in html


def test_codes_are_shown_in_plain_words(run: StudyRun) -> None:
    page = _visible(run.report.read_text(encoding="utf-8"))
    for code in ("end_of_treatment", "pruritus_nrs", "dm_diagnosis", "jak_inhibitor",
                 "jak_topical_exclude", "classic_active_myositis", "_postmyopathic",
                 "<td>F</td>", "above label</td>"):  # fmt: skip
        assert code not in page, code
    assert "<td>Female</td>" in page and "<td>&nbsp;&nbsp;Female</td>" in page
    assert "<td>Classic DM with active myositis</td>" in page
    assert "Itch (pruritus) numeric rating scale, 0-10: 11 patients" in page
    assert "is judged\non the last day of JAK-inhibitor treatment." in page
    assert "code in dermatomyositis diagnosis codes on \u2265 2 distinct date(s)" in page
    assert (
        "(excluding topical JAK-inhibitor codes (ruxolitinib cream), formulations topical" in page
    )


def test_the_waterfall_and_the_tables_use_one_sign(run: StudyRun) -> None:
    """Improvement = baseline - follow-up everywhere: Min 2022's 11 patients all improved
    (sum 196), so every waterfall bar points up, as the table's improvements are positive."""
    html = run.report.read_text(encoding="utf-8")
    rule = (
        "improvement = baseline \u2212 follow-up: a positive value is better, a negative value "
        "worse"
    )
    assert html.count(rule) >= 3  # section 3, Figure 2's caption, the methods
    assert "<td>Improvement (baseline \u2212 follow-up)</td>" in html
    waterfall = html[html.index("<svg", html.index('id="sec-cdasi"')) :]
    waterfall = waterfall[: waterfall.index("</svg>")]
    assert "baseline \u2212 follow-up; up = better" in waterfall


def test_the_appendix_lists_the_codes_of_each_code_list(run: StudyRun) -> None:
    code_lists = run.results["code_lists"]
    assert [(s["role"], s["include"]) for s in code_lists["sets"]] == [
        ("dm_diagnosis", True), ("jak_inhibitor", True), ("jak_topical_exclude", False),
    ]  # fmt: skip
    html = run.report.read_text(encoding="utf-8")
    appendix = html[html.index('id="sec-codes"') :]
    assert "<h3>Dermatomyositis diagnosis codes: included in" in appendix
    assert (
        "<td>ICD-10-CM</td><td><code>M33.10</code></td><td>Other dermatomyositis, organ" in appendix
    )
    assert "<td>RxNorm</td><td><code>1357536</code></td><td>tofacitinib</td>" in appendix
    assert "<h3>Topical JAK-inhibitor codes (ruxolitinib cream): excluded from" in appendix
    assert "<td>WHO ATC</td><td><code>D11AH09</code></td>" in appendix
    # codes/data/codesets.csv: dm_diagnosis 15 ICD-10-CM + 1 ICD-9-CM + 5 SNOMED + 5 OMOP;
    # jak_inhibitor 5 RxNorm + 11 ATC + 5 OMOP; jak_topical_exclude 1 ATC.
    shipped = sum(len(s["codes"]) for s in code_lists["sets"])
    assert appendix.count("<code>") == shipped == 26 + 21 + 1
