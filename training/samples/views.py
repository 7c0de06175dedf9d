"""How a body is seen: its orientation in the camera frame from a body-frame pose, a heading and a camera tilt.

Body frame: Y up, facing +Z, left +X. Camera frame: OpenCV (x right, y down, z forward). With zero yaw, pitch and roll
the person stands upright and faces the camera (a half turn about X), as `nets.pose_rep.default_mean_pose` assumes.
"""

from __future__ import annotations

import math

import torch

from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from training.samples import mixtures
from training.samples.mixtures import Modes

#: Body frame -> camera frame for an upright person facing the camera.
BODY_TO_CAMERA = torch.diag(torch.tensor([1.0, -1.0, -1.0]))


def _about(axis: int, angle: torch.Tensor) -> torch.Tensor:
    """(B,) angles in radians -> (B, 3, 3) rotations about a coordinate axis."""
    vector = torch.zeros(*angle.shape, 3, dtype=angle.dtype, device=angle.device)
    vector[..., axis] = angle
    return axis_angle_to_matrix(vector)


def camera_global_orient(
    global_orient: torch.Tensor, yaw: torch.Tensor, pitch: torch.Tensor, roll: torch.Tensor
) -> torch.Tensor:
    """(B, 3) body-frame global orientations -> (B, 3) camera-frame ones, axis-angle.

    The body is first turned by `yaw` about the vertical (radians; pi/2 shows its left side to the camera), then seen
    by a camera whose optical axis points `pitch` below the horizon (positive: looking down on the person) and which
    is then rolled by `roll` about that axis (the horizon turns by `roll` in the photo).
    """
    rotation = _about(2, roll) @ _about(0, pitch) @ BODY_TO_CAMERA.to(global_orient) @ _about(1, -yaw)
    return matrix_to_axis_angle(rotation @ axis_angle_to_matrix(global_orient))


def sample_view(
    batch: int, generator: torch.Generator, pitch_modes: Modes, roll_modes: Modes
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random (yaw, pitch, roll), each (B,) radians: yaw uniform over the circle (front, side and back views); pitch
    and roll from their mixtures (training.samples.mixtures), given in degrees."""
    yaw = (torch.rand(batch, generator=generator) * 2.0 - 1.0) * math.pi
    pitch = torch.deg2rad(mixtures.sample(pitch_modes, batch, generator))
    roll = torch.deg2rad(mixtures.sample(roll_modes, batch, generator))
    return yaw, pitch, roll

