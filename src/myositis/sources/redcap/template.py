"""The REDCap project template of a myositis registry (``myositis template --redcap DIR``).

A site uploads these files to a new REDCap project, and its exports then import with no
mapping (``myositis import redcap EXPORT --into REGISTRY``):

- ``myositis_registry_dictionary.csv``: the data dictionary (Designer > Data Dictionary >
  Upload). Forms: demographics (name, MRN and e-mail flagged as identifiers), diagnosis (code
  and DM subtype), diagnosis_codes (repeating: one instance per coded encounter), visit,
  cdasi (CDASI v2 as radio matrices whose fields are named exactly as the items of
  ``instruments/data/cdasi_items.csv``, each with the item's range as its choices),
  core_set (physician and patient global activity, extramuscular activity, pruritus), mmt8
  (Kendall 0-10, the column names of ``instruments.mmt8``), haq (HAQ-DI items with aids and
  help), labs (CK, aldolase, LDH, ALT, AST with unit and upper limit of normal), medications
  and adverse_events (repeating: dose, unit, frequency, formulation, route, start and stop;
  CTCAE grade, serious, led to discontinuation). No calculated fields: scores are computed by
  ``myositis.instruments`` from the items;
- ``events.csv`` and ``arms.csv`` (Define My Events: baseline, weeks 4, 12, 24, 52 and 104,
  and a repeating unscheduled visit), ``instrument_event_mapping.csv`` (Designate Instruments
  for My Events: Upload), ``repeating_instruments.csv`` (Repeating instruments and events:
  Upload);
- ``mapping.yaml``: the template's mapping onto the registry (what ``--mapping`` defaults
  to; a worked example of the mapping format, ``docs/redcap.md``).

The files are built by :func:`build` from the instruments' item tables and the code lists,
and shipped as built (a test checks they are the same); :func:`regenerate` writes them
again after a change.
"""

from __future__ import annotations

import csv
import io
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from myositis.codes import FREQUENCIES, load_codeset
from myositis.codes.units import accepted_units, lab_loinc, lab_tests
from myositis.errors import MyositisError
from myositis.instruments import cdasi, haq, mmt8
from myositis.registry.schema import DM_SUBTYPES, FORMULATIONS
from myositis.sources.redcap.dictionary import HEADER, Field

TEMPLATE_DIR: Final = Path(__file__).resolve().parent / "template"
TEMPLATE_MAPPING: Final = TEMPLATE_DIR / "mapping.yaml"
DICTIONARY_FILE: Final = "myositis_registry_dictionary.csv"
FILES: Final = (
    DICTIONARY_FILE,
    "arms.csv",
    "events.csv",
    "instrument_event_mapping.csv",
    "repeating_instruments.csv",
    "mapping.yaml",
)

#: The visit schedule: (event name, unique event name, day offset).
EVENTS: Final = (
    ("Baseline", "baseline_arm_1", 0),
    ("Week 4", "week_4_arm_1", 28),
    ("Week 12", "week_12_arm_1", 84),
    ("Week 24", "week_24_arm_1", 168),
    ("Week 52", "week_52_arm_1", 364),
    ("Week 104", "week_104_arm_1", 728),
    ("Unscheduled", "unscheduled_arm_1", 0),
)
_VISIT_FORMS: Final = ("visit", "cdasi", "core_set", "mmt8", "haq", "labs")
#: event -> forms it holds
DESIGNATIONS: Final = {
    "baseline_arm_1": (
        "demographics",
        "diagnosis",
        "diagnosis_codes",
        *_VISIT_FORMS,
        "medications",
        "adverse_events",
    ),
    **{e: _VISIT_FORMS for _, e, _ in EVENTS[1:-1]},
    "unscheduled_arm_1": ("visit", "cdasi", "core_set", "labs"),
}
#: (event, repeating form: "" for a repeating event, its label)
REPEATING: Final = (
    ("baseline_arm_1", "diagnosis_codes", "[dxc_date] [dxc_code]"),
    ("baseline_arm_1", "medications", "[med_ingredient] [med_start]"),
    ("baseline_arm_1", "adverse_events", "[ae_term] [ae_onset]"),
    ("unscheduled_arm_1", "", ""),
)

#: Systemic drugs of the medication list: the JAK inhibitors, then the therapies the bundled
#: study counts as concomitant (studies/jak-refractory-dm.yaml, analysis.systemic_therapies).
INGREDIENTS: Final = (
    "tofacitinib",
    "baricitinib",
    "upadacitinib",
    "ruxolitinib",
    "filgotinib",
    "abrocitinib",
    "prednisone",
    "hydroxychloroquine",
    "methotrexate",
    "mycophenolate mofetil",
    "immune globulin",
    "azathioprine",
    "rituximab",
    "cyclosporine",
    "tacrolimus",
    "cyclophosphamide",
    "apremilast",
    "dapsone",
    "lenalidomide",
    "isotretinoin",
    "quinacrine",
    "thalidomide",
    "leflunomide",
    "infliximab",
)
OTHER: Final = "99"
ROUTES: Final = ("oral", "intravenous", "subcutaneous", "intramuscular", "topical", "other")
DOSE_UNITS: Final = ("mg", "g", "mcg", "application")
OUTCOMES: Final = ("recovered", "recovering", "recovered with sequelae", "fatal", "unknown")
#: OMB race categories and ethnicity (person.race / person_race, person.ethnicity).
RACES: Final = (
    "American Indian or Alaska Native",
    "Asian",
    "Black or African American",
    "Native Hawaiian or Other Pacific Islander",
    "White",
)
ETHNICITIES: Final = ("Hispanic or Latino", "Not Hispanic or Latino", "Unknown")

_LOCATIONS: Final = {
    "scalp": "Scalp",
    "malar": "Malar area",
    "periorbital": "Periorbital",
    "face_other": "Rest of the face",
    "neck_v": "V-area of the neck (frontal)",
    "neck_posterior": "Posterior neck",
    "upper_back": "Upper back and shoulders",
    "back_buttocks": "Rest of back and buttocks",
    "abdomen": "Abdomen",
    "thigh_lateral": "Lateral upper thigh",
    "legs_feet": "Rest of leg and foot",
    "arm": "Arm",
    "mechanics_hands": "Mechanic's hands",
    "hands_dorsum": "Dorsum of the hands",
    "gottron_not_hands": "Gottron's sign (not on the hands)",
}
_HAQ_SCALE: Final = {
    "0": "Without any difficulty",
    "1": "With some difficulty",
    "2": "With much difficulty",
    "3": "Unable to do",
}


def _numbered(values: tuple[str, ...]) -> dict[str, str]:
    return {str(i): v for i, v in enumerate(values, start=1)}


def _range(low: int, high: int, meaning: str = "") -> dict[str, str]:
    """Choices low..high, labelled from a meaning such as '0 absent, 1 scale, 2 crust'."""
    labels: dict[str, str] = {}
    for part in meaning.split(", "):
        number, _, label = part.partition(" ")
        if number.isdigit() and label:
            labels[number] = f"{number} {label}"
    return {str(v): labels.get(str(v), str(v)) for v in range(low, high + 1)}


def _date(name: str, form: str, label: str) -> Field:
    return Field(name, form, "text", label, validation="date_ymd", maximum="today")


def _number(name: str, form: str, label: str, low: str = "0", high: str = "") -> Field:
    return Field(name, form, "text", label, validation="number", minimum=low, maximum=high)


def _cdasi() -> list[Field]:
    fields = []
    for item in cdasi.ITEMS:
        location, _, kind = item.column.rpartition("_")
        low, high = int(item.minimum or 0), int(item.maximum or 0)
        choices = _range(low, high, item.meaning)
        if location in _LOCATIONS:
            label, group = _LOCATIONS[location], f"cdasi_{kind}"
        else:
            label, group = item.column.replace("_", " ").capitalize() + f" ({item.meaning})", ""
        fields.append(Field(item.column, "cdasi", "radio", label, choices, matrix_group=group))
    return fields


def _mmt8() -> list[Field]:
    fields = []
    for g in mmt8.GROUPS:
        for column in g.columns():
            side = "" if g.axial else f", {column.rpartition('_')[2]}"
            choices = _range(int(g.minimum), int(g.maximum))
            fields.append(
                Field(
                    column, "mmt8", "radio", f"{g.label}{side}", choices, matrix_group="mmt8_grades"
                )
            )
    return fields


def _haq() -> list[Field]:
    fields = []
    for category, items in haq.ITEMS["haq-di"].items():
        for item in items:
            text = item.meaning.partition(":")[0]
            fields.append(
                Field(
                    item.column,
                    "haq",
                    "radio",
                    f"Are you able to {text}?",
                    dict(_HAQ_SCALE),
                    matrix_group=f"haq_{category}",
                )
            )
        label = haq.LABELS[category].lower()
        fields.append(
            Field(
                haq.aid_column(category),
                "haq",
                "yesno",
                f"Aids or devices used for {label} ({haq.AID_EXAMPLES[category]})",
            )
        )
        fields.append(
            Field(
                haq.help_column(category),
                "haq",
                "yesno",
                f"Help from another person needed for {label}",
            )
        )
    return fields


def _labs() -> list[Field]:
    fields = [_date("lab_date", "labs", "Date of the blood sample")]
    for test in lab_tests():
        label = test.upper() if len(test) <= 3 else test.capitalize()
        fields += [
            _number(test, "labs", f"{label} result"),
            Field(
                f"{test}_unit",
                "labs",
                "dropdown",
                f"{label} unit",
                _numbered(tuple(accepted_units(test))),
            ),
            _number(f"{test}_uln", "labs", f"{label} upper limit of normal (same unit)"),
        ]
    return fields


def dictionary_fields() -> list[Field]:
    """Every field of the template, in form order."""
    dm_codes = [c for c in load_codeset("dm_diagnosis") if c.system == "ICD10CM"]
    dx_choices = {c.code.replace(".", ""): f"{c.code} {c.display}" for c in dm_codes}
    dx_choices["OTHER"] = "Another code (enter it below)"
    drugs = _numbered(INGREDIENTS) | {OTHER: "Other (enter the ingredient below)"}
    return [
        Field("record_id", "demographics", "text", "Record ID"),
        Field("first_name", "demographics", "text", "First name", identifier=True),
        Field("last_name", "demographics", "text", "Last name", identifier=True),
        Field("mrn", "demographics", "text", "Medical record number", identifier=True),
        Field("email", "demographics", "text", "E-mail", validation="email", identifier=True),
        _date("dob", "demographics", "Date of birth"),
        Field("sex", "demographics", "radio", "Sex", {"F": "Female", "M": "Male", "U": "Unknown"}),
        Field(
            "race",
            "demographics",
            "checkbox",
            "Race (tick every one that applies)",
            _numbered(RACES),
        ),
        Field("ethnicity", "demographics", "radio", "Ethnicity", _numbered(ETHNICITIES)),
        _date("dx_date", "diagnosis", "Date of diagnosis"),
        Field("dx_code", "diagnosis", "dropdown", "Diagnosis (ICD-10-CM)", dx_choices),
        Field("dx_code_other", "diagnosis", "text", "Other ICD-10-CM code"),
        Field(
            "dm_subtype",
            "diagnosis",
            "radio",
            "Clinical subtype of dermatomyositis",
            {s: s.replace("_", " ").capitalize() for s in DM_SUBTYPES},
        ),
        _date("dm_subtype_date", "diagnosis", "Date the subtype was classified"),
        _date("dxc_date", "diagnosis_codes", "Date of the coded encounter"),
        Field(
            "dxc_system",
            "diagnosis_codes",
            "dropdown",
            "Code system",
            {"ICD10CM": "ICD-10-CM", "ICD9CM": "ICD-9-CM", "SNOMED": "SNOMED CT"},
        ),
        Field("dxc_code", "diagnosis_codes", "text", "Code (as recorded)"),
        _date("visit_date", "visit", "Date of the visit"),
        Field("visit_notes", "visit", "notes", "Notes (not imported into the registry)"),
        *_cdasi(),
        _number("pga", "core_set", "Physician global disease activity (0-10)", "0", "10"),
        _number("ptga", "core_set", "Patient global disease activity (0-10)", "0", "10"),
        _number("ema", "core_set", "Extramuscular disease activity (0-10)", "0", "10"),
        Field(
            "pruritus_nrs",
            "core_set",
            "text",
            "Itch, worst in the last 24 hours (0-10)",
            validation="integer",
            minimum="0",
            maximum="10",
        ),
        *_mmt8(),
        *_haq(),
        *_labs(),
        Field("med_ingredient", "medications", "dropdown", "Drug (active ingredient)", drugs),
        Field("med_other", "medications", "text", "Other drug (active ingredient, lower case)"),
        _number("med_dose", "medications", "Dose per administration"),
        Field("med_dose_unit", "medications", "dropdown", "Dose unit", {u: u for u in DOSE_UNITS}),
        Field(
            "med_frequency",
            "medications",
            "dropdown",
            "Frequency",
            {code: code for code in FREQUENCIES},
        ),
        Field(
            "med_formulation",
            "medications",
            "dropdown",
            "Formulation",
            {code: code for code in FORMULATIONS},
        ),
        Field("med_route", "medications", "dropdown", "Route", {r: r for r in ROUTES}),
        _date("med_start", "medications", "Start date of this dose"),
        Field(
            "med_stop",
            "medications",
            "text",
            "Stop date (empty: still taken)",
            validation="date_ymd",
        ),
        Field("ae_term", "adverse_events", "text", "Adverse event (CTCAE term)"),
        _date("ae_onset", "adverse_events", "Onset"),
        Field(
            "ae_grade",
            "adverse_events",
            "radio",
            "CTCAE grade",
            {
                "1": "1 Mild",
                "2": "2 Moderate",
                "3": "3 Severe",
                "4": "4 Life-threatening",
                "5": "5 Death",
            },
        ),
        Field("ae_serious", "adverse_events", "yesno", "Serious adverse event"),
        Field("ae_outcome", "adverse_events", "dropdown", "Outcome", _numbered(OUTCOMES)),
        Field("ae_drug", "adverse_events", "dropdown", "Suspected drug", drugs),
        Field(
            "ae_action",
            "adverse_events",
            "checkbox",
            "Action taken with the suspected drug",
            {
                "1": "Drug stopped because of the event",
                "2": "Dose reduced",
                "3": "Drug interrupted",
                "4": "No change",
            },
        ),
    ]


def _drug_values() -> dict[str, Any]:
    return {str(i): name for i, name in enumerate(INGREDIENTS, start=1)} | {OTHER: None}


def mapping_document() -> dict[str, Any]:
    """The template's mapping (written as ``mapping.yaml``)."""
    laboratory = []
    loinc = lab_loinc()
    for test in lab_tests():
        units = dict(_numbered(tuple(accepted_units(test))))
        laboratory.append(
            {
                "form": "labs",
                "id": test,
                "when": test,
                "columns": {
                    "test": {"value": test},
                    "loinc": {"value": loinc[test]},
                    "result_date": ["lab_date", "visit_date"],
                    "source_value": test,
                    "source_unit": {"field": f"{test}_unit", "values": units},
                    "uln": f"{test}_uln",
                },
            }
        )
    scores = {
        "pga": "pga",
        "ptga": "ptga",
        "ema": "ema",
        "pruritus_nrs": "pruritus_nrs",
    }
    return {
        "mapping_version": 1,
        "project": "myositis-registry",
        "visits": {"date": "visit_date"},
        "person": {
            "sex": "sex",
            "birth_date": "dob",
            "race": {"field": "race", "values": _numbered(RACES)},
            "ethnicity": {"field": "ethnicity", "values": _numbered(ETHNICITIES)},
        },
        "tables": {
            "diagnosis": [
                {
                    "form": "diagnosis",
                    "when": ["dx_code", "dx_code_other"],
                    "columns": {
                        "code_system": {"value": "ICD10CM"},
                        "code": [
                            {
                                "field": "dx_code",
                                "values": {
                                    c.code.replace(".", ""): c.code.replace(".", "")
                                    for c in load_codeset("dm_diagnosis")
                                    if c.system == "ICD10CM"
                                }
                                | {"OTHER": None},
                            },
                            "dx_code_other",
                        ],
                        "diagnosis_date": "dx_date",
                    },
                },
                {
                    "form": "diagnosis_codes",
                    "columns": {
                        "code_system": "dxc_system",
                        "code": "dxc_code",
                        "diagnosis_date": "dxc_date",
                    },
                },
            ],
            "dm_subtype": {
                "form": "diagnosis",
                "when": "dm_subtype",
                "columns": {
                    "subtype": "dm_subtype",
                    "classified_date": ["dm_subtype_date", "dx_date"],
                },
            },
            "drug_exposure": {
                "form": "medications",
                "columns": {
                    "ingredient": [
                        {"field": "med_ingredient", "values": _drug_values()},
                        "med_other",
                    ],
                    "start_date": "med_start",
                    "end_date": "med_stop",
                    "dose": "med_dose",
                    "dose_unit": "med_dose_unit",
                    "frequency": "med_frequency",
                    "formulation": "med_formulation",
                    "route": "med_route",
                },
            },
            "laboratory": laboratory,
            "adverse_event": {
                "form": "adverse_events",
                "columns": {
                    "term": "ae_term",
                    "onset_date": "ae_onset",
                    "grade": "ae_grade",
                    "serious": "ae_serious",
                    "outcome": {"field": "ae_outcome", "values": _numbered(OUTCOMES)},
                    "suspected_drug": {"field": "ae_drug", "values": _drug_values()},
                    "led_to_discontinuation": "ae_action___1",
                },
            },
        },
        "assessments": [
            {"form": "cdasi", "instrument": "cdasi", "item_fields": "{item}"},
            *(
                {"form": "core_set", "instrument": i, "measures": {"score": f}}
                for i, f in scores.items()
            ),
            {"form": "mmt8", "instrument": "mmt8", "item_fields": "{item}"},
            {"form": "haq", "instrument": "haq", "item_fields": "{item}"},
        ],
    }


def _csv(rows: Sequence[Sequence[Any]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def build() -> dict[str, str]:
    """Every template file's content, by file name."""
    import yaml

    from myositis.sources.redcap.dictionary import dictionary_rows

    fields = dictionary_fields()
    header = (
        "# The mapping of the myositis registry REDCap template onto the registry: what\n"
        "# 'myositis import redcap' uses without --mapping. Built by\n"
        "# myositis.sources.redcap.template; the format is documented in docs/redcap.md.\n"
    )
    return {
        DICTIONARY_FILE: _csv([list(HEADER), *dictionary_rows(fields)]),
        "arms.csv": _csv([["arm_num", "name"], [1, "Arm 1"]]),
        "events.csv": _csv(
            [
                [
                    "event_name",
                    "arm_num",
                    "day_offset",
                    "offset_min",
                    "offset_max",
                    "unique_event_name",
                    "custom_event_label",
                ],
                *[[n, 1, d, 0, 0, u, ""] for n, u, d in EVENTS],
            ]
        ),
        "instrument_event_mapping.csv": _csv(
            [
                ["arm_num", "unique_event_name", "form"],
                *[[1, e, f] for e, forms in DESIGNATIONS.items() for f in forms],
            ]
        ),
        "repeating_instruments.csv": _csv(
            [["event_name", "form_name", "custom_form_label"], *REPEATING]
        ),
        "mapping.yaml": header
        + yaml.safe_dump(mapping_document(), sort_keys=False, allow_unicode=True, width=100),
    }


def write_template(folder: Path, *, overwrite: bool = False) -> list[Path]:
    """Copy the shipped template files into ``folder``; return them."""
    existing = [n for n in FILES if (folder / n).exists()]
    if existing and not overwrite:
        raise MyositisError(
            f"{folder} already holds {', '.join(existing)}; choose another "
            "folder or pass --overwrite"
        )
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        shutil.copyfile(TEMPLATE_DIR / name, folder / name)
        written.append(folder / name)
    return written


def regenerate() -> None:
    """Write the built template files over the shipped ones (after a change of the
    instruments or the code lists): ``python -c "from myositis.sources.redcap.template import
    regenerate; regenerate()"``."""
    TEMPLATE_DIR.mkdir(exist_ok=True)
    for name, text in build().items():
        (TEMPLATE_DIR / name).write_text(text, encoding="utf-8")


__all__ = [
    "DESIGNATIONS",
    "EVENTS",
    "FILES",
    "INGREDIENTS",
    "TEMPLATE_DIR",
    "TEMPLATE_MAPPING",
    "build",
    "dictionary_fields",
    "mapping_document",
    "regenerate",
    "write_template",
]
