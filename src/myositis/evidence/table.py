"""The bundled evidence table: published JAK-inhibitor studies in dermatomyositis.

``data/jak_dm_studies.csv`` holds one row per study and outcome. Every number carries its
source (a DOI or a PMID: a study for which neither was retrieved is not in the table), a short
quotation that shows it, where the quotation comes from and what was verified (see
``docs/evidence.md``). A number no retrievable source shows is ``not reported``, never guessed.

Rows marked ``pooled = yes`` form the response analysis: one outcome per study, the study's
own definition of response (they differ: CDASI improvement, IMACS improvement, PRINTO
inactive disease or complete/partial response), so the pooled proportion describes how often
published series report response, not one common endpoint.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

import numpy as np

from myositis.errors import EvidenceError
from myositis.evidence.effects import EffectSizes, Measure, proportions

NOT_REPORTED = "not reported"
NOT_RETRIEVED = "not retrieved"
COLUMNS = (
    "study_id",
    "author",
    "year",
    "citation",
    "doi",
    "pmid",
    "design",
    "population",
    "drug",
    "n",
    "outcome",
    "timepoint",
    "events",
    "denominator",
    "pooled",
    "quote",
    "quote_source",
    "verification",
)


@dataclass(frozen=True)
class EvidenceRecord:
    """One outcome of one published study, with the evidence for its numbers."""

    study_id: str
    author: str
    year: int
    citation: str
    doi: str
    pmid: str
    design: str
    population: str
    drug: str
    n: int
    outcome: str
    timepoint: str
    events: int | None
    denominator: int
    pooled: bool
    quote: str
    quote_source: str
    verification: str

    @property
    def label(self) -> str:
        return f"{self.author} {self.year}"


def _count(text: str, column: str, row: int) -> int | None:
    if text == NOT_REPORTED:
        return None
    if not text.isdigit():
        raise EvidenceError(f"bundled table row {row}, column '{column}': {text!r} is not a count")
    return int(text)


def load_jak_dm_table() -> list[EvidenceRecord]:
    """Read and check the bundled table (every row sourced and quoted, counts consistent)."""
    text = (
        resources.files("myositis.evidence")
        .joinpath("data/jak_dm_studies.csv")
        .read_text(encoding="utf-8")
    )
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise EvidenceError("the bundled evidence table has unexpected columns")
    records = []
    for number, raw in enumerate(reader, start=1):
        n = _count(raw["n"], "n", number)
        denominator = _count(raw["denominator"], "denominator", number)
        events = _count(raw["events"], "events", number)
        if n is None or denominator is None:
            raise EvidenceError(f"bundled table row {number}: n and denominator are required")
        if events is not None and events > denominator:
            raise EvidenceError(f"bundled table row {number}: more events than the denominator")
        if raw["doi"] == NOT_RETRIEVED and raw["pmid"] == NOT_RETRIEVED:
            raise EvidenceError(f"bundled table row {number}: every row needs a DOI or a PMID")
        if not raw["quote"].strip() or not raw["verification"].strip():
            raise EvidenceError(f"bundled table row {number}: every number needs a quotation")
        if raw["pooled"] == "yes" and events is None:
            raise EvidenceError(f"bundled table row {number}: a pooled row needs its events")
        records.append(
            EvidenceRecord(
                study_id=raw["study_id"],
                author=raw["author"],
                year=int(raw["year"]),
                citation=raw["citation"],
                doi=raw["doi"],
                pmid=raw["pmid"],
                design=raw["design"],
                population=raw["population"],
                drug=raw["drug"],
                n=n,
                outcome=raw["outcome"],
                timepoint=raw["timepoint"],
                events=events,
                denominator=denominator,
                pooled=raw["pooled"] == "yes",
                quote=raw["quote"],
                quote_source=raw["quote_source"],
                verification=raw["verification"],
            )
        )
    pooled_ids = [r.study_id for r in records if r.pooled]
    if len(pooled_ids) != len(set(pooled_ids)):
        raise EvidenceError("the bundled table pools more than one outcome of a study")
    return records


def response_effects(records: list[EvidenceRecord], measure: Measure = "PLO") -> EffectSizes:
    """The pooled response rows as proportions, with ``drug`` and ``population`` in extra."""
    rows = [r for r in records if r.pooled and r.events is not None]
    effects = proportions(
        [r.label for r in rows],
        np.array([r.events for r in rows], dtype=np.float64),
        np.array([r.denominator for r in rows], dtype=np.float64),
        measure,
    )
    return EffectSizes(
        measure=effects.measure,
        study=effects.study,
        yi=effects.yi,
        vi=effects.vi,
        n=effects.n,
        events=effects.events,
        extra={
            "drug": tuple(r.drug for r in rows),
            "population": tuple(r.population for r in rows),
        },
    )
