"""Clinical code sets for dermatomyositis, polymyositis, JAK inhibitors and muscle enzymes.

The codes live in versioned data files (``data/codesets.csv``, ``data/label_doses.csv``,
``data/frequencies.csv``), one row per code with its source and a status: ``confirmed`` when
the code or dose was checked against a retrievable authoritative source while building this
package, ``check`` when it comes from the project's reference notes only and must be confirmed
against the publisher (CMS, NLM RxNav, WHO ATC index, LOINC, OHDSI Athena) before a release
calls the set final.
"""

from myositis.codes.codesets import (
    CODESET_VERSION,
    ICD_SYSTEMS,
    Code,
    codes_by_system,
    load_codeset,
    normalise_icd,
    roles,
)
from myositis.codes.doses import FREQUENCIES, LabelDose, frequency_per_day, label_dose, label_doses

__all__ = [
    "CODESET_VERSION",
    "FREQUENCIES",
    "ICD_SYSTEMS",
    "Code",
    "LabelDose",
    "codes_by_system",
    "frequency_per_day",
    "label_dose",
    "label_doses",
    "load_codeset",
    "normalise_icd",
    "roles",
]
