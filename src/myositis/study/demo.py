"""``myositis demo``: a synthetic two-site registry and the bundled study, end to end.

The registry comes from :func:`myositis.sources.synthetic.generate_registry` (labelled
synthetic) with a raised dermatomyositis prevalence so that the cohort has enough patients to
show every table and figure; the bundled ``studies/jak-refractory-dm.yaml`` runs on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from myositis.progress import Progress, silent
from myositis.sources.synthetic import generate_registry
from myositis.study.runner import StudyRun, run_study
from myositis.study.spec import bundled_spec_path

#: DM cases per 1,000 persons in the demo registry (a tertiary-care referral registry
#: enriched for DM, so that a demo-sized registry yields a cohort of a few dozen patients).
DEMO_DM_PER_1000: Final = 5.0


def run_demo(
    out: str | Path, *, patients: int = 60_000, seed: int = 2022, progress: Progress = silent
) -> StudyRun:
    """Build ``out/registry.duckdb`` (synthetic, 2 sites) and run the bundled study into ``out``."""
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    registry = generate_registry(
        target / "registry.duckdb",
        patients=patients,
        sites=2,
        seed=seed,
        dm_per_1000=DEMO_DM_PER_1000,
        progress=progress,
        overwrite=True,
    )
    return run_study(bundled_spec_path(), registry, target, progress=progress)


__all__ = ["DEMO_DM_PER_1000", "run_demo"]
