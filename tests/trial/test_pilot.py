"""The STIR pilot fixture (tests/trial/data/stir, README.md there) run through the endpoint
and analysis code, and through ``myositis trial report``, gives every number the abstract
prints (Paik JJ et al., Arthritis Rheumatol 2021;73:858-865, doi:10.1002/art.41602, PMID
33258553): 10 patients; IMACS DOI met at week 12 by 10 of 10; TIS moderate 5 and minimal 5;
CDASI activity 28 +/- 15.4 at baseline and 9.5 +/- 8.5 at week 12, P = 0.0005. The fixture
records CDASI v2 item by item; the pipeline scores it (myositis.instruments.cdasi)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from myositis.trial.analysis import single_arm, tis_categories
from myositis.trial.endpoints import TrialEndpoints, derive_endpoints
from myositis.trial.spec import TrialSpec, load_trial_spec

from .conftest import Run, cli

DATA = Path(__file__).parent / "data" / "stir"


def _read(name: str) -> pa.Table:
    from myositis.registry.schema import TABLES

    if name == "enrolment":
        from myositis.trial.inputs import ENROLMENT_SCHEMA

        schema = ENROLMENT_SCHEMA
    else:
        schema = TABLES[name].to_pyarrow()
    header = (DATA / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    options = pacsv.ConvertOptions(column_types={c: schema.field(c).type for c in header})
    return pacsv.read_csv(DATA / f"{name}.csv", convert_options=options)


@cache
def _pilot() -> tuple[TrialSpec, TrialEndpoints]:
    spec = load_trial_spec("stir")
    tables = [_read(n) for n in ("enrolment", "assessment", "laboratory", "drug_exposure")]
    endpoints = derive_endpoints(spec, *tables, strict=True)
    return spec, endpoints


def test_doi_met_by_ten_of_ten_at_week_12() -> None:
    """R: binom.test(10, 10)$conf.int = 0.6915028922 to 1."""
    _, endpoints = _pilot()
    assert len(endpoints.patients) == 10
    result = single_arm(endpoints, "doi_w12")
    assert (result.responders, result.patients) == (10, 10)
    assert result.lower == pytest.approx(0.6915028922, abs=1e-10)
    assert result.upper == 1.0


def test_tis_moderate_five_and_minimal_five() -> None:
    """R: binom.test(5, 10)$conf.int = 0.1870860284 to 0.8129139716."""
    _, endpoints = _pilot()
    assert tis_categories(endpoints, "week12") == {"minimal": 5, "moderate": 5}
    moderate = single_arm(endpoints, "moderate_w12")
    assert moderate.responders == 5
    assert moderate.lower == pytest.approx(0.1870860284, abs=1e-10)
    assert moderate.upper == pytest.approx(0.8129139716, abs=1e-10)
    assert single_arm(endpoints, "minimal_w12").responders == 10


def test_cdasi_activity_change_and_its_p_value(pilot_run: tuple[Path, Run]) -> None:
    """The abstract's P = 0.0005 is the paired t-test: R t.test(b, f, paired = TRUE) on the
    fixture gives t = 5.295329054, df = 9, p = 0.0004969169372. It cannot be the Wilcoxon
    signed-rank test: with 10 pairs its smallest exact two-sided p is 2/2^10 = 0.001953; R
    wilcox.test(b, f, paired = TRUE) gives V = 55, p = 0.005889270042 (ties: normal
    approximation). Means and SDs (R mean, sd): 28, 15.44164643; 9.5, 8.527732537.
    b <- c(9, 11, 17, 20, 22, 29, 31, 36, 52, 53); f <- c(0, 7, 1, 18, 7, 2, 9, 7, 18, 26)."""
    results = _report(pilot_run)
    c = results["cdasi"]
    assert c["pairs"] == 10
    assert {p[v]["scored_from"] for p in c["patients"] for v in ("baseline", "week12")} == {
        "items"}  # fmt: skip
    assert [p["baseline"]["value"] for p in c["patients"]] == [9, 11, 17, 20, 22, 29, 31, 36,
                                                               52, 53]  # fmt: skip
    change = c["test"]
    assert (round(change["mean_before"], 1), round(change["sd_before"], 1)) == (28.0, 15.4)
    assert (round(change["mean_after"], 1), round(change["sd_after"], 1)) == (9.5, 8.5)
    assert change["sd_before"] == pytest.approx(15.44164643, abs=1e-8)
    assert change["sd_after"] == pytest.approx(8.527732537, abs=1e-9)
    assert round(change["p_t"], 4) == 0.0005
    assert change["t"] == pytest.approx(5.295329054, abs=1e-9)
    assert change["p_t"] == pytest.approx(0.0004969169372, abs=1e-13)
    assert change["v"] == 55 and not change["wilcoxon_exact"]
    assert change["p_wilcoxon"] == pytest.approx(0.005889270042, abs=1e-12)
    assert 2 / 2**10 > 0.0005  # why the abstract's P is not a signed-rank p-value


def test_the_pilot_report_through_the_command_line(pilot_run: tuple[Path, Run]) -> None:
    results = _report(pilot_run)
    assert results["kind"] == "trial-pilot" and results["synthetic"]
    doi = next(p for p in results["proportions"] if p["endpoint"] == "doi_w12")
    assert (doi["responders"], doi["patients"]) == (10, 10)
    assert doi["lower"] == pytest.approx(0.6915028922, abs=1e-10)  # R binom.test(10, 10)
    assert results["tis_categories"] == {"visit": "week12",
                                         "counts": {"minimal": 5, "moderate": 5}}  # fmt: skip
    folder, run = pilot_run
    out = run.out
    assert "doi_w12: 10 of 10 (100%; 95% CI 0.692 to 1.000)" in out
    assert "TIS categories at week12: minimal 5, moderate 5" in out
    assert "CDASI activity baseline 28.0 +/- 15.4 -> week12 9.5 +/- 8.5 (n = 10); paired " \
           "t-test p = 0.0005" in out  # fmt: skip
    html = " ".join((folder / "report.html").read_text(encoding="utf-8").split())
    assert "10 of 10 (100%; 95% CI 69.2% to 100.0%, Clopper-Pearson)" in html
    assert "28.0 &plusmn; 15.4 &rarr; 9.5 &plusmn; 8.5; paired t-test P = 0.0005" in html
    assert "Enrolled (n = 10)" in (folder / "consort.svg").read_text()


@pytest.fixture(scope="module")
def pilot_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """``myositis trial report stir`` on the fixture folder (a complete folder registry)."""
    out = tmp_path_factory.mktemp("stir") / "report"
    return out, cli("trial", "report", "stir", "--data", DATA, "--enrolment",
                    DATA / "enrolment.csv", "-o", out)  # fmt: skip


def _report(pilot_run: tuple[Path, Run]) -> dict[str, Any]:
    out, run = pilot_run
    assert run.code == 0, run.text
    data: dict[str, Any] = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return data


def test_every_patient_traces_to_the_fixture_rows() -> None:
    _, endpoints = _pilot()
    assert endpoints.problems == ()
    for patient in endpoints.patients:
        line = next(t for t in patient.listing if t.step == "endpoint doi_w12")
        assert line.detail.startswith("responder: DOI met at week12")
        assert len([s for s in line.sources if s.startswith("assessment")]) == 5
        assert any(s.startswith("laboratory row") for s in line.sources)
