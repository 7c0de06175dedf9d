"""The body poses the priors learn from, split so that held-out poses are frames the priors never saw.

Poses are (N, 69) axis-angle, the 23 body joints below the pelvis in SMPL order. Some of their dimensions never move
in the motion capture (feet, head, hands, the wrists' twist: the source skeletons have no such joints or degrees of
freedom): `unobserved_dims` finds them, so that the priors stay neutral about them instead of forbidding them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.mocap.library import PoseLibrary

LIBRARY_PATH = Path(__file__).resolve().parent.parent / "data" / "pose_library.npz"
HELD_OUT_FRACTION = 0.1
UNOBSERVED_STD = 1e-3  # radians: a dimension whose spread in the library is below this never moved


@dataclass(frozen=True)
class PoseSplit:
    """train (N, 69) and held_out (M, 69) float32 body poses; unobserved (69,) bool, dims that never move."""

    train: np.ndarray
    held_out: np.ndarray
    unobserved: np.ndarray


def unobserved_dims(body_pose: np.ndarray) -> np.ndarray:
    """(N, 69) -> (69,) bool: the dimensions whose standard deviation is below UNOBSERVED_STD."""
    return body_pose.std(axis=0) < UNOBSERVED_STD


def split_library(library: PoseLibrary, held_out_fraction: float = HELD_OUT_FRACTION) -> PoseSplit:
    """Hold out the last `held_out_fraction` of every clip's frames (a clip's mirror included), so held-out poses are
    later moments of the same motions rather than near-copies of training frames."""
    held = np.zeros(len(library), dtype=bool)
    for clip in np.unique(library.clip):
        members = np.flatnonzero(library.clip == clip)
        cut = np.quantile(library.frame[members], 1.0 - held_out_fraction)
        held[members[library.frame[members] > cut]] = True
    poses = library.body_pose.astype(np.float32)
    return PoseSplit(poses[~held], poses[held], unobserved_dims(poses))


def load_split(path: Path = LIBRARY_PATH) -> PoseSplit:
    """The committed pose library, split."""
    return split_library(PoseLibrary.load(path))
