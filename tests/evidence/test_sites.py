"""Multi-site packages: suppression, refusal of row-level content, checksums, spec hashes and
pooling across sites (pooled values pinned to metafor on the same aggregates)."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from myositis.cli import main
from myositis.errors import SitePackageError
from myositis.network.combine import combine_packages
from myositis.network.packages import (
    canonical_bytes,
    read_site_package,
    write_site_package,
)

SPEC = hashlib.sha256(b"synthetic study specification").hexdigest()
OTHER = hashlib.sha256(b"another specification").hexdigest()

SITES = {
    "Boston": {
        "counts": {"responders": {"count": 12, "denominator": 30}},
        "means": {"cdasi_change": {"mean": -10.2, "sd": 7.1, "n": 28}},
        "rates": {"zoster": {"events": 3, "person_time": 41.5}},
    },
    "Paris": {
        "counts": {"responders": {"count": 20, "denominator": 41}},
        "means": {"cdasi_change": {"mean": -12.0, "sd": 8.0, "n": 40}},
        "rates": {"zoster": {"events": 6, "person_time": 60.0}},
    },
    "Tokyo": {
        "counts": {"responders": {"count": 9, "denominator": 25}},
        "means": {"cdasi_change": {"mean": -8.0, "sd": 6.0, "n": 22}},
        "rates": {"zoster": {"events": 7, "person_time": 30.0}},
    },
}


def packages(tmp_path: Path, spec: dict[str, str] | None = None) -> list[Path]:
    return [
        write_site_package(
            agg, tmp_path / f"{site}.json", spec_hash=(spec or {}).get(site, SPEC), site=site
        )
        for site, agg in SITES.items()
    ]


def test_package_layout_and_checksum(tmp_path: Path) -> None:
    path = packages(tmp_path)[1]
    content = json.loads(path.read_text())
    assert content["format"] == "myositis-site-package"
    assert content["spec_hash"] == SPEC and content["site"] == "Paris"
    assert content["small_cell_threshold"] == 5
    assert content["software"]["name"] == "myositis-outcomes"
    body = {k: v for k, v in content.items() if k != "checksum"}
    expected = hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    assert content["checksum"] == {"algorithm": "sha256", "value": expected}
    assert canonical_bytes(body).startswith(b'{"aggregates":')
    assert read_site_package(path).aggregates["counts"]["responders"] == {
        "count": 20,
        "denominator": 41,
    }


def test_small_cells_and_their_complements_are_suppressed(tmp_path: Path) -> None:
    agg = {
        "counts": {
            "small": {"count": 3, "denominator": 30},
            "complement_small": {"count": 27, "denominator": 30},
            "zero": {"count": 0, "denominator": 30},
            "tiny_denominator": {"count": 2, "denominator": 4},
            "fine": {"count": 5, "denominator": 10},
            "amyopathic": {"count": 3, "denominator": 30, "partition": "subtype"},
            "classic": {"count": 10, "denominator": 30, "partition": "subtype"},
            "juvenile": {"count": 17, "denominator": 30, "partition": "subtype"},
        },
        "means": {"small_mean": {"mean": 1.0, "sd": 0.5, "n": 4}},
        "rates": {"few_events": {"events": 4, "person_time": 12.0}},
    }
    path = write_site_package(agg, tmp_path / "s.json", spec_hash=SPEC, site="A")
    counts = json.loads(path.read_text())["aggregates"]["counts"]
    assert counts["small"] == {"count": None, "denominator": 30, "suppressed": ["count"]}
    assert counts["complement_small"]["count"] is None
    assert counts["zero"] == {"count": 0, "denominator": 30}
    assert counts["tiny_denominator"]["suppressed"] == ["count", "denominator"]
    assert counts["fine"] == {"count": 5, "denominator": 10}
    # 3 is hidden; 10 + 17 would reveal it (30 - 27), so the next smallest (10) is hidden too.
    assert counts["amyopathic"]["count"] is None
    assert counts["classic"]["count"] is None
    assert counts["juvenile"]["count"] == 17
    content = json.loads(path.read_text())["aggregates"]
    assert content["means"]["small_mean"]["suppressed"] == ["mean", "n", "sd"]
    assert content["rates"]["few_events"] == {
        "events": None,
        "person_time": 12.0,
        "suppressed": ["events"],
    }
    threshold_11 = write_site_package(
        agg, tmp_path / "t.json", spec_hash=SPEC, site="A", threshold=11
    )
    assert json.loads(threshold_11.read_text())["aggregates"]["counts"]["fine"]["count"] is None


@pytest.mark.parametrize(
    ("aggregates", "message"),
    [
        ([{"patient": 1, "cdasi": 20}], "row-level"),
        ({"counts": {"responders": {"count": [1, 0, 1], "denominator": 3}}}, "row-level"),
        ({"rows": {"x": {"count": 1, "denominator": 2}}}, "unknown aggregate section"),
        ({"means": {"patient_017": {"mean": 20.0, "sd": 0.0, "n": 1}}}, "one person's record"),
        (
            {"counts": {"r": {"count": 1, "denominator": 9, "dob": "1970-01-01"}}},
            "unexpected field",
        ),
        ({"counts": {"r": {"count": 10, "denominator": 9}}}, "larger than its denominator"),
        ({"counts": {"r": {"count": 2.5, "denominator": 9}}}, "whole number"),
        ({"means": {"m": {"mean": 1.0, "sd": -1.0, "n": 9}}}, "SD cannot be negative"),
        ({"rates": {"r": {"events": 9, "person_time": 0}}}, "person-time must be above 0"),
        ({}, "nothing to share"),
    ],
)
def test_refuses_what_is_not_an_aggregate(tmp_path: Path, aggregates, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SitePackageError, match=message):
        write_site_package(aggregates, tmp_path / "x.json", spec_hash=SPEC, site="A")
    assert not (tmp_path / "x.json").exists()


def test_refuses_numpy_arrays_and_bad_hashes(tmp_path: Path) -> None:
    with pytest.raises(SitePackageError, match="row-level"):
        write_site_package(
            {"means": {"m": {"mean": np.arange(3), "sd": 1.0, "n": 9}}},
            tmp_path / "x.json",
            spec_hash=SPEC,
            site="A",
        )
    with pytest.raises(SitePackageError, match="SHA-256"):
        write_site_package(SITES["Paris"], tmp_path / "x.json", spec_hash="v1", site="A")


def test_tampered_package_fails_checksum(tmp_path: Path) -> None:
    path = packages(tmp_path)[0]
    content = json.loads(path.read_text())
    content["aggregates"]["counts"]["responders"]["count"] = 13
    path.write_text(json.dumps(content))
    with pytest.raises(SitePackageError, match="checksum mismatch"):
        read_site_package(path)


def test_combine_pools_sites_like_metafor(tmp_path: Path) -> None:
    """R, on the same aggregates:
    ``rma(yi, vi, data=escalc("PLO", xi=c(12,20,9), ni=c(30,41,25)))`` and method="EE";
    ``escalc("MN", mi=c(-10.2,-12,-8), sdi=c(7.1,8,6), ni=c(28,40,22))``; zoster (Boston's
    3 events suppressed): ``escalc("IRLN", xi=c(6,7), ti=c(60,30))``, back-transformed."""
    result = combine_packages(packages(tmp_path), tmp_path / "out")
    responders = result["analyses"]["responders"]
    assert responders["random"]["k"] == 3
    assert responders["common"]["estimate"] == pytest.approx(REF["prop_ee"], rel=1e-7)
    assert responders["random"]["estimate"] == pytest.approx(REF["prop_reml"], rel=1e-7)
    means = result["analyses"]["cdasi_change"]
    assert means["random"]["estimate"] == pytest.approx(REF["mn_reml"], rel=1e-7)
    assert means["random"]["tau2"] == pytest.approx(REF["mn_tau2"], rel=1e-6, abs=1e-12)
    zoster = result["analyses"]["zoster"]
    assert zoster["excluded"] == ["Boston (suppressed)"]
    assert zoster["common"]["estimate"] == pytest.approx(REF["rate_ee"], rel=1e-7)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "Boston (suppressed)" in html and html.count("<svg") == 3
    assert json.loads((tmp_path / "out" / "combined.json").read_text())["spec_hash"] == SPEC


def test_combine_refuses_other_study_and_duplicates(tmp_path: Path) -> None:
    paths = packages(tmp_path, {"Tokyo": OTHER})
    with pytest.raises(SitePackageError, match="different study specifications"):
        combine_packages(paths, tmp_path / "out")
    same = packages(tmp_path)
    with pytest.raises(SitePackageError, match="appears twice"):
        combine_packages([same[0], same[0]], tmp_path / "out")
    with pytest.raises(SitePackageError, match="at least 2"):
        combine_packages([same[0]], tmp_path / "out")


def test_combine_cli_reports_spec_hash_error(monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = packages(tmp_path, {"Tokyo": OTHER})
    monkeypatch.setattr(
        sys,
        "argv",
        ["myositis", "evidence", "combine", *map(str, paths), "--out", str(tmp_path / "o")],
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert "different study specifications" in err and str(paths[2]) in err
    assert "Traceback" not in err


def test_combine_cli_success(monkeypatch, capsys, tmp_path) -> None:  # type: ignore[no-untyped-def]
    paths = packages(tmp_path)
    monkeypatch.setattr(
        sys,
        "argv",
        ["myositis", "evidence", "combine", *map(str, paths), "--out", str(tmp_path / "o")],
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    out = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "3 site packages verified" in out
    assert (tmp_path / "o" / "report.html").exists()


# R (metafor 3.8-1) output for the calls in test_combine_pools_sites_like_metafor: the
# proportions have tau^2 = 0 under REML, so common and random estimates coincide.
REF: dict[str, float] = {
    "prop_ee": 0.427960438694,
    "prop_reml": 0.427960438694,
    "mn_reml": -10.07077750598,
    "mn_tau2": 2.45112581799,
    "rate_ee": 0.157812480425,
}


def test_read_refuses_inconsistent_suppression_even_with_a_valid_checksum(tmp_path: Path) -> None:
    """A package rewritten by hand with a recomputed checksum is still checked."""
    from myositis.network.packages import checksum

    path = packages(tmp_path)[0]
    content = json.loads(path.read_text())
    content["aggregates"]["counts"]["responders"]["suppressed"] = ["count"]
    content["checksum"]["value"] = checksum(content)
    path.write_text(json.dumps(content))
    with pytest.raises(SitePackageError, match="'suppressed' list"):
        read_site_package(path)
    content["aggregates"]["counts"]["responders"].pop("suppressed")
    content["small_cell_threshold"] = "five"
    content["checksum"]["value"] = checksum(content)
    path.write_text(json.dumps(content))
    with pytest.raises(SitePackageError, match="small_cell_threshold"):
        read_site_package(path)
    path.write_text("{not json")
    with pytest.raises(SitePackageError, match="not a JSON site package"):
        read_site_package(path)


def test_combine_totals_are_the_all_sites_values(tmp_path: Path) -> None:
    """Totals: sums of counts and denominators; means combined into the mean and SD of all
    sites' patients together; no total where a site's value is suppressed."""
    result = combine_packages(packages(tmp_path), tmp_path / "out")
    assert result["analyses"]["responders"]["total"] == {
        "count": 41,
        "denominator": 96,
        "proportion": 41 / 96,
    }
    assert result["analyses"]["zoster"]["total"] is None  # Boston's 3 events are hidden
    total = result["analyses"]["cdasi_change"]["total"]
    assert total["n"] == 90
    assert total["mean"] == pytest.approx((28 * -10.2 + 40 * -12.0 + 22 * -8.0) / 90, rel=1e-12)
    html = (tmp_path / "out" / "report.html").read_text()
    assert "All sites (total)" in html and "41/96" in html


def test_site_total_of_means_equals_the_pooled_rows() -> None:
    """The combined mean and SD (divisor N - 1) are those of the union of the sites' rows."""
    from myositis.network.combine import site_total

    rows = [
        np.array([12.0, 15.0, 9.0, 20.0, 11.0, 13.0]),
        np.array([30.0, 8.0, 17.0, 22.0, 19.0]),
        np.array([5.0, 14.0, 16.0, 10.0, 12.0, 18.0, 21.0]),
    ]
    cells = [{"mean": r.mean(), "sd": r.std(ddof=1), "n": r.size} for r in rows]
    total = site_total("means", cells)
    everything = np.concatenate(rows)
    assert total["n"] == everything.size
    assert total["mean"] == pytest.approx(everything.mean(), rel=1e-12)
    assert total["sd"] == pytest.approx(everything.std(ddof=1), rel=1e-12)
    rates = site_total(
        "rates",
        [
            {"events": 6, "person_time": 60.0, "persons": 40},
            {"events": 7, "person_time": 30.0, "persons": 22},
        ],
    )
    assert rates == {"events": 13, "person_time": 90.0, "rate": 13 / 90, "persons": 62}
    with pytest.raises(SitePackageError, match="suppressed"):
        site_total("counts", [{"count": None, "denominator": 30}, {"count": 5, "denominator": 9}])


def test_person_time_of_few_persons_is_suppressed(tmp_path: Path) -> None:
    """Person-time of 1-4 persons is (nearly) their time on treatment: a rate with ``persons``
    below the threshold hides events, person-time and persons, even with 0 events."""
    agg = {
        "rates": {
            "one_person": {"events": 0, "person_time": 2.25, "persons": 1},
            "many": {"events": 0, "person_time": 30.5, "persons": 12},
        }
    }
    path = write_site_package(agg, tmp_path / "s.json", spec_hash=SPEC, site="A")
    rates = json.loads(path.read_text())["aggregates"]["rates"]
    assert rates["one_person"] == {
        "events": None,
        "person_time": None,
        "persons": None,
        "suppressed": ["events", "person_time", "persons"],
    }
    assert rates["many"] == {"events": 0, "person_time": 30.5, "persons": 12}
    assert read_site_package(path).aggregates["rates"]["one_person"]["persons"] is None
    with pytest.raises(SitePackageError, match=r"persons: must be above 0"):
        write_site_package(
            {"rates": {"r": {"events": 1, "person_time": 3.0, "persons": 0}}},
            tmp_path / "x.json",
            spec_hash=SPEC,
            site="A",
        )


def _combine_cli(monkeypatch, capsys, tmp_path, *paths):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(
        sys,
        "argv",
        ["myositis", "evidence", "combine", *map(str, paths), "--out", str(tmp_path / "o")],
    )
    with pytest.raises(SystemExit) as exit_info:
        main()
    out, err = capsys.readouterr()
    return exit_info.value.code, out, err


@pytest.mark.parametrize("case", ["one", "duplicate", "tampered", "missing", "not_a_package"])
def test_combine_cli_bad_input_exits_2_with_a_clear_message(  # type: ignore[no-untyped-def]
    monkeypatch, capsys, tmp_path, case
) -> None:
    paths = packages(tmp_path)
    expected = {
        "one": "combining needs at least 2 site packages; got 1",
        "duplicate": "site 'Boston' appears twice",
        "tampered": "checksum mismatch",
        "missing": "no such file",
        "not_a_package": "not a myositis-site-package file",
    }[case]
    if case == "one":
        args = paths[:1]
    elif case == "duplicate":
        args = [paths[0], paths[0]]
    elif case == "tampered":
        content = json.loads(paths[1].read_text())
        content["aggregates"]["means"]["cdasi_change"]["n"] = 41
        paths[1].write_text(json.dumps(content))
        args = paths
    elif case == "missing":
        args = [paths[0], tmp_path / "absent.json"]
    else:
        (tmp_path / "other.json").write_text('{"k": 3}')
        args = [paths[0], tmp_path / "other.json"]
    code, out, err = _combine_cli(monkeypatch, capsys, tmp_path, *args)
    assert code == 2
    assert err.startswith("error: ") and expected in err
    assert "Traceback" not in out + err
    assert not (tmp_path / "o" / "report.html").exists()


def test_a_site_with_sd_zero_is_shown_and_totalled_but_not_weighted(tmp_path: Path) -> None:
    """A mean with SD 0 (every patient had the same value) has no inverse-variance weight:
    combine leaves that site out of the pooled models, says why, and still gives the
    all-sites total (n 17, mean (8*3 + 9*4)/17, SD from the within and between sums of
    squares: sqrt((0 + 8*1 + 8*(3-m)^2 + 9*(4-m)^2) / 16))."""
    spec = "a" * 64
    write_site_package(
        {"means": {"m": {"mean": 3.0, "sd": 0.0, "n": 8}}},
        tmp_path / "1.json",
        spec_hash=spec,
        site="one",
    )
    write_site_package(
        {"means": {"m": {"mean": 4.0, "sd": 1.0, "n": 9}}},
        tmp_path / "2.json",
        spec_hash=spec,
        site="two",
    )
    combined = combine_packages([tmp_path / "1.json", tmp_path / "2.json"], tmp_path / "out")
    entry = combined["analyses"]["m"]
    assert entry["random"] is None and entry["common"] is None
    assert entry["excluded"] == ["one (SD 0: no sampling variance to weight by)"]
    m = 60 / 17
    assert entry["total"]["n"] == 17 and entry["total"]["mean"] == pytest.approx(m, rel=1e-12)
    sd = ((8 + 8 * (3 - m) ** 2 + 9 * (4 - m) ** 2) / 16) ** 0.5
    assert entry["total"]["sd"] == pytest.approx(sd, rel=1e-12)
