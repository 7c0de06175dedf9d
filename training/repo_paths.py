"""Paths as committed outputs name them: relative to the repository when inside it, so no machine's layout is recorded."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def shown_path(path: str | Path) -> str:
    """`path` relative to the repository root when it lies inside it, else as given."""
    resolved = Path(path).resolve()
    return str(resolved.relative_to(REPO_ROOT)) if resolved.is_relative_to(REPO_ROOT) else str(path)
