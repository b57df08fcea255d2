"""Write the SYNTHETIC REDCap exports of examples/redcap (no real patient is in them).

Two projects, each exported as REDCap exports them (data dictionary, raw flat record export
with the system columns, checkbox columns and form status columns, instrument-event mapping):

- ``template-export/``: a project made from the bundled template (``myositis template
  --redcap``), with data access groups as sites; it imports with no mapping;
- ``derm-clinic/``: a differently named project (its own field, form and event names and
  codes, a wrong calculated CDASI score, files under REDCap's download names), imported with
  ``derm-clinic-mapping.yaml``.

Re-create them with ``python examples/redcap/make_exports.py``. The patients, and the cohort
the bundled JAK study finds in each, are listed in README.md beside this file.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from myositis.instruments import cdasi
from myositis.sources.redcap.dictionary import HEADER, Field, checkbox_column, dictionary_rows
from myositis.sources.redcap.template import (
    DESIGNATIONS,
    EVENTS,
    INGREDIENTS,
    REPEATING,
    dictionary_fields,
)

HERE = Path(__file__).resolve().parent
Row = dict[str, Any]  # event, form (repeating instrument), instance, dag, values


def _csv(rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def export_records(
    fields: list[Field],
    designations: dict[str, tuple[str, ...]] | None,
    repeating: set[tuple[str, str]],
    records: list[tuple[str, list[Row]]],
    *,
    dags: bool,
) -> str:
    """A raw flat export as REDCap writes it: the record id, the system columns, then every
    field in dictionary order (a checkbox as one column per choice) with ``<form>_complete``
    after each form's fields. A row holds the forms of its event (a repeating instrument's
    row only its form): their checkboxes are 0/1 and their status 0 (no data) or 2; the cells
    of the other forms are empty."""
    forms = list(dict.fromkeys(f.form for f in fields))
    columns: list[tuple[str, Field | None, str | None, str]] = []  # name, field, code, form
    for form in forms:
        for f in (f for f in fields[1:] if f.form == form):
            if f.is_checkbox:
                columns += [(checkbox_column(f.name, c), f, c, form) for c in f.choices]
            else:
                columns.append((f.name, f, None, form))
        columns.append((f"{form}_complete", None, None, form))
    system = ["redcap_event_name"] if designations is not None else []
    system += ["redcap_repeat_instrument", "redcap_repeat_instance"]
    system += ["redcap_data_access_group"] if dags else []
    out = [[fields[0].name, *system, *(c[0] for c in columns)]]
    for record_id, rows in records:
        dag = next((r["dag"] for r in rows if r.get("dag")), "")  # on every row of the record
        for row in rows:
            event, form = row.get("event"), row.get("form")
            if form:
                held = {form}
            else:
                in_event = designations[event] if designations is not None else forms
                held = {f for f in in_event if (event or "", f) not in repeating}
            values = row["values"]
            cells: list[Any] = [record_id]
            cells += [event] if designations is not None else []
            cells += [form or "", row.get("instance") or ""]
            cells += [dag] if dags else []
            for name, f, code, column_form in columns:
                if column_form not in held:
                    cells.append("")
                elif f is None:  # the form's status
                    filled = any(x.form == column_form and x.name in values for x in fields)
                    cells.append(2 if filled else 0)
                elif code is not None:
                    cells.append(1 if code in values.get(f.name, ()) else 0)
                else:
                    cells.append(values.get(name, ""))
            out.append(cells)
    return _csv(out)


def items(**given: int) -> dict[str, int]:
    """Every CDASI v2 item, 0 unless given."""
    return {f.column: given.get(f.column, 0) for f in cdasi.ITEMS}


# -- the template project -------------------------------------------------------------------

#: A CDASI with activity 20 and one with activity 10 (cdasi_items.csv; papules absent).
BASE20 = items(
    scalp_erythema=3,
    scalp_scale=2,
    malar_erythema=3,
    periorbital_erythema=2,
    neck_v_erythema=2,
    arm_erythema=2,
    hands_dorsum_erythema=2,
    gottron_hands_erythema=2,
    periungual=2,
)
FOLLOW10 = items(
    scalp_erythema=1,
    malar_erythema=2,
    periorbital_erythema=1,
    neck_v_erythema=1,
    arm_erythema=1,
    hands_dorsum_erythema=1,
    gottron_hands_erythema=1,
    periungual=2,
)
MMT8 = {
    "neck_flexors": 9,
    **{
        f"{g}_{s}": 9
        for g in (
            "deltoid",
            "biceps",
            "gluteus_maximus",
            "gluteus_medius",
            "quadriceps",
            "wrist_extensors",
            "ankle_dorsiflexors",
        )
        for s in ("right", "left")
    },
}
HAQ = {
    "dressing_grooming_1": 1,
    "dressing_grooming_2": 0,
    "arising_1": 1,
    "arising_2": 1,
    "eating_1": 0,
    "eating_2": 0,
    "eating_3": 1,
    "walking_1": 1,
    "walking_2": 2,
    "hygiene_1": 0,
    "hygiene_2": 1,
    "hygiene_3": 0,
    "reach_1": 2,
    "reach_2": 1,
    "grip_1": 0,
    "grip_2": 1,
    "grip_3": 0,
    "activities_1": 1,
    "activities_2": 1,
    "activities_3": 2,
    "walking_aid": 1,
    "grip_aid": 0,
}
DRUG = {name: str(i) for i, name in enumerate(INGREDIENTS, start=1)}
B, W4, W12, W24, UN = (e for _, e, _ in (EVENTS[0], EVENTS[1], EVENTS[2], EVENTS[3], EVENTS[6]))


def visit(
    event: str, date: str, cdasi_items: dict[str, int] | None = None, dag: str = "", **more: Any
) -> Row:
    values: dict[str, Any] = {"visit_date": date, **(cdasi_items or {}), **more}
    return {"event": event, "dag": dag, "values": values}


def med(
    n: int,
    drug: str,
    start: str,
    stop: str = "",
    dose: str = "5",
    freq: str = "BID",
    formulation: str = "IR",
    route: str = "oral",
) -> Row:
    return {
        "event": B,
        "form": "medications",
        "instance": n,
        "values": {
            "med_ingredient": DRUG[drug],
            "med_dose": dose,
            "med_dose_unit": "mg",
            "med_frequency": freq,
            "med_formulation": formulation,
            "med_route": route,
            "med_start": start,
            "med_stop": stop,
        },
    }


def dx_code(n: int, date: str, code: str, system: str = "ICD10CM") -> Row:
    return {
        "event": B,
        "form": "diagnosis_codes",
        "instance": n,
        "values": {"dxc_date": date, "dxc_system": system, "dxc_code": code},
    }


def person(
    sex: str,
    dob: str,
    races: set[str],
    *,
    dx: str,
    code: str = "M3310",
    subtype: str = "amyopathic",
    first: str = "Ann",
    last: str = "Example",
    mrn: str = "",
) -> dict[str, Any]:
    return {
        "first_name": first,
        "last_name": last,
        "mrn": mrn,
        "email": f"{first.lower()}@example.org",
        "dob": dob,
        "sex": sex,
        "race": races,
        "ethnicity": "2",
        "dx_date": dx,
        "dx_code": code,
        "dm_subtype": subtype,
        "dm_subtype_date": dx,
    }


def template_records() -> list[tuple[str, list[Row]]]:
    """Eight SYNTHETIC patients (README.md lists what each one tests)."""
    ck = {"lab_date": "", "ck": "15.5", "ck_unit": "4", "ck_uln": "3.2"}  # ukat/L
    return [
        (
            "1",
            [  # in the cohort: baseline 20 -> week 12 10; prednisone taper; zoster
                visit(
                    B,
                    "2021-03-01",
                    BASE20,
                    dag="site_a",
                    **person("F", "1968-04-02", {"5"}, dx="2021-01-10", mrn="MRN-0001"),
                    **MMT8,
                    **HAQ,
                    pga="6",
                    ptga="7",
                    ema="3",
                    pruritus_nrs="8",
                    **ck,
                ),
                dx_code(1, "2021-03-01", "M33.10"),
                med(1, "tofacitinib", "2021-03-05", "2022-03-04"),
                med(2, "prednisone", "2021-01-15", "2021-04-30", dose="20", freq="QD"),
                med(3, "prednisone", "2021-05-01", "2021-08-01", dose="10", freq="QD"),
                {
                    "event": B,
                    "form": "adverse_events",
                    "instance": 1,
                    "values": {
                        "ae_term": "herpes zoster",
                        "ae_onset": "2021-06-10",
                        "ae_grade": "2",
                        "ae_serious": "0",
                        "ae_outcome": "1",
                        "ae_drug": DRUG["tofacitinib"],
                        "ae_action": {"3"},
                    },
                },
                visit(W4, "2021-04-02", pga="4"),
                visit(
                    W12,
                    "2021-05-28",
                    FOLLOW10,
                    pga="3",
                    pruritus_nrs="3",
                    visit_notes="felt better",
                ),
            ],
        ),
        (
            "2",
            [  # in the cohort: two races; a serious AE that stopped baricitinib
                visit(
                    B,
                    "2021-06-01",
                    items(**{**BASE20, "scalp_erythema": 2}),
                    dag="site_a",
                    **person(
                        "M",
                        "1959-11-20",
                        {"2", "5"},
                        dx="2020-11-02",
                        first="Bo",
                        subtype="classic_active_myositis",
                    ),
                    **MMT8,
                ),
                dx_code(1, "2021-02-15", "M3312"),
                med(1, "baricitinib", "2021-06-10", "2021-12-20", dose="4", freq="QD"),
                {
                    "event": B,
                    "form": "adverse_events",
                    "instance": 1,
                    "values": {
                        "ae_term": "pneumonia",
                        "ae_onset": "2021-12-15",
                        "ae_grade": "3",
                        "ae_serious": "1",
                        "ae_outcome": "2",
                        "ae_drug": DRUG["baricitinib"],
                        "ae_action": {"1"},
                    },
                },
                visit(W12, "2021-09-01", FOLLOW10),
                visit(W24, "2021-11-25", items(**{**FOLLOW10, "scalp_erythema": 0})),
            ],
        ),
        (
            "3",
            [  # out at the exposure step: topical ruxolitinib only
                visit(
                    B,
                    "2022-01-10",
                    BASE20,
                    dag="site_b",
                    **person("F", "1980-01-01", {"3"}, dx="2021-05-05", first="Cy"),
                ),
                dx_code(1, "2021-09-09", "M33.19"),
                med(
                    1,
                    "ruxolitinib",
                    "2022-01-12",
                    dose="1",
                    freq="BID",
                    formulation="TOP",
                    route="topical",
                ),
                visit(W12, "2022-04-04", FOLLOW10),
            ],
        ),
        (
            "4",
            [  # out at the diagnosis step: one DM code only
                visit(
                    B,
                    "2022-02-01",
                    BASE20,
                    dag="site_b",
                    **person("F", "1975-07-07", {"5"}, dx="2022-01-20", first="Di"),
                ),
                med(1, "tofacitinib", "2022-02-03"),
                visit(W12, "2022-05-02", FOLLOW10),
            ],
        ),
        (
            "5",
            [  # out at the baseline step: the last CDASI before the start is 45 days before
                visit(
                    B,
                    "2022-03-01",
                    BASE20,
                    dag="site_b",
                    **person("M", "1970-03-03", {"5"}, dx="2021-10-10", first="Ed"),
                ),
                dx_code(1, "2021-12-12", "M33.10"),
                med(1, "upadacitinib", "2022-04-15", dose="15", freq="QD", formulation="ER"),
                visit(W12, "2022-06-01", FOLLOW10),
            ],
        ),
        (
            "6",
            [  # out at the follow-up step: no CDASI after the start
                visit(
                    B,
                    "2022-05-01",
                    BASE20,
                    dag="site_a",
                    **person("F", "1990-09-09", {"1"}, dx="2022-01-02", first="Fay"),
                ),
                dx_code(1, "2022-03-03", "M33.13"),
                med(1, "tofacitinib", "2022-05-02"),
            ],
        ),
        (
            "7",
            [  # in the cohort: an ICD-9-CM code; follow-up at unscheduled visits
                visit(
                    B,
                    "2022-06-01",
                    BASE20,
                    dag="site_b",
                    **person(
                        "F",
                        "1962-12-24",
                        {"5"},
                        dx="2014-02-02",
                        first="Gus",
                        subtype="hypomyopathic",
                    ),
                ),
                dx_code(1, "2014-06-02", "710.3", system="ICD9CM"),
                med(1, "tofacitinib", "2022-06-03", dose="11", freq="QD", formulation="ER"),
                {"event": UN, "instance": 1, "values": {"visit_date": "2022-07-15", **FOLLOW10}},
                {
                    "event": UN,
                    "instance": 2,
                    "values": {
                        "visit_date": "2022-09-30",
                        **items(**{**FOLLOW10, "periungual": 0}),
                    },
                },
            ],
        ),
        (
            "8",
            [  # out at the diagnosis step: polymyositis (another code)
                visit(
                    B,
                    "2022-07-01",
                    BASE20,
                    dag="site_a",
                    **{
                        **person(
                            "M", "1966-06-06", {"5"}, dx="2022-04-04", first="Hal", code="OTHER"
                        ),
                        "dx_code_other": "M33.20",
                    },
                ),
                dx_code(1, "2022-05-05", "M33.20"),
                med(1, "tofacitinib", "2022-07-02"),
                visit(W12, "2022-10-01", FOLLOW10),
            ],
        ),
    ]


def write_template_export(folder: Path) -> None:
    fields = dictionary_fields()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "dictionary.csv").write_text(
        _csv([list(HEADER), *dictionary_rows(fields)]), encoding="utf-8"
    )
    (folder / "instrument_event_mapping.csv").write_text(
        _csv(
            [
                ["arm_num", "unique_event_name", "form"],
                *[[1, e, f] for e, forms in DESIGNATIONS.items() for f in forms],
            ]
        ),
        encoding="utf-8",
    )
    (folder / "events.csv").write_text(
        _csv([["event_name", "arm_num", "unique_event_name"], *[[n, 1, u] for n, u, _ in EVENTS]]),
        encoding="utf-8",
    )
    repeating = {(e, f) for e, f, _ in REPEATING if f}
    records = template_records()
    for _, rows in records:  # the lab date is the visit date in this synthetic project
        for row in rows:
            if "ck" in row["values"]:
                row["values"]["lab_date"] = row["values"]["visit_date"]
    text = export_records(fields, DESIGNATIONS, repeating, records, dags=True)
    (folder / "records.csv").write_text(text, encoding="utf-8")


# -- the differently named project ----------------------------------------------------------

DERM_EVENTS = ("screening_arm_1", "day_0_arm_1", "month_3_arm_1", "month_6_arm_1")
DERM_DESIGNATIONS = {
    "screening_arm_1": ("patient", "consent"),
    "day_0_arm_1": (
        "patient",
        "dx_history",
        "visit_info",
        "skin_exam",
        "globals",
        "bloods",
        "meds",
        "safety",
    ),
    "month_3_arm_1": ("visit_info", "skin_exam", "globals", "bloods"),
    "month_6_arm_1": ("visit_info", "skin_exam", "globals", "bloods"),
}
DERM_REPEATING = {("day_0_arm_1", "dx_history"), ("day_0_arm_1", "meds"), ("day_0_arm_1", "safety")}
DERM_DRUGS = {
    "1": "Tofacitinib (Xeljanz)",
    "2": "Baricitinib (Olumiant)",
    "3": "Prednisone",
    "4": "Methotrexate",
    "5": "Ruxolitinib cream (Opzelura)",
}


def derm_fields() -> list[Field]:
    """The differently named project's dictionary: its own names, codes and a wrong calc."""
    cd = [
        Field(
            f"cd_{f.column}",
            "skin_exam",
            "radio",
            f.column.replace("_", " "),
            {str(v): str(v) for v in range(int(f.minimum or 0), int(f.maximum or 0) + 1)},
        )
        for f in cdasi.ITEMS
    ]
    # The project's own activity score: it forgets that Gottron's erythema counts twice with
    # papules (the wrong calculation the import must never take).
    activity = [f"[cd_{c}]" for c in cdasi.ACTIVITY_ITEMS]
    return [
        Field("subj_id", "patient", "text", "Subject ID"),
        Field("mrn", "patient", "text", "MRN", identifier=True),
        Field("gender", "patient", "radio", "Gender", {"0": "Female", "1": "Male"}),
        Field(
            "birth_yr",
            "patient",
            "text",
            "Year of birth",
            validation="integer",
            minimum="1900",
            maximum="2025",
        ),
        Field(
            "race",
            "patient",
            "checkbox",
            "Race",
            {"10": "White", "11": "Black", "12": "Asian", "13": "Other"},
        ),
        Field(
            "dm_type",
            "patient",
            "radio",
            "DM type",
            {"1": "Amyopathic", "2": "Hypomyopathic", "3": "Classic", "4": "Juvenile"},
        ),
        Field("consent_dt", "consent", "text", "Consent date", validation="date_mdy"),
        Field("dx_dt", "dx_history", "text", "Date coded", validation="date_mdy"),
        Field("icd10", "dx_history", "text", "ICD-10-CM code"),
        Field("visit_dt", "visit_info", "text", "Visit date", validation="date_mdy"),
        *cd,
        Field(
            "cdasi_act_calc",
            "skin_exam",
            "calc",
            "CDASI activity (calculated)",
            calculation=" + ".join(activity),
        ),
        Field(
            "md_global",
            "globals",
            "text",
            "MD global (0-10)",
            validation="number",
            minimum="0",
            maximum="10",
        ),
        Field(
            "pt_global",
            "globals",
            "text",
            "Patient global (0-10)",
            validation="number",
            minimum="0",
            maximum="10",
        ),
        Field(
            "itch",
            "globals",
            "dropdown",
            "Itch, worst in 24 hours (0-10)",
            {str(v): str(v) for v in range(11)},
        ),
        Field("ck_result", "bloods", "text", "CK (U/L)", validation="integer", minimum="0"),
        Field("ck_uln_val", "bloods", "text", "CK ULN (U/L)", validation="integer"),
        Field("drug", "meds", "dropdown", "Drug", DERM_DRUGS),
        Field("rxnorm", "meds", "text", "RxNorm code"),
        Field("dose_mg", "meds", "text", "Dose (mg)", validation="number"),
        Field("freq", "meds", "radio", "Frequency", {"1": "Once daily", "2": "Twice daily"}),
        Field("start_dt", "meds", "text", "Start", validation="date_mdy"),
        Field("stop_dt", "meds", "text", "Stop", validation="date_mdy"),
        Field("ae_desc", "safety", "text", "Adverse event"),
        Field("ae_start", "safety", "text", "Onset", validation="date_mdy"),
        Field("ctcae", "safety", "radio", "Grade", {str(g): str(g) for g in range(1, 6)}),
        Field("sae", "safety", "yesno", "Serious?"),
        Field("ae_stopped", "safety", "yesno", "Drug stopped because of it?"),
    ]


def cd(values: dict[str, int]) -> dict[str, int]:
    return {f"cd_{k}": v for k, v in values.items()}


def calc(values: dict[str, int]) -> str:
    return str(sum(values[c] for c in cdasi.ACTIVITY_ITEMS))  # the project's wrong formula


def skin(event: str, date: str, values: dict[str, int], **more: Any) -> Row:
    return {
        "event": event,
        "values": {"visit_dt": date, **cd(values), "cdasi_act_calc": calc(values), **more},
    }


def derm_records() -> list[tuple[str, list[Row]]]:
    """Five SYNTHETIC patients (README.md)."""
    papules = items(**{**BASE20, "gottron_hands_papules": 1})  # activity 22; the calc says 20
    after = items(**{**FOLLOW10, "gottron_hands_papules": 1})  # activity 11; the calc says 10

    def patient(gender: str, year: str, races: set[str], dm: str) -> dict[str, Any]:
        return {"gender": gender, "birth_yr": year, "race": races, "dm_type": dm}

    def dx(n: int, date: str, code: str = "M33.10") -> Row:
        return {
            "event": "day_0_arm_1",
            "form": "dx_history",
            "instance": n,
            "values": {"dx_dt": date, "icd10": code},
        }

    def drug(
        n: int, code: str, start: str, dose: str = "5", freq: str = "2", rxnorm: str = ""
    ) -> Row:
        return {
            "event": "day_0_arm_1",
            "form": "meds",
            "instance": n,
            "values": {
                "drug": code,
                "rxnorm": rxnorm,
                "dose_mg": dose,
                "freq": freq,
                "start_dt": start,
            },
        }

    return [
        (
            "101",
            [
                {
                    "event": "screening_arm_1",
                    "values": {
                        "consent_dt": "2021-02-01",
                        "mrn": "X1",
                        **patient("0", "1971", {"10"}, "1"),
                    },
                },
                skin(
                    "day_0_arm_1",
                    "2021-03-01",
                    BASE20,
                    md_global="6.5",
                    pt_global="7",
                    itch="6",
                    ck_result="150",
                    ck_uln_val="190",
                ),
                dx(1, "2020-12-01"),
                dx(2, "2021-01-15", "M33.12"),
                drug(1, "1", "2021-03-02", rxnorm="1357536"),
                {
                    "event": "day_0_arm_1",
                    "form": "safety",
                    "instance": 1,
                    "values": {
                        "ae_desc": "acne",
                        "ae_start": "2021-05-05",
                        "ctcae": "1",
                        "sae": "0",
                        "ae_stopped": "0",
                    },
                },
                skin("month_3_arm_1", "2021-06-01", FOLLOW10, md_global="3"),
            ],
        ),
        (
            "102",
            [
                {"event": "screening_arm_1", "values": {**patient("0", "1985", {"12"}, "3")}},
                skin("day_0_arm_1", "2021-04-01", BASE20),
                dx(1, "2021-01-01"),
                dx(2, "2021-02-02"),
                drug(1, "5", "2021-04-02", dose="1"),
            ],
        ),
        (
            "103",
            [
                {"event": "screening_arm_1", "values": {**patient("1", "1966", {"10", "11"}, "3")}},
                skin("day_0_arm_1", "2021-05-20", BASE20),
                dx(1, "2020-10-10"),
                dx(2, "2021-03-03"),
                drug(1, "2", "2021-05-10", dose="2", freq="1"),
                skin("month_3_arm_1", "2021-08-20", FOLLOW10),
            ],
        ),
        (
            "104",
            [
                {"event": "screening_arm_1", "values": {**patient("0", "1958", {"10"}, "2")}},
                skin("day_0_arm_1", "2021-07-01", papules, ck_result="900", ck_uln_val="190"),
                dx(1, "2019-05-05"),
                dx(2, "2019-09-09"),
                drug(1, "1", "2021-07-01", rxnorm="1357536"),
                drug(2, "3", "2021-01-01", dose="10", freq="1"),
                skin("month_3_arm_1", "2021-10-01", items(**{**papules, "scalp_scale": 0})),
                skin("month_6_arm_1", "2022-01-05", after, ck_result="160", ck_uln_val="190"),
            ],
        ),
        (
            "105-A",
            [
                {
                    "event": "screening_arm_1",
                    "values": {"consent_dt": "2021-08-01", **patient("1", "1990", {"13"}, "1")},
                },
                skin("day_0_arm_1", "2021-09-01", BASE20),
                dx(1, "2021-08-08"),
                drug(1, "1", "2021-09-02"),
                skin("month_3_arm_1", "2021-12-01", FOLLOW10),
            ],
        ),
    ]


def write_derm_export(folder: Path) -> None:
    fields = derm_fields()
    folder.mkdir(parents=True, exist_ok=True)
    stamp = "2024-05-01"
    (folder / f"DermClinic_DataDictionary_{stamp}.csv").write_text(
        _csv([list(HEADER), *dictionary_rows(fields)]), encoding="utf-8"
    )
    (folder / f"DermClinic_InstrumentDesignations_{stamp}.csv").write_text(
        _csv(
            [
                ["arm_num", "unique_event_name", "form"],
                *[[1, e, f] for e, forms in DERM_DESIGNATIONS.items() for f in forms],
            ]
        ),
        encoding="utf-8",
    )
    text = export_records(fields, DERM_DESIGNATIONS, DERM_REPEATING, derm_records(), dags=False)
    (folder / f"DermClinic_DATA_{stamp}_1200.csv").write_text(text, encoding="utf-8")


def main() -> None:
    write_template_export(HERE / "template-export")
    write_derm_export(HERE / "derm-clinic")


if __name__ == "__main__":
    main()
