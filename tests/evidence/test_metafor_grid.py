"""Every measure x method x inference of ``myositis evidence pool --json``, pinned to R metafor.

Each row of ``data/metafor_pool.csv`` is what R 4.2 / metafor 3.8-1 printed
(``sprintf("%.15g")``, one line per model, written by the script below) for the same data
(dat.pritz1997 for PR/PLO/PFT, the synthetic mean changes of ``conftest.MN_ROWS`` for MN,
dat.bcg log risk ratios for GEN); ``pi`` is ``NA`` where metafor's ``predict()`` gives none
(equal-effects models)::

    library(metafor)
    row <- function(res, p) c(res$k, p$pred, res$se, p$ci.lb, p$ci.ub, p$pi.lb, p$pi.ub,
                              res$tau2, res$I2, res$QE, res$QEp)
    # PR, PLO, PFT: escalc's default continuity correction (add=1/2, to="only0")
    d <- escalc(measure=m, xi=xi, ni=ni, data=dat.pritz1997)
    res <- rma(yi, vi, data=d, method=meth, test=t)   # t in "z", "knha", "adhoc"
    predict(res)                                        # PR
    predict(res, transf=transf.ilogit)                  # PLO
    predict(res, transf=transf.ipft.hm, targs=list(ni=dat.pritz1997$ni))   # PFT
    # MN: d <- escalc(measure="MN", mi=m, sdi=s, ni=n, data=mn)
    # GEN: d <- escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)

The estimator agrees with metafor's own iterations, so the tolerance is 1e-9 (relative).
The GLMM is pinned in ``test_proportions.test_glmm_against_metafor``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from .conftest import PRITZ_N, PRITZ_X, write_csv
from .test_cli import run

KEYS = ("estimate", "se", "ci_low", "ci_high", "pi_low", "pi_high", "tau2", "i2", "q", "q_pvalue")


def _metafor_rows() -> list[tuple[str, str, str, int, tuple[float | None, ...]]]:
    """``data/metafor_pool.csv``: the R script's output as printed (``NA``: no value)."""
    with open(Path(__file__).parent / "data" / "metafor_pool.csv", encoding="utf-8") as handle:
        return [
            (
                row["measure"],
                row["method"],
                row["test"],
                int(row["k"]),
                tuple(None if row[key] == "NA" else float(row[key]) for key in KEYS),
            )
            for row in csv.DictReader(handle)
        ]


METAFOR = _metafor_rows()


@pytest.mark.parametrize(
    ("measure", "method", "test", "k", "expected"),
    METAFOR,
    ids=[f"{m}-{meth}-{t}" for m, meth, t, *_ in METAFOR],
)
def test_pool_json_equals_metafor(  # type: ignore[no-untyped-def]
    monkeypatch, capsys, pritz_csv, mn_csv, bcg_csv, measure, method, test, k, expected
) -> None:
    """``myositis evidence pool FILE --measure M --method X [--hksj | --hksj-modified]
    --json`` against ``rma(yi, vi, method=X, test=T)`` and ``predict()`` (module docstring)."""
    files: dict[str, Path] = {"MN": mn_csv, "GEN": bcg_csv}
    flag = {"z": [], "knha": ["--hksj"], "adhoc": ["--hksj-modified"]}[test]
    args = ["evidence", "pool", str(files.get(measure, pritz_csv)), "--measure", measure]
    code, out, err = run(monkeypatch, capsys, *args, "--method", method, *flag, "--json")
    assert code == 0, err
    got = json.loads(out)
    assert got["k"] == k
    for key, value in zip(KEYS, expected, strict=True):
        if value is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


def test_pool_json_glmm_equals_metafor(monkeypatch, capsys, pritz_csv) -> None:  # type: ignore[no-untyped-def]
    """``pool --measure PLO --method GLMM --json`` against R: ``res <- rma.glmm(measure="PLO",
    xi=xi, ni=ni, data=dat.pritz1997); p <- predict(res, transf=transf.ilogit)``: k 14,
    pred 0.79844509653, se 0.288387187849, ci 0.692402619996 to 0.874553367603, pi
    0.44258357137 to 0.951841095822, tau2 0.589330901793, I2 67.7897368096, QE.Wld
    25.0979089111 (QEp.Wld 0.0224092755133). lme4 stops its optimiser earlier than this
    module's, hence 2e-5 (relative) for what depends on tau^2."""
    args = ["evidence", "pool", str(pritz_csv), "--measure", "PLO", "--method", "GLMM"]
    code, out, err = run(monkeypatch, capsys, *args, "--json")
    assert code == 0, err
    got = json.loads(out)
    expected = (
        0.79844509653,
        0.288387187849,
        0.692402619996,
        0.874553367603,
        0.44258357137,
        0.951841095822,
        0.589330901793,
        67.7897368096,
        25.0979089111,
        0.0224092755133,
    )
    assert got["k"] == 14
    for key, value in zip(KEYS, expected, strict=True):
        assert got[key] == pytest.approx(value, rel=2e-5), key


def test_subgroups_loo_and_regression_of_proportions_with_modified_hksj(  # type: ignore[no-untyped-def]
    monkeypatch, capsys, tmp_path
) -> None:
    """``pool --measure PLO --by grp --leave-one-out --moderator year --hksj-modified --json``
    on dat.pritz1997 with a grouping and a covariate made up for the test. R::

        dat <- dat.pritz1997
        dat$grp <- c("A","A","B","B","A","B","A","A","B","A","A","B","B","B")
        dat$year <- c(1990,1991,1985,1988,1992,1987,1993,1994,1986,1995,1996,1989,1990,1984)
        d <- escalc(measure="PLO", xi=xi, ni=ni, data=dat)
        rma(yi, vi, data=d, subset=grp=="B", test="adhoc")  # b 0.7723756771, se 0.2563962822,
                                       # tau2 0.2765321763, ci.lb 0.5361857686 (ilogit)
        rma(c(2.1417947603, 0.7723756771), sei=c(0.4039690270, 0.2563962822), method="EE")$QE
                                       # 8.191623612
        leave1out(rma(yi, vi, data=d, test="adhoc"), transf=transf.ilogit)
                                       # without 9: 0.77777777 (0.67495637), tau2 0.26259870
        rma(yi, vi, mods=~year, data=d, test="adhoc")
                                       # -519.5240701 (se 113.9169506), 0.2617951675
                                       # (se 0.05730042168), tau2 0, F 20.87409306
                                       # (p 6.447977892e-04), QE 8.9113234
    """
    years = [1990, 1991, 1985, 1988, 1992, 1987, 1993, 1994, 1986, 1995, 1996, 1989, 1990, 1984]
    groups = "AABBABAABAABBB"
    rows: list[list[object]] = [
        [f"s{i + 1}", x, n, groups[i], years[i]]
        for i, (x, n) in enumerate(zip(PRITZ_X, PRITZ_N, strict=True))
    ]
    path = write_csv(tmp_path / "p.csv", ["study", "events", "n", "grp", "year"], rows)
    args = ["evidence", "pool", str(path), "--measure", "PLO", "--by", "grp", "--leave-one-out"]
    code, out, err = run(
        monkeypatch, capsys, *args, "--moderator", "year", "--hksj-modified", "--json"
    )
    assert code == 0, err
    got = json.loads(out)
    b = got["subgroups"]["B"]
    assert b["se"] == pytest.approx(0.2563962822, rel=1e-8)
    assert b["tau2"] == pytest.approx(0.2765321763, rel=1e-8)
    assert b["ci_low"] == pytest.approx(0.5361857686, rel=1e-8)
    assert got["subgroup_test"]["q"] == pytest.approx(8.191623612, rel=1e-8)
    without9 = next(r for r in got["leave_one_out"] if r["omitted"] == "s9")
    assert without9["estimate"] == pytest.approx(0.77777777, rel=1e-7)
    assert without9["ci_low"] == pytest.approx(0.67495637, rel=1e-7)
    assert without9["tau2"] == pytest.approx(0.26259870, rel=1e-7)
    reg = got["meta_regression"]
    assert reg["coef"] == [
        pytest.approx(-519.5240701, rel=1e-8),
        pytest.approx(0.2617951675, rel=1e-8),
    ]
    assert reg["se"] == [
        pytest.approx(113.9169506, rel=1e-8),
        pytest.approx(0.05730042168, rel=1e-8),
    ]
    assert reg["tau2"] == 0.0
    assert reg["qm"] == pytest.approx(20.87409306, rel=1e-8)
    assert reg["qm_pvalue"] == pytest.approx(6.447977892e-04, rel=1e-7)
    assert reg["q"] == pytest.approx(8.9113234, rel=1e-7)
