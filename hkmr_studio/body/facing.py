"""Which way a body faces, from MediaPipe's shoulder and hip landmarks, and how far two bodies' facings differ.

The torso's forward direction is across x up, with across = (left shoulder + left hip) - (right shoulder + right
hip) and up = (shoulders' midpoint) - (hips' midpoint): for a body in SMPL's frame (left +X, up +Y) that is +Z, the
way it faces. Any frame works as long as both bodies share it (e.g. a camera frame).
"""

from __future__ import annotations

import torch

from hkmr_studio.body.keypoint_sets import MEDIAPIPE_LANDMARK_NAMES
from hkmr_studio.geometry.checks import check_last_dims

_INDEX = {name: i for i, name in enumerate(MEDIAPIPE_LANDMARK_NAMES)}
LEFT_SHOULDER, RIGHT_SHOULDER = _INDEX["left_shoulder"], _INDEX["right_shoulder"]
LEFT_HIP, RIGHT_HIP = _INDEX["left_hip"], _INDEX["right_hip"]


def torso_forward(landmarks: torch.Tensor) -> torch.Tensor:
    """(..., 33, 3) MediaPipe landmarks -> (..., 3) unit forward direction of the torso."""
    check_last_dims(landmarks, (len(MEDIAPIPE_LANDMARK_NAMES), 3), "landmarks")
    left = landmarks[..., LEFT_SHOULDER, :] + landmarks[..., LEFT_HIP, :]
    right = landmarks[..., RIGHT_SHOULDER, :] + landmarks[..., RIGHT_HIP, :]
    up = landmarks[..., [LEFT_SHOULDER, RIGHT_SHOULDER], :].mean(dim=-2) - \
        landmarks[..., [LEFT_HIP, RIGHT_HIP], :].mean(dim=-2)
    forward = torch.linalg.cross(left - right, up)
    return forward / forward.norm(dim=-1, keepdim=True).clamp_min(1e-9)


def facing_error_deg(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(..., 33, 3) x 2 MediaPipe landmarks in one frame -> (...) angle in degrees between their torso forward
    directions: 0 facing the same way, 180 facing opposite ways."""
    cosine = (torso_forward(predicted) * torso_forward(target)).sum(dim=-1).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cosine))
