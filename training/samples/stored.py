"""Measured models stored as JSON beside their cards (training/data/): a frozen dataclass's fields, numbers rounded,
read back with a check that the file has exactly those fields and a message naming the command that writes it."""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import numpy as np

from hkmr_studio.atomic import atomic_write_text


def save_fields(record: Any, path: Path, digits: int) -> Path:
    """Write a dataclass instance's fields as JSON, numbers (and nested lists of them) rounded to `digits`; mappings
    as they are."""
    def plain(value: Any) -> Any:
        return value if isinstance(value, dict) else np.round(np.asarray(value, dtype=float), digits).tolist()

    return atomic_write_text(path, json.dumps({k: plain(v) for k, v in asdict(record).items()}, indent=1) + "\n")


def load_fields(cls: type, path: Path, command: str) -> dict[str, Any]:
    """The JSON fields of dataclass `cls` at `path`, lists as (nested) tuples and numbers as floats; a missing file or
    other fields raise an error naming `command`, which writes the file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: `{command}` writes it")
    data = json.loads(path.read_text(encoding="utf-8"))
    names = {f.name for f in fields(cls)}
    if set(data) != names:
        raise ValueError(f"{path.name}: expected fields {sorted(names)}, got {sorted(data)}; rerun `{command}`")
    return {k: _tuples(v) for k, v in data.items()}


def _tuples(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
