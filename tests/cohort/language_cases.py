"""A small registry made to exercise every construct of the cohort language, and cohorts on it
with their expected attrition and members, counted by hand (the reasoning beside each value).
Used by tests/cohort/test_language.py (DuckDB) and tests/conformance/test_cohort_language.py
(DuckDB, PostgreSQL, Spark). SYNTHETIC: no real person.

Persons (F unless said; born 1970-06-15 unless said):

- 1: M33.10 2019-01-01, M3310 2019-06-01; a needle muscle biopsy (CPT 20206) 2019-12-01;
  tofacitinib 2020-03-01..2020-12-31 and 2021-01-20..2021-06-30 (20 days apart); CDASI
  activity 20 on 2020-02-20, 12 on 2020-09-01; CK 900 (ULN 200) on 2020-02-25; 5
  cigarette pack-years recorded 2019-06-01 (an observation, SNOMED 401201003), and her
  tobacco smoking status (LOINC 72166-2) that day: ex-smoker (SNOMED 8517006); admitted
  through the emergency room (VISIT ERIP) 2021-02-10..2021-02-14; a hemoglobin (LOINC
  718-7) of 8.5 g/dL (normal range 12 to 16) on 2020-02-20; SARS-CoV-2 RNA (LOINC 94500-6)
  detected (SNOMED 260373001) 2021-01-05; recorded observation 2018-01-01..2022-12-31.
- 2 (M, born 1990-01-01): M33.12 once, 2019-05-01; tofacitinib 2020-05-01..2020-08-01;
  CDASI 10 on 2020-04-25; CK 300/200; smoking status smoker (SNOMED 77176002) recorded
  2020-03-01; a clinic visit (VISIT OP) 2020-06-01; hemoglobin 14.2 g/dL (13.5 to 17.5)
  2020-04-28; SARS-CoV-2 RNA not detected (SNOMED 260415000) 2020-05-15; observation
  2020-01-01..2022-12-31 (121 days before); died 2021-03-01 of an acute myocardial infarction
  (cause ICD10CM I21.9), after his last record.
- 3 (born 1985-01-01): M33.02 2019-01-01 and 2019-02-01; tofacitinib from 2020-06-01, still
  running (no end); CDASI 18 on 2020-05-20; CK 500/200 on 2020-05-25; breast cancer C50.9
  on 2020-01-01, resolved 2020-04-30 (its ``end_date``); a history of malignant neoplasm
  (observation, SNOMED 161501007) recorded 2020-05-20, without a value; in hospital (VISIT
  IP) 2020-05-24..2020-05-27; hemoglobin 8.8 g/dL (12 to 16) 2020-01-15 and 11.0 g/dL (12
  to 16) 2020-05-25; SARS-CoV-2 RNA detected 2020-06-20; observation 2015-01-01..2023-12-31;
  died 2021-01-15 of breast cancer (cause ICD10CM C50.9), after her last record.
- 4 (born 1960-01-01): M33.22 and M33.20 (polymyositis, excluded from the DM set);
  tofacitinib 2020-01-01..2020-12-31; no recorded observation (derived: 2019-01-01..2020-12-31).
- 5 (born 1980-01-01): M33.10 twice on 2018-01-01 (one date); tofacitinib 2020-01-01..
  2020-03-31; CDASI 25 on 2019-12-20; no recorded observation (derived 2018-01-01..2020-03-31).
- 6: rheumatoid arthritis M06.9 2019-06-01, and again 2019-09-01 as a mapped record: SNOMED
  69896004 (rheumatoid arthritis) with the source code ICD10CM M06.9 (``source_code_system``/
  ``source_code``, as an OMOP CDM's condition_source_concept_id gives it; data model version
  5); tofacitinib 2020-01-01..2020-12-31; derived observation 2019-06-01..2020-12-31.
- 7: M33.10 2019-01-01 and 2019-02-01; tofacitinib cream (route topical) 2020-02-01.
- 8 (M, born 1950-01-01): M33.9 2019-01-01 and 2019-04-01; an EMG (CPT 95886) 2019-12-15;
  tofacitinib 2020-02-01..2020-04-01 and 2020-06-01..2020-09-01 (61 days apart); CDASI 12 on
  2020-01-15; CK 700/200 on 2020-01-20; prednisone 2019-01-01..2019-06-01; herpes zoster
  grade 3, serious, 2020-03-15, admitted (VISIT IP) 2020-03-16..2020-03-22; 40 cigarette
  pack-years recorded 2019-06-01 and a pack-years observation without a number 2019-09-01;
  in hospital again 2022-06-27..2022-07-03, past the end of his observation 2010-01-01..
  2022-06-30, with a CK of 250/200 on 2022-06-28, and died the day it ended (no cause
  recorded), after his observation; a hemoglobin without a number 2020-01-20
  and one of 13.0 g/dL without a normal range 2020-01-25; SARS-CoV-2 RNA detected
  2020-03-10.

Core set measures for the score outcomes (TIS, DOI; ``SCORE_CASE``), all inside recorded
observation periods, none in the 30 days before an index that a CK criterion reads:

- 1 (index 2020-03-01): baseline on 2020-02-25 (day -5; the CK 900/200 above and aldolase
  15/7.7) PGA 6, patient global 5, MMT-8 60, HAQ 1.5, extramuscular 4; week 24 on
  2020-08-16 (day 168) PGA 2, patient global 3, MMT-8 72, HAQ 1, extramuscular 1, CK 300,
  aldolase 8; day 200 (2020-09-17) PGA 1 (not the one closest to day 168).
- 2 (index 2020-05-01), a child's measures: baseline on 2020-04-28 (day -3, CK 300/200)
  PGA 7, patient global 6, CMAS 30, CHAQ 2, extramuscular 5; day 168 (2020-10-16) PGA 2.5,
  patient global 4.8, CMAS 40, CHAQ 1.4, extramuscular 3.5, CK 150.
- 3 (index 2020-06-01): baseline on 2020-05-25 (day -7, CK 500/200) PGA 5, patient global
  4, MMT-8 70, HAQ 1, extramuscular 3; day 170 (2020-11-18) PGA 4.5, MMT-8 70, HAQ 1,
  extramuscular 3, CK 450: no patient global at follow-up.
- 8 (index 2020-02-01): baseline on 2020-01-20 (day -12, CK 700/200) PGA 3, patient global
  3, MMT-8 75, HAQ 0.5, extramuscular 2; day 160 (2020-07-10) PGA 4, patient global 4,
  MMT-8 70, HAQ 0.75, extramuscular 2, no CK (measured at baseline, so no score).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

D = dt.date

_ids = iter(range(1, 100_000))


BORN = D(1970, 6, 15)


def _person(pid: int, sex: str = "F", born: dt.date = BORN) -> dict[str, Any]:
    return {"person_id": pid, "site": "s1", "sex": sex, "birth_date": born}


def _dx(pid: int, code: str, when: dt.date, end: dt.date | None = None) -> dict[str, Any]:
    return {
        "person_id": pid,
        "code_system": "ICD10CM",
        "code": code,
        "diagnosis_date": when,
        "end_date": end,
    }


def _drug(
    pid: int,
    start: dt.date,
    end: dt.date | None,
    ingredient: str = "tofacitinib",
    route: str = "oral",
) -> dict[str, Any]:
    coded = ingredient == "tofacitinib"
    return {
        "exposure_id": next(_ids),
        "person_id": pid,
        "ingredient": ingredient,
        "code_system": "RXNORM" if coded else "LOCAL",
        "code": "1357536" if coded else ingredient,
        "start_date": start,
        "end_date": end,
        "dose": 5.0,
        "dose_unit": "mg",
        "frequency": "BID",
        "formulation": "TOP" if route == "topical" else "IR",
        "route": route,
    }


def _cdasi(pid: int, when: dt.date, activity: float) -> dict[str, Any]:
    return {
        "assessment_id": next(_ids),
        "person_id": pid,
        "assessment_date": when,
        "instrument": "cdasi",
        "measure": "activity",
        "value": activity,
    }


def _ck(pid: int, when: dt.date, value: float) -> dict[str, Any]:
    return {
        "person_id": pid,
        "test": "ck",
        "result_date": when,
        "value": value,
        "unit": "U/L",
        "uln": 200.0,
        "uln_unit": "U/L",
    }


def _measure(pid: int, when: dt.date, instrument: str, value: float) -> dict[str, Any]:
    """A recorded core set score (``total`` for MMT-8 and CMAS, else ``score``)."""
    return {
        "assessment_id": next(_ids),
        "person_id": pid,
        "assessment_date": when,
        "instrument": instrument,
        "measure": "total" if instrument in ("mmt8", "cmas") else "score",
        "value": value,
    }


def _core(pid: int, when: dt.date, **values: float) -> list[dict[str, Any]]:
    return [_measure(pid, when, instrument, value) for instrument, value in values.items()]


def _lab(pid: int, when: dt.date, test: str, value: float, uln: float) -> dict[str, Any]:
    unit = "U/L"
    return {
        "person_id": pid,
        "test": test,
        "result_date": when,
        "value": value,
        "unit": unit,
        "uln": uln,
        "uln_unit": unit,
    }


def _visit(pid: int, code: str, start: dt.date, end: dt.date, number: int = 1) -> dict[str, Any]:
    return {
        "person_id": pid,
        "visit_id": f"V{pid}-{code}" + ("" if number == 1 else f"-{number}"),
        "code_system": "VISIT",
        "code": code,
        "visit_date": start,
        "end_date": end,
    }


def _observed(pid: int, code: str, when: dt.date, value: float | None) -> dict[str, Any]:
    return {
        "person_id": pid,
        "code_system": "SNOMED",
        "code": code,
        "observation_date": when,
        "value": value,
        "unit": None if value is None else "{pack-years}",
    }


def _smoking(pid: int, when: dt.date, status: str) -> dict[str, Any]:
    """A tobacco smoking status (LOINC 72166-2) with its coded value (SNOMED)."""
    return {
        "person_id": pid,
        "code_system": "LOINC",
        "code": "72166-2",
        "observation_date": when,
        "value_code_system": "SNOMED",
        "value_code": status,
    }


def _hemoglobin(
    pid: int, when: dt.date, value: float | None, low: float | None, high: float | None
) -> dict[str, Any]:
    """A hemoglobin (LOINC 718-7) in g/dL with the normal range the laboratory gave."""
    return {
        "person_id": pid,
        "code_system": "LOINC",
        "code": "718-7",
        "measurement_date": when,
        "value": value,
        "unit": None if value is None else "g/dL",
        "range_low": low,
        "range_high": high,
    }


def _sars_cov_2(pid: int, when: dt.date, result: str) -> dict[str, Any]:
    """A SARS-CoV-2 RNA test (LOINC 94500-6) reported as a code: SNOMED 260373001 detected,
    260415000 not detected."""
    return {
        "person_id": pid,
        "code_system": "LOINC",
        "code": "94500-6",
        "measurement_date": when,
        "value_code_system": "SNOMED",
        "value_code": result,
    }


def _period(pid: int, start: dt.date, end: dt.date) -> dict[str, Any]:
    return {"person_id": pid, "start_date": start, "end_date": end, "period_type": "recorded"}


ROWS: dict[str, list[dict[str, Any]]] = {
    "person": [
        _person(1),
        _person(2, "M", D(1990, 1, 1)),
        _person(3, born=D(1985, 1, 1)),
        _person(4, born=D(1960, 1, 1)),
        _person(5, born=D(1980, 1, 1)),
        _person(6),
        _person(7),
        _person(8, "M", D(1950, 1, 1)),
    ],
    "diagnosis": [
        _dx(1, "M33.10", D(2019, 1, 1)),
        _dx(1, "M3310", D(2019, 6, 1)),
        _dx(2, "M33.12", D(2019, 5, 1)),
        _dx(3, "M33.02", D(2019, 1, 1)),
        _dx(3, "M33.02", D(2019, 2, 1)),
        _dx(3, "C50.9", D(2020, 1, 1), end=D(2020, 4, 30)),
        _dx(4, "M33.22", D(2019, 1, 1)),
        _dx(4, "M33.20", D(2019, 3, 1)),
        _dx(5, "M33.10", D(2018, 1, 1)),
        _dx(5, "M33.10", D(2018, 1, 1)),
        _dx(6, "M06.9", D(2019, 6, 1)),
        {
            **_dx(6, "69896004", D(2019, 9, 1)),
            "code_system": "SNOMED",
            "source_code_system": "ICD10CM",
            "source_code": "M06.9",
        },
        _dx(7, "M33.10", D(2019, 1, 1)),
        _dx(7, "M33.10", D(2019, 2, 1)),
        _dx(8, "M33.9", D(2019, 1, 1)),
        _dx(8, "M33.9", D(2019, 4, 1)),
    ],
    # needle muscle biopsies (CPT 20206) of 1 and 3, an EMG (CPT 95886) of 8
    "procedure": [
        {"person_id": 1, "code_system": "CPT4", "code": "20206", "procedure_date": D(2019, 12, 1)},
        {"person_id": 3, "code_system": "CPT4", "code": "20206", "procedure_date": D(2018, 6, 1)},
        {"person_id": 8, "code_system": "CPT4", "code": "95886", "procedure_date": D(2019, 12, 15)},
    ],
    # visits (schema version 4), all inside recorded observation periods: 1 through the
    # emergency room into hospital, 2 at the clinic, 8 in hospital after the herpes zoster
    "visit": [
        _visit(1, "ERIP", D(2021, 2, 10), D(2021, 2, 14)),
        _visit(2, "OP", D(2020, 6, 1), D(2020, 6, 1)),
        _visit(8, "IP", D(2020, 3, 16), D(2020, 3, 22)),
        _visit(3, "IP", D(2020, 5, 24), D(2020, 5, 27)),
        _visit(8, "IP", D(2022, 6, 27), D(2022, 7, 3), number=2),
    ],
    # other observations (schema version 4): cigarette pack-years (SNOMED 401201003) with and
    # without a number, a history of malignant neoplasm (SNOMED 161501007)
    "observation": [
        _observed(1, "401201003", D(2019, 6, 1), 5.0),
        _observed(3, "161501007", D(2020, 5, 20), None),
        _observed(8, "401201003", D(2019, 6, 1), 40.0),
        _observed(8, "401201003", D(2019, 9, 1), None),
        _smoking(1, D(2019, 6, 1), "8517006"),
        _smoking(2, D(2020, 3, 1), "77176002"),
    ],
    # measurements other than the registry's laboratory tests (schema version 4), all of
    # persons with recorded observation periods and inside them (no derived period moves):
    # hemoglobins with and without a number and a range, SARS-CoV-2 RNA tests reported as codes
    "measurement": [
        _hemoglobin(1, D(2020, 2, 20), 8.5, 12.0, 16.0),
        _hemoglobin(2, D(2020, 4, 28), 14.2, 13.5, 17.5),
        _hemoglobin(3, D(2020, 1, 15), 8.8, 12.0, 16.0),
        _hemoglobin(3, D(2020, 5, 25), 11.0, 12.0, 16.0),
        _hemoglobin(8, D(2020, 1, 20), None, None, None),
        _hemoglobin(8, D(2020, 1, 25), 13.0, None, None),
        _sars_cov_2(1, D(2021, 1, 5), "260373001"),
        _sars_cov_2(2, D(2020, 5, 15), "260415000"),
        _sars_cov_2(3, D(2020, 6, 20), "260373001"),
        _sars_cov_2(8, D(2020, 3, 10), "260373001"),
    ],
    "drug_exposure": [
        _drug(1, D(2020, 3, 1), D(2020, 12, 31)),
        _drug(1, D(2021, 1, 20), D(2021, 6, 30)),
        _drug(2, D(2020, 5, 1), D(2020, 8, 1)),
        _drug(3, D(2020, 6, 1), None),
        _drug(4, D(2020, 1, 1), D(2020, 12, 31)),
        _drug(5, D(2020, 1, 1), D(2020, 3, 31)),
        _drug(6, D(2020, 1, 1), D(2020, 12, 31)),
        _drug(7, D(2020, 2, 1), D(2020, 3, 1), route="topical"),
        _drug(8, D(2020, 2, 1), D(2020, 4, 1)),
        _drug(8, D(2020, 6, 1), D(2020, 9, 1)),
        _drug(8, D(2019, 1, 1), D(2019, 6, 1), ingredient="prednisone"),
    ],
    "assessment": [
        _cdasi(1, D(2020, 2, 20), 20),
        _cdasi(1, D(2020, 9, 1), 12),
        _cdasi(2, D(2020, 4, 25), 10),
        _cdasi(3, D(2020, 5, 20), 18),
        _cdasi(5, D(2019, 12, 20), 25),
        _cdasi(8, D(2020, 1, 15), 12),
        *_core(1, D(2020, 2, 25), pga=6, ptga=5, mmt8=60, haq=1.5, ema=4),
        *_core(1, D(2020, 8, 16), pga=2, ptga=3, mmt8=72, haq=1, ema=1),
        *_core(1, D(2020, 9, 17), pga=1),
        *_core(2, D(2020, 4, 28), pga=7, ptga=6, cmas=30, chaq=2, ema=5),
        *_core(2, D(2020, 10, 16), pga=2.5, ptga=4.8, cmas=40, chaq=1.4, ema=3.5),
        *_core(3, D(2020, 5, 25), pga=5, ptga=4, mmt8=70, haq=1, ema=3),
        *_core(3, D(2020, 11, 18), pga=4.5, mmt8=70, haq=1, ema=3),
        *_core(8, D(2020, 1, 20), pga=3, ptga=3, mmt8=75, haq=0.5, ema=2),
        *_core(8, D(2020, 7, 10), pga=4, ptga=4, mmt8=70, haq=0.75, ema=2),
    ],
    "laboratory": [
        _ck(1, D(2020, 2, 25), 900),
        _ck(2, D(2020, 4, 28), 300),
        _ck(3, D(2020, 5, 25), 500),
        _ck(8, D(2020, 1, 20), 700),
        _lab(1, D(2020, 2, 25), "aldolase", 15, 7.7),
        _lab(1, D(2020, 8, 16), "ck", 300, 200),
        _lab(1, D(2020, 8, 16), "aldolase", 8, 7.7),
        _lab(2, D(2020, 10, 16), "ck", 150, 200),
        _lab(3, D(2020, 11, 18), "ck", 450, 200),
        _lab(8, D(2022, 6, 28), "ck", 250, 200),
    ],
    "adverse_event": [
        {
            "person_id": 8,
            "term": "Herpes zoster",
            "onset_date": D(2020, 3, 15),
            "grade": 3,
            "serious": True,
        }
    ],
    # deaths (schema version 4), each on or after the person's last record, of persons with
    # recorded observation periods (a death extends only a derived period): no period moves
    "death": [
        {
            "person_id": 2,
            "death_date": D(2021, 3, 1),
            "cause_code_system": "ICD10CM",
            "cause_code": "I21.9",
        },
        {
            "person_id": 3,
            "death_date": D(2021, 1, 15),
            "cause_code_system": "ICD10CM",
            "cause_code": "C50.9",
        },
        {"person_id": 8, "death_date": D(2022, 7, 3)},
    ],
    "observation_period": [
        _period(1, D(2018, 1, 1), D(2022, 12, 31)),
        _period(2, D(2020, 1, 1), D(2022, 12, 31)),
        _period(3, D(2015, 1, 1), D(2023, 12, 31)),
        _period(8, D(2010, 1, 1), D(2022, 6, 30)),
    ],
}

CONCEPT_SETS: dict[str, Any] = {
    # M33 and below, without polymyositis (M33.2 and below)
    "dm": {
        "items": [
            {"system": "ICD10CM", "code": "M33", "descendants": True},
            {"system": "ICD10CM", "code": "M33.2", "descendants": True, "exclude": True},
        ]
    },
    "jak": {"items": [{"system": "RXNORM", "code": "1357536"}, {"ingredient": "baricitinib"}]},
    "cancer": {"items": [{"system": "ICD10CM", "code": "C50", "descendants": True}]},
    "prednisone": {"items": [{"ingredient": "prednisone"}]},
}

JAK = {"domain": "drug_exposure", "concept_set": "jak", "exclude_routes": ["topical"]}
DM_TWICE = {
    "label": "DM on 2 distinct dates",
    "criteria": [
        {
            "domain": "diagnosis",
            "concept_set": "dm",
            "occurrence": {"type": "at_least", "count": 2, "distinct_dates": True},
        }
    ],
}
BEFORE = {"start": -30, "end": 0}
#: Hospital stays: inpatient visits, and emergency visits that became one.
HOSPITAL_STAY = {"items": [{"system": "VISIT", "code": "IP"}, {"system": "VISIT", "code": "ERIP"}]}
#: SARS-CoV-2 RNA (LOINC 94500-6) detected (SNOMED 260373001): 1, 3 and 8.
SARS_SETS = {
    **CONCEPT_SETS,
    "sars_cov_2_rna": {"items": [{"system": "LOINC", "code": "94500-6"}]},
    "detected": {"items": [{"system": "SNOMED", "code": "260373001"}]},
}
SARS_DETECTED = {
    "domain": "measurement",
    "concept_set": "sars_cov_2_rna",
    "value_concept_set": "detected",
}
#: 180 days after the index, cut short by a serious adverse event of grade 3 or more.
FIXED_CENSORED = {
    "strategy": "fixed",
    "offset_days": 180,
    "censor": [{"domain": "adverse_event", "grade": {"gte": 3}, "serious": True}],
}


#: name -> (cohort mapping, attrition remaining, members (person, index, exit))
CASES: dict[str, tuple[dict[str, Any], list[int], list[tuple[int, dt.date, dt.date]]]] = {
    # Entry inside an observation period with 365 days before: 2 has 121 days (period from
    # 2020-01-01), 6 has 214 (derived from 2019-06-01), 7's only exposure is topical; 4's
    # derived period starts 2019-01-01, exactly 365 days before 2020-01-01. Exit: end of the
    # period (recorded, or the derived one's last record).
    "observation": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [JAK], "observation": {"prior_days": 365}},
        },
        [8, 5],
        [
            (1, D(2020, 3, 1), D(2022, 12, 31)),
            (3, D(2020, 6, 1), D(2023, 12, 31)),
            (4, D(2020, 1, 1), D(2020, 12, 31)),
            (5, D(2020, 1, 1), D(2020, 3, 31)),
            (8, D(2020, 2, 1), D(2022, 6, 30)),
        ],
    ),
    # The four constructs of issue 13's "done when", each excluding someone. Entry: a systemic
    # JAK inside an observation period with 365 days before: 1, 3, 4, 5, 8 (as "observation":
    # 2 has 121 days, 6 has 214, 7 is topical). A DM code on 2 distinct dates any time up to
    # the index (an occurrence count): 1, 3, 8 (4's codes are polymyositis, 5's on one date).
    # CDASI activity > 14 in the 30 days before (a value constraint): 1 (20), 3 (18); 8 has
    # 12. No cancer code in the 365 days before (an exclusion window): 3's C50.9 is 152 days
    # before -> 1. Exit: the end of 1's observation period.
    "observed_rules": (
        {
            "label": "Observed new users of a JAK inhibitor with active DM skin disease",
            "concept_sets": CONCEPT_SETS,
            "entry": {
                "label": "Systemic JAK inhibitor, 365 days observed before",
                "events": [JAK],
                "observation": {"prior_days": 365},
            },
            "inclusion": [
                {
                    "label": "DM on 2 distinct dates up to the index",
                    "criteria": [
                        {
                            "domain": "diagnosis",
                            "concept_set": "dm",
                            "start_window": {"start": None, "end": 0},
                            "occurrence": {"type": "at_least", "count": 2, "distinct_dates": True},
                        }
                    ],
                },
                {
                    "label": "Active skin disease (CDASI activity > 14)",
                    "criteria": [
                        {
                            "domain": "assessment",
                            "instrument": "cdasi",
                            "measure": "activity",
                            "value": {"gt": 14},
                            "start_window": BEFORE,
                        }
                    ],
                },
                {
                    "label": "No cancer in the year before",
                    "criteria": [
                        {
                            "domain": "diagnosis",
                            "concept_set": "cancer",
                            "start_window": {"start": -365, "end": -1},
                            "occurrence": {"type": "exactly", "count": 0},
                        }
                    ],
                },
            ],
        },
        [8, 5, 3, 2, 1],
        [(1, D(2020, 3, 1), D(2022, 12, 31))],
    ),
    # A diagnosis's end (schema version 3). Cancer that resolved in the 60 days before a systemic
    # JAK start (an end window): JAK users 1, 2, 3, 4, 5, 6, 8 (7 topical); 3's C50.9 ended
    # 2020-04-30, 32 days before its index of 2020-06-01 (started 152 days before: a start
    # window would not find it). Exit at the end of observation (3's ends 2023-12-31).
    "resolved_cancer": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "Cancer resolved in the 60 days before",
                    "criteria": [
                        {
                            "domain": "diagnosis",
                            "concept_set": "cancer",
                            "end_window": {"start": -60, "end": -1},
                        }
                    ],
                }
            ],
        },
        [8, 7, 1],
        [(3, D(2020, 6, 1), D(2023, 12, 31))],
    ),
    # A procedure (schema version 3): a muscle biopsy in the year before a systemic JAK start.
    # JAK users 1, 2, 3, 4, 5, 6, 8; 1's biopsy on 2019-12-01 is 91 days before her index of
    # 2020-03-01; 3's (2018-06-01) two years before hers; 8's procedure is an EMG, not a biopsy.
    "biopsy_before": (
        {
            "concept_sets": {
                **CONCEPT_SETS,
                "biopsy": {"items": [{"system": "CPT4", "code": "20206"}]},
            },
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "Muscle biopsy in the year before",
                    "criteria": [
                        {
                            "domain": "procedure",
                            "concept_set": "biopsy",
                            "start_window": {"start": -365, "end": -1},
                        }
                    ],
                }
            ],
        },
        [8, 7, 1],
        [(1, D(2020, 3, 1), D(2022, 12, 31))],
    ),
    # A visit (schema version 4): a hospital stay (inpatient, or through the emergency room into
    # hospital) starting in the 180 days after a systemic JAK start, a safety outcome. JAK users
    # 1, 2, 3, 4, 5, 6, 8; 8 was admitted on day 44 after his index of 2020-02-01; 1's stay
    # began 346 days after hers (2020-03-01; her second JAK start is not an entry: first event
    # only); 2's visit on day 31 was at the clinic, not a stay.
    "hospitalised_after": (
        {
            "concept_sets": {
                **CONCEPT_SETS,
                "hospital_stay": HOSPITAL_STAY,
            },
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "Hospital stay within 180 days after",
                    "criteria": [
                        {
                            "domain": "visit",
                            "concept_set": "hospital_stay",
                            "start_window": {"start": 0, "end": 180},
                        }
                    ],
                }
            ],
        },
        [8, 7, 1],
        [(8, D(2020, 2, 1), D(2022, 6, 30))],
    ),
    # An observation with a value (schema version 4): JAK users without 20 or more cigarette
    # pack-years recorded before their index. JAK users 1, 2, 3, 4, 5, 6, 8; 8 has 40 recorded
    # 2019-06-01 (his second, numberless pack-years record does not count against the bound);
    # 1's 5 are under the bound; 3's history of cancer is another observation.
    "heavy_smokers_excluded": (
        {
            "concept_sets": {
                **CONCEPT_SETS,
                "pack_years": {"items": [{"system": "SNOMED", "code": "401201003"}]},
            },
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "Under 20 pack-years before",
                    "criteria": [
                        {
                            "domain": "observation",
                            "concept_set": "pack_years",
                            "value": {"gte": 20},
                            "start_window": {"start": None, "end": -1},
                            "occurrence": {"type": "exactly", "count": 0},
                        }
                    ],
                }
            ],
        },
        [8, 7, 6],
        [
            (1, D(2020, 3, 1), D(2022, 12, 31)),
            (2, D(2020, 5, 1), D(2022, 12, 31)),
            (3, D(2020, 6, 1), D(2023, 12, 31)),
            (4, D(2020, 1, 1), D(2020, 12, 31)),
            (5, D(2020, 1, 1), D(2020, 3, 31)),
            (6, D(2020, 1, 1), D(2020, 12, 31)),
        ],
    ),
    # A window end at the observation period (ATLAS's "during a visit"): CK results measured
    # during a hospital stay, the stay beginning on or before the result and ending on or after
    # it but no later than the end of the result's observation period (Circe's reading of an
    # open window end). Every CK inside observation enters (1, 2, 3, 8); 3's CK of 2020-05-25
    # falls in her stay of 2020-05-24..27; 8's of 2022-06-28 in his stay of 2022-06-27 to
    # 07-03, which ends after his observation (2022-06-30): with `end: null` he would count.
    "during_a_stay": (
        {
            "concept_sets": {
                **CONCEPT_SETS,
                "hospital_stay": HOSPITAL_STAY,
            },
            "entry": {
                "events": [{"domain": "laboratory", "test": "ck"}],
                "observation": {"prior_days": 0},
                "limit": "all",
            },
            "inclusion": [
                {
                    "label": "During a hospital stay",
                    "criteria": [
                        {
                            "domain": "visit",
                            "concept_set": "hospital_stay",
                            "start_window": {"start": None, "end": 0},
                            "end_window": {"start": 0, "end": "period_end"},
                        }
                    ],
                }
            ],
        },
        [8, 4, 1],
        [(3, D(2020, 5, 25), D(2023, 12, 31))],
    ),
    # Two windows on one event date (ATLAS's "during the visit"): hospital stays with a CK
    # measured during the stay, on or after its first day (a window from the index start) and
    # on or before its last (a window from the index end), both on the result's date. Stays
    # inside observation enter (1, 3, 8; 2's visit was at the clinic); 3's CK of 2020-05-25
    # falls in her stay of 2020-05-24..27, 8's of 2022-06-28 in his second stay (2022-06-27
    # to 07-03; the result inside his observation, which ends 2022-06-30); 1's stay of
    # 2021-02 has none. The first passing stay of each: with either window alone 8 would
    # enter at his first stay (2020-03-16..22: his CK of 2020-01-20 is before its end, that
    # of 2022-06-28 after its start).
    "during_the_visit": (
        {
            "concept_sets": {
                **CONCEPT_SETS,
                "hospital_stay": HOSPITAL_STAY,
            },
            "entry": {
                "events": [{"domain": "visit", "concept_set": "hospital_stay"}],
                "observation": {"prior_days": 0},
                "limit": "all",
            },
            "inclusion": [
                {
                    "label": "CK measured during the stay",
                    "criteria": [
                        {
                            "domain": "laboratory",
                            "test": "ck",
                            "start_window": [{"start": 0}, {"end": 0, "index": "end"}],
                        }
                    ],
                }
            ],
        },
        [8, 3, 2],
        [(3, D(2020, 5, 24), D(2023, 12, 31)), (8, D(2022, 6, 27), D(2022, 6, 30))],
    ),
    # An observation's coded value (Circe's ValueAsConcept): JAK users recorded as smokers
    # (tobacco smoking status LOINC 72166-2 valued SNOMED 77176002) before their index. 2 was
    # on 2020-03-01, 61 days before his; 1 was recorded an ex-smoker (8517006).
    "current_smokers": (
        {
            "concept_sets": {
                **CONCEPT_SETS,
                "smoking_status": {"items": [{"system": "LOINC", "code": "72166-2"}]},
                "smoker": {"items": [{"system": "SNOMED", "code": "77176002"}]},
            },
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "Recorded a smoker before",
                    "criteria": [
                        {
                            "domain": "observation",
                            "concept_set": "smoking_status",
                            "value_concept_set": "smoker",
                            "start_window": {"start": None, "end": -1},
                        }
                    ],
                }
            ],
        },
        [8, 7, 1],
        [(2, D(2020, 5, 1), D(2022, 12, 31))],
    ),
    # A measurement with a value (schema version 4): JAK users without a hemoglobin below 9 g/dL
    # in the 90 days up to their index (tofacitinib is not started below 9 g/dL). JAK users 1,
    # 2, 3, 4, 5, 6, 8; 1's 8.5 g/dL on 2020-02-20 is 10 days before her index of 2020-03-01;
    # 3's 8.8 g/dL on 2020-01-15 is 138 days before hers (2020-06-01), her 11.0 on 2020-05-25
    # above the bound; 8's hemoglobin without a number never meets it, his 13.0 is above; 2's
    # 14.2 too. Exit: the end of the period holding the index (8's recorded one ends
    # 2022-06-30).
    "low_hemoglobin_excluded": (
        {
            "concept_sets": {
                **CONCEPT_SETS,
                "hemoglobin": {"items": [{"system": "LOINC", "code": "718-7"}]},
            },
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "No hemoglobin below 9 g/dL in the 90 days before",
                    "criteria": [
                        {
                            "domain": "measurement",
                            "concept_set": "hemoglobin",
                            "value": {"lt": 9},
                            "start_window": {"start": -90, "end": 0},
                            "occurrence": {"type": "exactly", "count": 0},
                        }
                    ],
                }
            ],
        },
        [8, 7, 6],
        [
            (2, D(2020, 5, 1), D(2022, 12, 31)),
            (3, D(2020, 6, 1), D(2023, 12, 31)),
            (4, D(2020, 1, 1), D(2020, 12, 31)),
            (5, D(2020, 1, 1), D(2020, 3, 31)),
            (6, D(2020, 1, 1), D(2020, 12, 31)),
            (8, D(2020, 2, 1), D(2022, 6, 30)),
        ],
    ),
    # A measurement's coded value (Circe's ValueAsConcept on a Measurement): JAK users with
    # SARS-CoV-2 RNA (LOINC 94500-6) detected (SNOMED 260373001) 1 to 30 days after their
    # index. 3's on 2020-06-20 is day 19 of hers (2020-06-01); 8's on 2020-03-10 is day 38 of
    # his (2020-02-01; 2020 is a leap year); 2's on day 14 was not detected (260415000); 1's
    # is in 2021.
    "covid_after_start": (
        {
            "concept_sets": {
                **CONCEPT_SETS,
                "sars_cov_2_rna": {"items": [{"system": "LOINC", "code": "94500-6"}]},
                "detected": {"items": [{"system": "SNOMED", "code": "260373001"}]},
            },
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "SARS-CoV-2 detected in the 30 days after",
                    "criteria": [
                        {
                            "domain": "measurement",
                            "concept_set": "sars_cov_2_rna",
                            "value_concept_set": "detected",
                            "start_window": {"start": 1, "end": 30},
                        }
                    ],
                }
            ],
        },
        [8, 7, 1],
        [(3, D(2020, 6, 1), D(2023, 12, 31))],
    ),
    # A measurement against its normal range (Circe's RangeLow, RangeLowRatio): JAK users with
    # a hemoglobin below the lower limit of a range recorded with it (value / range_low < 1,
    # range_low > 0) in the 30 days before: 1 (8.5 / 12 = 0.71, day -10), 3 (11.0 / 12 =
    # 0.92 on 2020-05-25, day -7); 2's 14.2 is above his 13.5; 8's 13.0 has no range (no
    # ratio), his other hemoglobin no number.
    "hemoglobin_below_range": (
        {
            "concept_sets": {
                **CONCEPT_SETS,
                "hemoglobin": {"items": [{"system": "LOINC", "code": "718-7"}]},
            },
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "Hemoglobin below its range in the 30 days before",
                    "criteria": [
                        {
                            "domain": "measurement",
                            "concept_set": "hemoglobin",
                            "range_low": {"gt": 0},
                            "times_lln": {"lt": 1},
                            "start_window": BEFORE,
                        }
                    ],
                }
            ],
        },
        [8, 7, 2],
        [(1, D(2020, 3, 1), D(2022, 12, 31)), (3, D(2020, 6, 1), D(2023, 12, 31))],
    ),
    # Entry at a cancer diagnosis, exit on the day it ended (fixed, 0 days from the index
    # event's end): 3's C50.9, 2020-01-01 to 2020-04-30.
    "cancer_until_resolved": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [{"domain": "diagnosis", "concept_set": "cancer"}]},
            "exit": {"strategy": "fixed", "date": "end", "offset_days": 0},
        },
        [8, 1],
        [(3, D(2020, 1, 1), D(2020, 4, 30))],
    ),
    # DM on 2 distinct dates: 1, 3, 7, 8 (2 has one code, 4 polymyositis, 5 one date, 6 RA);
    # a systemic JAK: 1, 3, 8 (7 topical); active skin (CDASI > 14) or CK > 2 x ULN in the 30
    # days before: 1 (CDASI 20, CK 4.5x), 3 (CDASI 18, CK 2.5x), 8 (CDASI 12, CK 3.5x); no
    # cancer in the year before: 3 has C50.9 152 days before -> 1, 8; women aged 18 to 65:
    # 8 is a man of 70 -> 1.
    "rules": (
        {
            "concept_sets": CONCEPT_SETS,
            "persons_with": [DM_TWICE],
            "entry": {"label": "Systemic JAK inhibitor", "events": [JAK]},
            "inclusion": [
                {
                    "label": "Active skin or CK above 2 x ULN",
                    "type": "any",
                    "criteria": [
                        {
                            "domain": "assessment",
                            "instrument": "cdasi",
                            "measure": "activity",
                            "value": {"gt": 14},
                            "start_window": BEFORE,
                        },
                        {
                            "domain": "laboratory",
                            "test": "ck",
                            "times_uln": {"gt": 2},
                            "start_window": BEFORE,
                        },
                    ],
                },
                {
                    "label": "No cancer in the year before",
                    "criteria": [
                        {
                            "domain": "diagnosis",
                            "concept_set": "cancer",
                            "start_window": {"start": -365, "end": -1},
                            "occurrence": {"type": "exactly", "count": 0},
                        }
                    ],
                },
                {
                    "label": "Women aged 18 to 65",
                    "demographics": [{"age": {"gte": 18, "lte": 65}, "sex": ["F"]}],
                },
            ],
        },
        [8, 4, 3, 3, 2, 1],
        [(1, D(2020, 3, 1), D(2022, 12, 31))],
    ),
    # At least 2 of: CDASI > 14, CK > 2 x ULN (30 days before), prednisone ending within 90
    # days of the index: 1 (CDASI, CK), 3 (CDASI, CK); 8 only CK (prednisone ended 245 days
    # before). Exit: end of the JAK era with 30 days' gap allowed: 1's two exposures 20 days
    # apart -> 2021-06-30; 3's is still running -> the end of observation, 2023-12-31.
    "at_least_and_era": (
        {
            "concept_sets": CONCEPT_SETS,
            "persons_with": [DM_TWICE],
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "Two of three signs",
                    "type": "at_least",
                    "count": 2,
                    "criteria": [
                        {
                            "domain": "assessment",
                            "instrument": "cdasi",
                            "measure": "activity",
                            "value": {"gt": 14},
                            "start_window": BEFORE,
                        },
                        {
                            "domain": "laboratory",
                            "test": "ck",
                            "times_uln": {"gt": 2},
                            "start_window": BEFORE,
                        },
                        {
                            "domain": "drug_exposure",
                            "concept_set": "prednisone",
                            "end_window": {"start": -90, "end": 90},
                        },
                    ],
                }
            ],
            "exit": {"strategy": "drug_era", "concept_set": "jak", "gap_days": 30},
        },
        [8, 4, 3, 2],
        [(1, D(2020, 3, 1), D(2021, 6, 30)), (3, D(2020, 6, 1), D(2023, 12, 31))],
    ),
    # Fixed exit 180 days after the index, cut by a serious grade >= 3 adverse event and by the
    # end of observation: every systemic JAK user (7 is topical); 5's derived period ends
    # 2020-03-31; 8's herpes zoster on 2020-03-15.
    "fixed_and_censor": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [JAK]},
            "exit": FIXED_CENSORED,
        },
        [8, 7],
        [
            (1, D(2020, 3, 1), D(2020, 8, 28)),
            (2, D(2020, 5, 1), D(2020, 10, 28)),
            (3, D(2020, 6, 1), D(2020, 11, 28)),
            (4, D(2020, 1, 1), D(2020, 6, 29)),
            (5, D(2020, 1, 1), D(2020, 3, 31)),
            (6, D(2020, 1, 1), D(2020, 6, 29)),
            (8, D(2020, 2, 1), D(2020, 3, 15)),
        ],
    ),
    # "fixed_and_censor" held inside 2020-03-31..2020-09-30 (Circe's CensorWindow): starts
    # before 03-31 move to it (1 from 03-01, 4 and 6 from 01-01), ends after 09-30 move to it
    # (2 from 10-28, 3 from 11-28); 5's period (01-01..03-31) keeps the one day 03-31 (a
    # period may start and end on one day); 8's (02-01..03-15) would end before it starts:
    # dropped, and 8 leaves on the window's line.
    "censor_window": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [JAK]},
            "exit": FIXED_CENSORED
            | {"censor_window": {"start": "2020-03-31", "end": "2020-09-30"}},
        },
        [8, 7, 6],
        [
            (1, D(2020, 3, 31), D(2020, 8, 28)),
            (2, D(2020, 5, 1), D(2020, 9, 30)),
            (3, D(2020, 6, 1), D(2020, 9, 30)),
            (4, D(2020, 3, 31), D(2020, 6, 29)),
            (5, D(2020, 3, 31), D(2020, 3, 31)),
            (6, D(2020, 3, 31), D(2020, 6, 29)),
        ],
    ),
    # Age and sex on the event (Circe's criterion Age and Gender): JAK exposures of women aged
    # 40 to 49 (completed years) on the exposure's start. 1 (born 1970-06-15) is 49 on
    # 2020-03-01, before her birthday (Circe's year difference would say 50; her 2021-01-20
    # exposure, at 50, is too late); 2 and 8 are men; 3 is 35; 4 turns 60 on 2020-01-01;
    # 5 turns 40 that day; 6 (born 1970-06-15) is 49 on 2020-01-01. Exit: the end of the
    # period holding the index (1's recorded, 5's and 6's derived).
    "event_age_sex": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [JAK | {"age": {"gte": 40, "lte": 49}, "sex": ["F"]}]},
        },
        [8, 3],
        [
            (1, D(2020, 3, 1), D(2022, 12, 31)),
            (5, D(2020, 1, 1), D(2020, 3, 31)),
            (6, D(2020, 1, 1), D(2020, 12, 31)),
        ],
    ),
    # Records of any code (Circe: a criterion without a CodesetId). Entry: a systemic JAK: 1,
    # 2, 3, 4, 5, 6, 8 (7 topical). No drug exposure of any drug starting in the 730 days
    # before: 8's prednisone started 396 days before. A diagnosis of any code in the 365 days
    # up to the index: 1 (M33.10 274 days before), 3 (C50.9, 152 days), 4 (M33.20, 306 days),
    # 6 (M06.9, rheumatoid arthritis, 214 days); 2's code is 366 days before (2020 is a leap
    # year), 5's 730. Exit: the end of the observation period (recorded for 1 and 3, derived
    # from the records for 4 and 6).
    "any_code": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "No drug of any kind in the 2 years before",
                    "criteria": [
                        {
                            "domain": "drug_exposure",
                            "any_code": True,
                            "start_window": {"start": -730, "end": -1},
                            "occurrence": {"type": "exactly", "count": 0},
                        }
                    ],
                },
                {
                    "label": "A diagnosis of any code in the year before",
                    "criteria": [
                        {
                            "domain": "diagnosis",
                            "any_code": True,
                            "start_window": {"start": -365, "end": 0},
                        }
                    ],
                },
            ],
        },
        [8, 7, 6, 4],
        [
            (1, D(2020, 3, 1), D(2022, 12, 31)),
            (3, D(2020, 6, 1), D(2023, 12, 31)),
            (4, D(2020, 1, 1), D(2020, 12, 31)),
            (6, D(2020, 1, 1), D(2020, 12, 31)),
        ],
    ),
    # Every exposure enters; each ends with its own era (no gap allowed) and periods 30 days
    # or less apart are merged: 1's (20 days apart) become one, 8's (61 days) stay two.
    "all_events_collapsed": (
        {
            "concept_sets": CONCEPT_SETS,
            "persons_with": [DM_TWICE],
            "entry": {"events": [JAK], "limit": "all"},
            "expression_limit": "all",
            "exit": {"strategy": "drug_era", "concept_set": "jak", "era_pad_days": 30},
        },
        [8, 4, 3],
        [
            (1, D(2020, 3, 1), D(2021, 6, 30)),
            (3, D(2020, 6, 1), D(2023, 12, 31)),
            (8, D(2020, 2, 1), D(2020, 4, 1)),
            (8, D(2020, 6, 1), D(2020, 9, 1)),
        ],
    ),
    # A drug era with a persistence window (Circe's CustomEra, circe-be
    # customEraStrategy.sql: each exposure's end moved GapDays + Offset later, an exposure
    # continuing the era when the latest moved end so far is on or after its start, the era
    # ending at that latest end - GapDays): each JAK exposure lasts 60 days beyond its end, and
    # an exposure starting at most 1 day after those 60 days continues the era. 1: 2020-12-31
    # + 60 = 2021-03-01, her next exposure starts 2021-01-20, inside: one era, ending
    # 2021-06-30 + 60 = 2021-08-29. 8: 2020-04-01 + 60 = 2020-05-31, his next starts
    # 2020-06-01, 1 day after: one era, ending 2020-09-01 + 60 = 2020-10-31 (in Circe
    # 2020-04-01 + 61 = 2020-06-01 >= 2020-06-01). 3's is still running: the end of her
    # observation. (The earlier rule bridged gaps of 1 day only, then added the 60 days:
    # 1 -> 2021-03-01, 8 -> 2020-05-31.)
    "era_persistence_window": (
        {
            "concept_sets": CONCEPT_SETS,
            "persons_with": [DM_TWICE],
            "entry": {"events": [JAK]},
            "exit": {
                "strategy": "drug_era",
                "concept_set": "jak",
                "gap_days": 1,
                "offset_days": 60,
            },
        },
        [8, 4, 3],
        [
            (1, D(2020, 3, 1), D(2021, 8, 29)),
            (3, D(2020, 6, 1), D(2023, 12, 31)),
            (8, D(2020, 2, 1), D(2020, 10, 31)),
        ],
    ),
    # The era holding the index, its persistence window included (customEraStrategy.sql:
    # ``start_date between era_start_date and era_end_date``, the end with the Offset): entry
    # a SARS-CoV-2 RNA detected (1 on 2021-01-05, 3 on 2020-06-20, 8 on 2020-03-10), exit the
    # JAK era, exposures lasting 10 days beyond their end, no gap. 1's first era ends
    # 2020-12-31 + 10 = 2021-01-10 (her next exposure, 2021-01-20, starts a new one): her
    # test, 5 days after the exposure's end, is in it -> 2021-01-10. 8's test is in his first
    # exposure, which ends 2020-04-01 + 10 = 2020-04-11; 3's exposure is still running -> the
    # end of her observation. (Under the earlier rule 1's test was outside her era, which ended
    # 2020-12-31 without the 10 days: exit the test's own date + 10, 2021-01-15.)
    "era_index_in_persistence": (
        {
            "concept_sets": SARS_SETS,
            "entry": {"events": [SARS_DETECTED]},
            "exit": {"strategy": "drug_era", "concept_set": "jak", "offset_days": 10},
        },
        [8, 3],
        [
            (1, D(2021, 1, 5), D(2021, 1, 10)),
            (3, D(2020, 6, 20), D(2023, 12, 31)),
            (8, D(2020, 3, 10), D(2020, 4, 11)),
        ],
    ),
    # No era holding the index: the end of the observation period holding it (Circe: no
    # #strategy_ends row for the event, so generateCohort.sql's cohort_ends leave the
    # period's op_end_date). The same entry, JAK eras without gap or persistence: 1's test
    # (2021-01-05) falls between her exposures (to 2020-12-31, from 2021-01-20) -> the end of
    # her observation, 2022-12-31; 8's is in his exposure to 2020-04-01; 3's exposure is
    # still running -> 2023-12-31. (The earlier rule: 1 -> the test's own date.)
    "era_index_unexposed": (
        {
            "concept_sets": SARS_SETS,
            "entry": {"events": [SARS_DETECTED]},
            "exit": {"strategy": "drug_era", "concept_set": "jak"},
        },
        [8, 3],
        [
            (1, D(2021, 1, 5), D(2022, 12, 31)),
            (3, D(2020, 6, 20), D(2023, 12, 31)),
            (8, D(2020, 3, 10), D(2020, 4, 1)),
        ],
    ),
    # Entry events with a group of their own (Circe's CorrelatedCriteria): every systemic JAK
    # exposure having a CK above 2 x ULN starting in the 30 days before the exposure's own
    # start. 1's 2020-03-01 (900/200 on 02-25) yes, its 2021-01-20 no (no CK in the 30 days
    # before); 2's CK is 300/200; 3's 2020-06-01 (500/200 on 05-25) yes; 4, 5, 6 have no CK;
    # 8's 2020-02-01 (700/200 on 01-20) yes, its 2020-06-01 no. Exit: the end of the
    # recorded observation period.
    "having_entry": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {
                "events": [
                    JAK
                    | {
                        "having": {
                            "criteria": [
                                {
                                    "domain": "laboratory",
                                    "test": "ck",
                                    "times_uln": {"gt": 2},
                                    "start_window": BEFORE,
                                }
                            ]
                        }
                    }
                ],
                "limit": "all",
            },
            "expression_limit": "all",
        },
        [8, 3],
        [
            (1, D(2020, 3, 1), D(2022, 12, 31)),
            (3, D(2020, 6, 1), D(2023, 12, 31)),
            (8, D(2020, 2, 1), D(2022, 6, 30)),
        ],
    ),
    # Calendar bounds (Circe's OccurrenceStartDate): the first systemic JAK exposure started
    # from March to June 2020: 1 (2020-03-01), 2 (2020-05-01), 3 (2020-06-01), 8 (its second,
    # 2020-06-01; its first was 2020-02-01); 4, 5 and 6 started in January. Then the person's
    # first DM code (first: true, chosen before the bound) dated before March 2019: 1, 3 and 8
    # (2019-01-01); 2's first is 2019-05-01.
    "dated": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {
                "events": [JAK | {"start_date": {"gte": D(2020, 3, 1), "lte": D(2020, 6, 30)}}]
            },
            "inclusion": [
                {
                    "label": "First DM code before March 2019",
                    "criteria": [
                        {
                            "domain": "diagnosis",
                            "concept_set": "dm",
                            "first": True,
                            "start_date": {"lt": D(2019, 3, 1)},
                            "start_window": {"start": None, "end": 0},
                        }
                    ],
                }
            ],
        },
        [8, 4, 3],
        [
            (1, D(2020, 3, 1), D(2022, 12, 31)),
            (3, D(2020, 6, 1), D(2023, 12, 31)),
            (8, D(2020, 6, 1), D(2022, 6, 30)),
        ],
    ),
    # A criterion whose events have a group of their own, in an observed cohort: the first
    # systemic JAK inside an observation period (1, 2, 3, 4, 5, 6, 8; 7's is topical), having
    # up to the index a DM code itself followed 1 to 365 days later by another DM code (each
    # inside the index's period, the nested one inside the first code's period): 1 (M33.10
    # 2019-01-01, then M3310 151 days later), 3 (31 days), 8 (90 days); 2 has one code, 4's
    # are polymyositis, 5's two are on one day. Exit: the end of the period.
    "having_criterion": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [JAK], "observation": {"prior_days": 0}},
            "inclusion": [
                {
                    "label": "A DM code confirmed within the year",
                    "criteria": [
                        {
                            "domain": "diagnosis",
                            "concept_set": "dm",
                            "start_window": {"start": None, "end": 0},
                            "having": {
                                "criteria": [
                                    {
                                        "domain": "diagnosis",
                                        "concept_set": "dm",
                                        "start_window": {"start": 1, "end": 365},
                                    }
                                ]
                            },
                        }
                    ],
                }
            ],
        },
        [8, 7, 3],
        [
            (1, D(2020, 3, 1), D(2022, 12, 31)),
            (3, D(2020, 6, 1), D(2023, 12, 31)),
            (8, D(2020, 2, 1), D(2022, 6, 30)),
        ],
    ),
    # A measurement ending the day after its date (end: day_after, Circe's end of a
    # measurement) beside hospital stays, every event until its end (fixed, 0 days from the
    # end): each stay to its discharge, each detected SARS-CoV-2 RNA test to the day after it
    # (1's on 2021-01-05, 3's on 2020-06-20, 8's on 2020-03-10; 2's was not detected). No
    # observation required; 8's second stay (2022-06-27..07-03) is cut at the end of the
    # period holding it (2022-06-30). No two periods of a person touch, so none merge.
    "ends_the_day_after": (
        {
            "concept_sets": {**SARS_SETS, "hospital_stay": HOSPITAL_STAY},
            "entry": {
                "events": [
                    {"domain": "visit", "concept_set": "hospital_stay"},
                    {
                        "domain": "measurement",
                        "concept_set": "sars_cov_2_rna",
                        "value_concept_set": "detected",
                        "end": "day_after",
                    },
                ],
                "limit": "all",
            },
            "expression_limit": "all",
            "exit": {"strategy": "fixed", "date": "end", "offset_days": 0},
        },
        [8, 3],
        [
            (1, D(2021, 1, 5), D(2021, 1, 6)),
            (1, D(2021, 2, 10), D(2021, 2, 14)),
            (3, D(2020, 5, 24), D(2020, 5, 27)),
            (3, D(2020, 6, 20), D(2020, 6, 21)),
            (8, D(2020, 3, 10), D(2020, 3, 11)),
            (8, D(2020, 3, 16), D(2020, 3, 22)),
            (8, D(2022, 6, 27), D(2022, 6, 30)),
        ],
    ),
    # Deaths as entry events (any cause), inside an observation period with 365 days before
    # (ATLAS's rule): 2 died 2021-03-01, 425 days into his period (from 2020-01-01); 3 on
    # 2021-01-15, inside hers; 8's death (2022-07-03) is after his period ended (2022-06-30):
    # no entry. Breast cancer recorded before the death (inside the period): 3's C50.9 of
    # 2020-01-01; 2 has none. Exit on the day of death (fixed, 0 days).
    "deaths": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [{"domain": "death"}], "observation": {"prior_days": 365}},
            "inclusion": [
                {
                    "label": "Cancer recorded before death",
                    "criteria": [
                        {
                            "domain": "diagnosis",
                            "concept_set": "cancer",
                            "start_window": {"start": None, "end": 0},
                        }
                    ],
                }
            ],
            "exit": {"strategy": "fixed", "offset_days": 0},
        },
        [8, 2, 1],
        [(3, D(2021, 1, 15), D(2021, 1, 15))],
    ),
    # No death within a year after a systemic JAK start (an exclusion window on the death):
    # JAK users 1, 2, 3, 4, 5, 6, 8 (7 topical); 2 died on day 304 after his index
    # (2020-05-01 to 2021-03-01), 3 on day 228 (2020-06-01 to 2021-01-15); 8 on day 883, after
    # the window; 1, 4, 5 and 6 have no death. Exit at the end of the period holding the index.
    "no_death_in_a_year": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "No death within 365 days after",
                    "criteria": [
                        {
                            "domain": "death",
                            "start_window": {"start": 0, "end": 365},
                            "occurrence": {"type": "exactly", "count": 0},
                        }
                    ],
                }
            ],
        },
        [8, 7, 5],
        [
            (1, D(2020, 3, 1), D(2022, 12, 31)),
            (4, D(2020, 1, 1), D(2020, 12, 31)),
            (5, D(2020, 1, 1), D(2020, 3, 31)),
            (6, D(2020, 1, 1), D(2020, 12, 31)),
            (8, D(2020, 2, 1), D(2022, 6, 30)),
        ],
    ),
    # Follow-up from a systemic JAK start to the end of observation, cut at death (a death as
    # the censoring event): 2's (2022-12-31) at his death, 2021-03-01; 3's (2023-12-31) at
    # hers, 2021-01-15; 8's ends with his period (2022-06-30), before his death (2022-07-03);
    # 1, 4, 5, 6 have no death (1's recorded period, 4's, 5's, 6's derived ones).
    "censored_at_death": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [JAK]},
            "exit": {"strategy": "end_of_observation", "censor": [{"domain": "death"}]},
        },
        [8, 7],
        [
            (1, D(2020, 3, 1), D(2022, 12, 31)),
            (2, D(2020, 5, 1), D(2021, 3, 1)),
            (3, D(2020, 6, 1), D(2021, 1, 15)),
            (4, D(2020, 1, 1), D(2020, 12, 31)),
            (5, D(2020, 1, 1), D(2020, 3, 31)),
            (6, D(2020, 1, 1), D(2020, 12, 31)),
            (8, D(2020, 2, 1), D(2022, 6, 30)),
        ],
    ),
    # Observation periods as entry events: every period of every person (no observation
    # window asked), each to the end of the period holding it, i.e. its own end. The recorded
    # periods of 1, 2, 3 and 8; the derived ones (earliest to latest record) of 4
    # (2019-01-01..2020-12-31), 5 (2018-01-01..2020-03-31), 6 (2019-06-01..2020-12-31) and
    # 7 (M33.10 2019-01-01 to the end of her tofacitinib cream, 2020-03-01): the one
    # definition of periods the entry window and the exit read.
    "observation_periods": (
        {"entry": {"events": [{"domain": "observation_period"}], "limit": "all"}},
        [8, 8],
        [
            (1, D(2018, 1, 1), D(2022, 12, 31)),
            (2, D(2020, 1, 1), D(2022, 12, 31)),
            (3, D(2015, 1, 1), D(2023, 12, 31)),
            (4, D(2019, 1, 1), D(2020, 12, 31)),
            (5, D(2018, 1, 1), D(2020, 3, 31)),
            (6, D(2019, 6, 1), D(2020, 12, 31)),
            (7, D(2019, 1, 1), D(2020, 3, 1)),
            (8, D(2010, 1, 1), D(2022, 6, 30)),
        ],
    ),
    # Observed on 1 June 2020 (Circe's UserDefinedPeriod: a period holding the date, the event
    # dated by it) in a period of 1,000 days or more (its own start to its end), with 365 days
    # observed before that day. Periods holding 2020-06-01: 1, 2, 3, 4, 6, 8 (5's ends
    # 2020-03-31, 7's 2020-03-01); of 1,000 days or more: 1 (1,825), 2 (1,095), 3 (3,286), 8
    # (4,563), not 4 (730) or 6 (579); 365 days before 2020-06-01 inside the period: not 2
    # (from 2020-01-01, 152 days). Exit 30 days after the event's start, 2020-07-01.
    "observed_on_a_day": (
        {
            "entry": {
                "events": [
                    {
                        "domain": "observation_period",
                        "user_period": {"start": D(2020, 6, 1), "end": D(2020, 6, 1)},
                        "length": {"gte": 1000},
                    }
                ],
                "observation": {"prior_days": 365},
            },
            "exit": {"strategy": "fixed", "offset_days": 30},
        },
        [8, 3],
        [
            (1, D(2020, 6, 1), D(2020, 7, 1)),
            (3, D(2020, 6, 1), D(2020, 7, 1)),
            (8, D(2020, 6, 1), D(2020, 7, 1)),
        ],
    ),
    # A systemic JAK start (1, 2, 3, 4, 5, 6, 8; each inside a period) in an observation period
    # of at least 730 days that started at least 365 days before it (a criterion on the
    # period, counted inside the index's period, Circe's rule): 1 (from 2018-01-01, 1,825
    # days), 3 (2015-01-01), 4 (2019-01-01, exactly 365 days before 2020-01-01, and exactly
    # 730 days long: both bounds met), 5 (2018-01-01, 820 days), 8 (2010-01-01); not 2 (from
    # 2020-01-01) or 6 (from 2019-06-01). Follow-up to the end of observation, censored on
    # 1 December 2020 where the period holds that day (a period with a user-defined start as
    # the censoring event): 1, 3, 4, 8 on 2020-12-01; 5's period ends 2020-03-31.
    "observed_before_a_jak": (
        {
            "concept_sets": CONCEPT_SETS,
            "entry": {"events": [JAK], "observation": {}},
            "inclusion": [
                {
                    "label": "Observed for 2 years, from a year before",
                    "criteria": [
                        {
                            "domain": "observation_period",
                            "length": {"gte": 730},
                            "start_window": {"end": -365},
                        }
                    ],
                }
            ],
            "exit": {
                "censor": [
                    {"domain": "observation_period", "user_period": {"start": D(2020, 12, 1)}}
                ]
            },
        },
        [8, 7, 5],
        [
            (1, D(2020, 3, 1), D(2020, 12, 1)),
            (3, D(2020, 6, 1), D(2020, 12, 1)),
            (4, D(2020, 1, 1), D(2020, 12, 1)),
            (5, D(2020, 1, 1), D(2020, 3, 31)),
            (8, D(2020, 2, 1), D(2020, 12, 1)),
        ],
    ),
    # Rheumatoid arthritis recorded as ICD-10-CM M06.9 twice in the year before a systemic JAK
    # start, by each record's SOURCE code (Circe's ConditionSourceConcept): 6's own M06.9
    # (2019-06-01; its source recorded the code itself, so its source code is its code) and
    # her SNOMED 69896004 recorded as M06.9 (2019-09-01): two. By their codes (concept_set),
    # only one is M06.9 and 6 would not pass. To the end of her observation, 2020-12-31.
    "recorded_as": (
        {
            "concept_sets": {
                **CONCEPT_SETS,
                "ra_icd10": {"items": [{"system": "ICD10CM", "code": "M06.9"}]},
            },
            "entry": {"events": [JAK]},
            "inclusion": [
                {
                    "label": "Recorded as M06.9 twice in the year before",
                    "criteria": [
                        {
                            "domain": "diagnosis",
                            "source_concept_set": "ra_icd10",
                            "start_window": {"start": -365, "end": 0},
                            "occurrence": {"type": "at_least", "count": 2},
                        }
                    ],
                }
            ],
        },
        [8, 7, 1],
        [(6, D(2020, 1, 1), D(2020, 12, 31))],
    ),
}


#: Score outcomes at week 24 (TIS and DOI for adults, TIS for children) on every systemic JAK
#: user (as "fixed_and_censor": 1, 2, 3, 4, 5, 6, 8), with the expected columns of the persons
#: with core set measures (4, 5 and 6 have none: every input is named missing). The arithmetic
#: is in tests/cohort/test_score_outcomes.py.
WEEK24 = {"followup": {"start": 112, "end": 224}, "at_day": 168}
SCORE_CASE: tuple[dict[str, Any], dict[int, dict[str, Any]]] = (
    {
        "label": "TIS and DOI at week 24",
        "concept_sets": CONCEPT_SETS,
        "entry": {"events": [JAK]},
        "outcomes": [
            {"name": "tis24", "score": "tis", "mmt8_max": 80, **WEEK24},
            {"name": "doi24", "score": "doi", "mmt8_max": 80, **WEEK24},
            {"name": "jtis24", "score": "tis", "population": "juvenile", **WEEK24},
        ],
    },
    {
        1: {
            "tis24_followup_day": 168,
            "tis24_tis": 72.5,
            "tis24_category": "major",
            "tis24_missing": None,
            "doi24_followup_day": 168,
            "doi24_met": True,
            "doi24_improved": 6,
            "doi24_worsened": 0,
            "doi24_missing": None,
            "jtis24_tis": None,
            "jtis24_missing": "cmas_baseline; cmas_followup; chaq_baseline; chaq_followup",
        },
        2: {
            "tis24_tis": None,
            "tis24_missing": "mmt8_baseline; mmt8_followup; haq_baseline; haq_followup",
            "jtis24_followup_day": 168,
            "jtis24_tis": 65.0,
            "jtis24_category": "moderate",
            "jtis24_missing": None,
        },
        3: {
            "tis24_followup_day": 170,
            "tis24_tis": None,
            "tis24_category": None,
            "tis24_missing": "ptga_followup",
            "doi24_met": None,
            "doi24_improved": None,
            "doi24_missing": "ptga_followup",
        },
        8: {
            "tis24_followup_day": 160,
            "tis24_tis": None,
            "tis24_missing": "ck_followup",
            "doi24_met": None,
            "doi24_worsened": None,
            "doi24_missing": "ck_followup",
        },
        4: {
            "tis24_followup_day": None,
            "tis24_tis": None,
            "tis24_missing": "pga_baseline; pga_followup; ptga_baseline; ptga_followup; "
            "mmt8_baseline; mmt8_followup; haq_baseline; haq_followup; ema_baseline; "
            "ema_followup; muscle_enzyme_baseline",
        },
    },
)
