"""Parameters of the synthetic registry model, with their defaults and where they come from.

Nothing here is calibrated to real registry data. Values marked (seed) follow the figures of
the seed article's series (Min et al., J Am Acad Dermatol 2022;86:423-425, as summarised in
shared/reference/evidence.md); values marked (codes) follow shared/reference/codes.md; the rest
are round, plausible assumptions chosen so that every cohort step has something to do.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

from myositis.registry.schema import DM_SUBTYPES

EPOCH: Final = dt.date(1970, 1, 1)


def day(year: int, month: int, date: int) -> int:
    """Days since 1970-01-01 (the Arrow date32 representation)."""
    return (dt.date(year, month, date) - EPOCH).days


#: First day of the registry's records.
DATA_START: Final = day(2008, 1, 1)
#: Last day of the registry's records (data cut-off).
DATA_END: Final = day(2025, 6, 30)
#: US switch from ICD-9-CM to ICD-10-CM (codes.md: 710.3 before October 2015).
ICD10_START: Final = day(2015, 10, 1)
#: ICD-10-CM FY2023: the ``x3`` "without myopathy" M33 codes (codes.md, marked check there).
AMYOPATHIC_CODES_START: Final = day(2022, 10, 1)
#: WHO moved the JAK inhibitors from ATC L04AA to L04AF in 2024 (codes.md).
ATC_L04AF_START: Final = day(2024, 1, 1)
#: Earliest JAK start in the model (tofacitinib was first approved in the US in late 2012).
JAK_START_MIN: Final = day(2013, 1, 1)
#: Topical ruxolitinib exposures start after its 2021 approval for atopic dermatitis.
TOPICAL_RUXOLITINIB_START: Final = day(2021, 10, 1)


#: Default DM prevalence per 1,000 persons: the population-based estimates of Olmsted County,
#: Minnesota, 21.42 per 100,000 (Bendewald et al., Arch Dermatol 2010;146:26-30) and 13 per
#: 100,000 (EULAR/ACR-verified cases, Kronzer et al., Arthritis Care Res 2023;75:348-355),
#: taken as 20 per 100,000. A referral centre's registry holds more; raise it there.
POPULATION_DM_PER_1000: Final = 0.2


@dataclass(frozen=True)
class SynthParams:
    """Rates and shares of the synthetic model (see docs/synthetic.md)."""

    #: DM cases per 1,000 persons (population prevalence by default; configurable).
    dm_per_1000: float = POPULATION_DM_PER_1000
    #: Polymyositis cases per 1,000 persons (a look-alike the DM cohort must not take).
    pm_per_1000: float = 0.3
    #: Share of persons with rheumatoid arthritis; of them, the share on tofacitinib.
    ra_fraction: float = 0.01
    ra_tofacitinib_fraction: float = 0.15
    #: Share with atopic dermatitis; of them, the share using topical ruxolitinib.
    ad_fraction: float = 0.03
    ad_topical_ruxolitinib_fraction: float = 0.05
    #: DM subtype shares, in DM_SUBTYPES order (amyopathic most common among JAK users (seed)).
    subtype_shares: tuple[float, ...] = (0.32, 0.10, 0.28, 0.14, 0.10, 0.06)
    #: Share of DM patients refractory to conventional therapy who start a JAK inhibitor.
    jak_fraction: float = 0.30
    #: JAK ingredient shares among DM starters (tofacitinib dominant (seed)).
    jak_shares: dict[str, float] = field(
        default_factory=lambda: {
            "tofacitinib": 0.80,
            "baricitinib": 0.08,
            "upadacitinib": 0.06,
            "ruxolitinib": 0.06,
        }
    )
    #: Share of JAK-treated DM patients whose skin activity responds.
    responder_fraction: float = 0.80
    #: CDASI baseline visit: within 30 days before start / earlier (outside) / none.
    baseline_within_window: float = 0.85
    baseline_outside_window: float = 0.07
    #: Share of JAK-treated DM patients with no follow-up assessment at all (attrition).
    no_followup_fraction: float = 0.10
    #: Share of ICD codes recorded without the dot (``M3310``).
    undotted_fraction: float = 0.30
    #: Share of DM patients also coded M36.0 (DM in neoplastic disease).
    neoplastic_fraction: float = 0.03
    #: Record the other IMACS core set measures (physician and patient global, HAQ or for
    #: children CHAQ and CMAS, extramuscular global) at 90% of a JAK course's visits, so TIS
    #: and DOI outcomes can be computed; off by default (the registry is then unchanged).
    core_set: bool = False

    def __post_init__(self) -> None:
        if len(self.subtype_shares) != len(DM_SUBTYPES):
            raise ValueError("subtype_shares needs one share per DM subtype")
        if self.dm_per_1000 < 0 or self.dm_per_1000 > 1000:
            raise ValueError("dm_per_1000 must be between 0 and 1000")


#: DM cases per 1,000 persons of the referral-centre preset: 25 times the population
#: prevalence (an assumption, not a measured figure: a tertiary centre's registry draws DM
#: patients from far beyond the catchment that supplies its other persons). 1,000,000 persons
#: then hold about 5,000 DM patients and a cohort of about a thousand.
REFERRAL_CENTRE_DM_PER_1000: Final = 5.0

#: Named parameter sets for ``--preset`` (docs/synthetic.md, "Presets").
PRESETS: Final[dict[str, SynthParams]] = {
    # the defaults above: population prevalence
    "population": SynthParams(),
    # a dermatology-rheumatology referral centre like the two academic centres of the seed
    # series: many DM patients, CDASI recorded at nearly every visit of a JAK-treated patient
    # (assumptions: baseline within 30 days 92%, earlier 4%, no follow-up at all 5%), the
    # refractory share who start a JAK inhibitor as in the defaults (30%)
    "referral-centre": SynthParams(
        dm_per_1000=REFERRAL_CENTRE_DM_PER_1000,
        baseline_within_window=0.92,
        baseline_outside_window=0.04,
        no_followup_fraction=0.05,
    ),
}


def preset(name: str) -> SynthParams:
    """The parameters of a named preset (``PRESETS``); ValueError naming the presets."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; presets: {', '.join(PRESETS)}") from None
