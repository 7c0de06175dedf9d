"""Dataclasses of numpy arrays stored as compressed .npz files (atomic writes; read without pickle)."""

from __future__ import annotations

import io
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from hkmr_studio.atomic import atomic_write_bytes

T = TypeVar("T")


def save_arrays(record: Any, path: Path) -> Path:
    """Write every field of the dataclass `record` (each a numpy array) to `path`."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{f.name: getattr(record, f.name) for f in fields(record)})
    return atomic_write_bytes(path, buffer.getvalue())


def load_arrays(kind: type[T], path: Path) -> T:
    """The dataclass `kind` from a file `save_arrays` wrote; a missing field raises KeyError naming it."""
    with np.load(path, allow_pickle=False) as data:
        return kind(**{f.name: data[f.name] for f in fields(kind)})  # type: ignore[arg-type]
