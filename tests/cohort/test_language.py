"""The cohort language on a hand-made registry (tests/cohort/language_cases.py): each case's
attrition and members as counted by hand, and the models' refusals naming the field."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pytest
from ibis import BaseBackend

from cohort.language_cases import CASES, CONCEPT_SETS, DM_TWICE, ROWS, D
from conformance.engines import run_cli
from myositis.cohort.language import Cohort, RelativeWindow
from myositis.cohort.run import cohort_sha256, load_cohort, run_cohort
from myositis.registry import append_arrow, arrow_schema, connect, create_registry


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


def test_events_read_for_every_person_are_read_once(
    con: BaseBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entry events that are the events of a persons_with rule (benchmark R2: its DM codes)
    are that rule's rows for the persons passing it (``CompiledCohort.reread``): the codes are
    matched once. By hand (ROWS): DM on 2 distinct dates are persons 1, 3, 7 and 8 (2: one
    code; 4: M33.2, excluded; 5: one date); their DM codes, 2 each, are the entry events."""
    from myositis.cohort.compile import compile_cohort

    monkeypatch.setenv("MYOSITIS_PLAN_CACHE", "off")
    mapping = {
        "concept_sets": CONCEPT_SETS,
        "persons_with": [DM_TWICE],
        "entry": {"events": [{"domain": "diagnosis", "concept_set": "dm"}], "limit": "all"},
        "expression_limit": "all",
    }
    cohort = Cohort.model_validate(mapping)
    compiled = compile_cohort(con, cohort)
    assert len(compiled.reread) == 1
    # the DM prefix is matched in one place of the query (the exclusion, M33.2, likewise)
    assert str(con.compile(compiled.result)).count("'M33'") == 1
    run = run_cohort(con, cohort)
    assert [s.remaining for s in run.attrition] == [8, 4, 4]
    events = compiled.events.select("person_id", "index_date").to_pyarrow().to_pylist()
    assert sorted((e["person_id"], e["index_date"]) for e in events) == [
        (1, dt.date(2019, 1, 1)),
        (1, dt.date(2019, 6, 1)),
        (3, dt.date(2019, 1, 1)),
        (3, dt.date(2019, 2, 1)),
        (7, dt.date(2019, 1, 1)),
        (7, dt.date(2019, 2, 1)),
        (8, dt.date(2019, 1, 1)),
        (8, dt.date(2019, 4, 1)),
    ]


def test_the_json_form_of_a_run(con: BaseBackend) -> None:
    mapping, _, _ = CASES["rules"]
    cohort = Cohort.model_validate(mapping)
    run = run_cohort(con, cohort)
    found = run.as_dict()
    record = found.pop("run")
    # the run's provenance (issue 13 item 6): engine and version as Ibis reports them, the
    # cohort's hash by the spec_sha256 rule (canonical JSON, sorted keys), each step's time
    assert record["engine"] == "duckdb" and record["engine_version"] == con.version
    canonical = json.dumps(cohort.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    assert record["cohort_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert [s["step"] for s in record["steps"]] == ["compile", "run"]
    assert all(s["seconds"] >= 0 for s in record["steps"])
    assert found == {
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
            {"exit": {"censor_window": {"start": "2021-01-01", "end": "2020-01-01"}}},
            "impossible window: start 2021-01-01 is after end 2020-01-01",
        ),
        ({"exit": {"censor_window": {}}}, "give start, end or both"),
        (
            {"entry": {"events": [{"domain": "diagnosis", "concept_set": "dm", "sex": ["W"]}]}},
            "sex codes are",
        ),
        (
            {"concept_sets": {"dm": {"items": [{"system": "ICD11", "code": "x"}]}}},
            "unknown code system 'ICD11'",
        ),
        (
            {"entry": {"events": [{"domain": "diagnosis"}]}},
            "domain 'diagnosis' needs concept_set (or any_code: true for every diagnosis",
        ),
        (
            {"entry": {"events": [{"domain": "diagnosis", "concept_set": "dm", "any_code": True}]}},
            "give either concept_set (these codes) or any_code: true",
        ),
        (
            {"entry": {"events": [{"domain": "laboratory", "test": "ck", "any_code": True}]}},
            "any_code cannot be used with domain 'laboratory'",
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
                                "end_window": {"start": 0, "end": "period_end"},
                            }
                        ],
                    }
                ]
            },
            "inclusion.0: a window end at the observation period (period_start, period_end) "
            "needs the entry to require one (entry.observation: {})",
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
                                "start_window": [{"start": 0}, {"end": "period_end"}],
                            }
                        ],
                    }
                ]
            },
            "inclusion.0: a window end at the observation period (period_start, period_end) "
            "needs the entry to require one (entry.observation: {})",
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
                                "end_window": [{"start": 0}, {"start": 5, "end": -5}],
                            }
                        ],
                    }
                ]
            },
            "impossible window: start (5) is after end (-5)",
        ),
        (
            {
                "inclusion": [
                    {
                        "label": "x",
                        "criteria": [{"domain": "laboratory", "test": "ck", "start_window": []}],
                    }
                ]
            },
            "give at least one window (or leave the field out)",
        ),
        (
            {
                "persons_with": [
                    {
                        "label": "x",
                        "criteria": [
                            {"domain": "laboratory", "test": "ck", "start_window": [{"start": 0}]}
                        ],
                    }
                ]
            },
            "persons_with rules have no index date, so no start_window or end_window",
        ),
        (
            {
                "entry": {
                    "events": [{"domain": "diagnosis", "concept_set": "dm"}],
                    "observation": {},
                },
                "inclusion": [
                    {
                        "label": "x",
                        "criteria": [
                            {
                                "domain": "laboratory",
                                "test": "ck",
                                "start_window": {"start": "period_start", "end": 0},
                                "ignore_observation_period": True,
                            }
                        ],
                    }
                ],
            },
            "a window end at the observation period (period_start, period_end) cannot be used "
            "with ignore_observation_period: true",
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
                                "end_window": {"start": 0, "end": "period_middle"},
                            }
                        ],
                    }
                ]
            },
            "period_middle",
        ),
        (
            {
                "entry": {
                    "events": [
                        {"domain": "diagnosis", "concept_set": "dm", "value_concept_set": "dm"}
                    ]
                }
            },
            "value_concept_set cannot be used with domain 'diagnosis'",
        ),
        (
            {
                "entry": {
                    "events": [
                        {"domain": "observation", "concept_set": "dm", "value_concept_set": "nope"}
                    ]
                }
            },
            "entry.events.0: concept set 'nope' is not defined",
        ),
        (
            {"entry": {"events": [{"domain": "measurement", "value": {"lt": 9}}]}},
            "domain 'measurement' needs concept_set (or any_code: true for every measurement",
        ),
        (
            {"entry": {"events": [{"domain": "measurement", "concept_set": "dm", "test": "ck"}]}},
            "test cannot be used with domain 'measurement'; its fields are: any_code, "
            "concept_set, range_high, range_low, source_concept_set, times_lln, times_uln, "
            "units, value, value_concept_set",
        ),
        (
            {
                "entry": {
                    "events": [
                        {"domain": "observation", "concept_set": "dm", "range_low": {"gt": 0}}
                    ]
                }
            },
            "range_low cannot be used with domain 'observation'",
        ),
        (
            {"entry": {"events": [{"domain": "laboratory", "test": "ck", "times_lln": {"lt": 1}}]}},
            "times_lln cannot be used with domain 'laboratory'",
        ),
        (
            {
                "entry": {
                    "events": [
                        {
                            "domain": "measurement",
                            "concept_set": "dm",
                            "times_lln": {"lt": 0.5, "gt": 1},
                        }
                    ]
                }
            },
            "impossible range: the lower bound 1.0 is above the upper 0.5",
        ),
        (
            {
                "entry": {
                    "events": [
                        {"domain": "measurement", "concept_set": "dm", "value_concept_set": "nope"}
                    ]
                }
            },
            "entry.events.0: concept set 'nope' is not defined",
        ),
        # a death without a concept set is any death: no any_code to ask for it
        (
            {"entry": {"events": [{"domain": "death", "any_code": True}]}},
            "any_code cannot be used with domain 'death'; its fields are: concept_set (without "
            "concept_set, any death: leave any_code out)",
        ),
        (
            {"entry": {"events": [{"domain": "death", "value": {"lt": 1}}]}},
            "value cannot be used with domain 'death'",
        ),
        (
            {"exit": {"censor": [{"domain": "death", "concept_set": "nope"}]}},
            "exit.censor.0: concept set 'nope' is not defined",
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


@pytest.mark.parametrize(
    ("constraints", "events"),
    [
        # every hemoglobin with a date (8's without a number is an event too: no bound)
        ({}, [(1, "2020-02-20"), (2, "2020-04-28"), (3, "2020-01-15"), (3, "2020-05-25"),
              (8, "2020-01-20"), (8, "2020-01-25")]),
        ({"value": {"gte": 13}}, [(2, "2020-04-28"), (8, "2020-01-25")]),
        # the limits as recorded: a man's range (2's 13.5 to 17.5); 8's have none
        ({"range_low": {"gte": 13}}, [(2, "2020-04-28")]),
        ({"range_high": {"lte": 16}}, [(1, "2020-02-20"), (3, "2020-01-15"), (3, "2020-05-25")]),
        # value / limit: 8.5 / 12, 8.8 / 12, 11 / 12 below 1; 14.2 / 17.5 = 0.81
        ({"times_lln": {"lt": 1}}, [(1, "2020-02-20"), (3, "2020-01-15"), (3, "2020-05-25")]),
        ({"times_uln": {"gt": 0.8}}, [(2, "2020-04-28")]),
    ],
)  # fmt: skip
def test_measurement_constraints_one_by_one(
    con: BaseBackend, constraints: dict[str, object], events: list[tuple[int, str]]
) -> None:
    """Each constraint of the measurement domain on the hemoglobins of ROWS (LOINC 718-7): 1's
    8.5 g/dL (12 to 16), 2's 14.2 (13.5 to 17.5), 3's 8.8 and 11.0 (12 to 16), 8's without a
    number and 13.0 without a range; every event, any record."""
    mapping = {
        "concept_sets": {"hb": {"items": [{"system": "LOINC", "code": "718-7"}]}},
        "entry": {
            "events": [{"domain": "measurement", "concept_set": "hb", **constraints}],
            "limit": "all",
        },
        "expression_limit": "all",
        "exit": {"strategy": "fixed", "offset_days": 0},
    }
    run = run_cohort(con, Cohort.model_validate(mapping))
    found = [(r["person_id"], str(r["index_date"])) for r in run.members.to_pylist()]
    assert found == events


def test_a_cohort_without_measurement_fields_dumps_as_before() -> None:
    """The fields added to events with the measurement domain (times_lln, range_low,
    range_high) are left out of the dump at their default (Events.ADDED), so a format-2
    spec's hash stays the same (tests/study); given, they are dumped."""
    cohort = Cohort.model_validate(CASES["rules"][0])
    dumped = json.dumps(cohort.model_dump(mode="json"))
    assert not any(name in dumped for name in ("times_lln", "range_low", "range_high"))
    given = Cohort.model_validate(CASES["hemoglobin_below_range"][0]).model_dump(mode="json")
    (criterion,) = given["inclusion"][0]["criteria"]
    assert (criterion["range_low"], criterion["times_lln"]) == (
        {"gt": 0.0, "gte": None, "lt": None, "lte": None, "eq": None},
        {"gt": None, "gte": None, "lt": 1.0, "lte": None, "eq": None},
    )


REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cohorts"


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_worked_examples_are_the_cases(case: str) -> None:
    """docs/cohort-language.md runs examples/cohorts/<case>.yaml on examples/cohorts/registry
    (written by examples/cohorts/make_examples.py from language_cases.py)."""
    assert load_cohort(EXAMPLES / f"{case}.yaml") == Cohort.model_validate(CASES[case][0])


def test_cohort_run_prints_the_attrition_as_json(tmp_path: Path) -> None:
    members = tmp_path / "members.csv"
    out = run_cli(
        "cohort",
        "run",
        str(EXAMPLES / "fixed_and_censor.yaml"),
        "--data",
        str(EXAMPLES / "registry"),
        "--json",
        "-o",
        str(members),
    )
    found = json.loads(out)
    assert found.pop("run")["engine"] == "duckdb"
    assert found == {
        "persons": 7,
        "attrition": [
            {"label": "Persons in the registry", "remaining": 8},
            {"label": "Entry event", "remaining": 7},
        ],
    }
    lines = members.read_text(encoding="utf-8").splitlines()
    assert lines[0] == '"person_id","index_date","exit_date"'
    assert lines[-1] == "8,2020-02-01,2020-03-15"


def test_cohort_check_names_the_bad_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "entry:\n  events: [{domain: laboratory, test: ck, times_uln: {gt: 2, lt: 1}}]\n",
        encoding="utf-8",
    )
    out = run_cli("cohort", "check", str(bad), code=2)
    assert f"{bad}: the cohort definition is not valid" in out
    assert "entry.events[0].times_uln" in out
    assert "impossible range: the lower bound 2.0 is above the upper 1.0" in out


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("{system: ICD10CM, code: M3-3}", "e.g. M33.10 or M3310"),
        ("{system: ICD10CM, code: M3-3, descendants: true}", "e.g. M33.10 or M3310"),
        ("{system: ICD9CM, code: '7'}", "e.g. 710.3 or 7103"),
    ],
)
def test_cohort_run_names_an_icd_code_it_cannot_read(
    tmp_path: Path, item: str, expected: str
) -> None:
    """An ICD item whose code the ICD rule cannot read (codes.md: a category of three
    characters, then the rest) stops the run with the item and what to do, exit 2; before,
    the message named only "column 'code'", not the cohort's concept set."""
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        f"concept_sets:\n  dm: {{items: [{item}]}}\n"
        "entry: {events: [{domain: diagnosis, concept_set: dm}]}\n",
        encoding="utf-8",
    )
    out = run_cli("cohort", "run", str(bad), "--data", str(EXAMPLES / "registry"), code=2)
    system, code = ("ICD9CM", "7") if "ICD9CM" in item else ("ICD10CM", "M3-3")
    assert f"concept item {system} {code}: not an {system} code (expected {expected})" in out
    assert "correct the code in the cohort's concept set" in out


def test_a_format_1_study_names_an_icd_code_it_cannot_read(tmp_path: Path) -> None:
    """The same mistake in a format-1 study's extra codes stops at loading, naming the file
    and the field (before, the run stopped with "column 'code'" and no file)."""
    spec = (REPO / "studies" / "jak-refractory-dm.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        spec.replace("    codes: []", "    codes: [{system: ICD10CM, code: M3-6}]", 1),
        encoding="utf-8",
    )
    out = run_cli("cohort", "run", str(bad), "--data", str(EXAMPLES / "registry"), code=2)
    assert f"{bad} (cohort section, spec_version 1): the cohort definition is not valid" in out
    assert "diagnosis.codes[0]: 'M3-6' not an ICD10CM code (expected e.g. M33.10" in out


def test_cohort_run_reads_a_format_1_study(tmp_path: Path) -> None:
    """``myositis cohort run`` on the bundled format-1 study runs its cohort, translated
    (myositis.cohort.translate): on examples/min2022 the attrition of Min et al. 2022's cohort,
    18/15/13/12/11 persons (the seed; tests/study/test_min2022.py pins the same lines for the
    study run), and the study builder's 11 members with their index dates."""
    from myositis.registry import connect
    from myositis.study.runner import study_cohort
    from myositis.study.spec import load_spec

    spec = REPO / "studies" / "jak-refractory-dm.yaml"
    members = tmp_path / "members.csv"
    out = run_cli(
        "cohort", "run", str(spec), "--data", str(REPO / "examples" / "min2022"), "--json",
        "-o", str(members),
    )  # fmt: skip
    found = json.loads(out)
    assert [s["remaining"] for s in found["attrition"]] == [18, 15, 13, 12, 11]
    assert found["persons"] == 11
    built = study_cohort(connect(REPO / "examples" / "min2022"), load_spec(spec))
    expected = sorted((p.person_id, p.index_date.isoformat()) for p in built.patients)
    rows = [line.split(",")[:2] for line in members.read_text(encoding="utf-8").splitlines()[1:]]
    assert sorted((int(p), d) for p, d in rows) == expected
    assert load_cohort(spec).label == "Systemic JAK inhibitors in refractory dermatomyositis"
    # a bundled study's name reads it, as `study run jak-refractory-dm` does; another is named
    min2022 = str(REPO / "examples" / "min2022")
    by_name = run_cli("cohort", "run", "jak-refractory-dm", "--data", min2022, "--json")
    assert json.loads(by_name)["attrition"] == found["attrition"]
    out = run_cli("cohort", "run", "no-such-study", "--data", str(REPO / "examples"), code=2)
    assert "no-such-study: no such cohort file, and no bundled study of that name" in out
    assert "jak-refractory-dm" in out

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "spec_version: 1\nstudy: {id: x, version: '1', title: X}\n"
        "cohort:\n  diagnosis: {min_occurrences: two}\n",
        encoding="utf-8",
    )
    out = run_cli("cohort", "run", str(bad), "--data", str(REPO / "examples" / "min2022"), code=2)
    assert f"{bad} (cohort section, spec_version 1): the cohort definition is not valid" in out
    assert "diagnosis.min_occurrences" in out


def test_two_windows_on_one_date_must_both_hold(con: BaseBackend) -> None:
    """The worked example ``during_the_visit``: with either of its two windows alone, 8 enters
    at his first stay (2020-03-16), whose start is after his CK of 2020-01-20 and whose end is
    before that of 2022-06-28 (language_cases.py); with both, at his second (2022-06-27)."""
    mapping, _, members = CASES["during_the_visit"]
    cohort = Cohort.model_validate(mapping)
    (criterion,) = cohort.inclusion[0].criteria
    assert criterion.windows() == [
        ("start", RelativeWindow(start=0)),
        ("start", RelativeWindow(end=0, index="end")),
    ]
    assert criterion.describe() == (
        "laboratory ck, starting from day +0 to any time and starting from any time to day +0 "
        "of the index end, at least 1 event(s)"
    )
    assert [(m[0], m[1]) for m in members] == [(3, dt.date(2020, 5, 24)), (8, dt.date(2022, 6, 27))]
    for window in ({"start": 0}, {"end": 0, "index": "end"}):
        alone = json.loads(json.dumps(mapping))
        alone["inclusion"][0]["criteria"][0]["start_window"] = window
        run = run_cohort(con, Cohort.model_validate(alone))
        found = [(r["person_id"], r["index_date"]) for r in run.members.to_pylist()]
        assert (8, dt.date(2020, 3, 16)) in found, window


#: The hashes (cohort_sha256: canonical JSON, sorted keys; the key of their kept plans) of
#: worked examples with one window on a date, as they were before a criterion's window could
#: be a list: a single window dumps as it did.
HASHES_BEFORE_LISTS = {
    "observed_rules": "38f46dcb7d3b7ad8b5359fa2470f516637b13721b24492fd90685a9dade3392a",
    "during_a_stay": "bb29e59d46720c230564807d56c89614f723400f6190bd978c5cfaba80540fd0",
    "resolved_cancer": "4ecaef78610d7b62b537b43c75e32aadcef2ec6400fdf1233c06bab27ec96b04",
}


@pytest.mark.parametrize("case", sorted(HASHES_BEFORE_LISTS))
def test_one_window_dumps_and_hashes_as_before(case: str) -> None:
    """A window given alone, or as a list of one, dumps as a mapping, so the examples' hashes
    (and a format-2 spec's, tests/study/test_spec.py) are those they had."""
    cohort = load_cohort(EXAMPLES / f"{case}.yaml")
    assert cohort_sha256(cohort) == HASHES_BEFORE_LISTS[case]
    listed = json.loads(json.dumps(CASES[case][0]))
    for rule in listed["inclusion"]:
        for criterion in rule["criteria"]:
            for key in ("start_window", "end_window"):
                if key in criterion:
                    criterion[key] = [criterion[key]]
    assert cohort_sha256(Cohort.model_validate(listed)) == HASHES_BEFORE_LISTS[case]


def test_a_window_end_at_the_period_is_described_in_words() -> None:
    window = RelativeWindow(start=0, end="period_end")
    assert window.describe("ending") == "ending from day +0 to the observation period's end"
    assert RelativeWindow(start="period_start", end=-1).describe("starting") == (
        "starting from the observation period's start to day -1"
    )


def test_a_measurement_concept_set_that_reaches_a_registry_test_finds_its_results() -> None:
    """The registry keeps CK results in ``laboratory`` (canonical unit, ULN), not in
    ``measurement``; a measurement criterion whose concept set holds CK's LOINC code 2157-6 (as
    OMOP's LOINC part LP15510-8 "Creatine kinase" does through its descendants) reads them as
    measurements, the ULN as ``range_high``. examples/cohorts/registry/laboratory.csv: CK over
    twice the ULN of 200 U/L for persons 1 (900), 3 (500, 450) and 8 (700), not 2 (300, 150);
    any CK or hemoglobin (measurement.csv, LOINC 718-7): persons 1, 2, 3 and 8."""
    sets = {
        "ck": {"items": [{"system": "LOINC", "code": "2157-6"}]},
        "ck_or_hb": {"items": [{"system": "LOINC", "code": c} for c in ("2157-6", "718-7")]},
    }
    con = connect(EXAMPLES / "registry")
    found = {}
    for name, bound in (("ck", {"times_uln": {"gt": 2}}), ("ck_or_hb", {})):
        cohort = Cohort.model_validate(
            {
                "concept_sets": sets,
                "entry": {"events": [{"domain": "measurement", "concept_set": name, **bound}]},
            }
        )
        members = run_cohort(con, cohort).members
        found[name] = sorted(set(members.column("person_id").to_pylist()))
    con.disconnect()
    assert found == {"ck": [1, 3, 8], "ck_or_hb": [1, 2, 3, 8]}


@pytest.mark.parametrize(
    ("events", "criterion", "persons"),
    [
        # 1's hemoglobin of 2020-02-20 is day -10 of her JAK start (2020-03-01); with end:
        # day_after it ends 2020-02-21, day -9: an end window of day -9 finds it, of day -10
        # no longer does (3's hemoglobins are days -138 and -7 of 2020-06-01, 2's day -3,
        # 8's days -12 and -7 of 2020-02-01: none ends on day -9 or -10)
        ({"end": "day_after"}, {"end_window": {"start": -9, "end": -9}}, [1]),
        ({"end": "day_after"}, {"end_window": {"start": -10, "end": -10}}, []),
        ({}, {"end_window": {"start": -10, "end": -10}}, [1]),
        # end_date bounds the end the field gives: 2020-02-21 is 1's (2020-02-20 + 1)
        ({"end": "day_after", "end_date": {"eq": "2020-02-21"}}, {}, [1]),
        ({"end_date": {"eq": "2020-02-21"}}, {}, []),
    ],
)  # fmt: skip
def test_an_event_ending_the_day_after_its_date_in_a_criterion(
    con: BaseBackend, events: dict[str, object], criterion: dict[str, object], persons: list[int]
) -> None:
    """``end: day_after`` on a criterion's measurements (ROWS' hemoglobins, LOINC 718-7): a
    window on the event's end and the ``end_date`` bound read its date + 1. JAK users (any
    route: 1 to 8) with such a hemoglobin any time (no start window)."""
    mapping = {
        "concept_sets": {**CONCEPT_SETS, "hb": {"items": [{"system": "LOINC", "code": "718-7"}]}},
        "entry": {"events": [{"domain": "drug_exposure", "concept_set": "jak"}]},
        "inclusion": [
            {
                "label": "hemoglobin",
                "criteria": [{"domain": "measurement", "concept_set": "hb", **events, **criterion}],
            }
        ],
    }
    run = run_cohort(con, Cohort.model_validate(mapping))
    assert sorted(r["person_id"] for r in run.members.to_pylist()) == persons


@pytest.mark.parametrize(
    ("end", "days", "persons"),
    [
        # 1's hemoglobin of 2020-02-20 (the index) and her CK of 2020-02-25: 5 days after the
        # index date, 4 after the index end (2020-02-21) with end: day_after; 3's hemoglobin
        # of 2020-05-25 and CK that day: day 0 of the date, -1 of the end; 2's hemoglobin and
        # CK both on 2020-04-28 likewise; 8's hemoglobins of 2020-01-20 (CK that day) and
        # 2020-01-25 (CK 5 days before): day 0 and -5 of the dates, -1 and -6 of the ends
        ("day_after", 4, [1]),
        ("day_after", -1, [2, 3, 8]),
        ("date", 5, [1]),
        ("date", -1, []),
    ],
)  # fmt: skip
def test_the_index_end_and_the_exit_of_entry_events_ending_the_day_after(
    con: BaseBackend, end: str, days: int, persons: list[int]
) -> None:
    """Hemoglobins (LOINC 718-7: 1's, 2's, 3's two, 8's two; any record, every event) as
    entry events ending on their date or the day after (``end``), with a CK result ``days``
    from the index end (``index: end``), every event; each leaves 0 days after its end (the
    exit from ``date: end``): the day after the index with ``end: day_after``."""
    mapping = {
        "concept_sets": {"hb": {"items": [{"system": "LOINC", "code": "718-7"}]}},
        "entry": {
            "events": [{"domain": "measurement", "concept_set": "hb", "end": end}],
            "limit": "all",
        },
        "inclusion": [
            {
                "label": "CK",
                "criteria": [
                    {
                        "domain": "laboratory",
                        "test": "ck",
                        "start_window": {"start": days, "end": days, "index": "end"},
                    }
                ],
            }
        ],
        "expression_limit": "all",
        "exit": {"strategy": "fixed", "date": "end", "offset_days": 0},
    }
    run = run_cohort(con, Cohort.model_validate(mapping))
    members = run.members.to_pylist()
    assert sorted({m["person_id"] for m in members}) == persons
    one_day = 1 if end == "day_after" else 0
    assert all((m["exit_date"] - m["index_date"]).days == one_day for m in members)


def test_end_is_a_field_of_the_events_of_one_date_and_left_out_of_the_dump() -> None:
    """``end`` is refused on a domain whose events have their own end; at its default it is
    not dumped (Events.ADDED), so a format-2 spec's hash stays the same; given, it is."""
    with pytest.raises(ValueError, match="end cannot be used with domain 'diagnosis'; it is a"):
        Cohort.model_validate(
            {
                "concept_sets": CONCEPT_SETS,
                "entry": {"events": [{"domain": "diagnosis", "concept_set": "dm", "end": "date"}]},
            }
        )
    for domain in ("visit", "drug_exposure", "adverse_event"):
        with pytest.raises(ValueError, match=f"end cannot be used with domain '{domain}'"):
            Cohort.model_validate(
                {"entry": {"events": [{"domain": domain, "any_code": True, "end": "day_after"}]}}
                if domain != "adverse_event"
                else {"entry": {"events": [{"domain": domain, "end": "day_after"}]}}
            )
    events = Cohort.model_validate(CASES["rules"][0]).model_dump(mode="json")["entry"]["events"]
    assert all("end" not in e for e in events)
    case = Cohort.model_validate(CASES["ends_the_day_after"][0])
    dumped = case.model_dump(mode="json")["entry"]["events"]
    assert [e.get("end") for e in dumped] == [None, "day_after"]
    assert case.entry.events[1].describe() == (
        "measurement in sars_cov_2_rna valued in detected until the day after"
    )


#: The deaths of ROWS: 2 (M, born 1990-01-01) on 2021-03-01 of I21.9, 3 (F, born 1985-01-01)
#: on 2021-01-15 of C50.9, 8 (M, born 1950-01-01) on 2022-07-03, no cause recorded.
DIED = {2: D(2021, 3, 1), 3: D(2021, 1, 15), 8: D(2022, 7, 3)}


@pytest.mark.parametrize(
    ("events", "persons", "one_day"),
    [
        ({}, [2, 3, 8], 0),  # any death, whatever its cause (or none)
        ({"first": True}, [2, 3, 8], 0),  # one death per person: the first is it
        ({"concept_set": "cancer"}, [3], 0),  # C50.9 under C50; 8's has no cause
        ({"concept_set": "mi"}, [2], 0),  # I21.9 under I21
        ({"end": "day_after"}, [2, 3, 8], 1),  # Circe's end of a death: the day after
        # end_date bounds that end: 3's 2021-01-15 + 1
        ({"end": "day_after", "end_date": {"eq": "2021-01-16"}}, [3], 1),
        ({"end_date": {"eq": "2021-01-16"}}, [], 0),
        ({"start_date": {"gte": "2021-02-01"}}, [2, 8], 0),  # 3 died in January
        # completed years on the death's date: 2 is 31, 3 is 36, 8 is 72
        ({"age": {"lt": 40}}, [2, 3], 0),
        ({"sex": ["M"]}, [2, 8], 0),
    ],
)  # fmt: skip
def test_death_events_one_by_one(
    con: BaseBackend, events: dict[str, object], persons: list[int], one_day: int
) -> None:
    """Deaths as entry events (any record, every event), each leaving 0 days after its end:
    on the day of death, or the day after with ``end: day_after``."""
    mapping = {
        "concept_sets": {
            **CONCEPT_SETS,
            "mi": {"items": [{"system": "ICD10CM", "code": "I21", "descendants": True}]},
        },
        "entry": {"events": [{"domain": "death", **events}], "limit": "all"},
        "expression_limit": "all",
        "exit": {"strategy": "fixed", "date": "end", "offset_days": 0},
    }
    members = run_cohort(con, Cohort.model_validate(mapping)).members.to_pylist()
    assert [(m["person_id"], m["index_date"], m["exit_date"]) for m in members] == [
        (p, DIED[p], DIED[p] + dt.timedelta(days=one_day)) for p in persons
    ]


def test_a_death_within_30_days_of_a_hospital_stay(con: BaseBackend) -> None:
    """A death in ``having`` (each stay its own index): hospital stays (VISIT IP or ERIP:
    1's 2021-02-10, 3's 2020-05-24, 8's 2020-03-16 and 2022-06-27) followed by a death in
    the 30 days from their start. 8 died 2022-07-03, day 6 of his second stay; 3 died 236
    days after hers; 1 has no death. Exit: the end of the period holding the index (8's ends
    2022-06-30)."""
    mapping = {
        "concept_sets": {
            "stay": {"items": [{"system": "VISIT", "code": c} for c in ("IP", "ERIP")]},
        },
        "entry": {
            "events": [
                {
                    "domain": "visit",
                    "concept_set": "stay",
                    "having": {
                        "criteria": [{"domain": "death", "start_window": {"start": 0, "end": 30}}]
                    },
                }
            ],
            "limit": "all",
        },
    }
    cohort = Cohort.model_validate(mapping)
    assert cohort.entry.events[0].describe() == (
        "visit in stay having (death, starting from day +0 to day +30, at least 1 event(s))"
    )
    members = run_cohort(con, cohort).members.to_pylist()
    assert [(m["person_id"], m["index_date"], m["exit_date"]) for m in members] == [
        (8, D(2022, 6, 27), D(2022, 6, 30))
    ]


def test_death_is_described_and_its_concept_set_left_out_of_the_dump_when_absent() -> None:
    """A death without a concept set dumps as its domain alone (no field added to Events:
    a format-2 spec's hash of any other cohort is unchanged); with one, ``caused by``."""
    cohort = Cohort.model_validate(CASES["censored_at_death"][0])
    (censor,) = cohort.exit.censor
    assert censor.describe() == "death"
    dumped = cohort.model_dump(mode="json", exclude_defaults=True)["exit"]["censor"]
    assert dumped == [{"domain": "death"}]
    caused = Cohort.model_validate(
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [{"domain": "death", "concept_set": "cancer"}]},
        }
    )
    assert caused.entry.events[0].describe() == "death caused by cancer"
    assert cohort.exit.describe() == (
        "end of the observation period, or earlier at a censoring event"
    )


@pytest.mark.parametrize(("ignore", "persons"), [(False, [2, 3]), (True, [2, 3, 8])])
def test_a_death_after_the_observation_period_counts_only_when_asked(
    con: BaseBackend, ignore: bool, persons: list[int]
) -> None:
    """Systemic JAK users inside an observation period (1, 2, 3, 4, 5, 6, 8: 7's is topical)
    who died any time from their index: 2 and 3 died inside their periods; 8's death
    (2022-07-03) is after his period ended (2022-06-30), so it counts only with
    ``ignore_observation_period`` (Circe's rule for every criterion)."""
    mapping = {
        "concept_sets": CONCEPT_SETS,
        "entry": {
            "events": [
                {"domain": "drug_exposure", "concept_set": "jak", "exclude_routes": ["topical"]}
            ],
            "observation": {},
        },
        "inclusion": [
            {
                "label": "died after",
                "criteria": [
                    {
                        "domain": "death",
                        "start_window": {"start": 0},
                        "ignore_observation_period": ignore,
                    }
                ],
            }
        ],
    }
    run = run_cohort(con, Cohort.model_validate(mapping))
    assert [s.remaining for s in run.attrition] == [8, 7, len(persons)]
    assert [m["person_id"] for m in run.members.to_pylist()] == persons
