"""``myositis score``: batch scoring of instruments from CSV or Parquet files.

The help texts are built from :mod:`myositis.instruments.constants` (the rule tables, read
without the query engine); the instruments themselves are imported when a command runs.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from myositis.cli.options import examples
from myositis.instruments.constants import (
    CDASI_LOCATIONS,
    CDASI_MCID_DEFAULT,
    CDASI_SEVERITY_CUTOFF_DEFAULT,
    ENZYMES,
    HAQ_CATEGORIES,
    HAQ_FORMS,
    HAQ_MIN_CATEGORIES_DEFAULT,
    MEASURE_KEYS,
    MMT8_GROUPS,
    TIS_CATEGORIES,
    TIS_POINTS,
    HAQForm,
    Population,
    haq_item_count,
)

if TYPE_CHECKING:
    from myositis.instruments.base import Instrument

app = typer.Typer(
    help=(
        "Score validated instruments for every row of a CSV or Parquet file.\n\n"
        "Each row is checked first: an item outside its range, a fraction where a whole "
        "number is required, a non-numeric value or a missing column stops the run with one "
        "message naming the row, column, value and allowed range, and nothing is written "
        "(exit status 2). With --errors report the valid rows are scored and the rejected "
        "rows are written with their reasons next to OUTPUT (scored.csv -> scored.errors.csv). "
        "A blank item makes its score blank and is named in the *_missing column (never "
        "counted as 0). Columns the instrument does not use pass through unchanged, and a "
        "warning names them (a misspelt optional column would otherwise go unnoticed).\n\n"
        "Files: CSV saved as UTF-8 (Excel: 'CSV UTF-8'), with a header row; or Parquet. Each "
        "instrument's --help lists its columns.\n\n"
        + examples(
            "myositis score cdasi visits.csv -o scored.csv",
            "myositis score tis pairs.csv --population juvenile --errors report -o scored.csv",
        )
    ),
    no_args_is_help=True,
    add_completion=False,
)


#: What to do with invalid values (``myositis.instruments.batch.ErrorMode``).
ErrorMode = Literal["stop", "report"]

Input = Annotated[
    Path, typer.Argument(help="CSV or Parquet file, one record per row.", metavar="INPUT")
]
Output = Annotated[
    Path,
    typer.Option(
        "--output",
        "--out",
        "-o",
        help="Where to write the scored file (.csv or .parquet); --out is the same option.",
        metavar="FILE",
    ),
]
Errors = Annotated[
    ErrorMode,
    typer.Option(
        "--errors",
        help="stop: any invalid value stops the run, nothing written. report: score the "
        "valid rows; write each problem (row, column, value, reason) with its rejected row "
        "next to OUTPUT (scored.csv -> scored.errors.csv).",
    ),
]


def _number(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _thresholds(population: str) -> str:
    return ", ".join(
        f"{name} >= {_number(minimum)}" for name, minimum in TIS_CATEGORIES[population]
    )


def _tis_rules() -> str:
    """The conversion table and the category thresholds in words, from the rule tables."""
    bands = "; ".join(
        f"{key} {'/'.join(_number(p) for _, p in TIS_POINTS[key])} above "
        f"{'/'.join(_number(e) for e, _ in TIS_POINTS[key])} %"
        for key in MEASURE_KEYS
    )
    return (
        f"Points per measure by percent improvement (Rider 2017, Table 3): {bands}; an "
        "improvement at or below the first edge, or worsening, scores 0 (lower band edges "
        "exclusive, upper inclusive, compared exactly: 1.1 -> 0.6 cm is exactly 5 % and "
        "scores 0). tis is the sum; categories: adult "
        f"{_thresholds('adult')}; juvenile {_thresholds('juvenile')}."
    )


PopulationOption = Annotated[
    Population,
    typer.Option(
        "--population",
        help=f"adult (DM/PM: {_thresholds('adult')}) or juvenile (JDM: "
        f"{_thresholds('juvenile')}; CMAS may replace MMT-8 and CHAQ may replace HAQ).",
    ),
]

CORE_SET_COLUMNS = (
    "pga_baseline, pga_followup, ptga_baseline, ptga_followup (0-10 VAS cm); "
    "mmt8_baseline, mmt8_followup, mmt8_max (80 or 150); haq_baseline, haq_followup (0-3); "
    "ema_baseline, ema_followup (0-10); and for at least one enzyme among "
    f"{', '.join(ENZYMES)}: <e>_baseline, <e>_followup, <e>_uln (upper limit of normal). "
    "Juvenile: cmas_baseline, cmas_followup (0-52) may replace mmt8_*, chaq_* may replace haq_*."
)


def _run(instrument: Instrument, source: Path, output: Path, errors: ErrorMode) -> None:
    from myositis.instruments.batch import score_file

    summary = score_file(instrument, source, output, errors=errors)
    typer.echo(
        f"{instrument.title}: {summary.rows_read} row(s) read, {summary.rows_scored} scored "
        f"-> {summary.output}"
        + (
            f"; {summary.rows_rejected} rejected -> {summary.error_file}"
            if summary.error_file
            else ""
        )
    )


@app.command(
    "cdasi",
    help=(
        "CDASI v2 (Yassaee 2010): activity (0-100), damage (0-32), total (0-132) and "
        f"severity (activity <= {CDASI_SEVERITY_CUTOFF_DEFAULT} mild, Anyanwu 2015) per "
        "visit.\n\n"
        "Columns: <location>_erythema (0-3), <location>_scale (0-2), <location>_erosion (0-1), "
        "<location>_poikiloderma (0-1), <location>_calcinosis (0-1) for the 15 locations "
        f"{', '.join(CDASI_LOCATIONS)}; gottron_hands_erythema (0-3, counted twice when "
        "gottron_hands_papules is 1), gottron_hands_papules (0-1), gottron_hands_ulceration "
        "(0-1), gottron_hands_damage (0-2), periungual (0-2), alopecia (0-1); whole numbers.\n\n"
        "Adds cdasi_activity, cdasi_damage, cdasi_total, cdasi_severity, cdasi_missing. "
        "A blank item makes its score blank (named in cdasi_missing), never 0. A fall in "
        f"activity of >= {CDASI_MCID_DEFAULT} points between two visits is a clinically "
        "meaningful improvement (Anyanwu 2015: Stanford; 4 at UPenn): in Python "
        "cdasi.response(baseline, followup, mcid) or cdasi.is_response, and the study "
        "specification.\n\n"
        + examples("myositis score cdasi examples/scoring/cdasi_visits.csv -o cdasi_scored.csv")
    ),
)
def score_cdasi(
    source: Input,
    output: Output,
    errors: Errors = "stop",
    severity_cutoff: Annotated[
        int,
        typer.Option(min=0, max=100, help="Activity at or below this is 'mild' (Anyanwu 2015)."),
    ] = CDASI_SEVERITY_CUTOFF_DEFAULT,
) -> None:
    from myositis.instruments.cdasi import CDASI

    _run(CDASI(severity_cutoff), source, output, errors)


@app.command(
    "tis",
    help=(
        "2016 ACR/EULAR Total Improvement Score between baseline and follow-up, one pair per "
        "row (Aggarwal 2017; Rider 2017).\n\n"
        f"Columns: {CORE_SET_COLUMNS}\n\n"
        "Percent improvement is absolute: 100 * (baseline - followup) / scale range "
        "(MMT-8, CMAS: 100 * (followup - baseline) / maximum). Open readings: the most "
        "abnormal enzyme is the one with the highest baseline/ULN ratio, and its change is "
        "100 * (baseline - followup) / baseline.\n\n"
        f"{_tis_rules()}\n\n"
        "Adds <measure>_pct and <measure>_points for pga, ptga, mmt8, haq, enzyme, ema; "
        "enzyme_used; tis (0-100); tis_category (none, minimal, moderate, major); "
        "tis_missing (a blank input makes tis blank and is named here).\n\n"
        + examples(
            "myositis score tis examples/scoring/tis_pairs_adult.csv -o tis_scored.csv",
            "myositis score tis examples/scoring/tis_pairs_juvenile.csv --population juvenile "
            "-o tis_juvenile.parquet",
        )
    ),
)
def score_tis(
    source: Input,
    output: Output,
    errors: Errors = "stop",
    population: PopulationOption = "adult",
) -> None:
    from myositis.instruments.tis import TIS

    _run(TIS(population), source, output, errors)


@app.command(
    "doi",
    help=(
        "IMACS 2004 preliminary definition of improvement (Rider 2004): >= 3 of 6 core set "
        "measures improved by >= 20 %, no more than 2 worse by >= 25 %, MMT not among them.\n\n"
        f"Columns as for 'score tis': {CORE_SET_COLUMNS}\n\n"
        "Both bounds inclusive; the enzyme is the most abnormal one, as for 'score tis'. Open "
        "reading: percent change is relative to baseline, 100 * (baseline - followup) / "
        "baseline (MMT-8, CMAS: followup - baseline); from a baseline of 0 a rise counts as "
        "worse (as improved for MMT-8, CMAS).\n\n"
        "Adds doi_met, doi_improved, doi_worsened, doi_improved_measures, "
        "doi_worsened_measures, enzyme_used, doi_missing (a blank input "
        "makes the results blank and is named here).\n\n"
        + examples("myositis score doi examples/scoring/tis_pairs_adult.csv -o doi_scored.csv")
    ),
)
def score_doi(
    source: Input,
    output: Output,
    errors: Errors = "stop",
    population: PopulationOption = "adult",
) -> None:
    from myositis.instruments.doi import DOI

    _run(DOI(population), source, output, errors)


@app.command(
    "mmt8",
    help=(
        "MMT-8 totals from Kendall 0-10 muscle grades (Rider 2010; IMACS Form 04).\n\n"
        f"Columns: {', '.join(g.key for g in MMT8_GROUPS if g.axial)} (tested once) and "
        "<group>_right, <group>_left for "
        f"{', '.join(g.key for g in MMT8_GROUPS if not g.axial)}; whole numbers 0-10.\n\n"
        "Adds mmt8_unilateral (0-80: right side, the left where the right is blank), "
        "mmt8_bilateral (0-150), mmt8_left_used and mmt8_missing (blank grades, never "
        "counted as 0).\n\n"
        + examples("myositis score mmt8 examples/scoring/mmt8_visits.csv -o mmt8_scored.csv")
    ),
)
def score_mmt8(source: Input, output: Output, errors: Errors = "stop") -> None:
    from myositis.instruments.mmt8 import MMT8

    _run(MMT8(), source, output, errors)


def _haq_columns() -> str:
    counts = {form: [haq_item_count(form, c) for c in HAQ_CATEGORIES] for form in HAQ_FORMS}
    return (
        "<category>_<n> (0-3) for the categories "
        f"{', '.join(HAQ_CATEGORIES)}; items per category "
        + "; ".join(f"{form}: {', '.join(map(str, n))}" for form, n in counts.items())
        + ". Optional <category>_aid and <category>_help (0/1)."
    )


@app.command(
    "haq",
    help=(
        "HAQ disability index (adults, Fries 1980; Stanford scoring) or CHAQ (children, "
        "Singh 1994).\n\n"
        f"Columns: {_haq_columns()}\n\n"
        "A category scores its worst answered item, raised to at least 2 when an aid or help "
        "is used; the index is the mean of the answered categories (0-3) when at least "
        "--min-categories are answered (open reading, default "
        f"{HAQ_MIN_CATEGORIES_DEFAULT} of 8). Adds <category>_score, haq_categories_answered, "
        "haq_index, haq_form, haq_missing.\n\n"
        + examples(
            "myositis score haq examples/scoring/haq_visits.csv -o haq_scored.csv",
            "myositis score haq chaq_visits.csv --form chaq -o chaq_scored.csv",
        )
    ),
)
def score_haq(
    source: Input,
    output: Output,
    errors: Errors = "stop",
    form: Annotated[
        HAQForm,
        typer.Option(help="haq-di (20 items, adults) or chaq (30 items, children)."),
    ] = "haq-di",
    min_categories: Annotated[
        int,
        typer.Option(min=1, max=8, help="Answered categories needed for an index (open reading)."),
    ] = HAQ_MIN_CATEGORIES_DEFAULT,
) -> None:
    from myositis.instruments.haq import HAQ

    _run(HAQ(form, min_categories), source, output, errors)
