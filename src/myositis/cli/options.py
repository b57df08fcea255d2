"""Options shared by several commands, so that each is spelt and explained the same way, and
the one way help texts show example commands."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Annotated, Final

import typer

#: Where a registry is: how every command that reads one names it.
REGISTRY_HELP = (
    "The registry: a .duckdb file, a folder of <table>.csv / <table>.parquet files, "
    "postgresql://USER@HOST:PORT/DB?schema=NAME, spark://local[2] (or spark://HOST:PORT, "
    "sc://HOST:PORT) with ?database=NAME, or an OMOP CDM read live: "
    "omop+duckdb:///path/cdm.duckdb, omop+postgresql://USER@HOST/DB?schema=cdm, "
    "omop+spark://local[2]?database=cdm (docs/omop.md)."
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

#: Widest line of an example command: typer indents help text by one column and keeps two for
#: the example's own indent, so an 80-column terminal never wraps a command mid-line.
EXAMPLE_WIDTH: Final = 76


def examples(*commands: str) -> str:
    """An "Examples:" paragraph for a help text: one command per paragraph, a long command
    broken before one of its options with a shell continuation (``\\``), so that each line is
    at most :data:`EXAMPLE_WIDTH` wide and can be copied into a shell as it stands."""
    return "Examples:\n\n" + "\n\n".join(_lines(command) for command in commands)


def _lines(command: str) -> str:
    words = command.split(" ")
    n = 1  # 'myositis', then the command's names (lower-case words), kept on the first line
    while n < len(words) and re.fullmatch(r"[a-z][a-z0-9-]*", words[n]):
        n += 1
    chunks = [" ".join(words[:n])]  # then each argument, or option with its value
    for word in words[n:]:
        if chunks[-1].startswith("-") and " " not in chunks[-1] and not word.startswith("-"):
            chunks[-1] += f" {word}"
        else:
            chunks.append(word)
    lines = [f"  {chunks[0]}"]
    for chunk in chunks[1:]:
        if len(lines[-1]) + 1 + len(chunk) + 2 <= EXAMPLE_WIDTH:
            lines[-1] += f" {chunk}"
        else:
            lines[-1] += " \\"
            lines.append(f"      {chunk}")
    return "\n".join(lines)


def reflow_examples(text: str) -> str:
    """A help text with every example command on whole lines, as :func:`examples` writes them:
    a paragraph that is one ``myositis ...`` command (or ``Example:  myositis ...``) is
    broken before its options; paragraphs already broken so are kept. Applied to every
    command's help when the command tree is built, so a docstring's examples need no care."""
    paragraphs = []
    for paragraph in inspect.cleandoc(text).split("\n\n"):  # a docstring's indent first
        flat = " ".join(paragraph.split())
        label, _, rest = flat.partition(": ")
        if " \\\n" in paragraph:  # already broken by examples()
            paragraphs.append(paragraph)
        elif flat.startswith("myositis "):
            paragraphs.append(_lines(flat))
        elif label in ("Example", "Examples") and rest.startswith("myositis "):
            paragraphs.append(f"{label}:\n\n{_lines(rest)}")
        else:
            paragraphs.append(paragraph)
    if len(paragraphs) > 1 and paragraphs[1].startswith("Example"):
        # typer's rich help dedents the text after the first paragraph as a docstring, whose
        # first line does not count: were it this label, the commands' indent would go too
        paragraphs[1] = f"\n{paragraphs[1]}"
    return "\n\n".join(paragraphs)
