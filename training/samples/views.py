"""How a body is seen: its orientation in the camera frame from a body-frame pose, a heading and a camera tilt.

Body frame: Y up, facing +Z, left +X. Camera frame: OpenCV (x right, y down, z forward). With zero yaw, pitch and roll
the person stands upright and faces the camera (a half turn about X), as `nets.pose_rep.default_mean_pose` assumes.
"""

from __future__ import annotations

import math

import torch

from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

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
    by a camera pitched by `pitch` (positive: looking down on the person) and rolled by `roll` about its optical axis.
    """
    rotation = _about(0, pitch) @ _about(2, roll) @ BODY_TO_CAMERA.to(global_orient) @ _about(1, -yaw)
    return matrix_to_axis_angle(rotation @ axis_angle_to_matrix(global_orient))


def sample_view(
    batch: int, generator: torch.Generator, pitch_std_deg: float, roll_std_deg: float, max_tilt_deg: float = 30.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random (yaw, pitch, roll), each (B,) radians: yaw uniform over the circle; pitch and roll normal, clipped at
    +-max_tilt_deg."""
    yaw = (torch.rand(batch, generator=generator) * 2.0 - 1.0) * math.pi
    limit = math.radians(max_tilt_deg)
    pitch = (torch.randn(batch, generator=generator) * math.radians(pitch_std_deg)).clamp(-limit, limit)
    roll = (torch.randn(batch, generator=generator) * math.radians(roll_std_deg)).clamp(-limit, limit)
    return yaw, pitch, roll
