"""The command tree as a user meets it (issue 10, deliverable 4): every command and its help.

The tree is walked through click's own command objects, so a command added later (such as
``registry copy``) is checked without being listed here: every option with choices shows
them, every ``--out`` (and ``--output``) has ``-o``, no flag shows a ``<bool>`` metavar, and
each example command renders on whole lines at 80 columns, copyable as it stands.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from myositis.cli import COMMANDS, app
from myositis.errors import InputWarning

ROOT = Path(__file__).resolve().parents[2]
RUNNER = CliRunner()
#: The command tree the issue asks for (and the aliases kept from earlier versions).
EXPECTED = {
    ("demo",),
    ("registry", "synth"),
    ("registry", "check"),
    ("study", "check"),
    ("study", "run"),
    ("report",),
    ("score", "cdasi"),
    ("score", "tis"),
    ("score", "doi"),
    ("score", "mmt8"),
    ("score", "haq"),
    ("evidence", "pool"),
    ("evidence", "jak-dm"),
    ("evidence", "combine"),
    ("trial", "sample-size"),
    ("trial", "randomise"),
    ("trial", "minimise"),
    ("synth",),
    ("registry-check",),
}


def _walk(command: Any, ctx: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    if hasattr(command, "list_commands"):
        names = command.list_commands(ctx)
        if not path:  # the root lists its commands; the aliases are hidden from the listing
            names += [name for name, (_, _, alias) in COMMANDS.items() if alias is not None]
        for name in names:
            sub = command.get_command(ctx, name)
            yield from _walk(sub, sub.context_class(sub, info_name=name, parent=ctx), (*path, name))


def _tree() -> list[tuple[tuple[str, ...], Any]]:
    root = typer.main.get_command(app)
    return list(_walk(root, root.context_class(root, info_name="myositis"), ()))


TREE = _tree()
IDS = [" ".join(path) or "myositis" for path, _ in TREE]


def _help(path: tuple[str, ...]) -> str:
    result = RUNNER.invoke(app, [*path, "--help"], env={"COLUMNS": "80", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


def test_the_command_tree_is_the_one_documented() -> None:
    leaves = {path for path, command in TREE if path and not hasattr(command, "list_commands")}
    assert leaves >= EXPECTED, f"missing: {sorted(EXPECTED - leaves)}"


@pytest.mark.parametrize(("path", "command"), TREE, ids=IDS)
def test_help_shows_choices_short_out_and_no_bool_metavar(
    path: tuple[str, ...], command: Any
) -> None:
    text = _help(path)
    assert "<bool>" not in text
    for param in command.params:
        choices = getattr(getattr(param, "type_descriptor", None), "choices", None)
        if choices:
            shown = "|".join(str(getattr(c, "value", c)) for c in choices)
            assert f"<{shown}>" in text, f"{param.name}: choices {shown} not shown"
        names = set(getattr(param, "opts", ())) | set(getattr(param, "secondary_opts", ()))
        if names & {"--out", "--output"}:
            assert "-o" in names, f"{' '.join(path)} {sorted(names)}: give it -o"


@pytest.mark.parametrize(("path", "command"), TREE, ids=IDS)
def test_examples_render_on_whole_lines_at_80_columns(path: tuple[str, ...], command: Any) -> None:
    source = [
        line
        for line in (command.help or "").splitlines()
        if line.startswith(("  myositis ", "      "))
    ]
    rendered = {line.rstrip() for line in _help(path).splitlines()}
    for line in source:
        assert f" {line}" in rendered, f"example line wrapped or re-indented: {line!r}"


def test_score_accepts_out_as_well_as_output(tmp_path: Path) -> None:
    source = ROOT / "examples" / "scoring" / "mmt8_visits.csv"
    for option in ("--out", "--output", "-o"):
        target = tmp_path / f"scored{option.strip('-')}.csv"
        with pytest.warns(InputWarning, match="'patient_id', 'visit' are not used by MMT-8"):
            result = RUNNER.invoke(app, ["score", "mmt8", str(source), option, str(target)])
        assert result.exit_code == 0, result.output
        assert target.read_text().splitlines()[0].endswith('"mmt8_missing"')


def test_old_top_level_aliases_still_work(tmp_path: Path) -> None:
    """'myositis synth' and 'myositis registry-check' were the commands before the registry
    group; scripts that call them keep working."""
    target = tmp_path / "r.duckdb"
    result = RUNNER.invoke(app, ["synth", "-n", "300", "--seed", "3", "-q", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "wrote synthetic registry" in result.output and target.exists()
    checked = RUNNER.invoke(app, ["registry-check", str(target)])
    assert checked.exit_code == 0, checked.output
    assert re.search(r"^person\s+300 rows$", checked.output, re.MULTILINE)
    hidden = _help(())
    assert "registry-check" not in hidden and " synth " not in hidden


def test_every_help_starts_without_the_heavy_libraries() -> None:
    """Any command's --help starts at once: building every help text of the tree imports none
    of the engines, statistics or plotting libraries (their cost is measured in
    benchmarks/bench_startup.py, never timed here)."""
    heavy = ("ibis", "duckdb", "pyarrow", "scipy", "statsmodels", "matplotlib", "pyspark",
             "lifelines", "numpy", "pydantic", "jinja2", "yaml", "markdown_it")  # fmt: skip
    code = (
        "import contextlib, io, sys\n"
        "sys.path.insert(0, 'tests/cli')\n"
        "from test_command_tree import TREE, _help\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    for path, _ in TREE:\n"
        "        _help(path)\n"
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert loaded == []


def test_rich_markdown_stays_usable_after_the_program_loads() -> None:
    """The program defers rich.markdown (typer imports it for help it never draws with it);
    code that does use it still gets the real module."""
    code = (
        "import myositis.cli\n"
        "from rich.markdown import Heading, Markdown\n"
        "import rich.markdown, sys\n"
        "print(type(Markdown('# x')).__module__, Heading.__module__,\n"
        "      type(sys.modules['rich.markdown']).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["rich.markdown", "rich.markdown", "module"]
