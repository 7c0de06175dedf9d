"""Frame filters on SMPL joint targets ((F, 24, 3), body frame, metres) before the fit: glitches out, near-duplicates
thinned.

Glitches: a frame is dropped where a mapped joint, relative to the pelvis, accelerates faster than
`GLITCH_ACCELERATION` on the library's clock (the second difference centred on it; a pop of one frame shows on it
and, half as large, on its neighbours), and so is every frame between two such frames less than `GLITCH_GAP_S` apart
(a stretch of broken frames has glitches at its ends, not always inside); a clip's first and last frames, which have
no second difference of their own, go with their neighbour. On the 30 fps clock most of the subsets' clips stay
below 120 m/s^2 (walks, runs, dribbling, signals) and kicks and jumps reach 150-260 in single frames, while the
IClone conversion's knee pops reach 200-670, the corrupt Daz clips 290-800 and the broken stretches of the expmap
file directing_traffic_1 (its body tumbling about a still root) 2,100.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch

from hkmr_studio.body.kinematics import JOINT_INDEX
from training.mocap.library import deduplicate

GLITCH_ACCELERATION = 200.0  # m/s^2, pelvis-relative, on the library's clock
GLITCH_GAP_S = 0.5


def glitch_frames(targets: np.ndarray, weights: np.ndarray, fps: float) -> np.ndarray:
    """(F,) bool: the frames to drop (see the module docstring). `targets` sampled at `fps`, `weights` (24,)."""
    dropped = np.zeros(len(targets), dtype=bool)
    if len(targets) < 3:
        return dropped
    relative = targets[:, weights > 0] - targets[:, JOINT_INDEX["pelvis"], None]
    acceleration = np.linalg.norm(np.diff(relative, 2, axis=0), axis=-1).max(axis=1) * fps**2  # (F - 2,)
    centres = np.flatnonzero(acceleration > GLITCH_ACCELERATION) + 1
    dropped[centres] = True
    for start, end in itertools.pairwise(centres):
        if end - start < GLITCH_GAP_S * fps:
            dropped[start:end] = True
    dropped[0] |= dropped[1]
    dropped[-1] |= dropped[-2]
    return dropped


def facing_forward(targets: np.ndarray) -> np.ndarray:
    """(F, 24, 3) -> the same about the midpoint of the hips, turned about Y so that the line from the right hip to
    the left one is along +X, as in the body frame: poses that differ only in where the person stands or which way
    they face become equal."""
    hips = targets[:, [JOINT_INDEX["left_hip"], JOINT_INDEX["right_hip"]]]
    across = hips[:, 0] - hips[:, 1]
    angle = np.arctan2(across[:, 2], across[:, 0])  # the direction of `across` in the XZ plane
    cos, sin = np.cos(angle), np.sin(angle)
    centred = targets - hips.mean(axis=1, keepdims=True)
    x, y, z = centred[..., 0], centred[..., 1], centred[..., 2]
    return np.stack([cos[:, None] * x + sin[:, None] * z, y, cos[:, None] * z - sin[:, None] * x], axis=-1)


def near_duplicates(targets: np.ndarray, weights: np.ndarray, threshold: float) -> np.ndarray:
    """(F,) bool: frames whose mapped joints all lie within `threshold` (m) of an earlier kept frame's, after
    `facing_forward` (the library's own de-duplication, on the source's joints instead of the fitted body's)."""
    joints = torch.from_numpy(facing_forward(targets)[:, weights > 0]).float()
    dropped = np.ones(len(targets), dtype=bool)
    dropped[deduplicate(joints, threshold)] = False
    return dropped
