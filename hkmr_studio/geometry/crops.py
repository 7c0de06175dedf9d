"""The square person crop the keypoint regressor reads: one rule for inference and for synthetic training data."""

from __future__ import annotations

import torch

#: Fraction of the keypoints' extent added on each side (0.1 gives HMR/SPIN's 1.2x box).
CROP_MARGIN = 0.1


def crop_boxes_from_points(points: torch.Tensor, used: torch.Tensor, margin: float = CROP_MARGIN) -> torch.Tensor:
    """Square crops around (B, K, 2) pixel points, counting only (B, K) bool `used` ones -> (B, 3) (cx, cy, side).

    The square is centred on the used points' bounding box; its side is the box's longer side * (1 + 2 margin),
    at least 1 px. Rows with no used point get a unit box at the origin.
    """
    big = torch.finfo(points.dtype).max
    mask = used[..., None]
    low = torch.where(mask, points, torch.full_like(points, big)).amin(dim=1)
    high = torch.where(mask, points, torch.full_like(points, -big)).amax(dim=1)
    empty = ~used.any(dim=1)
    low = torch.where(empty[:, None], torch.zeros_like(low), low)
    high = torch.where(empty[:, None], torch.zeros_like(high), high)
    centre = (low + high) / 2.0
    side = ((high - low).amax(dim=1) * (1.0 + 2.0 * margin)).clamp_min(1.0)
    return torch.cat([centre, side[:, None]], dim=1)
