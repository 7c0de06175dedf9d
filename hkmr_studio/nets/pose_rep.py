"""Rotation representations the regressors work in, and the mean (starting) parameters they refine.

"axis_angle" (the HKMR paper): 3 numbers per joint. "rot6d" (SPIN's choice): 6 numbers per joint in the layout of
`hkmr_studio.geometry.rotations` (the first two rotation-matrix columns; SPIN lays the same six numbers out row-wise).
In both, a regressor composes updates by adding them in the representation space (theta <- theta + delta), as SPIN does
for 6D; rotations are read out of 6D vectors by Gram-Schmidt, so a sum of 6D vectors is always a valid rotation.
"""

from __future__ import annotations

import math
from typing import Literal, get_args

import torch
from torch import nn

from hkmr_studio.body import kinematics
from hkmr_studio.geometry import rotations

RotationRep = Literal["axis_angle", "rot6d"]
ROTATION_REPS: tuple[str, ...] = get_args(RotationRep)


def rep_dim(rep: RotationRep) -> int:
    """Numbers per joint rotation: 3 for axis-angle, 6 for 6D."""
    if rep not in ROTATION_REPS:
        raise ValueError(f"rotation representation must be one of {ROTATION_REPS}, got {rep!r}")
    return 3 if rep == "axis_angle" else 6


def rep_to_axis_angle(pose: torch.Tensor, rep: RotationRep) -> torch.Tensor:
    """(..., D) rotations in `rep` -> (..., 3) axis-angle."""
    return pose if rep == "axis_angle" else rotations.rot6d_to_axis_angle(pose)


def rep_to_matrix(pose: torch.Tensor, rep: RotationRep) -> torch.Tensor:
    """(..., D) rotations in `rep` -> (..., 3, 3) rotation matrices."""
    return rotations.axis_angle_to_matrix(pose) if rep == "axis_angle" else rotations.rot6d_to_matrix(pose)


def axis_angle_to_rep(pose: torch.Tensor, rep: RotationRep) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., D) rotations in `rep`."""
    return pose if rep == "axis_angle" else rotations.axis_angle_to_rot6d(pose)


def default_mean_pose() -> torch.Tensor:
    """(24, 3) axis-angle: zero body pose, global orientation (pi, 0, 0).

    The body frame (Y up, facing +Z) turned by pi about X: the person stands upright (head towards -y, image up) and
    faces an OpenCV camera (y down, z forward).
    """
    pose = torch.zeros(kinematics.NUM_JOINTS, 3)
    pose[0, 0] = math.pi
    return pose


DEFAULT_MEAN_CAMERA: tuple[float, float, float] = (0.9, 0.0, 0.0)


class MeanParams(nn.Module):
    """The pose, shape and camera a regressor starts from, as buffers saved with its weights.

    Buffers: `pose` (24, D) in the regressor's representation, `betas` (10,), `camera` (3,) weak-perspective
    (s, tx, ty).
    """

    pose: torch.Tensor
    betas: torch.Tensor
    camera: torch.Tensor

    def __init__(self, rep: RotationRep) -> None:
        super().__init__()
        self.rep = rep
        self.register_buffer("pose", axis_angle_to_rep(default_mean_pose(), rep))
        self.register_buffer("betas", torch.zeros(kinematics.NUM_BETAS))
        self.register_buffer("camera", torch.tensor(DEFAULT_MEAN_CAMERA))

    @torch.no_grad()
    def set(
        self,
        pose: torch.Tensor | None = None,
        betas: torch.Tensor | None = None,
        camera: torch.Tensor | None = None,
    ) -> None:
        """Replace the means, e.g. by data averages: pose (24, 3) or (72,) axis-angle, betas (10,), camera (3,)."""
        if pose is not None:
            pose = torch.as_tensor(pose, dtype=self.pose.dtype, device=self.pose.device)
            self.pose.copy_(axis_angle_to_rep(pose.reshape(kinematics.NUM_JOINTS, 3), self.rep))
        if betas is not None:
            self.betas.copy_(torch.as_tensor(betas, dtype=self.betas.dtype).reshape(kinematics.NUM_BETAS))
        if camera is not None:
            self.camera.copy_(torch.as_tensor(camera, dtype=self.camera.dtype).reshape(3))
