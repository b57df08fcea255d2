"""Write the SYNTHETIC patient-level data set of examples/min2022 (one CSV per registry table).

The 11 qualifying patients are invented so that every number Min et al. (J Am Acad Dermatol
2022;86:423-425) report for their 11 patients comes out of the study pipeline; 7 further
invented persons fail one inclusion step each, so the attrition table has work to do. No real
patient is in this data set. Re-create the CSV files with:

    python examples/min2022/make_dataset.py

The design of each patient is listed in README.md next to this file.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DAYS_PER_MONTH = 30.4375

# The registry columns of data model version 2 (docs/data-model.md), without the provenance
# columns, which a folder may leave out (this data set was not imported from anywhere).
COLUMNS = {
    "person": [
        "person_id",
        "source_id",
        "site",
        "sex",
        "birth_date",
        "birth_year",
        "race",
        "ethnicity",
    ],  # fmt: skip
    "person_race": ["person_id", "race"],
    "diagnosis": ["person_id", "code_system", "code", "diagnosis_date"],
    "dm_subtype": ["person_id", "subtype", "classified_date"],
    "drug_exposure": [
        "exposure_id",
        "person_id",
        "ingredient",
        "code_system",
        "code",
        "start_date",
        "end_date",
        "dose",
        "dose_unit",
        "frequency",
        "formulation",
        "route",
    ],  # fmt: skip
    "assessment": [
        "assessment_id",
        "visit_id",
        "person_id",
        "assessment_date",
        "instrument",
        "measure",
        "value",
    ],  # fmt: skip
    "laboratory": [
        "person_id",
        "test",
        "loinc",
        "result_date",
        "value",
        "unit",
        "uln",
        "uln_unit",
        "source_value",
        "source_unit",
    ],  # fmt: skip
    "adverse_event": [
        "person_id",
        "term",
        "onset_date",
        "grade",
        "serious",
        "outcome",
        "suspected_drug",
        "led_to_discontinuation",
    ],  # fmt: skip
    "registry_metadata": ["key", "value"],
}

SITES = ("synthetic-site-1", "synthetic-site-2")
TOFACITINIB = {1: ("RXNORM", "1357536"), 2: ("ATC", "L04AA29")}

# (id, subtype, sex, age at index, index date, baseline CDASI, final improvement,
#  treatment months, days to first response, (early non-response day, change) or None,
#  JAK regimens as (from day, dose, frequency, formulation))
PATIENTS: list[dict[str, Any]] = [
    dict(pid=1, subtype="amyopathic", sex="F", age=74, index="2017-03-06", base=17, gain=11,
         months=11, response=21, early=None, jak=[(0, 5, "BID", "IR")]),
    dict(pid=2, subtype="amyopathic", sex="F", age=52, index="2016-05-16", base=26, gain=17,
         months=40, response=24, early=None, jak=[(0, 5, "BID", "IR"), (35, 10, "BID", "IR")]),
    dict(pid=3, subtype="amyopathic", sex="M", age=61, index="2017-09-11", base=28, gain=19,
         months=31, response=26, early=None, jak=[(0, 5, "BID", "IR"), (42, 10, "BID", "IR")]),
    dict(pid=4, subtype="amyopathic", sex="F", age=45, index="2018-01-08", base=30, gain=21,
         months=27, response=28, early=None, jak=[(0, 5, "BID", "IR"), (30, 10, "BID", "IR")]),
    dict(pid=5, subtype="amyopathic", sex="F", age=38, index="2018-06-04", base=38, gain=23,
         months=24, response=28, early=None, jak=[(0, 5, "BID", "IR"), (56, 10, "BID", "IR")]),
    dict(pid=6, subtype="classic_active_myositis", sex="F", age=56, index="2017-11-13", base=24,
         gain=15, months=33, response=29, early=None,
         jak=[(0, 5, "BID", "IR"), (45, 10, "BID", "IR")]),
    dict(pid=7, subtype="classic_active_myositis", sex="F", age=47, index="2018-03-19", base=25,
         gain=16, months=29, response=30, early=None,
         jak=[(0, 5, "BID", "IR"), (31, 10, "BID", "IR")]),
    dict(pid=8, subtype="classic_postmyopathic", sex="F", age=63, index="2018-08-27", base=29,
         gain=17, months=19, response=27, early=None,
         jak=[(0, 5, "BID", "IR"), (40, 11, "BID", "ER")]),
    dict(pid=9, subtype="classic_postmyopathic", sex="F", age=33, index="2017-06-19", base=31,
         gain=19, months=36, response=42, early=(28, 3),
         jak=[(0, 5, "BID", "IR"), (28, 11, "BID", "ER")]),
    dict(pid=10, subtype="juvenile_postmyopathic", sex="F", age=19, index="2018-10-01", base=27,
         gain=18, months=22, response=39, early=(21, 2), jak=[(0, 10, "BID", "IR")]),
    dict(pid=11, subtype="juvenile_postmyopathic", sex="F", age=24, index="2017-01-23", base=30,
         gain=20, months=27.2, response=55, early=(30, 2), jak=[(0, 10, "BID", "IR")]),
]  # fmt: skip

# Systemic therapies: (ingredient, dose, unit, frequency, formulation, route)
DRUGS = {
    "prednisone": ("mg", "QD", "IR", "oral"),
    "hydroxychloroquine": ("mg", "BID", "IR", "oral"),
    "methotrexate": ("mg", "QW", "IR", "oral"),
    "mycophenolate mofetil": ("mg", "BID", "IR", "oral"),
    "immune globulin": ("mg", "Q4W", "INF", "intravenous"),
    "dapsone": ("mg", "QD", "IR", "oral"),
    "quinacrine": ("mg", "QD", "IR", "oral"),
    "rituximab": ("mg", "ONCE", "INF", "intravenous"),
    "azathioprine": ("mg", "QD", "IR", "oral"),
    "cyclosporine": ("mg", "BID", "IR", "oral"),
    "thalidomide": ("mg", "QD", "IR", "oral"),
    "lenalidomide": ("mg", "QD", "IR", "oral"),
    "isotretinoin": ("mg", "QD", "IR", "oral"),
    "infliximab": ("mg", "ONCE", "INF", "intravenous"),
}
USUAL_DOSE = {
    "prednisone": 20, "hydroxychloroquine": 200, "methotrexate": 20,
    "mycophenolate mofetil": 1500, "immune globulin": 140000, "dapsone": 100, "quinacrine": 100,
    "rituximab": 1000, "azathioprine": 100, "cyclosporine": 150, "thalidomide": 100,
    "lenalidomide": 5, "isotretinoin": 40, "infliximab": 400,
}  # fmt: skip

# Therapies stopped before the index (prior only), per patient.
PRIOR_ONLY = {
    1: ["hydroxychloroquine", "methotrexate", "mycophenolate mofetil"],
    2: ["prednisone", "mycophenolate mofetil", "immune globulin", "dapsone"],
    3: ["hydroxychloroquine", "prednisone", "methotrexate", "quinacrine"],
    4: ["methotrexate", "mycophenolate mofetil", "immune globulin", "rituximab", "azathioprine",
        "cyclosporine", "thalidomide"],
    5: ["prednisone", "mycophenolate mofetil", "lenalidomide", "isotretinoin"],
    6: ["hydroxychloroquine", "methotrexate", "immune globulin"],
    7: ["hydroxychloroquine", "methotrexate", "rituximab", "infliximab"],
    8: ["hydroxychloroquine", "prednisone", "quinacrine", "dapsone"],
    9: ["prednisone", "methotrexate", "mycophenolate mofetil", "immune globulin", "cyclosporine",
        "thalidomide", "dapsone"],
    10: ["prednisone", "hydroxychloroquine", "methotrexate", "immune globulin"],
    11: ["prednisone", "methotrexate", "mycophenolate mofetil"],
}  # fmt: skip

# Concomitant therapies at the index: (ingredient, starting dose, [(day, new dose or None=stop)])
Change = tuple[int, float | None]
CONCOMITANT: dict[int, list[tuple[str, float, list[Change]]]] = {
    1: [("prednisone", 10, [(60, 5), (150, None)])],
    2: [("methotrexate", 20, [(120, None)]), ("hydroxychloroquine", 200, [(180, None)])],
    3: [("mycophenolate mofetil", 1500, [(90, None)])],
    4: [("prednisone", 20, [(60, 10), (150, 5)]), ("hydroxychloroquine", 200, [])],
    5: [("immune globulin", 140000, [(120, 70000)]), ("methotrexate", 15, []),
        ("hydroxychloroquine", 200, [])],
    6: [("prednisone", 15, [(90, 7.5)]), ("mycophenolate mofetil", 1000, [])],
    7: [("prednisone", 10, [(90, 5)]), ("azathioprine", 100, [(200, None)])],
    8: [("methotrexate", 25, [(120, 15)])],
    9: [("hydroxychloroquine", 200, [(180, 100)])],  # 200 mg twice daily -> 100 mg twice daily
    10: [("mycophenolate mofetil", 1500, [(150, 1000)])],
    11: [("hydroxychloroquine", 200, [])],  # unchanged: the one patient without tapering
}  # fmt: skip

PRURITUS = {1: (6, 2), 2: (8, 3), 3: (7, 1), 4: (9, 4), 5: (8, 2), 6: (6, 1), 7: (7, 3),
            8: (9, 2), 9: (8, 4), 10: (5, 1), 11: (7, 2)}  # fmt: skip


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def birth_for_age(index: dt.date, age: int) -> dt.date:
    """A birth date 100 days before the ``age``-th birthday falls on the index date, so the
    patient is ``age`` completed years old at the index."""
    return dt.date(index.year - age, index.month, index.day) - dt.timedelta(days=100)


class Tables:
    def __init__(self) -> None:
        self.rows: dict[str, list[dict[str, Any]]] = {name: [] for name in COLUMNS}
        self.exposure_id = 0
        self.assessment_id = 0

    def add(self, table: str, **values: Any) -> None:
        self.rows[table].append(values)

    def person(self, pid: int, site: str, sex: str, birth: dt.date) -> None:
        """A person with an invented hospital number (SYN-...) and one recorded race."""
        self.add("person", person_id=pid, source_id=f"SYN-{pid:04d}", site=site, sex=sex,
                 birth_date=birth, birth_year=None, race="White",
                 ethnicity="Not Hispanic or Latino")  # fmt: skip
        self.add("person_race", person_id=pid, race="White")

    def ck(self, pid: int, when: dt.date, value: float) -> None:
        """A CK result in U/L (the canonical unit, so source and stored values agree)."""
        self.add("laboratory", person_id=pid, test="ck", loinc="2157-6", result_date=when,
                 value=value, unit="U/L", uln=190.0, uln_unit="U/L", source_value=value,
                 source_unit="U/L")  # fmt: skip

    def drug(self, pid: int, ingredient: str, start: dt.date, end: dt.date | None, dose: float,
             *, system: str = "LOCAL", code: str | None = None, frequency: str | None = None,
             formulation: str | None = None, route: str | None = None) -> None:  # fmt: skip
        unit, usual_frequency, usual_form, usual_route = DRUGS.get(
            ingredient, ("mg", "BID", "IR", "oral")
        )
        self.exposure_id += 1
        self.add(
            "drug_exposure", exposure_id=self.exposure_id, person_id=pid, ingredient=ingredient,
            code_system=system, code=code or ingredient, start_date=start, end_date=end,
            dose=dose, dose_unit=unit, frequency=frequency or usual_frequency,
            formulation=formulation or usual_form, route=route or usual_route,
        )  # fmt: skip

    def score(self, pid: int, when: dt.date, instrument: str, measure: str, value: float) -> None:
        self.assessment_id += 1
        self.add(
            "assessment", assessment_id=self.assessment_id, person_id=pid, assessment_date=when,
            instrument=instrument, measure=measure, value=value,
        )  # fmt: skip


def cohort_patient(t: Tables, p: dict[str, Any]) -> None:
    pid, index = p["pid"], day(p["index"])
    site = 1 if pid <= 6 else 2
    t.person(pid, SITES[site - 1], p["sex"], birth_for_age(index, p["age"]))
    juvenile = p["subtype"].startswith("juvenile")
    code = "M33.02" if juvenile else ("M33.12" if "classic" in p["subtype"] else "M33.10")
    undotted = code.replace(".", "")
    t.add("diagnosis", person_id=pid, code_system="ICD10CM", code=code,
          diagnosis_date=index - dt.timedelta(days=900))  # fmt: skip
    t.add("diagnosis", person_id=pid, code_system="ICD10CM", code=undotted,
          diagnosis_date=index - dt.timedelta(days=400))  # fmt: skip
    t.add("dm_subtype", person_id=pid, subtype=p["subtype"],
          classified_date=index - dt.timedelta(days=850))  # fmt: skip

    days = round(p["months"] * DAYS_PER_MONTH)  # inclusive treatment days
    end = index + dt.timedelta(days=days - 1)
    system, jak_code = TOFACITINIB[site]
    regimens = p["jak"]
    for k, (start_day, dose, frequency, formulation) in enumerate(regimens):
        stop = end if k == len(regimens) - 1 else index + dt.timedelta(days=regimens[k + 1][0] - 1)
        t.drug(pid, "tofacitinib", index + dt.timedelta(days=start_day), stop, dose,
               system=system, code=jak_code, frequency=frequency, formulation=formulation,
               route="oral")  # fmt: skip

    # Prior therapies, stopped before the index.
    for k, name in enumerate(PRIOR_ONLY[pid]):
        start = index - dt.timedelta(days=1500 - 120 * k)
        t.drug(pid, name, start, start + dt.timedelta(days=90), USUAL_DOSE[name])
    # Concomitant therapies: started before the index, then tapered, stopped or continued.
    for name, dose, changes in CONCOMITANT[pid]:
        start, current = index - dt.timedelta(days=200), float(dose)
        for change_day, new in changes:
            change = index + dt.timedelta(days=change_day)
            t.drug(pid, name, start, change - dt.timedelta(days=1), current)
            if new is None:
                break
            start, current = change, float(new)
        else:
            t.drug(pid, name, start, end + dt.timedelta(days=90), current)

    # CDASI activity (recorded scores only, as the paper reports scores, not items).
    base, final = p["base"], p["base"] - p["gain"]
    baseline_day = 0 if pid == 3 else -7 - pid
    t.score(pid, index + dt.timedelta(days=baseline_day), "cdasi", "activity", base)
    if p["early"] is not None:
        early_day, early_change = p["early"]
        t.score(pid, index + dt.timedelta(days=early_day), "cdasi", "activity", base - early_change)
    first_response = base - max(5, min(p["gain"] - 2, 8))
    t.score(pid, index + dt.timedelta(days=p["response"]), "cdasi", "activity", first_response)
    middle = (first_response + final) // 2 + 1
    t.score(pid, index + dt.timedelta(days=120), "cdasi", "activity", max(middle, final))
    last_day = days - 15
    t.score(pid, index + dt.timedelta(days=last_day), "cdasi", "activity", final)

    # Pruritus NRS at baseline and at the last visit.
    before, after = PRURITUS[pid]
    t.score(pid, index + dt.timedelta(days=baseline_day), "pruritus_nrs", "score", before)
    t.score(pid, index + dt.timedelta(days=last_day), "pruritus_nrs", "score", after)

    # Active myositis: raised CK and weak muscles at baseline, normal at the last visit.
    if p["subtype"] == "classic_active_myositis":
        for when, ck, mmt in ((baseline_day, 950.0, 62), (120, 240.0, 72), (last_day, 120.0, 79)):
            date = index + dt.timedelta(days=when)
            t.ck(pid, date, ck)
            t.score(pid, date, "mmt8", "total", mmt)

    if pid == 6:  # the one adverse event of the series
        t.add("adverse_event", person_id=pid, term="herpes simplex, orolabial",
              onset_date=index + dt.timedelta(days=200), grade=2, serious=False,
              outcome="recovered", suspected_drug="tofacitinib",
              led_to_discontinuation=False)  # fmt: skip


def non_qualifying(t: Tables) -> None:
    """Seven invented persons, each failing one inclusion step."""

    def person(pid: int, sex: str, birth: str) -> None:
        t.person(pid, SITES[pid % 2], sex, day(birth))

    def dm_codes(pid: int, first: str, n: int = 2, code: str = "M33.10") -> None:
        for k in range(n):
            t.add("diagnosis", person_id=pid, code_system="ICD10CM", code=code,
                  diagnosis_date=day(first) + dt.timedelta(days=200 * k))  # fmt: skip

    # 101: rheumatoid arthritis on tofacitinib, no DM (fails the diagnosis step).
    person(101, "F", "1960-02-02")
    for k in range(2):
        t.add("diagnosis", person_id=101, code_system="ICD10CM", code="M06.9",
              diagnosis_date=day("2016-01-10") + dt.timedelta(days=300 * k))  # fmt: skip
    t.drug(101, "tofacitinib", day("2017-04-03"), day("2019-04-03"), 5, system="RXNORM",
           code="1357536", frequency="BID", formulation="IR", route="oral")  # fmt: skip
    # 102: polymyositis (M33.22 is not DM), prednisone.
    person(102, "M", "1955-07-07")
    dm_codes(102, "2016-03-01", code="M33.22")
    t.drug(102, "prednisone", day("2016-03-15"), day("2017-03-15"), 40)
    # 107: a single DM code (fails "2 codes on distinct dates"), on tofacitinib.
    person(107, "F", "1971-09-09")
    dm_codes(107, "2016-05-05", n=1, code="M33.12")
    t.drug(107, "tofacitinib", day("2017-06-01"), day("2018-06-01"), 5, system="RXNORM",
           code="1357536", frequency="BID", formulation="IR", route="oral")  # fmt: skip
    # 103: DM, never on a JAK inhibitor (fails the exposure step).
    person(103, "F", "1980-03-03")
    dm_codes(103, "2016-02-02")
    t.drug(103, "hydroxychloroquine", day("2016-03-01"), None, 200)
    t.score(103, day("2016-03-01"), "cdasi", "activity", 22)
    t.score(103, day("2016-09-01"), "cdasi", "activity", 15)
    # 104: DM on topical ruxolitinib only (not systemic exposure).
    person(104, "F", "1975-04-04")
    dm_codes(104, "2021-01-04")
    t.drug(104, "ruxolitinib", day("2021-11-01"), day("2022-05-01"), 1, system="ATC",
           code="D11AH09", frequency="BID", formulation="TOP", route="topical")  # fmt: skip
    t.score(104, day("2021-10-25"), "cdasi", "activity", 19)
    t.score(104, day("2022-01-10"), "cdasi", "activity", 14)
    # 105: DM on tofacitinib, CDASI only 60 days before the start (outside the baseline window).
    person(105, "F", "1968-05-05")
    dm_codes(105, "2016-06-01", code="M3310")
    t.drug(105, "tofacitinib", day("2018-02-05"), day("2019-02-05"), 5, system="ATC",
           code="L04AA29", frequency="BID", formulation="IR", route="oral")  # fmt: skip
    t.score(105, day("2017-12-07"), "cdasi", "activity", 30)
    t.score(105, day("2018-04-05"), "cdasi", "activity", 18)
    # 106: DM on tofacitinib with a baseline CDASI but no follow-up CDASI.
    person(106, "M", "1962-06-06")
    dm_codes(106, "2015-11-01")
    t.drug(106, "tofacitinib", day("2017-08-07"), day("2018-08-07"), 10, system="RXNORM",
           code="1357536", frequency="BID", formulation="IR", route="oral")  # fmt: skip
    t.score(106, day("2017-08-01"), "cdasi", "activity", 33)


def main() -> None:
    t = Tables()
    for p in PATIENTS:
        cohort_patient(t, p)
    non_qualifying(t)
    metadata = {
        "schema_version": "5",
        "synthetic": "true",
        "generator": "examples/min2022/make_dataset.py (hand-built; myositis-outcomes)",
        "description": "SYNTHETIC patients invented to match the published summary numbers of "
        "Min et al. J Am Acad Dermatol 2022;86:423-425; no real patient data",
        "created_at": "2026-11-23T00:00:00+00:00",
    }
    t.rows["registry_metadata"] = [{"key": k, "value": v} for k, v in metadata.items()]
    for table, columns in COLUMNS.items():
        with (HERE / f"{table}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for row in t.rows[table]:
                writer.writerow({c: _text(row.get(c)) for c in columns})


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


if __name__ == "__main__":
    main()
