"""The keypoint encoder (the shipped default): MediaPipe Pose landmarks of one person -> features Phi.

Inputs are the 33 MediaPipe Pose landmarks in normalised person-box coordinates ([-1, 1], x right, y down; the
caller normalises), their visibility in [0, 1], an optional presence mask and optionally MediaPipe's 3D world
landmarks (metres, hip-centred). Missing landmarks are zeroed and the mask is part of the input, so one network
serves full MediaPipe detections and sparser sources such as COCO-17 (see `coco17_to_mediapipe33`).
"""

from __future__ import annotations

import torch
from torch import nn

from hkmr_studio.body.keypoint_sets import COCO17_FROM_MEDIAPIPE33
from hkmr_studio.body.keypoint_sets import NUM_LANDMARKS as NUM_MEDIAPIPE_LANDMARKS
from hkmr_studio.geometry.checks import check_shape

#: Input width: per landmark x, y, visibility, world x, y, z (zeroed where missing) and the mask; plus one flag
#: "world landmarks given".
_PER_LANDMARK = 7
INPUT_DIM = NUM_MEDIAPIPE_LANDMARKS * _PER_LANDMARK + 1


def coco17_to_mediapipe33(
    keypoints: torch.Tensor, visibility: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Scatter COCO-17 keypoints into the 33 MediaPipe slots, the other 16 masked.

    keypoints (B, 17, 2), visibility (B, 17) -> landmarks (B, 33, 2), visibility (B, 33), mask (B, 33) (1 = present).
    """
    check_shape(keypoints, (None, len(COCO17_FROM_MEDIAPIPE33), 2), "keypoints")
    check_shape(visibility, (keypoints.shape[0], len(COCO17_FROM_MEDIAPIPE33)), "visibility")
    batch = keypoints.shape[0]
    index = torch.tensor(COCO17_FROM_MEDIAPIPE33, device=keypoints.device)
    landmarks = keypoints.new_zeros(batch, NUM_MEDIAPIPE_LANDMARKS, 2)
    landmarks[:, index] = keypoints
    full_visibility = visibility.new_zeros(batch, NUM_MEDIAPIPE_LANDMARKS)
    full_visibility[:, index] = visibility
    mask = keypoints.new_zeros(batch, NUM_MEDIAPIPE_LANDMARKS)
    mask[:, index] = 1.0
    return landmarks, full_visibility, mask


class _ResidualBlock(nn.Module):
    """x + FC(dropout(ReLU(FC(ReLU(LayerNorm(x))))))): a pre-norm residual block of width W."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LayerNorm(width),
            nn.ReLU(),
            nn.Linear(width, width),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(width, width),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class KeypointEncoder(nn.Module):
    """MLP from landmarks to Phi: FC(INPUT_DIM -> W), residual blocks of width W, LayerNorm + ReLU, FC(W -> Phi)."""

    input_kind = "keypoints"

    def __init__(self, feature_dim: int, width: int = 1024, num_blocks: int = 2, dropout: float = 0.1) -> None:
        super().__init__()
        self.feature_dim = feature_dim
        self.net = nn.Sequential(
            nn.Linear(INPUT_DIM, width),
            *(_ResidualBlock(width, dropout) for _ in range(num_blocks)),
            nn.LayerNorm(width),
            nn.ReLU(),
            nn.Linear(width, feature_dim),
        )

    def forward(
        self,
        landmarks: torch.Tensor,
        visibility: torch.Tensor,
        mask: torch.Tensor | None = None,
        world_landmarks: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """landmarks (B, 33, 2) in [-1, 1], visibility (B, 33) in [0, 1], mask (B, 33) 1 = present (None: all),
        world_landmarks (B, 33, 3) or None -> Phi (B, feature_dim)."""
        batch = landmarks.shape[0]
        check_shape(landmarks, (batch, NUM_MEDIAPIPE_LANDMARKS, 2), "landmarks")
        check_shape(visibility, (batch, NUM_MEDIAPIPE_LANDMARKS), "visibility")
        if mask is None:
            mask = torch.ones_like(visibility)
        check_shape(mask, (batch, NUM_MEDIAPIPE_LANDMARKS), "mask")
        if world_landmarks is None:
            world = landmarks.new_zeros(batch, NUM_MEDIAPIPE_LANDMARKS, 3)
            has_world = landmarks.new_zeros(batch, 1)
        else:
            check_shape(world_landmarks, (batch, NUM_MEDIAPIPE_LANDMARKS, 3), "world_landmarks")
            world, has_world = world_landmarks, landmarks.new_ones(batch, 1)
        per_landmark = torch.cat([landmarks, visibility[..., None], world], dim=-1) * mask[..., None]
        x = torch.cat([per_landmark, mask[..., None]], dim=-1).flatten(1)
        return self.net(torch.cat([x, has_world], dim=1))
