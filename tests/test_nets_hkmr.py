"""HKMR regressor: shapes, the supplement's widths, gradients, ablations checked through autograd, both paths agree."""

from __future__ import annotations

import math

import pytest
import torch

from hkmr_studio.body import kinematics
from hkmr_studio.nets.hkmr import HKMRConfig, HKMRRegressor
from hkmr_studio.nets.output import RegressorOutput

FEAT = 16


def _model(seed: int = 0, **overrides: object) -> HKMRRegressor:
    """A small-Phi HKMR in eval mode with its small-initialised output layers scaled up, so every path matters."""
    torch.manual_seed(seed)
    model = HKMRRegressor(HKMRConfig(feature_dim=FEAT, **overrides)).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "heads" in name or name.endswith(("rest.6.weight", "rest.6.bias")):
                param.normal_(0.0, 0.1)
    return model


def _loss(out: RegressorOutput) -> torch.Tensor:
    """A fixed random linear function of every output and every trace entry."""
    generator = torch.Generator().manual_seed(1)
    parts = (out.global_orient, out.body_pose, out.betas, out.camera, out.trace.pass_poses)
    return sum((t * torch.randn(t.shape, generator=generator)).sum() for t in parts)


CONFIGS = {
    "default": {},
    "rot6d": {"rotation": "rot6d"},
    "no_hierarchy": {"joint_hierarchy": False},
    "forward_only": {"forward_only": True},
    "iterations": {"num_outer": 2, "num_inner": 3},
}


@pytest.mark.parametrize("rotation, dim", [("axis_angle", 3), ("rot6d", 6)])
def test_output_and_trace_shapes(rotation: str, dim: int) -> None:
    out = _model(rotation=rotation)(torch.randn(3, FEAT))
    assert out.global_orient.shape == (3, 3) and out.body_pose.shape == (3, 69)
    assert out.rotmats.shape == (3, 24, 3, 3) and out.betas.shape == (3, 10) and out.camera.shape == (3, 3)
    assert out.trace.pass_poses.shape == (3, 4, 3, 24, dim)
    assert out.trace.directions == ("forward", "backward", "forward", "backward")
    assert out.trace.pose(1, 2).shape == (3, 24, 3)
    assert [p.shape for p in out.step_poses] == [(3, 24, 3)] * 3
    assert len(out.step_betas) == len(out.step_cameras) == 3
    eye = torch.eye(3).expand(3, 24, 3, 3)
    assert torch.allclose(out.rotmats @ out.rotmats.transpose(-1, -2), eye, atol=1e-5)


def test_embedding_input_widths_match_supplement() -> None:
    model = HKMRRegressor(HKMRConfig(feature_dim=2048))
    widths = {name: chain.embed_input_dim for name, chain in model.chains.items()}
    assert widths == {
        "root": 2070,
        "head": 2076,
        "left_arm": 2085,
        "right_arm": 2085,
        "left_leg": 2082,
        "right_leg": 2082,
    }


def test_parameter_count_with_resnet50_is_close_to_paper() -> None:
    from torchvision.models import resnet50

    with torch.device("meta"):  # shapes only: skips initialising 25M weights
        backbone = resnet50(weights=None)
    encoder = sum(p.numel() for n, p in backbone.named_parameters() if not n.startswith("fc."))
    regressor = sum(p.numel() for p in HKMRRegressor(HKMRConfig(feature_dim=2048)).parameters())
    assert abs(encoder + regressor - 26.2e6) < 0.1e6


@pytest.mark.parametrize("rotation", ["axis_angle", "rot6d"])
def test_last_trace_entry_equals_output(rotation: str) -> None:
    out = _model(rotation=rotation)(torch.randn(2, FEAT))
    final = torch.cat([out.global_orient, out.body_pose], dim=1).reshape(2, 24, 3)
    assert torch.equal(out.trace.pose(-1, -1), final)
    assert torch.equal(out.step_poses[-1], final)
    assert torch.equal(out.trace.betas[-1], out.betas) and torch.equal(out.trace.cameras[-1], out.camera)
    arm = kinematics.CHAIN_BY_NAME["left_arm"]
    assert torch.equal(out.trace.chain_pose("left_arm", 0, 1), out.trace.pose(0, 1)[:, list(arm.joints)])


@pytest.mark.parametrize("batched", [True, False])
def test_every_joint_head_and_layer_receives_gradient(batched: bool) -> None:
    model = _model()
    model.batched_children = batched
    _loss(model(torch.randn(4, FEAT))).backward()
    for name, param in model.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name
    heads = [n for n, _ in model.named_parameters() if "heads" in n]
    assert len(heads) == 2 * 2 * 24  # f_i and b_i (weight, bias) for each of the 24 joints


@pytest.mark.parametrize("name", list(CONFIGS))
def test_batched_children_match_chains_one_by_one(name: str) -> None:
    model = _model(**CONFIGS[name])
    with torch.no_grad():
        model.mean.set(pose=0.3 * torch.randn(24, 3), betas=torch.randn(10), camera=torch.tensor([1.1, 0.1, -0.2]))
    features = torch.randn(5, FEAT)
    fast = model(features)
    model.batched_children = False
    reference = model(features)
    assert torch.allclose(fast.trace.pass_poses, reference.trace.pass_poses, atol=1e-5)
    assert torch.allclose(fast.trace.betas, reference.trace.betas, atol=1e-5)
    assert torch.allclose(fast.trace.cameras, reference.trace.cameras, atol=1e-5)
    assert torch.allclose(fast.rotmats, reference.rotmats, atol=1e-4)


def test_both_paths_give_the_same_gradients() -> None:
    grads = []
    for batched in (True, False):
        model = _model()
        model.batched_children = batched
        _loss(model(torch.randn(3, FEAT, generator=torch.Generator().manual_seed(2)))).backward()
        grads.append({n: p.grad for n, p in model.named_parameters()})
    for name, grad in grads[0].items():
        assert torch.allclose(grad, grads[1][name], rtol=1e-3, atol=1e-4 * grad.abs().max().item()), name


def _earlier_gradients(hierarchy: bool) -> list[list[torch.Tensor | None]]:
    """For each chain, direction and joint q >= 2 of a pass: d delta_q / d delta_{q-1}, d delta_q / d delta_{q-2}."""
    model = _model(joint_hierarchy=hierarchy)
    found = []
    for chain in model.chains.values():
        for direction in ("forward", "backward"):
            heads = chain.heads(direction)
            psi = torch.randn(2, heads.embed_dim)
            for q in range(2, heads.num_joints):
                earlier = [torch.randn(2, heads.rep_dim, requires_grad=True) for _ in range(q)]
                delta = heads.joint_delta(q, psi, earlier)
                found.append(list(torch.autograd.grad(delta.sum(), [earlier[-1], earlier[-2]], allow_unused=True)))
    return found


def test_joint_hierarchy_switch_changes_dependence_on_earlier_joints() -> None:
    def nonzero(grad: torch.Tensor | None) -> bool:
        return grad is not None and grad.abs().sum() > 0

    with_hierarchy = _earlier_gradients(True)
    without = _earlier_gradients(False)
    assert len(with_hierarchy) == len(without) == 2 * (2 + 3 + 3 + 2 + 2)  # joints q >= 2 over chains, directions
    assert all(nonzero(prev) and nonzero(prev2) for prev, prev2 in with_hierarchy)
    assert all(nonzero(prev) and not nonzero(prev2) for prev, prev2 in without)


def test_forward_only_has_no_backward_layers() -> None:
    full = _model()
    forward_only = _model(forward_only=True)
    for model in (full, forward_only):
        _loss(model(torch.randn(2, FEAT))).backward()
    backward_grads = [p.grad for n, p in full.named_parameters() if "backward_heads" in n]
    assert backward_grads and all(g is not None and g.abs().sum() > 0 for g in backward_grads)
    assert not [n for n, _ in forward_only.named_parameters() if "backward_heads" in n]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in forward_only.parameters())


def test_iteration_counts_shape_the_trace() -> None:
    out = _model(num_outer=2, num_inner=3)(torch.randn(2, FEAT))
    assert out.trace.pass_poses.shape[:2] == (2, 3)
    assert out.trace.directions == ("forward", "backward", "forward")
    assert out.trace.betas.shape == (2, 2, 10)


def test_fresh_model_starts_near_the_mean_and_mean_is_settable() -> None:
    model = HKMRRegressor(HKMRConfig(feature_dim=FEAT)).eval()
    with torch.no_grad():
        out = model(torch.randn(2, FEAT))
        assert torch.allclose(out.global_orient, torch.tensor([math.pi, 0.0, 0.0]).expand(2, 3), atol=0.1)
        assert torch.allclose(out.camera, torch.tensor([0.9, 0.0, 0.0]).expand(2, 3), atol=0.1)
        model.mean.set(camera=torch.tensor([2.0, 0.0, 0.0]))
        assert torch.allclose(model(torch.randn(2, FEAT)).camera[:, 0], torch.tensor(2.0), atol=0.1)


def test_cached_fast_path_follows_weight_updates() -> None:
    model = _model()
    features = torch.randn(2, FEAT)
    with torch.inference_mode():
        before = model(features).body_pose
    with torch.no_grad():
        model.chains["left_arm"].forward_heads.layers[2].weight.add_(0.5)
    with torch.inference_mode():
        after = model(features).body_pose
    model.batched_children = False
    with torch.no_grad():
        reference = model(features).body_pose
    assert not torch.allclose(before, after)
    assert torch.allclose(after, reference, atol=1e-5)
