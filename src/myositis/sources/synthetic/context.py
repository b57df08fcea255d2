"""State shared while one batch of persons is generated: random stream, buffers and ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

import numpy as np

from myositis.codes import load_codeset
from myositis.registry.schema import TABLES
from myositis.sources.synthetic.buffer import Rows
from myositis.sources.synthetic.params import ATC_L04AF_START, SynthParams

#: Tables the generator fills (registry_metadata is written once, not per batch).
DATA_TABLES: Final = tuple(name for name in TABLES if name != "registry_metadata")


def site_name(index: int) -> str:
    """Synthetic site label, 1-based: 'synthetic-site-1', ..."""
    return f"synthetic-site-{index + 1}"


def _jak_codes() -> dict[tuple[str, str], str]:
    # (ingredient, kind) -> code; kind 'RXNORM', 'ATC_OLD' (L04AA/L01XE) or 'ATC_NEW'
    codes: dict[tuple[str, str], str] = {}
    for c in load_codeset("jak_inhibitor"):
        if c.system == "RXNORM":
            codes[(c.display, "RXNORM")] = c.code
        elif c.system == "ATC":
            new = c.valid_from is not None or c.code.startswith("L01E")
            codes.setdefault((c.display, "ATC_NEW" if new else "ATC_OLD"), c.code)
    return codes


JAK_CODES: Final = _jak_codes()
TOPICAL_RUXOLITINIB_ATC: Final = load_codeset("jak_topical_exclude")[0].code


@dataclass
class Batch:
    """One batch's random stream, row buffers and running ids."""

    rng: np.random.Generator
    params: SynthParams
    sites: int
    next_exposure_id: int
    next_assessment_id: int
    rows: dict[str, Rows] = field(default_factory=lambda: {t: Rows(t) for t in DATA_TABLES})
    #: the core set measures' own stream (``SynthParams.core_set``; None when off)
    core_rng: np.random.Generator | None = None

    def exposure_id(self) -> int:
        self.next_exposure_id += 1
        return self.next_exposure_id

    def assessment_id(self) -> int:
        self.next_assessment_id += 1
        return self.next_assessment_id

    def icd(self, dotted: str) -> str:
        """The code as a site records it: dotted, or undotted with the configured share."""
        if "." in dotted and self.rng.random() < self.params.undotted_fraction:
            return dotted.replace(".", "")
        return dotted

    def jak_code(self, ingredient: str, site: int, start: int) -> tuple[str, str]:
        """(code_system, code) of a systemic JAK exposure: odd-numbered sites record RxNorm,
        even-numbered ones ATC, with the pre-2024 code before 2024 (codes.md)."""
        if site % 2 == 0 and (ingredient, "RXNORM") in JAK_CODES:
            return "RXNORM", JAK_CODES[(ingredient, "RXNORM")]
        kind = "ATC_NEW" if start >= ATC_L04AF_START else "ATC_OLD"
        code = JAK_CODES.get((ingredient, kind)) or JAK_CODES[(ingredient, "ATC_NEW")]
        return "ATC", code
