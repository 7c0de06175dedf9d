"""CMU motion as exponential-map text (the DMGNN / convolutional-seq2seq preprocessing) -> 3D joint positions.

A file is CSV, one frame per row, 117 columns: the root position (3), then 38 joints x 3 exponential-map rotations
(joint i at columns 3 + 3i .. 5 + 3i; joint 0 is the root's rotation). The skeleton (cmu_expmap_skeleton.json:
`parent` and `offset` per joint) is CMU's BVH skeleton, joints at the start of the bone they are named after, end
sites included (`JOINT_NAMES`). Forward kinematics with row vectors:
    position_i = offset_i @ R_parent + position_parent,  R_i = R_local_i @ R_parent,
and the root at its offset plus the root position. The skeleton's own frame is SMPL's body frame (legs along -Y, toes
along +Z, the left hip at +X), so no axes are swapped (the format's tools swap to (x, z, y), Z up, for plotting), and
the root position is (x, y, z) = columns (0, 1, 2): so a walker moves the way it faces (the cosine between the root's
horizontal velocity and the facing from the hips is 0.99 in the walking and running files; columns (2, 1, 0), the
order meant for the swapped axes, give 0). Units are CMU's: the limbs have the lengths of CMU's ASF skeletons in ASF
units (femur 7.6, tibia 7.3, humerus 4.9; subject 01's ASF: 7.2, 7.5, 5.0), one unit 1 / 0.45 inch as
`acclaim.parse_asf` reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from training.mocap.acclaim import INCH
from training.mocap.motion import JointClip, OffsetRepair

FPS = 120.0
METRES_PER_UNIT = INCH / 0.45

#: The 38 joints in file order: CMU's BVH names, end sites named 'EndSite<parent>' as `bvh.load_bvh` names them.
JOINT_NAMES: tuple[str, ...] = (
    "hip",
    "lhipjoint", "lfemur", "ltibia", "lfoot", "ltoes", "EndSiteltoes",
    "rhipjoint", "rfemur", "rtibia", "rfoot", "rtoes", "EndSitertoes",
    "lowerback", "upperback", "thorax", "lowerneck", "upperneck", "head", "EndSitehead",
    "lclavicle", "lhumerus", "lradius", "lwrist", "lhand", "lfingers", "EndSitelfingers", "lthumb", "EndSitelthumb",
    "rclavicle", "rhumerus", "rradius", "rwrist", "rhand", "rfingers", "EndSiterfingers", "rthumb", "EndSiterthumb",
)  # fmt: skip


@dataclass(frozen=True)
class ExpmapSkeleton:
    """parents (J,) with -1 for the root, offsets (J, 3) in CMU units, in the skeleton's frame."""

    parents: tuple[int, ...]
    offsets: np.ndarray

    def repaired(self, repair: OffsetRepair) -> ExpmapSkeleton:
        """The skeleton with the offsets `repair` replaces (e.g. `cmu_skeleton.restore_thorax`)."""
        offsets = self.offsets.copy()
        for name, offset in repair(dict(zip(JOINT_NAMES, self.offsets))).items():
            offsets[JOINT_NAMES.index(name)] = offset
        return ExpmapSkeleton(self.parents, offsets)


def load_skeleton(path: Path) -> ExpmapSkeleton:
    """Read cmu_expmap_skeleton.json; refuses a skeleton whose joint count is not `JOINT_NAMES`'s."""
    data = json.loads(path.read_text())
    parents, offsets = tuple(int(p) for p in data["parent"]), np.asarray(data["offset"], dtype=np.float64)
    if len(parents) != len(JOINT_NAMES) or offsets.shape != (len(JOINT_NAMES), 3):
        raise ValueError(f"{path}: expected {len(JOINT_NAMES)} joints with 3 offsets each, got {offsets.shape}")
    return ExpmapSkeleton(parents, offsets)


def forward_kinematics(frames: np.ndarray, skeleton: ExpmapSkeleton) -> np.ndarray:
    """(F, 117) rows -> (F, 38, 3) joint positions in CMU units, the skeleton's frame; vectorised over frames."""
    count = len(skeleton.parents)
    if frames.ndim != 2 or frames.shape[1] != 3 + 3 * count:
        raise ValueError(f"expected rows of {3 + 3 * count} values, got shape {frames.shape}")
    local = Rotation.from_rotvec(frames[:, 3:].reshape(-1, 3)).as_matrix().reshape(len(frames), count, 3, 3)
    root = frames[:, :3]
    rotations = np.empty_like(local)
    positions = np.empty((len(frames), count, 3))
    for joint, parent in enumerate(skeleton.parents):
        if parent < 0:
            positions[:, joint] = skeleton.offsets[joint] + root
            rotations[:, joint] = local[:, joint]
        else:
            positions[:, joint] = np.einsum("i,fij->fj", skeleton.offsets[joint], rotations[:, parent])
            positions[:, joint] += positions[:, parent]
            rotations[:, joint] = local[:, joint] @ rotations[:, parent]
    return positions


def load_expmap(path: Path, skeleton: ExpmapSkeleton) -> JointClip:
    """Read one file -> JointClip in metres, the body frame, at FPS."""
    frames = np.loadtxt(path, delimiter=",", ndmin=2)
    positions = forward_kinematics(frames, skeleton) * METRES_PER_UNIT
    return JointClip(JOINT_NAMES, skeleton.parents, positions, np.arange(len(frames)) / FPS)
