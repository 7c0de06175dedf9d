"""Flat HMR-style regressor: shapes, trace layout shared with HKMR, gradients, the split first layer."""

from __future__ import annotations

import pytest
import torch

from hkmr_studio.nets.hkmr import HKMRConfig, HKMRRegressor
from hkmr_studio.nets.hmr import HMRConfig, HMRRegressor
from hkmr_studio.nets.output import RegressorOutput

FEAT = 16


def _model(**overrides: object) -> HMRRegressor:
    torch.manual_seed(0)
    model = HMRRegressor(HMRConfig(feature_dim=FEAT, **overrides)).eval()
    with torch.no_grad():
        model.net.rest[-1].weight.normal_(0.0, 0.05)
    return model


@pytest.mark.parametrize("rotation, dim", [("axis_angle", 3), ("rot6d", 6)])
def test_output_and_trace_shapes(rotation: str, dim: int) -> None:
    out = _model(rotation=rotation)(torch.randn(3, FEAT))
    assert out.global_orient.shape == (3, 3) and out.body_pose.shape == (3, 69)
    assert out.rotmats.shape == (3, 24, 3, 3) and out.betas.shape == (3, 10) and out.camera.shape == (3, 3)
    assert out.trace.pass_poses.shape == (3, 1, 3, 24, dim)
    assert out.trace.directions == ("flat",)
    final = torch.cat([out.global_orient, out.body_pose], dim=1).reshape(3, 24, 3)
    assert torch.equal(out.trace.pose(-1, -1), final)
    assert torch.equal(out.trace.betas[-1], out.betas) and torch.equal(out.trace.cameras[-1], out.camera)


def _pose_after_every_pass(out: RegressorOutput) -> list[torch.Tensor]:
    """What the chain inspector does, whichever regressor produced the output."""
    trace = out.trace
    return [trace.pose(t, p) for t in range(trace.num_outer) for p in range(trace.num_inner)]


def test_same_code_reads_both_traces() -> None:
    hmr = _model()(torch.randn(2, FEAT))
    hkmr = HKMRRegressor(HKMRConfig(feature_dim=FEAT)).eval()(torch.randn(2, FEAT))
    assert len(_pose_after_every_pass(hmr)) == 3 and len(_pose_after_every_pass(hkmr)) == 12
    assert all(p.shape == (2, 24, 3) for p in _pose_after_every_pass(hmr) + _pose_after_every_pass(hkmr))
    assert len(hmr.step_poses) == len(hkmr.step_poses) == 3


def test_every_parameter_receives_gradient() -> None:
    model = _model()
    model.train()
    out = model(torch.randn(4, FEAT))
    (out.body_pose.square().sum() + out.global_orient.sum() + out.betas.sum() + out.camera.sum()).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


def test_split_first_layer_is_one_layer_on_the_concatenation() -> None:
    model = _model(num_iterations=1)
    features = torch.randn(2, FEAT)
    out = model(features)
    state = torch.cat([model.mean.pose.flatten(), model.mean.betas, model.mean.camera]).expand(2, -1)
    weight = torch.cat([model.feature_in.weight, model.net.first.weight], dim=1)
    hidden = torch.nn.functional.linear(torch.cat([features, state], dim=1), weight, model.net.first.bias)
    expected = state + model.net.rest(hidden)
    assert torch.allclose(out.trace.pass_poses[0, 0].flatten(1), expected[:, :72], atol=1e-6)
    assert torch.allclose(out.camera, expected[:, -3:], atol=1e-6)


def test_parameter_count_with_resnet50_is_close_to_paper() -> None:
    from torchvision.models import resnet50

    with torch.device("meta"):  # shapes only
        backbone = resnet50(weights=None)
    encoder = sum(p.numel() for n, p in backbone.named_parameters() if not n.startswith("fc."))
    regressor = sum(p.numel() for p in HMRRegressor(HMRConfig(feature_dim=2048)).parameters())
    assert abs(encoder + regressor - 26.8e6) < 0.1e6
