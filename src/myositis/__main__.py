"""``python -m myositis ...``: the same command line as the ``myositis`` entry point."""

from myositis.cli import main

if __name__ == "__main__":
    main()
