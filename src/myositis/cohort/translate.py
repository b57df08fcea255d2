"""Format 1 of the cohort section (:class:`~myositis.cohort.definition.CohortDefinition`) in
the cohort language (:class:`~myositis.cohort.language.Cohort`), with the same persons, index
dates, attrition lines and outcome.

The translation, line by line of format 1's attrition:

1. persons in the registry (every cohort's first line);
2. ``diagnosis``: a ``persons_with`` rule, a diagnosis in the concept set on at least
   ``min_occurrences`` distinct dates any time; ``exclude_codes``: a second rule, exactly 0
   such diagnoses;
3. ``exposure``: the entry event, the first qualifying exposure (index = its start; any
   record, no observation period required);
4. ``baseline``: an inclusion rule, at least one scorable assessment in the baseline window;
5. ``followup``: an inclusion rule, at least one in the follow-up window.

The outcome ``cdasi_activity`` keeps the baseline window (closest to the index) and the
follow-up window with its ``use``.
"""

from __future__ import annotations

from myositis.cohort.definition import CohortDefinition
from myositis.cohort.language import (
    Cohort,
    ConceptItem,
    ConceptSet,
    Criterion,
    Entry,
    Events,
    InclusionRule,
    Occurrence,
    Outcome,
    OutcomeWindow,
    PersonRule,
    RelativeWindow,
)

#: Name of the outcome a translated format-1 cohort measures.
PRIMARY_OUTCOME = "cdasi_activity"


def from_definition(definition: CohortDefinition) -> Cohort:
    """The format-1 definition in the cohort language (rules in the module docstring)."""
    d, x = definition.diagnosis, definition.exposure
    concept_sets = {
        "diagnosis": ConceptSet(
            items=[ConceptItem(codeset=r) for r in d.codesets]
            + [ConceptItem(system=c.system, code=c.code) for c in d.codes]
        ),
        "exposure": ConceptSet(
            items=[ConceptItem(codeset=r) for r in x.codesets]
            + [ConceptItem(system=c.system, code=c.code) for c in x.codes]
            + [ConceptItem(ingredient=i) for i in x.ingredients]
            + [ConceptItem(codeset=r, exclude=True) for r in x.exclude_codesets]
        ),
    }
    roles = ", ".join(d.codesets + [f"{r.system} {r.code}" for r in d.codes])
    persons_with = [
        PersonRule(
            label=d.label,
            description=f"code in {roles} on >= {d.min_occurrences} distinct date(s)",
            criteria=[
                Criterion(
                    domain="diagnosis",
                    concept_set="diagnosis",
                    occurrence=Occurrence(count=d.min_occurrences, distinct_dates=True),
                )
            ],
        )
    ]
    if d.exclude_codes:
        concept_sets["excluding_diagnosis"] = ConceptSet(
            items=[ConceptItem(system=c.system, code=c.code) for c in d.exclude_codes]
        )
        persons_with.append(
            PersonRule(
                label="No excluding diagnosis",
                criteria=[
                    Criterion(
                        domain="diagnosis",
                        concept_set="excluding_diagnosis",
                        occurrence=Occurrence(type="exactly", count=0),
                    )
                ],
            )
        )
    base, follow = definition.baseline, definition.followup

    def rule(label: str, start: int, end: int) -> InclusionRule:
        window = RelativeWindow(start=start, end=end)
        return InclusionRule(
            label=label,
            criteria=[
                Criterion(
                    domain="assessment",
                    instrument=base.instrument,
                    measure=base.measure,
                    start_window=window,
                )
            ],
        )

    return Cohort(
        label="Format 1 cohort",
        concept_sets=concept_sets,
        persons_with=persons_with,
        entry=Entry(
            label=x.label,
            events=[
                Events(
                    domain="drug_exposure",
                    concept_set="exposure",
                    exclude_formulations=x.exclude_formulations,
                    exclude_routes=x.exclude_routes,
                )
            ],
        ),
        inclusion=[
            rule(f"Baseline CDASI {base.measure}", base.window_days.start, base.window_days.end),
            rule(
                f"Follow-up CDASI {base.measure}",
                follow.window_days.start,
                follow.window_days.end,
            ),
        ],
        outcomes=[
            Outcome(
                name=PRIMARY_OUTCOME,
                baseline=OutcomeWindow(start=base.window_days.start, end=base.window_days.end),
                followup=OutcomeWindow(start=follow.window_days.start, end=follow.window_days.end),
                use=follow.use,
                instrument=base.instrument,
                measure=base.measure,
            )
        ],
    )


__all__ = ["PRIMARY_OUTCOME", "from_definition"]
