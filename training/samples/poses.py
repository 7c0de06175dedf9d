"""Body poses for synthetic samples: the mocap pose library (training/data/pose_library.npz, already mirrored and with
its heading removed), or, until it exists, a few hand-made poses; plus bounded random joint perturbations.

Poses are SMPL axis-angle in the body frame (Y up, facing +Z, left +X): global_orient (N, 3), body_pose (N, 69).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hkmr_studio.body.kinematics import JOINT_INDEX, NUM_BODY_JOINTS
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hkmr_studio.nets.vae import PoseVAE
from training.mocap.library import mirror_poses

LIBRARY_PATH = Path(__file__).resolve().parents[1] / "data" / "pose_library.npz"
#: pose_sampler(n, generator) -> (n, 69) body poses, e.g. `vae_sampler(vae)`.
PoseSampler = Callable[[int, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class PoseSet:
    """global_orient (N, 3) and body_pose (N, 69) float32 axis-angle; name says where they came from."""

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    name: str

    def __len__(self) -> int:
        return int(self.global_orient.shape[0])


def load_poses(path: Path = LIBRARY_PATH) -> PoseSet:
    """The pose library at `path`, or `simple_poses()` when it does not exist yet."""
    if not path.is_file():
        return simple_poses()
    with np.load(path, allow_pickle=False) as data:
        global_orient = torch.from_numpy(data["global_orient"].astype(np.float32))
        body_pose = torch.from_numpy(data["body_pose"].astype(np.float32))
    return PoseSet(global_orient, body_pose, f"{path.name} ({len(global_orient)} poses)")


# Hand-made poses: (joint, axis, degrees) rotations in the body frame. Arms: T-pose arms lie along +-X, so a rotation
# about Z lowers or raises them; legs point down -Y, so a rotation about X swings them forward (-) or back (+).
_SIMPLE_POSES: dict[str, tuple[tuple[str, int, float], ...]] = {
    "t_pose": (),
    "arms_down": (("left_shoulder", 2, -75), ("right_shoulder", 2, 75)),
    "a_pose": (("left_shoulder", 2, -45), ("right_shoulder", 2, 45)),
    "arms_up": (("left_shoulder", 2, 60), ("right_shoulder", 2, -60), ("left_elbow", 2, 20), ("right_elbow", 2, -20)),
    "walk": (
        ("left_hip", 0, -25), ("right_hip", 0, 15), ("right_knee", 0, 35), ("left_shoulder", 2, -70),
        ("right_shoulder", 2, 70), ("left_shoulder", 1, 20), ("right_shoulder", 1, 20), ("left_elbow", 1, -25),
    ),
    "sit": (
        ("left_hip", 0, -90), ("right_hip", 0, -90), ("left_knee", 0, 90), ("right_knee", 0, 90),
        ("left_shoulder", 2, -70), ("right_shoulder", 2, 70), ("left_elbow", 1, -60), ("right_elbow", 1, 60),
    ),
    "squat": (
        ("left_hip", 0, -110), ("right_hip", 0, -110), ("left_knee", 0, 120), ("right_knee", 0, 120),
        ("left_ankle", 0, -20), ("right_ankle", 0, -20), ("spine1", 0, 20), ("left_shoulder", 1, -70),
        ("right_shoulder", 1, 70),
    ),
    "reach": (("left_shoulder", 2, 40), ("left_shoulder", 1, -50), ("right_shoulder", 2, 75), ("spine2", 2, -10)),
    "lunge": (("left_hip", 0, -70), ("left_knee", 0, 70), ("right_hip", 0, 25), ("right_knee", 0, 45)),
}  # fmt: skip


def simple_poses() -> PoseSet:
    """The hand-made poses and their mirror images, global orientation zero (a stand-in for the pose library)."""
    poses = torch.zeros(len(_SIMPLE_POSES), NUM_BODY_JOINTS + 1, 3)
    for i, rotations in enumerate(_SIMPLE_POSES.values()):
        for joint, axis, degrees in rotations:
            poses[i, JOINT_INDEX[joint], axis] += math.radians(degrees)
    poses = torch.cat([poses, mirror_poses(poses)])
    return PoseSet(poses[:, 0].clone(), poses[:, 1:].flatten(1).clone(), f"{len(poses)} hand-made poses (no library)")


def perturb_body_pose(body_pose: torch.Tensor, max_angle: float, generator: torch.Generator) -> torch.Tensor:
    """(B, 69) axis-angle -> each joint's local rotation R composed with a random rotation D (R @ D) of angle
    uniform in [0, max_angle] radians about a uniformly random axis."""
    batch = body_pose.shape[0]
    axis = torch.randn(batch, NUM_BODY_JOINTS, 3, generator=generator)
    axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    angle = torch.rand(batch, NUM_BODY_JOINTS, 1, generator=generator) * max_angle
    rotation = axis_angle_to_matrix(body_pose.reshape(batch, NUM_BODY_JOINTS, 3)) @ axis_angle_to_matrix(axis * angle)
    return matrix_to_axis_angle(rotation).flatten(1)


def vae_sampler(vae: PoseVAE) -> PoseSampler:
    """A PoseSampler drawing body poses from a (trained) PoseVAE: its decoder applied to standard normal latents."""

    def sample(count: int, generator: torch.Generator) -> torch.Tensor:
        with torch.no_grad():
            return vae.decode(torch.randn(count, vae.latent_dim, generator=generator))

    return sample
