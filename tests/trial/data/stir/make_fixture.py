"""Writes the STIR pilot fixture (see README.md): python make_fixture.py (run from anywhere,
with the package importable). Prints each patient's TIS and DOI as scored by the instruments."""

import csv
import datetime as dt
from pathlib import Path

from myositis.instruments import cdasi, doi, tis
from myositis.registry.schema import SCHEMA_VERSION, TABLES, optional_folder_columns

HERE = Path(__file__).resolve().parent


def cdasi_items(activity: int) -> dict[str, int]:
    """Every CDASI v2 item, with erythema then scale of the body areas filled in turn until
    the activity score (as the instrument scores it) is ``activity``."""
    items = {f.column: 0 for f in cdasi.ITEMS}
    fill = [c for c in cdasi.ACTIVITY_ITEMS if c.endswith("_erythema") and "gottron_hands" not in c]
    fill += [c for c in cdasi.ACTIVITY_ITEMS if c.endswith("_scale")]
    left = activity
    for column in fill:
        top = int(next(f.maximum for f in cdasi.ITEMS if f.column == column))
        items[column] = min(top, left)
        left -= items[column]
    assert left == 0 and cdasi.score_one(items).activity == activity, activity
    return items


# (pga0,pga1, ptga0,ptga1, mmt0,mmt1, haq0,haq1, ema0,ema1, ck0,ck1)   ULN 200, MMT-8 max 80
minimal = [
    (5.0, 3.5, 6.0, 4.5, 70, 71, 1.0, 0.75, 4.0, 3.0, 300, 280),
    (4.0, 3.0, 5.0, 3.8, 74, 74, 0.5, 0.375, 3.5, 2.5, 150, 140),
    (6.0, 4.6, 7.0, 5.4, 66, 67, 1.5, 1.125, 5.0, 3.8, 600, 540),
    (3.0, 1.9, 4.0, 2.9, 76, 76, 0.25, 0.25, 2.5, 1.5, 120, 100),
    (5.5, 4.2, 6.5, 5.0, 68, 69, 1.25, 0.875, 4.5, 3.4, 900, 800),
]
moderate = [
    (6.0, 3.0, 6.0, 4.0, 68, 70, 1.2, 0.9, 5.0, 3.0, 400, 380),
    (7.0, 3.5, 8.0, 5.0, 60, 64, 1.5, 1.2, 6.0, 3.5, 1200, 1000),
    (5.0, 2.0, 6.0, 3.5, 72, 75, 0.875, 0.5, 4.0, 1.5, 250, 200),
    (8.0, 4.5, 7.0, 5.0, 55, 58, 2.0, 1.5, 7.0, 4.5, 2400, 2000),
    (6.5, 3.5, 5.5, 3.5, 64, 66, 1.0, 0.625, 5.5, 3.0, 800, 600),
]
cdasi_b = [9, 11, 17, 20, 22, 29, 31, 36, 52, 53]
cdasi_f = [0, 7, 1, 18, 7, 2, 9, 7, 18, 26]
rows = minimal + moderate
enrol = []
assess = []
labs = []
dose = []
aid = 0
eid = 0
day0 = dt.date(2017, 3, 6)
for i, r in enumerate(rows):
    pid = 101 + i
    d0 = day0 + dt.timedelta(days=21 * i)
    d12 = d0 + dt.timedelta(days=84 + (i % 3) - 1)
    enrol.append(
        dict(
            person_id=pid,
            stratum="all",
            randomisation_date=d0,
            arm="tofacitinib",
            withdrawal_date="",
            withdrawal_reason="",
        )
    )
    pga0, pga1, pt0, pt1, m0, m1, h0, h1, e0, e1, c0, c1 = r
    for when, vals, cd in (
        (d0, (pga0, pt0, m0, h0, e0), cdasi_b[i]),
        (d12, (pga1, pt1, m1, h1, e1), cdasi_f[i]),
    ):
        for (ins, meas), v in zip(
            (
                ("pga", "score"),
                ("ptga", "score"),
                ("mmt8", "total"),
                ("haq", "score"),
                ("ema", "score"),
            ),
            vals,
            strict=True,
        ):
            aid += 1
            assess.append(
                dict(
                    assessment_id=aid,
                    person_id=pid,
                    assessment_date=when,
                    instrument=ins,
                    measure=meas,
                    value=v,
                )
            )
        # CDASI v2 recorded item by item (one administration = one assessment_id), scored by
        # the instruments' own definition in the pipeline
        aid += 1
        for column, value in cdasi_items(cd).items():
            assess.append(
                dict(
                    assessment_id=aid,
                    person_id=pid,
                    assessment_date=when,
                    instrument="cdasi",
                    measure=column,
                    value=value,
                )
            )
    labs.append(
        dict(
            person_id=pid,
            test="ck",
            loinc="2157-6",
            result_date=d0,
            value=c0,
            unit="U/L",
            uln=200.0,
            uln_unit="U/L",
        )
    )
    labs.append(
        dict(
            person_id=pid,
            test="ck",
            loinc="2157-6",
            result_date=d12,
            value=c1,
            unit="U/L",
            uln=200.0,
            uln_unit="U/L",
        )
    )
    eid = i + 1
    dose.append(
        dict(
            exposure_id=eid,
            person_id=pid,
            ingredient="tofacitinib",
            code_system="LOCAL",
            code="tofacitinib",
            start_date=d0,
            end_date=d12,
            dose=11.0,
            dose_unit="mg",
            frequency="QD",
            formulation="ER",
            route="oral",
        )
    )
    pair = {
        "pga_baseline": pga0,
        "pga_followup": pga1,
        "ptga_baseline": pt0,
        "ptga_followup": pt1,
        "mmt8_baseline": m0,
        "mmt8_followup": m1,
        "mmt8_max": 80,
        "haq_baseline": h0,
        "haq_followup": h1,
        "ema_baseline": e0,
        "ema_followup": e1,
        "ck_baseline": c0,
        "ck_followup": c1,
        "ck_uln": 200,
    }
    t = tis.score_one(pair)
    d = doi.score_one(pair)
    print(
        pid,
        t.total,
        t.category,
        d.met,
        d.improved,
        d.worsened,
        {k: (v.percent and round(v.percent, 1), v.points) for k, v in t.measures.items()},
    )


def w(name, rows):
    """One table: a registry table with its data-model columns (blank where not given, the
    provenance columns left out as a folder registry allows), or the enrolment table."""
    if name in TABLES:
        fields = [c for c in TABLES[name].names if c not in optional_folder_columns(name)]
    else:
        fields = list(rows[0])
    with open(HERE / f"{name}.csv", "w", newline="") as h:
        wr = csv.DictWriter(h, fieldnames=fields, restval="")
        wr.writeheader()
        wr.writerows(rows)


persons = [
    dict(person_id=101 + i, source_id=f"STIR-{i + 1:02d}", site="constructed", sex="U")
    for i in range(len(rows))
]
w("person", persons)
w(
    "registry_metadata",
    [
        dict(key="schema_version", value=SCHEMA_VERSION),
        dict(key="synthetic", value="true"),
        dict(
            key="generator",
            value="tests/trial/data/stir/make_fixture.py (constructed to "
            "reproduce the abstract of Paik et al. 2021; not the study's "
            "patients)",
        ),
    ],
)
for name in ("diagnosis", "dm_subtype", "adverse_event"):
    w(name, [])
w("enrolment", enrol)
w("assessment", assess)
w("laboratory", labs)
w("drug_exposure", dose)
