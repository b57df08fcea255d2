"""Forest/funnel plots (content, determinism, formats) and the bundled evidence table."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import pytest

from myositis.errors import EvidenceError, MyositisError
from myositis.evidence.plots import forest_figure, forest_svg, funnel_svg
from myositis.evidence.pooling import pool, subgroups
from myositis.evidence.table import (
    NOT_REPORTED,
    NOT_RETRIEVED,
    load_jak_dm_table,
    response_effects,
)
from myositis.report.svg import save_figure

from .conftest import pritz


def test_forest_svg_shows_studies_subgroups_and_intervals(bcg) -> None:  # type: ignore[no-untyped-def]
    svg = forest_svg(subgroups(bcg, "alloc"), title="BCG")
    assert svg.startswith("<svg")
    for text in (
        "Subtotal random (k = 7",
        "Subtotal alternate (k = 2",
        "Random effects, REML",
        "Prediction interval",
        "Test for subgroup differences: Q = 1.86 (df = 2), p = 0.3943",
        "Heterogeneity: Q = 152.23 (df = 12), p &lt; 0.0001",
        "Weights are within each subgroup",
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
    with pytest.raises(MyositisError, match=".svg or .png"):
        save_figure(forest_figure(result), tmp_path / "f.pdf")


#: How the sources write the numbers of the table in words.
_WORDS = {1: "one", 3: "three", 5: "five"}


def _shown(number: int, text: str) -> bool:
    """``number`` appears in ``text`` as a whole number or spelled out."""
    return bool(re.search(rf"(?<![\d.]){number}(?![\d.]|-point)", text)) or (
        number in _WORDS and re.search(rf"\b{_WORDS[number]}\b", text, re.I) is not None
    )


def test_bundled_table_is_sourced_and_quoted() -> None:
    """Every row has a DOI or PMID, and its quotation shows its n, events and denominator
    (18/20 of Wang 2022 is the sum the verification note declares: 15 complete + 3 partial)."""
    records = load_jak_dm_table()
    assert {r.study_id for r in records} >= {"paik2021", "levoyer2021", "wang2022", "min2022"}
    for r in records:
        assert r.quote and r.verification
        assert r.doi != NOT_RETRIEVED or r.pmid != NOT_RETRIEVED, r
        assert _shown(r.n, r.quote) and _shown(r.denominator, r.quote), r
        if r.events is not None and r.events != r.n:
            declared = r.events == 18 and "18 = 15 complete + 3 partial" in r.verification
            assert _shown(r.events, r.quote) or declared, r
    paik = next(r for r in records if r.study_id == "paik2021" and r.pooled)
    assert (paik.events, paik.denominator, paik.pmid) == (10, 10, "33258553")
    assert NOT_REPORTED == "not reported"


def test_sources_are_cited_by_doi_or_pmid_not_by_files_outside_the_repository() -> None:
    """The evidence report shows quote_source and verification beside each quotation; they
    once pointed readers to shared/seed and shared/reference/evidence.md, files no reader of
    the report has. The two rows known only from a secondary report now name that report and
    cite the study by its DOI."""
    for r in load_jak_dm_table():
        for text in (r.quote_source, r.verification, r.citation):
            assert not re.search(r"shared/|\.md\b|\bseed\b", text), (r.study_id, text)
    secondary = {r.study_id: r for r in load_jak_dm_table() if "secondary" in r.quote_source}
    assert sorted(secondary) == ["kurtzman2016", "min2022"]
    assert secondary["min2022"].doi == "10.1016/j.jaad.2021.07.003"
    assert "which cites this study as its reference 2" in secondary["min2022"].quote_source


def test_a_row_without_doi_or_pmid_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (
        resources.files("myositis.evidence").joinpath("data/jak_dm_studies.csv").read_text("utf-8")
    )
    lines = text.splitlines()
    lines[1] = lines[1].replace("10.1001/jamadermatol.2016.0866", NOT_RETRIEVED)

    class Fake:
        def joinpath(self, _: str) -> Fake:
            return self

        def read_text(self, encoding: str) -> str:
            return "\n".join(lines)

    monkeypatch.setattr("myositis.evidence.table.resources.files", lambda _: Fake())
    with pytest.raises(EvidenceError, match="row 1: every row needs a DOI or a PMID"):
        load_jak_dm_table()


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
