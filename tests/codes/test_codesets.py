"""Code sets against shared/reference/codes.md (the project's code reference) and the label
sources recorded in data/label_doses.csv."""

from __future__ import annotations

import datetime as dt

import pytest

from myositis.codes import (
    FREQUENCIES,
    codes_by_system,
    frequency_per_day,
    label_dose,
    label_doses,
    load_codeset,
    normalise_icd,
    roles,
)
from myositis.errors import InvalidInputError

# codes.md: "DM: M33.00-M33.03, M33.09, M33.10-M33.13, M33.19, M33.90-M33.93, M33.99."
DM_ICD10 = {f"M33.{fourth}{fifth}" for fourth in "019" for fifth in "01239"}


def test_roles_are_the_documented_ones() -> None:
    assert roles() == [
        "dm_diagnosis",
        "polymyositis",
        "dm_neoplastic",
        "jak_inhibitor",
        "tyk2_inhibitor",
        "jak_topical_exclude",
        "lab_ck",
        "lab_aldolase",
    ]


def test_dm_codes_are_exactly_those_of_codes_md() -> None:
    grouped = codes_by_system(load_codeset("dm_diagnosis"))
    assert set(grouped["ICD10CM"]) == DM_ICD10
    assert len(DM_ICD10) == 15
    assert grouped["ICD9CM"] == ["710.3"]
    assert set(grouped["SNOMED"]) == {"396230008", "402425006", "238935002", "239901009", "1212005"}
    assert set(grouped["OMOP"]) == {"80182", "4270868", "4081250", "4344161", "4005037"}


def test_polymyositis_and_m36_are_kept_apart_from_dm() -> None:
    pm = codes_by_system(load_codeset("polymyositis"))
    assert set(pm["ICD10CM"]) == {"M33.20", "M33.21", "M33.22", "M33.29"}  # no M33.23
    assert pm["ICD9CM"] == ["710.4"]
    assert [c.code for c in load_codeset("dm_neoplastic")] == ["M36.0"]
    dm = {c.code for c in load_codeset("dm_diagnosis")}
    assert not dm & {"M33.20", "M33.21", "M33.22", "M33.29", "M36.0", "710.4"}


def test_without_myopathy_codes_are_valid_only_from_october_2022() -> None:
    for code in load_codeset("dm_diagnosis"):
        if code.system == "ICD10CM" and code.code.endswith("3"):
            assert code.valid_from == dt.date(2022, 10, 1), code
        else:
            assert code.valid_from is None, code


def test_jak_set_has_both_atc_versions_and_excludes_topical_ruxolitinib() -> None:
    jak = load_codeset("jak_inhibitor")
    atc = {(c.display, c.code) for c in jak if c.system == "ATC"}
    # codes.md: WHO moved the JAK inhibitors from L04AA to L04AF in 2024
    for pair in [
        ("tofacitinib", "L04AF01"),
        ("tofacitinib", "L04AA29"),
        ("baricitinib", "L04AF02"),
        ("baricitinib", "L04AA37"),
        ("upadacitinib", "L04AF03"),
        ("upadacitinib", "L04AA44"),
        ("ruxolitinib", "L01EJ01"),
    ]:
        assert pair in atc
    rxnorm = {c.display: c.code for c in jak if c.system == "RXNORM"}
    assert rxnorm["tofacitinib"] == "1357536"
    assert rxnorm["ruxolitinib"] == "1193326"
    assert "D11AH09" not in {c.code for c in jak}
    assert [(c.system, c.code) for c in load_codeset("jak_topical_exclude")] == [("ATC", "D11AH09")]


def test_lab_codes() -> None:
    assert {c.code for c in load_codeset("lab_ck")} == {"2157-6", "3007220"}
    aldolase = {c.code: c for c in load_codeset("lab_aldolase")}
    assert aldolase["1761-6"].status == "confirmed"  # ARUP and Mayo list LOINC 1761-6


def test_every_code_has_a_source_and_a_status() -> None:
    for role in roles():
        for code in load_codeset(role):
            assert code.source.strip(), code
            assert code.status in ("confirmed", "check"), code


def test_unknown_role_names_the_known_ones() -> None:
    with pytest.raises(InvalidInputError, match="dm_diagnosis"):
        load_codeset("dermatomyositis")


@pytest.mark.parametrize(
    ("raw", "system", "expected"),
    [
        ("M3310", "ICD10CM", "M33.10"),
        ("m33.10", "ICD10CM", "M33.10"),
        (" M33.13 ", "ICD10CM", "M33.13"),
        ("M33", "ICD10CM", "M33"),
        ("M360", "ICD10CM", "M36.0"),
        ("J45909", "ICD10CM", "J45.909"),
        ("7103", "ICD9CM", "710.3"),
        ("710.3", "ICD9CM", "710.3"),
        ("25000", "ICD9CM", "250.00"),
        ("V700", "ICD9CM", "V70.0"),
        ("E8000", "ICD9CM", "E800.0"),  # ICD-9-CM E codes have a 4-character category
        ("E800", "ICD10CM", "E80.0"),
    ],
)
def test_normalise_icd(raw: str, system: str, expected: str) -> None:
    assert normalise_icd(raw, system=system) == expected


@pytest.mark.parametrize("raw", ["", "M3", "M33.1.0", "M33-10", "M 33 ?"])
def test_normalise_icd_rejects_what_is_not_a_code(raw: str) -> None:
    with pytest.raises(InvalidInputError, match="not an ICD10CM code"):
        normalise_icd(raw)


def test_label_doses_from_the_labels() -> None:
    # FDA XELJANZ: 5 mg twice daily or XR 11 mg once daily (RA, PsA)
    assert label_dose("tofacitinib", "IR") == 10.0
    assert label_dose("tofacitinib", "ER") == 11.0
    assert label_dose("tofacitinib", "IR", indication="PsA") == 10.0
    # FDA OLUMIANT 2 mg once daily; EU SmPC 4 mg once daily
    assert label_dose("baricitinib", "IR") == 2.0
    assert label_dose("baricitinib", "IR", region="EU") == 4.0
    # FDA RINVOQ 15 mg once daily (extended-release tablets)
    assert label_dose("upadacitinib", "ER") == 15.0
    # Jakafi: platelet-based starting dose, no single label dose
    assert label_dose("ruxolitinib", "IR") is None
    assert label_dose("filgotinib", "IR") is None
    assert all(row.source for row in label_doses())


def test_frequency_per_day() -> None:
    expected = {"QD": 1, "BID": 2, "TID": 3, "QID": 4, "QW": 1 / 7, "Q2W": 1 / 14, "Q4W": 1 / 28}
    for code, per_day in expected.items():
        assert frequency_per_day(code) == pytest.approx(per_day, rel=1e-15)
    assert frequency_per_day("bid") == 2.0
    assert frequency_per_day("ONCE") == 1.0
    assert set(FREQUENCIES) == {*expected, "ONCE"}


def test_seed_doses_against_the_label() -> None:
    """Min 2022: 10 of 11 patients needed more than the RA/PsA label dose (5 mg twice daily or
    11 mg ER once daily); 10 mg twice daily and 11 mg ER twice daily are above it."""
    label_ir, label_er = label_dose("tofacitinib", "IR"), label_dose("tofacitinib", "ER")
    assert label_ir is not None and label_er is not None
    assert 5 * frequency_per_day("BID") == label_ir
    assert 10 * frequency_per_day("BID") > label_ir
    assert 11 * frequency_per_day("BID") > label_er
    assert 11 * frequency_per_day("QD") == label_er


def test_unknown_frequency_is_an_error_naming_the_allowed_codes() -> None:
    with pytest.raises(InvalidInputError, match="QD, BID"):
        frequency_per_day("daily")
