"""Forest/funnel plots (content, determinism, formats) and the bundled evidence table."""

from __future__ import annotations

from pathlib import Path

import pytest

from myositis.errors import EvidenceError
from myositis.evidence.plots import (
    forest_figure,
    forest_svg,
    funnel_svg,
    save_figure,
)
from myositis.evidence.pooling import pool, subgroups
from myositis.evidence.table import NOT_REPORTED, load_jak_dm_table, response_effects

from .conftest import pritz


def test_forest_svg_shows_studies_subgroups_and_intervals(bcg) -> None:  # type: ignore[no-untyped-def]
    svg = forest_svg(subgroups(bcg, "alloc"), title="BCG")
    assert svg.startswith("<svg")
    for text in (
        "Subtotal random (k = 7",
        "Subtotal alternate (k = 2",
        "Random effects, REML",
        "Prediction interval",
        "Test for subgroup differences: Q = 1.86 (df = 2)",
        "-0.71 [-1.07, -0.36]",
    ):
        assert text in svg, text
    assert svg == forest_svg(subgroups(bcg, "alloc"), title="BCG")  # reproducible output


def test_forest_of_proportions_uses_counts_and_natural_scale() -> None:
    svg = forest_svg(pool(pritz("PLO"), "REML"))
    assert "16/17" in svg and "Events/N" in svg and "0.76 [0.66, 0.83]" in svg


def test_funnel_and_file_formats(tmp_path: Path) -> None:
    effects = pritz("PLO")
    result = pool(effects, "REML")
    assert "Standard error" in funnel_svg(effects, result)
    png = save_figure(forest_figure(result), tmp_path / "f.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(EvidenceError, match=".svg or .png"):
        save_figure(forest_figure(result), tmp_path / "f.pdf")


def test_bundled_table_is_sourced_and_quoted() -> None:
    records = load_jak_dm_table()
    assert {r.study_id for r in records} >= {"paik2021", "levoyer2021", "wang2022", "min2022"}
    for r in records:
        assert r.quote and r.verification
        assert r.doi != "not retrieved" or r.pmid != "not retrieved" or r.citation
        if r.events is not None:
            # every count appears in its quotation (spelled out or as digits), except sums
            # that the verification note declares
            words = {
                1: "One",
                3: "three",
                5: "Five",
                10: "10",
                11: "11",
                15: "15/20",
                18: "15 complete",
            }
            shown = str(r.events) in r.quote or words.get(r.events, "\u0000") in (
                r.quote + r.verification
            )
            assert shown, r
    paik = next(r for r in records if r.study_id == "paik2021" and r.pooled)
    assert (paik.events, paik.denominator, paik.pmid) == (10, 10, "33258553")
    ladislau = next(r for r in records if r.study_id == "ladislau2018")
    assert ladislau.events is None and not ladislau.pooled
    assert NOT_REPORTED == "not reported"


def test_response_rows_by_drug() -> None:
    effects = response_effects(load_jak_dm_table())
    assert effects.study == ("Kurtzman 2016", "Min 2022", "Paik 2021", "Le Voyer 2021", "Wang 2022")
    assert effects.events is not None and effects.events.tolist() == [3, 11, 10, 5, 18]
    assert effects.extra["drug"].count("tofacitinib") == 3


def test_jak_dm_by_drug_against_metafor() -> None:
    """R: ``d <- escalc("PLO", xi=c(3,11,10), ni=c(3,11,10)); rma(yi, vi, data=d,
    test="adhoc")`` -> 0.938830426152433 (0.286321566621784 to 0.998299764596674);
    all five: 0.853601225193578 (0.462238385245036 to 0.975339778677511)."""
    effects = response_effects(load_jak_dm_table())
    by_drug = subgroups(effects, "drug", method="REML", test="adhoc")
    tofa = by_drug.groups["tofacitinib"]
    assert tofa.estimate == pytest.approx(0.938830426152433, rel=1e-7)
    assert tofa.ci_low == pytest.approx(0.286321566621784, rel=1e-7)
    assert by_drug.overall.estimate == pytest.approx(0.853601225193578, rel=1e-7)
    assert by_drug.groups["baricitinib"].k == 1
