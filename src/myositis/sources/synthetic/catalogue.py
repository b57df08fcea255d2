"""What the synthetic registry's background population is diagnosed with and takes.

Common conditions carry their usual ICD-10-CM code and the ICD-9-CM code used before
October 2015; they were chosen for realism of the record mix, not as a validated mapping.
Common drugs are coded in the local system (``LOCAL``, the ingredient name): this project ships
verified RxNorm/ATC codes only for the JAK inhibitors (``myositis.codes``), so the generator
does not invent codes for other drugs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from myositis.sources.synthetic.params import day


@dataclass(frozen=True)
class Condition:
    name: str
    icd10: str
    icd9: str
    weight: float


@dataclass(frozen=True)
class Drug:
    ingredient: str
    dose: float
    unit: str
    frequency: str
    formulation: str
    route: str
    min_days: int
    max_days: int
    weight: float = 1.0


@dataclass(frozen=True)
class Procedure:
    """A procedure of the myositis work-up: its CPT-4 codes, who has it and when.

    ``codes``: (code, weight, first day, last day) with days since 1970-01-01 or None (no
    limit); a row takes one of the codes valid on its date, by weight. ``shares``: the chance
    that a patient of each DM subtype (``polymyositis`` for the look-alikes) has it.
    ``window``: (earliest, latest) day relative to the patient's first myositis code."""

    name: str
    codes: tuple[tuple[str, float, int | None, int | None], ...]
    shares: dict[str, float]
    window: tuple[int, int]


COMMON_CONDITIONS: Final = (
    Condition("essential hypertension", "I10", "401.9", 0.18),
    Condition("hyperlipidaemia", "E78.5", "272.4", 0.14),
    Condition("type 2 diabetes", "E11.9", "250.00", 0.08),
    Condition("upper respiratory infection", "J06.9", "465.9", 0.12),
    Condition("gastro-oesophageal reflux", "K21.9", "530.81", 0.07),
    Condition("generalised anxiety", "F41.1", "300.02", 0.06),
    Condition("depression", "F32.9", "311", 0.06),
    Condition("asthma", "J45.909", "493.90", 0.05),
    Condition("hypothyroidism", "E03.9", "244.9", 0.05),
    Condition("urinary tract infection", "N39.0", "599.0", 0.06),
    Condition("back pain", "M54.9", "724.5", 0.07),
    Condition("general examination", "Z00.00", "V70.0", 0.06),
)

RHEUMATOID_ARTHRITIS: Final = Condition("rheumatoid arthritis", "M06.9", "714.0", 0.0)
ATOPIC_DERMATITIS: Final = Condition("atopic dermatitis", "L20.9", "691.8", 0.0)

COMMON_DRUGS: Final = (
    Drug("lisinopril", 10, "mg", "QD", "IR", "oral", 90, 720, 0.16),
    Drug("atorvastatin", 20, "mg", "QD", "IR", "oral", 90, 1000, 0.16),
    Drug("metformin", 500, "mg", "BID", "IR", "oral", 90, 1000, 0.08),
    Drug("amoxicillin", 500, "mg", "TID", "IR", "oral", 7, 10, 0.14),
    Drug("omeprazole", 20, "mg", "QD", "IR", "oral", 30, 365, 0.1),
    Drug("sertraline", 50, "mg", "QD", "IR", "oral", 90, 720, 0.08),
    Drug("levothyroxine", 0.05, "mg", "QD", "IR", "oral", 180, 1500, 0.06),
    Drug("albuterol", 90, "mcg", "QID", "OTHER", "inhalation", 30, 365, 0.06),
    Drug("ibuprofen", 400, "mg", "TID", "IR", "oral", 5, 14, 0.16),
)

#: Conventional systemic therapies of dermatomyositis (dose options drawn per patient).
DM_THERAPIES: Final[dict[str, tuple[tuple[float, ...], str, str, str, str]]] = {
    # ingredient: (doses, unit, frequency, formulation, route)
    "hydroxychloroquine": ((200.0,), "mg", "BID", "IR", "oral"),
    "prednisone": ((20.0, 30.0, 40.0, 60.0), "mg", "QD", "IR", "oral"),
    "methotrexate": ((15.0, 20.0, 25.0), "mg", "QW", "IR", "oral"),
    "mycophenolate mofetil": ((1000.0, 1500.0), "mg", "BID", "IR", "oral"),
    "immune globulin": ((140.0, 160.0), "g", "Q4W", "INF", "intravenous"),
    "azathioprine": ((50.0, 100.0, 150.0), "mg", "QD", "IR", "oral"),
    "tacrolimus": ((1.0, 2.0), "mg", "BID", "IR", "oral"),
    "rituximab": ((1000.0,), "mg", "ONCE", "INF", "intravenous"),
    "dapsone": ((100.0,), "mg", "QD", "IR", "oral"),
    "quinacrine": ((100.0,), "mg", "QD", "IR", "oral"),
    "cyclosporine": ((100.0,), "mg", "BID", "IR", "oral"),
    "leflunomide": ((20.0,), "mg", "QD", "IR", "oral"),
    "apremilast": ((30.0,), "mg", "BID", "IR", "oral"),
}
#: Relative chance that a DM patient has had each therapy (first-line drugs most likely).
DM_THERAPY_WEIGHTS: Final = {
    "hydroxychloroquine": 10.0,
    "prednisone": 10.0,
    "methotrexate": 8.0,
    "mycophenolate mofetil": 6.0,
    "immune globulin": 4.0,
    "azathioprine": 2.5,
    "tacrolimus": 1.5,
    "rituximab": 2.0,
    "dapsone": 1.0,
    "quinacrine": 1.0,
    "cyclosporine": 0.8,
    "leflunomide": 0.8,
    "apremilast": 0.8,
}

#: JAK regimens: the starting (dose, frequency, formulation) and the escalations with their
#: probabilities. Tofacitinib per the seed series: 5 mg BID, then 10 mg BID or 11 mg ER.
JAK_REGIMENS: Final[
    dict[str, tuple[tuple[float, str, str], float, tuple[tuple[float, str, str, float], ...]]]
] = {
    "tofacitinib": (
        (5.0, "BID", "IR"),
        0.90,
        ((10.0, "BID", "IR", 0.6), (11.0, "BID", "ER", 0.2), (11.0, "QD", "ER", 0.2)),
    ),
    "baricitinib": ((2.0, "QD", "IR"), 0.7, ((4.0, "QD", "IR", 1.0),)),
    "upadacitinib": ((15.0, "QD", "ER"), 0.5, ((30.0, "QD", "ER", 1.0),)),
    "ruxolitinib": ((10.0, "BID", "IR"), 0.4, ((15.0, "BID", "IR", 1.0),)),
}

#: Adverse events of JAK-treated patients: (term, per-patient probability, CTCAE grades,
#: probability serious, probability it leads to discontinuation).
ADVERSE_EVENTS: Final = (
    ("herpes zoster", 0.07, (2, 2, 3), 0.1, 0.1),
    ("herpes simplex, orolabial", 0.09, (1, 1, 2), 0.0, 0.0),
    ("upper respiratory tract infection", 0.20, (1, 1, 2), 0.0, 0.0),
    ("deep vein thrombosis", 0.01, (3,), 1.0, 0.6),
)

RACES: Final = (
    ("White", 0.60),
    ("Black or African American", 0.13),
    ("Asian", 0.06),
    ("American Indian or Alaska Native", 0.01),
    ("Native Hawaiian or Other Pacific Islander", 0.002),
    ("Other", 0.07),
    ("Unknown", 0.128),
)
ETHNICITIES: Final = (
    ("Hispanic or Latino", 0.17),
    ("Not Hispanic or Latino", 0.75),
    ("Unknown", 0.08),
)
#: Upper limit of normal of CK (U/L) reported by each synthetic site's laboratory, cycled.
CK_ULN_BY_SITE: Final = (190.0, 170.0, 200.0, 210.0, 180.0)
ALDOLASE_ULN: Final = 7.7

#: CPT 2012 replaced needle EMG done with nerve conduction studies (95860-95864) by the add-on
#: codes 95885-95887; CPT 2019 replaced the skin biopsy codes 11100/11101 by 11102-11107
#: (11104: punch biopsy). Both effective January 1.
EMG_WITH_NCS_START: Final = day(2012, 1, 1)
SKIN_BIOPSY_CODES_START: Final = day(2019, 1, 1)
#: The diagnostic work-up of DM patients and polymyositis look-alikes (illustrative shares,
#: docs/synthetic.md): a muscle biopsy for most with myositis and none with amyopathic DM, EMG
#: less often in children, muscle MRI more often in children, a skin biopsy mostly in the
#: amyopathic and hypomyopathic subtypes.
PROCEDURES: Final = (
    Procedure(
        "muscle biopsy",
        (("20206", 0.5, None, None), ("20205", 0.5, None, None)),  # needle / open
        {
            "classic_active_myositis": 0.6,
            "classic_postmyopathic": 0.5,
            "juvenile": 0.4,
            "juvenile_postmyopathic": 0.3,
            "hypomyopathic": 0.15,
            "polymyositis": 0.6,
        },
        (-30, 30),
    ),
    Procedure(
        "electromyography",
        (
            ("95860", 0.4, None, None),  # one extremity
            ("95861", 0.6, None, EMG_WITH_NCS_START - 1),  # two extremities, before 2012
            ("95886", 0.6, EMG_WITH_NCS_START, None),  # complete, with nerve conduction
        ),
        {
            "classic_active_myositis": 0.5,
            "classic_postmyopathic": 0.4,
            "juvenile": 0.15,
            "juvenile_postmyopathic": 0.1,
            "hypomyopathic": 0.3,
            "amyopathic": 0.05,
            "polymyositis": 0.5,
        },
        (-45, 30),
    ),
    Procedure(
        "muscle MRI",
        (("73718", 1.0, None, None),),  # MRI of a lower extremity, without contrast
        {
            "classic_active_myositis": 0.4,
            "classic_postmyopathic": 0.3,
            "juvenile": 0.6,
            "juvenile_postmyopathic": 0.4,
            "hypomyopathic": 0.3,
            "amyopathic": 0.1,
            "polymyositis": 0.4,
        },
        (-30, 60),
    ),
    Procedure(
        "skin biopsy",
        (
            ("11100", 1.0, None, SKIN_BIOPSY_CODES_START - 1),
            ("11104", 1.0, SKIN_BIOPSY_CODES_START, None),  # punch biopsy
        ),
        {
            "amyopathic": 0.6,
            "hypomyopathic": 0.5,
            "classic_active_myositis": 0.2,
            "classic_postmyopathic": 0.2,
            "juvenile": 0.1,
            "juvenile_postmyopathic": 0.1,
        },
        (-90, 14),
    ),
)

#: Tobacco smoking status of adults (LOINC 72166-2) as SNOMED codes with their shares: US
#: adults 2016 (NHIS; Jamal et al., MMWR 2018;67:53-59): 15.5% current smokers, and 59.0% of
#: ever smokers had quit, so 22.3% former and 62.2% never smokers.
SMOKING_STATUS_LOINC: Final = "72166-2"
SMOKING_STATUS: Final = (
    ("77176002", 0.155),  # smoker
    ("8517006", 0.223),  # ex-smoker
    ("266919005", 0.622),  # never smoked tobacco
)
#: Cigarette pack-years (SNOMED), recorded with the status of every current or former smoker.
PACK_YEARS_SNOMED: Final = "401201003"
#: Share of other adults (not DM) whose smoking status is recorded at one of their diagnoses.
SMOKING_RECORDED_FRACTION: Final = 0.8
#: Hospital stays for serious adverse events: mean length 4.5 days (US community hospitals
#: 2012, HCUP Statistical Brief #180), drawn as 1 + Poisson(3.5) days; 55% admitted through the
#: emergency department (HCUP Statistical Brief #1, 2003), coded ERIP, the others IP.
STAY_EXTRA_DAYS: Final = 3.5
STAY_THROUGH_ER_FRACTION: Final = 0.55
