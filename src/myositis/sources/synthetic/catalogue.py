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

# Measurements (data model version 4; ``measurements.py``): vital signs and laboratory tests
# other than the registry's five (those are ``laboratory`` rows). LOINC codes, UCUM units.
BODY_WEIGHT: Final = ("29463-7", "kg")
BODY_HEIGHT: Final = ("8302-2", "cm")
BMI: Final = ("39156-5", "kg/m2")
SYSTOLIC: Final = ("8480-6", "mm[Hg]")
DIASTOLIC: Final = ("8462-4", "mm[Hg]")
HEMOGLOBIN: Final = ("718-7", "g/dL")
CREATININE: Final = ("2160-0", "mg/dL")
CRP: Final = ("1988-5", "mg/L")

#: Share of the persons other than DM patients whose vital signs are recorded, on one of their
#: diagnoses' days (illustrative; kept small so that a large registry stays small).
VITALS_RECORDED_FRACTION: Final = 0.1

#: Body size by age (years; interpolated between the knots, the last value from the last knot
#: on): median height (cm) and median BMI (kg/m2) by sex, and the spread of BMI (the standard
#: deviation of its logarithm). Children (2-16): about the 50th percentiles of the CDC 2000
#: growth charts (Kuczmarski et al., Vital Health Stat 11(246), 2002), BMI spread about their
#: 95th percentiles (read off, approximate). Adults: NHANES 2015-2018 (Fryar et al.,
#: Anthropometric reference data for children and adults: United States, 2015-2018, Vital
#: Health Stat 3(46), 2021): mean height 175.4 cm (men) and 161.7 cm (women), mean BMI about
#: 29.5; a lognormal BMI of median 28.7 and spread 0.23 has mean 29.5 and 42% of adults at 30
#: or more (obesity 42.4% in 2017-2018: Hales et al., NCHS Data Brief 360, 2020). Between 18
#: and 35 the BMI rises linearly (an assumption).
BODY_AGES: Final = (2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0, 16.0, 18.0, 25.0, 35.0)
HEIGHT_MEDIAN_CM: Final = {
    "M": (86.5, 102.5, 115.5, 127.5, 138.5, 149.5, 163.5, 173.5, 175.4, 175.4, 175.4),
    "F": (85.5, 101.5, 115.0, 127.0, 138.5, 151.5, 160.0, 161.5, 161.7, 161.7, 161.7),
}
BMI_MEDIAN: Final = {
    "M": (16.5, 15.7, 15.4, 15.8, 16.6, 17.9, 19.0, 20.5, 22.0, 26.5, 28.7),
    "F": (16.4, 15.4, 15.3, 15.8, 16.9, 18.0, 19.4, 20.5, 21.5, 26.0, 28.7),
}
BMI_SPREAD: Final = (0.075, 0.085, 0.11, 0.14, 0.17, 0.18, 0.19, 0.19, 0.20, 0.22, 0.23)
#: Height varies by 4.3% (standard deviation) around the median at every age: about 7 cm in
#: adults (NHANES). A person keeps their percentile, so an adult's height is the same at every
#: visit and a child grows along it.
HEIGHT_SPREAD: Final = 0.043
#: Visit-to-visit variation of a person's weight around their BMI percentile (illustrative).
WEIGHT_VISIT_SPREAD: Final = 0.015

#: Mean blood pressure (mm Hg) by age (knots as above) and sex. Adults: NHANES 2001-2008 (Wright
#: et al., NCHS National Health Statistics Reports 35, 2011): mean 122/71 mm Hg for adults 18
#: and over, systolic rising with age, diastolic rising then falling, men higher than women;
#: the adults' means below are those of adults without a hypertension code, which with the
#: shift of those with one (``HYPERTENSION_PRESSURE``: about a third of the synthetic adults)
#: give about that for the US adult age mix (the shape by age is read off, approximate).
#: Children 3-17: about the 50th percentiles for median height of the 2017 AAP guideline
#: (Flynn et al., Pediatrics 2017;140:e20171904), approximate.
PRESSURE_AGES: Final = (3.0, 10.0, 17.0, 18.0, 30.0, 45.0, 60.0, 75.0, 90.0)
SYSTOLIC_MEAN: Final = {
    "M": (90.0, 100.0, 112.0, 108.0, 113.0, 120.0, 127.0, 134.0, 140.0),
    "F": (90.0, 100.0, 108.0, 104.0, 109.0, 116.0, 123.0, 130.0, 136.0),
}
DIASTOLIC_MEAN: Final = {
    "M": (50.0, 58.0, 66.0, 69.0, 72.0, 73.0, 71.0, 67.0, 63.0),
    "F": (50.0, 58.0, 65.0, 66.0, 69.0, 70.0, 68.0, 64.0, 60.0),
}
#: Standard deviations (mm Hg) of a person's usual pressure around the mean and of one visit's
#: reading around the person's usual pressure, systolic and diastolic, for adults and children
#: (illustrative; adults' total about 16/11 mm Hg); the person's systolic and diastolic
#: deviations correlate 0.6, one visit's 0.5.
PRESSURE_PERSON_SD: Final = {"adult": (14.0, 9.0), "child": (7.0, 6.0)}
PRESSURE_VISIT_SD: Final = {"adult": (8.0, 6.0), "child": (6.0, 5.0)}
PRESSURE_CORRELATION: Final = (0.6, 0.5)
#: An adult with an essential hypertension code (I10, 401.9) is on average 10/5 mm Hg higher:
#: treated hypertensive adults averaged 130/75 mm Hg against 122/71 for all adults (Wright et
#: al. 2011).
HYPERTENSION_PRESSURE: Final = (10.0, 5.0)

#: Laboratory measurements on a day of the person's laboratory results (the registry's muscle
#: enzymes): the share of those days on which each is measured (illustrative).
LAB_SHARES: Final = {"hemoglobin": 0.9, "creatinine": 0.85, "crp": 0.6}
#: Hemoglobin (g/dL): normal, mean by age (knots) and sex, standard deviation 1.2 in adults
#: (0.95 of the person, 0.7 of the day), 0.72 times that in children under 15; 0.01 g/dL
#: less a year after 60 (``HEMOGLOBIN_AGE_DROP``: anemia is commonest in older adults).
#: Chosen so that the share below the anemia thresholds (``HEMOGLOBIN_LOW``) is near NHANES
#: August 2021-August 2023 (Williams et al., NCHS Data Brief 519, 2024): 13.0% of females,
#: 5.5% of males, 4.7% of children 2-11, 12.5% of adults 60 and older.
HEMOGLOBIN_AGES: Final = (2.0, 5.0, 12.0, 15.0, 18.0)
HEMOGLOBIN_MEAN: Final = {"M": (12.3, 13.0, 13.6, 14.5, 14.9), "F": (12.3, 13.0, 13.4, 13.4, 13.4)}
HEMOGLOBIN_SD: Final = (0.95, 0.7)
HEMOGLOBIN_AGE_DROP: Final = 0.01
#: The normal range reported with it: its lower limit the anemia threshold of the WHO as NCHS
#: applies it (Data Brief 519): 11.0 g/dL at 2-4 years, 11.5 at 5-11, 12.0 at 12-14 and for
#: females 15 and older, 13.0 for males 15 and older; its upper limit 17.5 g/dL for males 12
#: and older, 15.5 for the others (a common adult reference limit; an assumption).
HEMOGLOBIN_LOW: Final = ((5.0, 11.0), (12.0, 11.5), (15.0, 12.0))
HEMOGLOBIN_ADULT_LOW: Final = {"M": 13.0, "F": 12.0}
HEMOGLOBIN_HIGH: Final = {"M": 17.5, "F": 15.5}
#: Creatinine (mg/dL): lognormal, median by age (knots) and sex, rising after 40 as kidney
#: function declines (assumption); spread 0.14 of the person, 0.08 of the day. Normal range:
#: adults 0.74-1.35 mg/dL (men) and 0.59-1.04 mg/dL (women), as Mayo Clinic gives it
#: (mayoclinic.org, Creatinine test); children 0.2-0.7 (under 12) and 0.5-1.1 (12-17), an
#: assumption (paediatric ranges vary by laboratory and method).
CREATININE_AGES: Final = (2.0, 10.0, 14.0, 18.0, 40.0, 80.0)
CREATININE_MEDIAN: Final = {
    "M": (0.30, 0.50, 0.66, 0.90, 0.95, 1.10),
    "F": (0.30, 0.50, 0.62, 0.72, 0.74, 0.86),
}
CREATININE_SPREAD: Final = (0.14, 0.08)
CREATININE_RANGE: Final = {
    "child": (0.2, 0.7),
    "adolescent": (0.5, 1.1),
    "M": (0.74, 1.35),
    "F": (0.59, 1.04),
}
#: C-reactive protein (mg/L): lognormal, strongly right-skewed. Adults: median 2.1 mg/L and
#: mean 4.3 mg/L in NHANES 1999-2002 (Woloshin and Schwartz, N Engl J Med 2005;352:1611-1613),
#: women's median 2.7 (Ford et al., Clin Chem 2004;50:574-581); men's median 1.5 here, so that
#: all adults' is about 2 (an assumption). Children and adolescents 3-19: median 0.4 mg/L
#: (Ford et al., Clin Chem 2003;49:1353-1357), rising with age. Spread 0.9 of the person, 0.7
#: of the day (total 1.14: mean about 1.9 times the median). Reported with the range 0-5 mg/L
#: (a common upper limit of standard CRP assays; an assumption), at least 0.1 mg/L.
CRP_AGES: Final = (2.0, 10.0, 19.0, 30.0)
CRP_MEDIAN: Final = {"M": (0.3, 0.4, 1.0, 1.5), "F": (0.3, 0.4, 1.2, 2.7)}
CRP_SPREAD: Final = (0.9, 0.7)
CRP_RANGE: Final = (0.0, 5.0)
#: On a day with a muscle enzyme above its ULN (active myositis): hemoglobin 0.8 g/dL lower
#: (anemia of inflammation) and CRP 3 times higher (illustrative: in DM the CRP is often
#: normal or mildly raised).
ACTIVE_HEMOGLOBIN_DROP: Final = 0.8
ACTIVE_CRP_FACTOR: Final = 3.0

#: Deaths (docs/synthetic.md, "Deaths"). Background mortality by age: a Gompertz hazard of
#: 0.45% a year at age 50 that doubles every 8.5 years (0.2% at 40, 1.0% at 60, 2.3% at 70,
#: 5.2% at 80, 11.7% at 90), about the average of men and women in the US period life table of
#: 2019 (Social Security Administration, as used in the 2021 Trustees Report), read
#: approximately; it leaves out infant mortality and the young adults' accident hump (0.11% of
#: men at 20 in that table, 0.04% here) and the difference between the sexes.
DEATH_HAZARD_AT_50: Final = 0.0045
DEATH_HAZARD_DOUBLING_YEARS: Final = 8.5
#: DM patients' mortality relative to the background, by subtype: the standardised mortality
#: ratios of the EULAR/ACR-verified Olmsted County cohort, 3.1 (95% CI 1.1-6.8) for myopathic
#: DM and 1.1 (0.2-3.3) for clinically amyopathic DM (Kronzer et al., Arthritis Care Res
#: 2023;75:348-355, PMID 34549549; median follow-up 8.2 years). Clinically amyopathic DM is
#: the amyopathic and hypomyopathic subtypes (Sontheimer's definition); the juvenile subtypes
#: take the myopathic ratio (an assumption: the cohort was of adults). Other population-based
#: cohorts agree on a two- to threefold excess: SMR 2.6 for DM in south-east Norway (Dobloug et
#: al., Semin Arthritis Rheum 2015;45:301-308), 2.40 in biopsy-proven DM in South Australia
#: (Limaye et al., Intern Med J 2012;42:191-198).
DEATH_RATE_RATIO: Final = {
    "amyopathic": 1.1,
    "hypomyopathic": 1.1,
    "classic_active_myositis": 3.1,
    "classic_postmyopathic": 3.1,
    "juvenile": 3.1,
    "juvenile_postmyopathic": 3.1,
}
#: Causes of death of DM patients, ICD-10-CM, with relative weights: of the deaths in biopsy-
#: proven inflammatory myositis in South Australia, cardiovascular disease 31%, infections 22%
#: and malignancy 11% (Limaye et al. 2012); here myocardial infarction I21.9 for the
#: cardiovascular deaths, sepsis A41.9 and pneumonia J18.9 half each for the infections,
#: malignancy of unspecified site C80.1; and interstitial lung disease (pulmonary fibrosis,
#: J84.10) 15, an assumption for DM's pulmonary deaths (pulmonary complications and
#: infections were frequent DM-related causes of death in Norway, Dobloug et al. 2015; the
#: other deaths of Limaye et al. are left out). Normalised: I21.9 39%, C80.1 14%, A41.9 14%,
#: J18.9 14%, J84.10 19%.
DEATH_CAUSES_DM: Final = (
    ("I21.9", 31.0),
    ("C80.1", 11.0),
    ("A41.9", 11.0),
    ("J18.9", 11.0),
    ("J84.10", 15.0),
)
#: Causes of death of the other persons: the US leading causes of 2019 (Kochanek, Xu and
#: Arias, Mortality in the United States, 2019, NCHS Data Brief 395, 2020), percentages of all
#: deaths: heart disease 23.1 (I21.9), cancer 21.0 (C80.1), chronic lower respiratory disease
#: 5.5 (COPD, J44.9), stroke 5.3 (cerebral infarction, I63.9), influenza and pneumonia 1.7
#: (J18.9); the other causes are left out (the weights are normalised: I21.9 41%, C80.1 37%,
#: J44.9 9.7%, I63.9 9.4%, J18.9 3.0%).
DEATH_CAUSES_OTHER: Final = (
    ("I21.9", 23.1),
    ("C80.1", 21.0),
    ("J44.9", 5.5),
    ("I63.9", 5.3),
    ("J18.9", 1.7),
)
