"""CDASI change overall and by subtype group; tests that cannot be computed say why."""

from __future__ import annotations

import pytest

from cohort.factories import cohort, patient
from myositis.analysis.cdasi_change import cdasi_change
from myositis.study.spec import spec_from_mapping

SPEC = spec_from_mapping(
    {
        "spec_version": 1,
        "study": {"id": "t", "version": "1", "title": "t"},
        "analysis": {"subtype_groups": {"Amyopathic": ["amyopathic", "hypomyopathic"]}},
    }
)


def test_groups_and_unclassified_patients() -> None:
    """Improvements 10, 14 (amyopathic group) and 5 (no subtype recorded)."""
    patients = [
        patient(1, subtype="amyopathic", baseline_activity=30.0, followup_activity=20.0),
        patient(2, subtype="hypomyopathic", baseline_activity=24.0, followup_activity=10.0),
        patient(3, subtype=None, baseline_activity=15.0, followup_activity=10.0),
    ]
    result = cdasi_change(cohort(patients), SPEC.analysis)
    groups = {g["group"]: g for g in result["by_subtype_group"]}
    assert groups["Amyopathic"]["n"] == 2
    assert groups["Amyopathic"]["improvement"]["mean"] == 12
    assert groups["unclassified"]["improvement"]["mean"] == 5
    assert result["overall"]["improvement"]["mean"] == pytest.approx(29 / 3)
    # Each recorded subtype on its own too (Table 1's order), and the unrecorded one.
    by_subtype = {s["subtype"]: s["improvement"]["mean"] for s in result["by_subtype"]}
    assert list(by_subtype) == ["amyopathic", "hypomyopathic", "not recorded"]
    assert by_subtype == {"amyopathic": 10, "hypomyopathic": 14, "not recorded": 5}


def test_a_single_patient_gives_no_test_and_says_why() -> None:
    result = cdasi_change(cohort([patient(1)]), SPEC.analysis)["overall"]
    assert result["paired_t"] == {
        "computed": False,
        "reason": "paired t-test: needs at least 2 pairs, got 1",
    }
    assert result["improvement"]["sd"] is None
    groups = cdasi_change(cohort([patient(1)]), SPEC.analysis)["by_subtype_group"]
    assert [g["group"] for g in groups] == ["Amyopathic"]
