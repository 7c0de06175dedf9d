"""Writing a SMPL-format body pickle that both smplx (plain pickle) and our restricted unpickler read.

Keys follow SMPL's files: v_template (V, 3), shapedirs (V, 3, 10), posedirs (V, 3, 207), J_regressor (24, V) sparse,
weights (V, 24), f (F, 3), kintree_table (2, 24); plus our 'hkmr_*' metadata (plain strings, ints and dicts).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse

from hkmr_studio.body import kinematics

#: SMPL's files mark the root's missing parent with the largest uint32.
NO_PARENT = 4294967295
#: SMPL's pose correctives: 23 joints x 9 rotation-matrix entries.
NUM_POSE_BASIS = kinematics.NUM_BODY_JOINTS * 9
#: Protocol 4: binary bytes without `_codecs` calls, and numpy arrays without protocol 5's `_frombuffer`.
PICKLE_PROTOCOL = 4


class ZerosOnLoad:
    """Pickles as a call numpy.zeros(shape, dtype): all-zero pose correctives cost a few bytes instead of ~33 MB.
    Our restricted unpickler admits exactly this call (with a size cap)."""

    def __init__(self, shape: tuple[int, ...], dtype: str = "float32") -> None:
        self.shape = shape
        self.dtype = dtype

    def __reduce__(self) -> tuple[Any, tuple[tuple[int, ...], str]]:
        return (np.zeros, (self.shape, self.dtype))


def kintree_table(parents: tuple[int, ...] = kinematics.PARENTS) -> np.ndarray:
    """(2, J) int64: row 0 the parents (root: NO_PARENT), row 1 the joint indices."""
    return np.array([[NO_PARENT if p < 0 else p for p in parents], list(range(len(parents)))], dtype=np.int64)


def smpl_body_dict(
    v_template: np.ndarray,
    shapedirs: np.ndarray,
    j_regressor: scipy.sparse.csc_matrix,
    weights: np.ndarray,
    faces: np.ndarray,
    metadata: dict[str, Any],
) -> dict[str, Any]:
    """SMPL's keys (float32 arrays, int32 faces, zero posedirs as a numpy.zeros call) plus `metadata`."""
    vertex_count = v_template.shape[0]
    return {
        "v_template": v_template.astype(np.float32),
        "shapedirs": shapedirs.astype(np.float32),
        "posedirs": ZerosOnLoad((vertex_count, 3, NUM_POSE_BASIS)),
        "J_regressor": j_regressor.astype(np.float32),
        "weights": weights.astype(np.float32),
        "f": faces.astype(np.int32),
        "kintree_table": kintree_table(),
        **metadata,
    }


def write_pickle_atomically(data: dict[str, Any], path: Path) -> int:
    """Pickle `data` to `path` through a temporary file and an atomic rename; returns the file size in bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as stream:
            pickle.dump(data, stream, protocol=PICKLE_PROTOCOL)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path.stat().st_size
