"""Commands of myositis.instruments (filled in by the part that owns them)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this part's commands to the main app."""
