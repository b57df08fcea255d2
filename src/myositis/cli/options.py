"""Options shared by several commands, so that each is spelt and explained the same way."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: Where a registry is: how every command that reads one names it.
REGISTRY_HELP = (
    "The registry: a .duckdb file, a folder of <table>.csv / <table>.parquet files, "
    "postgresql://USER@HOST:PORT/DB?schema=NAME, spark://local[2] (or spark://HOST:PORT, "
    "sc://HOST:PORT) with ?database=NAME."
)

Data = Annotated[
    str,
    typer.Option("--data", "-d", help=REGISTRY_HELP, metavar="REGISTRY", show_default=False),
]
OutDir = Annotated[
    Path,
    typer.Option("--out", "-o", help="Output folder (created if needed).", metavar="DIR"),
]
Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress display (it is off anyway in logs and pipes)."),
]
