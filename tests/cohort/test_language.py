"""The cohort language on a hand-made registry (tests/cohort/language_cases.py): each case's
attrition and members as counted by hand, and the models' refusals naming the field."""

from __future__ import annotations

import pyarrow as pa
import pytest
from ibis import BaseBackend

from cohort.language_cases import CASES, ROWS
from myositis.cohort.language import Cohort
from myositis.cohort.run import run_cohort
from myositis.registry import append_arrow, arrow_schema, create_registry


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> BaseBackend:
    con = create_registry(tmp_path_factory.mktemp("language") / "r.duckdb")
    for name, rows in ROWS.items():
        schema = arrow_schema(name)
        full = [{f.name: row.get(f.name) for f in schema} for row in rows]
        append_arrow(con, name, pa.Table.from_pylist(full, schema=schema))
    return con


@pytest.mark.parametrize("case", sorted(CASES))
def test_case_gives_the_hand_counted_attrition_and_members(con: BaseBackend, case: str) -> None:
    mapping, remaining, members = CASES[case]
    run = run_cohort(con, Cohort.model_validate(mapping))
    assert [s.remaining for s in run.attrition] == remaining
    found = [(r["person_id"], r["index_date"], r["exit_date"]) for r in run.members.to_pylist()]
    assert found == members
    assert run.persons == len({m[0] for m in members})


def test_the_json_form_of_a_run(con: BaseBackend) -> None:
    mapping, _, _ = CASES["rules"]
    run = run_cohort(con, Cohort.model_validate(mapping))
    assert run.as_dict() == {
        "persons": 1,
        "attrition": [
            {"label": "Persons in the registry", "remaining": 8},
            {"label": "DM on 2 distinct dates", "remaining": 4},
            {"label": "Systemic JAK inhibitor", "remaining": 3},
            {"label": "Active skin or CK above 2 x ULN", "remaining": 3},
            {"label": "No cancer in the year before", "remaining": 2},
            {"label": "Women aged 18 to 65", "remaining": 1},
        ],
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"entry": {"events": [{"domain": "diagnosis", "concept_set": "nope"}]}},
            "entry.events.0: concept set 'nope' is not defined",
        ),
        (
            {"entry": {"events": [{"domain": "diagnosis", "concept_set": "dm", "test": "ck"}]}},
            "test cannot be used with domain 'diagnosis'",
        ),
        (
            {"inclusion": [{"label": "x", "type": "at_least", "criteria": []}]},
            "a group needs at least one criterion",
        ),
        (
            {
                "inclusion": [
                    {
                        "label": "x",
                        "criteria": [
                            {
                                "domain": "laboratory",
                                "test": "ck",
                                "start_window": {"start": 5, "end": -5},
                            }
                        ],
                    }
                ]
            },
            "impossible window: start (5) is after end (-5)",
        ),
        ({"exit": {"strategy": "drug_era"}}, "strategy 'drug_era' needs concept_set"),
        (
            {"concept_sets": {"dm": {"items": [{"system": "ICD11", "code": "x"}]}}},
            "unknown code system 'ICD11'",
        ),
    ],
)
def test_the_models_refuse_naming_the_problem(change: dict[str, object], message: str) -> None:
    base: dict[str, object] = {
        "concept_sets": {"dm": {"items": [{"system": "ICD10CM", "code": "M33"}]}},
        "entry": {"events": [{"domain": "diagnosis", "concept_set": "dm"}]},
    }
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Cohort.model_validate(base | change)


def test_outcomes_at_baseline_and_follow_up(con: BaseBackend) -> None:
    """CDASI activity closest to week 24 (day 168) against the baseline closest to the index,
    and CK as a multiple of its ULN: 1 has CDASI 20 on day -10 and 12 on day 184 (change -8);
    3, 5 and 8 have a baseline only; 4 has neither. CK: 900/200 = 4.5 on day -5 for 1,
    500/200 = 2.5 on day -7 for 3, 700/200 = 3.5 on day -12 for 8."""
    mapping = dict(CASES["observation"][0])
    mapping["outcomes"] = [
        {
            "name": "cdasi",
            "instrument": "cdasi",
            "measure": "activity",
            "followup": {"start": 1, "end": 365},
            "at_day": 168,
        },
        {
            "name": "ck",
            "test": "ck",
            "scale": "times_uln",
            "baseline": {"start": -60, "end": 0},
        },
    ]
    run = run_cohort(con, Cohort.model_validate(mapping))
    rows = {r["person_id"]: r for r in run.members.to_pylist()}
    assert [(p, r["cdasi_baseline"], r["cdasi_baseline_day"]) for p, r in rows.items()] == [
        (1, 20.0, -10),
        (3, 18.0, -12),
        (4, None, None),
        (5, 25.0, -12),
        (8, 12.0, -17),
    ]
    assert (rows[1]["cdasi_followup"], rows[1]["cdasi_followup_day"]) == (12.0, 184)
    assert rows[1]["cdasi_change"] == -8.0
    assert [rows[p]["cdasi_change"] for p in (3, 4, 5, 8)] == [None] * 4
    assert [rows[p]["ck_baseline"] for p in (1, 3, 4, 5, 8)] == [4.5, 2.5, None, None, 3.5]
