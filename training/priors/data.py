"""The body poses the priors learn from, split so that held-out poses are frames the priors never saw: the mocap
library and, beside it, poses of the pose families (training.poses), so that the priors do not punish sitting,
kneeling or lying, which the library hardly has.

Poses are (N, 69) axis-angle, the 23 body joints below the pelvis in SMPL order. Some of their dimensions never move
in the motion capture (feet, head, hands: no source skeleton constrains them): `unobserved_dims` finds them, so that
the priors stay neutral about them instead of forbidding them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from training.mocap.library import PoseLibrary
from training.poses.families import FAMILIES, sample_families

LIBRARY_PATH = Path(__file__).resolve().parent.parent / "data" / "pose_library.npz"
HELD_OUT_FRACTION = 0.1
UNOBSERVED_STD = 1e-3  # radians: a dimension whose spread in the library is below this never moved


@dataclass(frozen=True)
class PoseSplit:
    """train (N, 69) and held_out (M, 69) float32 body poses (library and families); unobserved (69,) bool, dims
    that never move in the library; held_out_families (K, 69) float32 and their family names (K,), the held-out
    family poses (also in held_out)."""

    train: np.ndarray
    held_out: np.ndarray
    unobserved: np.ndarray
    held_out_families: np.ndarray = field(default_factory=lambda: np.zeros((0, 69), np.float32))
    held_out_family_names: tuple[str, ...] = ()


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


def with_families(split: PoseSplit, count: int, seed: int = 0) -> PoseSplit:
    """`split` plus `count` training poses of the pose families (all equally) and HELD_OUT_FRACTION as many held out,
    drawn independently under `seed`. The unobserved dimensions stay the library's: the families only jitter them."""
    held = round(count * HELD_OUT_FRACTION / (1.0 - HELD_OUT_FRACTION))
    _, poses, family = sample_families(count + held, torch.Generator().manual_seed(seed))
    poses = poses.numpy().astype(np.float32)
    names = tuple(list(FAMILIES)[int(i)] for i in family[count:])
    return PoseSplit(np.concatenate([split.train, poses[:count]]), np.concatenate([split.held_out, poses[count:]]),
                     split.unobserved, poses[count:], names)


def load_split(path: Path = LIBRARY_PATH, family_poses: int = 0) -> PoseSplit:
    """The committed pose library, split, with `family_poses` family poses added (see `with_families`)."""
    split = split_library(PoseLibrary.load(path))
    return with_families(split, family_poses) if family_poses else split
