"""The ``myositis evidence`` commands, run through ``myositis.cli.main`` as a user runs them:
real values out (pinned to metafor as in test_models/test_proportions), and bad input giving
one clear message and exit status 2, never a traceback."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from myositis.cli import main

from .conftest import write_csv


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "argv", ["myositis", *args])
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


def test_pool_json_bcg_reml(monkeypatch, capsys, bcg_csv) -> None:  # type: ignore[no-untyped-def]
    """R: ``rma(yi, vi, data=dat)`` on dat.bcg: -0.7145 (-1.0669, -0.3622), tau^2 0.3132,
    I^2 92.22%, Q(12) 152.2330; PI -1.8667 to 0.4376."""
    code, out, err = run(
        monkeypatch,
        capsys,
        "evidence",
        "pool",
        str(bcg_csv),
        "--measure",
        "GEN",
        "--method",
        "REML",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert list(data) == [
        "k",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "pi_low",
        "pi_high",
        "tau2",
        "i2",
        "q",
        "q_pvalue",
    ]
    assert data["k"] == 13
    assert data["estimate"] == pytest.approx(-0.7145323484, rel=1e-7)
    assert data["ci_low"] == pytest.approx(-1.066897676, rel=1e-7)
    assert data["tau2"] == pytest.approx(0.313243326, rel=1e-7)
    assert data["i2"] == pytest.approx(92.22138607, rel=1e-7)
    assert data["q"] == pytest.approx(152.2330081, rel=1e-9)
    assert data["pi_low"] == pytest.approx(-1.8666923466, rel=1e-7)


def test_pool_json_glmm_pritz(monkeypatch, capsys, pritz_csv) -> None:  # type: ignore[no-untyped-def]
    """R: ``rma.glmm(measure="PLO", xi, ni, data=dat.pritz1997)``: 0.7984 (0.6924 to 0.8746)."""
    code, out, _ = run(
        monkeypatch,
        capsys,
        "evidence",
        "pool",
        str(pritz_csv),
        "--measure",
        "PLO",
        "--method",
        "GLMM",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert [round(data[k], 4) for k in ("estimate", "ci_low", "ci_high")] == [
        0.7984,
        0.6924,
        0.8746,
    ]


def test_pool_json_pr_ee_has_null_prediction_interval(monkeypatch, capsys, pritz_csv) -> None:  # type: ignore[no-untyped-def]
    """R: ``rma(yi, vi, data=escalc("PR", ...), method="EE")``: 0.8308 (0.7929 to 0.8686)."""
    code, out, _ = run(
        monkeypatch,
        capsys,
        "evidence",
        "pool",
        str(pritz_csv),
        "--measure",
        "PR",
        "--method",
        "EE",
        "--json",
    )
    data = json.loads(out)
    assert code == 0
    assert data["pi_low"] is None and data["pi_high"] is None
    assert data["estimate"] == pytest.approx(0.830757554979655, rel=1e-9)


def test_pool_subgroups_loo_and_regression_json(monkeypatch, capsys, bcg_csv) -> None:  # type: ignore[no-untyped-def]
    """Subgroup Q-between 1.86144614123, leave-one-out (trial 1) -0.707083788031,
    meta-regression slope -0.029101660928 (R calls in test_models)."""
    code, out, _ = run(
        monkeypatch,
        capsys,
        "evidence",
        "pool",
        str(bcg_csv),
        "--measure",
        "GEN",
        "--by",
        "alloc",
        "--leave-one-out",
        "--moderator",
        "ablat",
        "--json",
    )
    assert code == 0
    data = json.loads(out)
    assert data["subgroup_test"]["q"] == pytest.approx(1.86144614123, rel=1e-7)
    assert data["subgroups"]["random"]["estimate"] == pytest.approx(-0.970964475758, rel=1e-7)
    assert data["leave_one_out"][0]["omitted"] == "trial1"
    assert data["leave_one_out"][0]["estimate"] == pytest.approx(-0.707083788031, rel=1e-7)
    assert data["meta_regression"]["coef"][1] == pytest.approx(-0.029101660928, rel=1e-7)


def test_pool_hksj_modified_flag(monkeypatch, capsys, pritz_csv) -> None:  # type: ignore[no-untyped-def]
    """R: ``rma(yi, vi, data=escalc("PR", ...), test="adhoc")``: CI 0.7052877902 to
    0.8882162087 (``--hksj`` gives knha: 0.7072049307 to 0.8862990681)."""
    _, out, _ = run(
        monkeypatch,
        capsys,
        "evidence",
        "pool",
        str(pritz_csv),
        "--measure",
        "PR",
        "--hksj-modified",
        "--json",
    )
    assert json.loads(out)["ci_low"] == pytest.approx(0.7052877902, rel=1e-7)
    _, out, _ = run(
        monkeypatch,
        capsys,
        "evidence",
        "pool",
        str(pritz_csv),
        "--measure",
        "PR",
        "--hksj",
        "--json",
    )
    assert json.loads(out)["ci_low"] == pytest.approx(0.7072049307, rel=1e-7)


def test_pool_mean_changes(monkeypatch, capsys, mn_csv) -> None:  # type: ignore[no-untyped-def]
    """R: ``rma(yi, vi, data=escalc("MN", mi, sdi, ni))``: -10.101941532419, tau^2
    3.349046344599."""
    _, out, _ = run(
        monkeypatch, capsys, "evidence", "pool", str(mn_csv), "--measure", "MN", "--json"
    )
    data = json.loads(out)
    assert data["estimate"] == pytest.approx(-10.101941532419, rel=1e-7)
    assert data["tau2"] == pytest.approx(3.349046344599, rel=1e-7)


def test_pool_plain_means(monkeypatch, capsys, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Columns mean,sd,n give the same model as mean_change,sd_change,n. R:
    ``rma(yi, vi, data=escalc("MN", mi=mean, sdi=sd, ni=n, data=mn))`` -> -10.1019415324193."""
    from .conftest import MN_ROWS

    path = write_csv(tmp_path / "m.csv", ["study", "mean", "sd", "n"], [list(r) for r in MN_ROWS])
    _, out, _ = run(monkeypatch, capsys, "evidence", "pool", str(path), "--measure", "MN", "--json")
    assert json.loads(out)["estimate"] == pytest.approx(-10.101941532419, rel=1e-7)


def test_pool_readable_summary_and_plots(monkeypatch, capsys, pritz_csv, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, out, _ = run(
        monkeypatch,
        capsys,
        "evidence",
        "pool",
        str(pritz_csv),
        "--measure",
        "PLO",
        "--forest",
        str(tmp_path / "f.svg"),
        "--funnel",
        str(tmp_path / "u.png"),
    )
    assert code == 0
    assert "0.7575" in out and "0.6605 to 0.8337" in out and "0.4661 to 0.9179" in out
    assert (tmp_path / "f.svg").read_text().startswith("<svg")
    assert (tmp_path / "u.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("header", "rows", "args", "expected"),
    [
        (
            ["study", "events", "n"],
            [["a", 3, 10]],
            ["--measure", "PLO"],
            "at least 2 studies; the file has 1",
        ),
        (
            ["study", "yi", "vi"],
            [["a", 0.1, 0.02], ["b", 0.3, 0]],
            ["--measure", "GEN"],
            "row 2, column 'vi': value '0': the sampling variance must be above 0",
        ),
        (
            ["study", "events", "n"],
            [["a", 3, 10], ["b", 12, 11]],
            ["--measure", "PR"],
            "row 2, column 'events': value '12': more events than patients (n = 11)",
        ),
        (
            ["study", "events", "n"],
            [["a", 3, -10], ["b", 1, 11]],
            ["--measure", "PFT"],
            "row 1, column 'n': value '-10': n must be a whole number of patients above 0",
        ),
        (
            ["study", "events", "n"],
            [["a", 3, 10], ["a", 1, 11]],
            ["--measure", "PLO"],
            "row 2, column 'study': value 'a': duplicated study id (also in row 1)",
        ),
        (
            ["study", "events", "n"],
            [["a", "three", 10], ["b", 1, 11]],
            ["--measure", "PLO"],
            "row 1, column 'events': value 'three': not a finite number",
        ),
        (
            ["study", "events"],
            [["a", 3], ["b", 1]],
            ["--measure", "PLO"],
            "column 'n': required column is missing for measure PLO; the header has: study, events",
        ),
        (
            ["study", "mean_change", "sd_change", "n"],
            [["a", -3, 0, 10], ["b", -1, 2, 11]],
            ["--measure", "MN"],
            "column 'sd_change': value '0': the SD must be above 0",
        ),
        (
            ["study", "yi", "vi"],
            [["a", 0.1, 0.02], ["b", 0.3, 0.01]],
            ["--measure", "GEN", "--method", "GLMM"],
            "use it with --measure PLO",
        ),
        (
            ["study", "events", "n", "g"],
            [["a", 3, 10, "x"], ["b", 1, 11, "x"]],
            ["--measure", "PLO", "--by", "g"],
            "has a single subgroup",
        ),
        (
            ["study", "events", "n"],
            [["a", 3, 10], ["b", 1, 11]],
            ["--measure", "PLO", "--leave-one-out"],
            "leave-one-out needs at least 3 studies",
        ),
        (
            ["study", "events", "n"],
            [["a", 0, 10], ["b", 0, 11]],
            ["--measure", "PLO", "--method", "GLMM"],
            "the GLMM cannot be estimated when every study has 0 events",
        ),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(  # type: ignore[no-untyped-def]
    monkeypatch, capsys, tmp_path, header, rows, args, expected
) -> None:
    path = write_csv(tmp_path / "bad.csv", header, rows)
    code, out, err = run(monkeypatch, capsys, "evidence", "pool", str(path), *args)
    assert code == 2
    assert err.startswith("error: ")
    assert expected in err
    assert "Traceback" not in err + out
    if "use it with --measure PLO" not in expected:  # refused before the file is read
        assert str(path) in err


def test_missing_file_and_unknown_measure(monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    code, _, err = run(
        monkeypatch, capsys, "evidence", "pool", str(tmp_path / "none.csv"), "--measure", "PLO"
    )
    assert code == 2 and "no such file" in err
    code, _, err = run(
        monkeypatch, capsys, "evidence", "pool", str(tmp_path / "none.csv"), "--measure", "OR"
    )
    assert code == 2 and "Traceback" not in err


def test_jak_dm_command(monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The bundled response rows are 3/3, 11/11, 10/10, 5/10, 18/20. R:
    ``rma.glmm(measure="PLO", xi=c(3,11,10,5,18), ni=c(3,11,10,10,20))`` -> 0.9482 (0.5495 to
    0.9964)."""
    code, out, err = run(monkeypatch, capsys, "evidence", "jak-dm", "--out", str(tmp_path / "r"))
    assert code == 0, err
    assert "pooled response (GLMM, k = 5): 0.948 (95% CI 0.549 to 0.996)" in out
    html = (tmp_path / "r" / "report.html").read_text()
    assert "<svg" in html and "doi.org/10.1002/art.41602" in html
    # the forest plot shows the primary model's diamond with the weighted REML one
    svg = html[html.index("<svg") : html.index("</svg>")]
    assert "Binomial-normal GLMM (primary) (k = 5)" in svg and "0.95 [0.55, 1.00]" in svg
    assert "Weights are within each subgroup" in svg
    assert html.count("<svg") == 2 and "Funnel plot (logit REML)" in html
    assert all(
        (tmp_path / "r" / f"{n}.{x}").stat().st_size
        for n in ("forest", "funnel")
        for x in ("svg", "png")
    )
    # every study of the table is cited by DOI or PMID in the report
    assert html.count("doi.org/") + html.count("pubmed.ncbi.nlm.nih.gov/") >= 8
    assert "not retrieved)" not in html
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["by_drug"]["tofacitinib"]["k"] == 3


def test_pool_help_explains_hksj_and_modified_hksj(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """The issue asks for the modified HKSJ for few studies: --hksj-modified is metafor's
    test="adhoc" (pinned in test_pool_hksj_modified_flag), --hksj is test="knha"."""
    code, out, _ = run(monkeypatch, capsys, "evidence", "pool", "--help")
    assert code == 0
    text = " ".join(out.replace("│", " ").split())
    assert "--hksj-modified" in text and "Modified HKSJ for few studies" in text
    assert "test='adhoc'" in text and "test='knha'" in text
