"""The real benchmark's views as the flow evaluation and the refit comparison read them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.checkpoints import LoadedModel
from hkmr_studio.geometry.cameras import assumed_focal_length
from hkmr_studio.pipeline.core import network_inputs
from training.trainer.data import Batch


@dataclass
class RealInputs:
    """N views: batch the network's inputs; truth (N, 33, 3) camera-frame metres; keypoints_px (N, 33, 2) photo
    pixels, weights (N, 33) visibility x presence; crops (N, 3) the app's person crops; focal (N,) px the app's
    assumed focal length (the image diagonal); principal (N, 2) px the image centre."""

    batch: Batch
    truth: torch.Tensor
    keypoints_px: torch.Tensor
    weights: torch.Tensor
    crops: torch.Tensor
    focal: torch.Tensor
    principal: torch.Tensor


def real_inputs(model: LoadedModel, samples) -> RealInputs:
    """From training.real.scoring's Samples, as the app would see each view."""
    from training.real.scoring import network_batch

    sizes = samples.image_size.astype(np.float64)
    crops = [network_inputs(kp, tuple(size), False).crop for kp, size in zip(samples.keypoints, samples.image_size,
                                                                               strict=True)]
    return RealInputs(
        batch=network_batch(model, samples),
        truth=torch.from_numpy(samples.truth).float(),
        keypoints_px=torch.tensor(np.stack([kp.xy for kp in samples.keypoints]), dtype=torch.float32),
        weights=torch.tensor(np.stack([kp.visibility * kp.present for kp in samples.keypoints]), dtype=torch.float32),
        crops=torch.tensor(crops, dtype=torch.float32),
        focal=torch.tensor([assumed_focal_length(int(w), int(h)) for w, h in sizes], dtype=torch.float32),
        principal=torch.tensor(sizes / 2.0, dtype=torch.float32),
    )
