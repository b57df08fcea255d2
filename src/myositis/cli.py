"""The ``myositis`` command-line program.

Each part of the package registers its own commands (``register(app)``) so that this module
stays a thin shell: it builds the app and turns :class:`myositis.errors.MyositisError` into one
clear message on standard error and exit status 2, never a traceback.
"""

from __future__ import annotations

import os
import sys

import typer

from myositis import __version__
from myositis.errors import MyositisError

app = typer.Typer(
    name="myositis",
    help=(
        "Outcomes research for dermatomyositis and the inflammatory myopathies.\n\n"
        "Score validated instruments (CDASI v2, 2016 ACR/EULAR TIS, IMACS DOI, MMT-8, HAQ-DI), "
        "build or import a registry, run a declarative study on it and pool evidence.\n\n"
        "Start with:  myositis demo --out demo-report"
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


def _register_all() -> None:
    # Imported here so that each part owns its commands and `myositis --help` lists them all.
    from myositis.evidence import cli as evidence_cli
    from myositis.instruments import cli as instruments_cli
    from myositis.registry import cli as registry_cli
    from myositis.study import cli as study_cli
    from myositis.trial import cli as trial_cli

    instruments_cli.register(app)
    registry_cli.register(app)
    study_cli.register(app)
    evidence_cli.register(app)
    trial_cli.register(app)


_register_all()


def main() -> None:
    """Entry point: run the app; report our own errors in one line and exit with status 2."""
    try:
        app()
    except MyositisError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(exc.exit_code)
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


if __name__ == "__main__":
    main()
