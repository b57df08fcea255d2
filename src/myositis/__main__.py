"""``python -m myositis ...``: the same command line as the ``myositis`` entry point."""

from myositis.cli import run

if __name__ == "__main__":
    run()
