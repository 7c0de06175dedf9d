"""Pose-library operations on SMPL axis-angle poses: heading removal, left/right mirroring, de-duplication, storage.

A full pose is (N, 24, 3) axis-angle in SMPL joint order: global orientation first, then the 23 body joints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hkmr_studio.body.kinematics import MIRROR_PERMUTATION, NUM_BODY_JOINTS
from hkmr_studio.geometry.rotations import axis_angle_to_quaternion, quaternion_to_axis_angle

# Mirroring x -> -x maps a rotation R to M R M with M = diag(-1, 1, 1): axis-angle (a, b, c) -> (a, -b, -c).
_MIRROR_SIGNS = torch.tensor([1.0, -1.0, -1.0])


def mirror_poses(poses: torch.Tensor) -> torch.Tensor:
    """(N, 24, 3) full poses -> the same poses mirrored about the body's YZ plane, left and right swapped."""
    return poses[:, list(MIRROR_PERMUTATION)] * _MIRROR_SIGNS.to(poses)


def remove_heading(global_orient: torch.Tensor) -> torch.Tensor:
    """(N, 3) global orientations -> the same without their turn about the vertical (Y) axis: R = R_y R', keep R'.

    R' tilts the body about a horizontal axis only (its quaternion has no y part), so a standing body faces +Z.
    Where the twist is undefined (a half turn about a horizontal axis) the orientation is kept as it is.
    """
    q = axis_angle_to_quaternion(global_orient)  # (N, 4) w, x, y, z
    twist = torch.stack([q[:, 0], torch.zeros_like(q[:, 0]), q[:, 2], torch.zeros_like(q[:, 0])], dim=1)
    norm = twist.norm(dim=1, keepdim=True)
    identity = torch.tensor([1.0, 0.0, 0.0, 0.0], dtype=q.dtype)
    twist = torch.where(norm > 1e-6, twist / norm.clamp_min(1e-12), identity)
    w1, y1 = twist[:, 0], -twist[:, 2]  # the inverse twist: (w, 0, -y, 0)
    w2, x2, y2, z2 = q.unbind(1)
    product = torch.stack([w1 * w2 - y1 * y2, w1 * x2 + y1 * z2, w1 * y2 + y1 * w2, w1 * z2 - y1 * x2], dim=1)
    return quaternion_to_axis_angle(product)


def deduplicate(joints: torch.Tensor, threshold: float = 0.02, chunk: int = 256) -> np.ndarray:
    """Greedy de-duplication in order: keep a pose unless some kept pose has all its joints within `threshold`
    (metres) of it. (N, J, 3) joints -> sorted indices of the kept poses. Exact greedy, compared in chunks."""

    def distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # (A, J, 3), (B, J, 3) -> (A, B) max over J
        farthest = torch.cdist(a[:, 0], b[:, 0])
        for j in range(1, a.shape[1]):
            farthest = torch.maximum(farthest, torch.cdist(a[:, j], b[:, j]))
        return farthest

    kept: list[int] = []
    kept_joints = joints[:0]
    for start in range(0, joints.shape[0], chunk):
        block = joints[start : start + chunk]
        to_kept = distances(block, kept_joints).amin(dim=1) if kept else torch.full((len(block),), float("inf"))
        within = distances(block, block)
        new: list[int] = []
        for i in range(len(block)):
            if to_kept[i] >= threshold and bool((within[i, new] >= threshold).all()):
                new.append(i)
        kept.extend(start + i for i in new)
        kept_joints = torch.cat([kept_joints, block[new]])
    return np.asarray(kept, dtype=np.int64)


@dataclass
class PoseLibrary:
    """N poses: global_orient (N, 3) and body_pose (N, 69) axis-angle; source (N,) e.g. 'cmu'; clip (N,) clip name;
    frame (N,) index into the clip's original frames; mirrored (N,) bool."""

    global_orient: np.ndarray
    body_pose: np.ndarray
    source: np.ndarray
    clip: np.ndarray
    frame: np.ndarray
    mirrored: np.ndarray

    def __len__(self) -> int:
        return int(self.global_orient.shape[0])

    def select(self, index: np.ndarray) -> PoseLibrary:
        """The poses at `index`, in that order."""
        return PoseLibrary(*(getattr(self, f)[index] for f in _FIELDS))

    @staticmethod
    def concatenate(parts: list[PoseLibrary]) -> PoseLibrary:
        return PoseLibrary(*(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))

    def full_poses(self) -> torch.Tensor:
        """(N, 24, 3) float32 axis-angle, global orientation first."""
        pose = np.concatenate([self.global_orient, self.body_pose], axis=1)
        return torch.from_numpy(pose.astype(np.float32)).reshape(len(self), NUM_BODY_JOINTS + 1, 3)

    def mirrored_copy(self) -> PoseLibrary:
        """Every pose mirrored left/right, flagged `mirrored` (toggled)."""
        poses = mirror_poses(self.full_poses()).reshape(len(self), -1).numpy()
        return PoseLibrary(poses[:, :3], poses[:, 3:], self.source, self.clip, self.frame, ~self.mirrored)

    def save(self, path: Path) -> None:
        """Write a compressed npz: float32 poses, unicode source/clip names, int32 frames, bool mirrored."""
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(
            path,
            global_orient=self.global_orient.astype(np.float32),
            body_pose=self.body_pose.astype(np.float32),
            source=self.source.astype(str),
            clip=self.clip.astype(str),
            frame=self.frame.astype(np.int32),
            mirrored=self.mirrored.astype(bool),
        )

    @staticmethod
    def load(path: Path) -> PoseLibrary:
        with np.load(path, allow_pickle=False) as data:
            return PoseLibrary(*(data[f] for f in _FIELDS))


_FIELDS = ("global_orient", "body_pose", "source", "clip", "frame", "mirrored")
