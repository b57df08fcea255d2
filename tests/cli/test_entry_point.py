"""The process's entry point (``myositis.cli.run``, behind the ``myositis`` script and
``python -m myositis.cli``): it ends the process without the interpreter's teardown, so these
tests run it as a process and check what a normal exit guarantees: the status, every line of
output, and the exit handlers."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from myositis import __version__


def _process(*args: str, code: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", code] if code else [sys.executable, "-m", "myositis.cli"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_success_prints_and_exits_0() -> None:
    done = _process("--version")
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"myositis-outcomes {__version__}\n",
        "",
    )


def test_bad_input_exits_2_with_its_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nosuch.yaml"
    done = _process("study", "check", str(missing))
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith(f"error: {missing}: no such study specification file")
    assert "Traceback" not in done.stderr


def test_exit_handlers_run_and_output_is_flushed_before_the_end() -> None:
    # a handler registered before the command (as an engine's driver registers its own)
    # runs, after the command's output, and what it prints without a newline still arrives
    script = textwrap.dedent(
        """
        import atexit, sys
        atexit.register(lambda: print("handler ran", end=""))
        sys.argv = ["myositis", "--version"]
        from myositis.cli import run
        run()
        """
    )
    done = _process(code=script)
    assert done.returncode == 0
    assert done.stdout == f"myositis-outcomes {__version__}\nhandler ran"


def test_the_program_collects_cycles_less_often_than_python_by_default() -> None:
    # the thresholds the command ran with (read by an exit handler), against Python's own
    # default (700, 10, 10), which a fresh interpreter reports
    script = textwrap.dedent(
        """
        import atexit, gc, sys
        print(gc.get_threshold())
        atexit.register(lambda: print(gc.get_threshold()))
        sys.argv = ["myositis", "--version"]
        from myositis.cli import run
        run()
        """
    )
    done = _process(code=script)
    assert done.returncode == 0
    assert done.stdout.splitlines() == [
        "(700, 10, 10)",
        f"myositis-outcomes {__version__}",
        "(50000, 20, 100)",
    ]


@pytest.mark.parametrize(
    ("exit_with", "status", "stderr"),
    [("None", 0, ""), ("3", 3, ""), ("'stopped'", 1, "stopped\n")],
)
def test_a_command_s_exit_code_as_python_gives_it(exit_with: str, status: int, stderr: str) -> None:
    # sys.exit(None | int | text), as Python's own exit treats each
    script = textwrap.dedent(
        f"""
        import sys
        import myositis.cli as cli
        def main():
            sys.exit({exit_with})
        cli.main = main
        cli.run()
        """
    )
    done = _process(code=script)
    assert (done.returncode, done.stderr) == (status, stderr)
