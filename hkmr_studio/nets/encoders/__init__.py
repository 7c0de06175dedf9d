"""Encoders producing the feature vector Phi that the regressors read, and a factory to pick one by name.

Every encoder has `feature_dim` (the width of Phi) and `input_kind`: "keypoints" (MediaPipe landmarks; the shipped
default) or "image" (a normalised person crop).
"""

from __future__ import annotations

from typing import Any

from torch import nn

from hkmr_studio.nets.encoders.images import EfficientNetLite0Encoder, ResNet50Encoder
from hkmr_studio.nets.encoders.keypoints import (
    COCO17_FROM_MEDIAPIPE33,
    NUM_MEDIAPIPE_LANDMARKS,
    KeypointEncoder,
    coco17_to_mediapipe33,
)

_ENCODERS: dict[str, type[nn.Module]] = {
    "keypoints": KeypointEncoder,
    "resnet50": ResNet50Encoder,
    "efficientnet_lite0": EfficientNetLite0Encoder,
}
ENCODER_NAMES: tuple[str, ...] = tuple(_ENCODERS)

#: Phi's width per encoder when nothing else is asked for: the image backbones' own widths, 1024 for keypoints.
DEFAULT_FEATURE_DIMS: dict[str, int] = {"keypoints": 1024, "resnet50": 2048, "efficientnet_lite0": 1280}


def build_encoder(name: str, feature_dim: int, **opts: Any) -> nn.Module:
    """The encoder `name` (one of ENCODER_NAMES) producing Phi of width `feature_dim`; `opts` go to its constructor.

    keypoints: width, num_blocks, dropout. resnet50: weights_path. efficientnet_lite0: pretrained.
    """
    if name not in _ENCODERS:
        raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODER_NAMES)}")
    return _ENCODERS[name](feature_dim=feature_dim, **opts)


__all__ = [
    "COCO17_FROM_MEDIAPIPE33",
    "DEFAULT_FEATURE_DIMS",
    "ENCODER_NAMES",
    "NUM_MEDIAPIPE_LANDMARKS",
    "EfficientNetLite0Encoder",
    "KeypointEncoder",
    "ResNet50Encoder",
    "build_encoder",
    "coco17_to_mediapipe33",
]
