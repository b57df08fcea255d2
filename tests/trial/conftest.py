"""Shared by the trial tests: running the command line as a user does (exit status, standard
output and error), and one synthetic BIRD-like trial made and reported through it."""

from __future__ import annotations

import io
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from myositis.cli import main

#: Seeds of the session's synthetic trial (data, concealed list). The list's seed differs from
#: every number in bird.yaml so that a scan for it finds only a leak.
DATA_SEED = 7
ALLOCATION_SEED = 86421


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def cli(*args: str | Path) -> Run:
    """Run ``myositis ARGS`` in-process: exit status 2 and one message for bad input."""
    argv = sys.argv
    sys.argv = ["myositis", *map(str, args)]
    out, err = io.StringIO(), io.StringIO()
    code: int = 0
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.argv = argv
    return Run(code, out.getvalue(), err.getvalue())


@dataclass(frozen=True)
class Demo:
    """The session's synthetic trial: its folders and every command's run."""

    root: Path
    trial: Path  # the synth folder
    endpoints: Path
    blinded: Path
    unblinded: Path
    runs: dict[str, Run]

    @property
    def data(self) -> list[str]:
        t = self.trial
        return [
            "--data",
            str(t / "registry.duckdb"),
            "--enrolment",
            str(t / "enrolment.csv"),
            "--screening",
            str(t / "screening.csv"),
        ]

    @property
    def stores(self) -> list[str]:
        a = self.trial / "allocation"
        return ["--blinded-dir", str(a / "blinded"), "--unblinded-dir", str(a / "unblinded")]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """``trial synth``, ``trial endpoints`` and the blinded and unblinded ``trial report`` of
    one synthetic BIRD-like trial, as a trial team would run them."""
    root = tmp_path_factory.mktemp("bird")
    made = Demo(
        root, root / "bird-demo", root / "endpoints", root / "blinded", root / "unblinded", {}
    )
    runs = made.runs
    runs["synth"] = cli(
        "trial",
        "synth",
        "bird",
        "-o",
        made.trial,
        "--seed",
        DATA_SEED,
        "--allocation-seed",
        ALLOCATION_SEED,
    )
    runs["endpoints"] = cli("trial", "endpoints", "bird", *made.data, "-o", made.endpoints)
    runs["blinded"] = cli("trial", "report", "bird", *made.data, "-o", made.blinded)
    runs["unblinded"] = cli(
        "trial",
        "report",
        "bird",
        *made.data,
        *made.stores,
        "--user",
        "stat.unblinded",
        "-o",
        made.unblinded,
    )
    for name, run in runs.items():
        assert run.code == 0, f"{name}: {run.text}"
    return made
