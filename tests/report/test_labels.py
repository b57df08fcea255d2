"""Display labels: one table of words per kind of code (myositis.report.labels)."""

from __future__ import annotations

from myositis.codes import roles
from myositis.registry.schema import DM_SUBTYPES, SEXES
from myositis.report.labels import TABLES, criterion, label, measure


def test_codes_in_words() -> None:
    assert [label(s, "sex") for s in SEXES] == ["Female", "Male", "Unknown"]
    assert label("classic_active_myositis", "subtype") == "Classic DM with active myositis"
    assert label("juvenile_postmyopathic", "subtype") == "Juvenile DM, postmyopathic"
    assert (
        label("end_of_treatment", "monotherapy_at") == "on the last day of JAK-inhibitor treatment"
    )
    assert label("ICD10CM", "code_system") == "ICD-10-CM"
    assert label("no adult label dose comparison (child)", "dose_status") == "Child: not compared"
    assert measure("pruritus_nrs", "score") == "Itch (pruritus) numeric rating scale, 0-10"


def test_every_registry_code_has_words() -> None:
    """Every subtype and sex of the data model, and every code-set role shipped in
    myositis.codes, has its own words (none falls back to the identifier)."""
    assert set(DM_SUBTYPES) <= set(TABLES["subtype"])
    assert set(SEXES) <= set(TABLES["sex"])
    assert set(roles()) <= set(TABLES["code_list"])


def test_a_value_without_words_is_shown_readably_never_dropped() -> None:
    assert label("new_subtype", "subtype") == "new subtype"
    assert label(None, "sex") == "-"
    assert measure("vas_fatigue", "score") == "vas fatigue score"


def test_attrition_criteria_in_words() -> None:
    """The criteria cohort.build writes, as the report shows them."""
    assert criterion("code in dm_diagnosis on >= 2 distinct date(s)") == (
        "code in dermatomyositis diagnosis codes on \u2265 2 distinct date(s)"
    )
    assert criterion(
        "exposure in jak_inhibitor, tofacitinib (excluding jak_topical_exclude, formulations "
        "TOP, INJ, routes topical); index = first start"
    ) == (
        "exposure in systemic JAK-inhibitor codes, tofacitinib (excluding topical "
        "JAK-inhibitor codes (ruxolitinib cream), formulations topical, injection, routes "
        "topical); index = first start"
    )
    assert criterion("last follow-up CK <= ULN") == "last follow-up CK \u2264 ULN"
