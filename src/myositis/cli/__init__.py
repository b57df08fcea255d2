"""The ``myositis`` command-line program: the only code that prints, and the only importer of
typer and rich.

Commands live one group per module (``cli/registry.py``, ``cli/study.py``, ...), each a Typer
app. They are loaded only when used: ``myositis --help`` lists them from the table below
without importing any of them, and each command imports the domain code it runs inside its
own function, so the program starts at once. Errors the package raises on purpose
(:class:`myositis.errors.MyositisError`) end in one message on standard error and exit status
2, never a traceback.
"""

from __future__ import annotations

import atexit
import gc
import importlib
import os
import sys
import threading
import types
import warnings
from typing import Any, Final


class _DeferredMarkdown(types.ModuleType):
    """A stand-in for ``rich.markdown`` until something really uses it.

    typer's rich help imports ``rich.markdown`` (and markdown-it-py with it: a third of the
    help's import time) when it loads, but uses it only in "markdown" markup mode, never in
    the "rich" mode of this program. The stand-in's ``Markdown`` and every other name load
    the real module on first use, so nothing is lost.
    """

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # the import system asks for __path__ and the like
            raise AttributeError(name)
        return getattr(_real_markdown(), name)

    class Markdown:
        def __new__(cls, *args: Any, **kwargs: Any) -> Any:
            return _real_markdown().Markdown(*args, **kwargs)


def _real_markdown() -> types.ModuleType:
    if isinstance(sys.modules.get("rich.markdown"), _DeferredMarkdown):
        del sys.modules["rich.markdown"]
    return importlib.import_module("rich.markdown")


sys.modules.setdefault("rich.markdown", _DeferredMarkdown("rich.markdown"))

import typer  # noqa: E402  (after the stand-in above)
from typer.core import TyperGroup  # noqa: E402

from myositis import __version__  # noqa: E402
from myositis.errors import InputWarning, MyositisError  # noqa: E402

#: name -> (module of myositis.cli, short help, command inside that module for an alias).
COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "demo": ("demo", "Build a synthetic registry, run the bundled study, show the report.", None),
    "registry": (
        "registry",
        "Registries: make a synthetic one, check one, copy one to PostgreSQL or Spark.",
        None,
    ),
    "import": (
        "importing",
        "Import spreadsheets, REDCap, FHIR or OMOP data into a registry (every record counted).",
        None,
    ),
    "template": ("template", "Write empty spreadsheet templates and the data dictionary.", None),
    "export": ("export", "Write a registry as CSV/Parquet files, optionally de-identified.", None),
    "study": ("study", "Registry studies: check a study file; run it and write its report.", None),
    "cohort": (
        "cohort",
        "Cohorts (ATLAS-level language): check or run a cohort file; import ATLAS JSON.",
        None,
    ),
    "report": ("report", "Render a report again from its results.json.", None),
    "score": ("score", "Score CDASI, TIS, IMACS DOI, MMT-8 or HAQ for every row of a file.", None),
    "evidence": ("evidence", "Pool published series or site packages (R metafor methods).", None),
    "trial": (
        "trial",
        "Trials: design, concealed allocation, endpoints, blinded/unblinded reports.",
        None,
    ),
    # Aliases kept from earlier versions (hidden from the listing).
    "synth": ("registry", "Same as 'myositis registry synth'.", "synth"),
    "registry-check": ("registry", "Same as 'myositis registry check'.", "check"),
}


def _flag_type(self: Any, ctx: Any) -> str | None:
    # typer 0.29 labels every on/off flag "<bool>" in help; a flag takes no value, so show none.
    return None if getattr(self, "is_flag", False) else _option_type(self, ctx)


_option_type = typer.core.TyperOption.display_type_rich
typer.core.TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def _help_flag_is_false(cls: Any) -> None:
    """Give every command's --help flag the default False: typer 0.29 checks a flag left at
    None with pydantic, whose import takes a quarter of a second, so any '--help' would pay it
    at every level of the command tree it passes through."""
    original = cls.get_help_option

    def get_help_option(self: Any, ctx: Any) -> Any:
        option = original(self, ctx)
        if option is not None and option.default is None:
            option.default = False
        return option

    cls.get_help_option = get_help_option


for _cls in (typer.core.TyperCommand, TyperGroup):
    _help_flag_is_false(_cls)


def _finish(command: Any) -> None:
    """Tidy a command group and its subcommands once, when it is loaded: drop typer's
    --install-completion/--show-completion (the program offers no shell completion, and typer
    checks those flags' empty values with pydantic, whose import would slow every --help
    below them), and put every example command of a help text on whole lines."""
    from myositis.cli.options import reflow_examples

    command.params = [
        p for p in command.params if p.name not in ("install_completion", "show_completion")
    ]
    if command.help:
        command.help = reflow_examples(command.help)
    for sub in getattr(command, "commands", {}).values():
        _finish(sub)


class LazyGroup(TyperGroup):
    """The root group: commands are imported on first use; the help listing needs none."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [name for name, (_, _, alias) in COMMANDS.items() if alias is None]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, short, alias = entry
        if self._listing:  # the root help lists names and short help only
            return typer.core.TyperCommand(name=cmd_name, help=short, short_help=short)
        module = importlib.import_module(f"myositis.cli.{module_name}")
        command = typer.main.get_command(module.app)
        if alias is not None:
            command = command.get_command(ctx, alias)  # type: ignore[attr-defined]
        command.name = cmd_name
        _finish(command)
        return command

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.BadParameter as exc:
            # typer checks option values with pydantic: say what is wrong in plain words
            errors = getattr(exc.__cause__, "errors", None)
            if callable(errors):
                exc.message = _plain_value_error(errors())
            raise

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def _plain_value_error(problems: list[dict[str, Any]]) -> str:
    """An option value's first problem, as the value and plain words ('-3' must be 1 or
    more), never pydantic's own wording."""
    from myositis.documents import plain_message

    problem = problems[0]
    text = plain_message(problem)
    value = problem.get("input")
    return text if text.startswith(("'", '"')) or value is None else f"{str(value)!r} {text}"


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    """Input warnings (columns not used, ...) as one 'warning:' line on standard error."""
    if issubclass(category, InputWarning):
        typer.secho(f"warning: {message}", fg=typer.colors.YELLOW, err=True)
    else:
        _python_show_warning(message, category, *args, **kwargs)


_python_show_warning = warnings.showwarning


app = typer.Typer(
    name="myositis",
    cls=LazyGroup,
    help=(
        "Outcomes research for dermatomyositis and the inflammatory myopathies.\n\n"
        "Score validated instruments (CDASI v2, 2016 ACR/EULAR TIS, IMACS DOI, MMT-8, HAQ-DI), "
        "put a registry on DuckDB, PostgreSQL or Spark, run a declarative study on it, pool "
        "evidence and design trials.\n\n"
        "Start with the demo (a synthetic registry, the bundled study, its report):\n\n"
        "  myositis demo --out demo-report\n\n"
        "Each command has its own --help with examples. Documentation: docs/ in the project."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"myositis-outcomes {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Outcomes research for dermatomyositis and the inflammatory myopathies."""


def main() -> None:
    """Entry point: run the app; report our own errors in one line and exit with status 2."""
    warnings.showwarning = _show_warning
    try:
        app()
    except MyositisError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        typer.secho("interrupted: nothing was published", fg=typer.colors.RED, err=True)
        sys.exit(130)
    except Exception as exc:  # a bug, not bad input: say so plainly, traceback on request
        if os.environ.get("MYOSITIS_DEBUG"):
            raise
        typer.secho(
            f"internal error ({type(exc).__name__}: {exc}). This is a bug in myositis-outcomes; "
            "please report it. Set MYOSITIS_DEBUG=1 to see the traceback.",
            fg=typer.colors.RED,
            err=True,
        )
        sys.exit(1)


#: The collector's thresholds in a ``myositis`` process (:func:`run`): a young collection
#: every 50,000 new objects (Python: 700), a middle one every 20 young ones (10), a full one
#: every 100 middle ones (10).
GC_THRESHOLDS: Final = (50_000, 20, 100)


def run() -> None:
    """The process's entry point (the ``myositis`` script, ``python -m myositis.cli``):
    :func:`main`, then the end of the process without the interpreter's teardown.

    Why: after a command that ran a study the interpreter spends about 0.5 s freeing the
    modules it imported (SciPy, statsmodels, matplotlib, pandas, Ibis: measured on these
    2-core machines), work no one needs when the process ends. Everything a normal exit does
    for the outside world is still done, in its order: threads that are not daemons are
    waited for, the exit handlers run (``atexit``: the engines' own, logging's), standard
    output and error are flushed, and the process exits with the status :func:`main` gave
    (an unhandled error exits as usual, with its traceback).
    Tests call :func:`main`, which ends in ``SystemExit``, never this.

    The cyclic garbage collector runs less often than Python's default (:data:`GC_THRESHOLDS`).
    Why: a command imports SciPy, pandas, statsmodels, matplotlib and Ibis, some 250,000
    objects the collector tracks that live as long as the process, and each full collection
    walks all of them to find none to free. With the default thresholds (700, 10, 10) the first
    ``study run`` of the bundled study on 1 million synthetic persons spent 1.1 s in the
    collector, 0.9 s of it in 8 full collections; with these, 0.2 s and none (timed with
    ``gc.callbacks``; docs/benchmarks.md). Cycles are still collected, only later: the peak
    memory of that run and of a 200,000-resource FHIR import stayed the same."""
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        main()
        status = 0
    except SystemExit as exc:
        status = _exit_status(exc.code)
    for thread in threading.enumerate():  # as at a normal exit: threads not daemons end first
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()  # what Py_FinalizeEx runs before tearing the modules down
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more can be said
            status = status or 1
    os._exit(status)


def _exit_status(code: object) -> int:
    """The status Python gives ``sys.exit(code)``: None -> 0, an integer as is, anything else
    printed to standard error -> 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    run()
