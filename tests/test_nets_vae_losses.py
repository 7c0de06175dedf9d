"""VAE pose prior and the Eq. 3 losses (with a stand-in joints function, no body file)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from hkmr_studio.nets.hkmr import HKMRConfig, HKMRRegressor
from hkmr_studio.nets.losses import LossWeights, RegressorTargets, regressor_loss
from hkmr_studio.nets.output import RegressorOutput
from hkmr_studio.nets.vae import PoseVAE

FEAT = 16


def test_vae_shapes_and_kl_nonnegative() -> None:
    torch.manual_seed(0)
    vae = PoseVAE()
    poses = torch.randn(8, 69)
    mean, log_var = vae.encode(poses)
    assert mean.shape == log_var.shape == (8, 32)
    reconstruction, _, _ = vae(poses)
    assert reconstruction.shape == (8, 69) and vae.decode(torch.randn(8, 32)).shape == (8, 69)
    assert vae.kl(poses).shape == (8,) and (vae.kl(poses) >= 0).all()
    assert (vae.kl(10.0 * poses) >= 0).all()
    assert (PoseVAE.kl_from_stats(5 * torch.randn(8, 32), 5 * torch.randn(8, 32)) >= 0).all()
    assert torch.equal(PoseVAE.kl_from_stats(torch.zeros(2, 32), torch.zeros(2, 32)), torch.zeros(2))
    vae.eval()
    energy = vae.negative_elbo(poses)
    assert energy.shape == (8,) and torch.isfinite(energy).all()
    assert torch.equal(vae.negative_elbo(poses), energy)  # deterministic in eval


def _joints(global_orient: torch.Tensor, body_pose: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """Stand-in for the body layer's joints_only: any smooth map to (B, 24, 3)."""
    pose = torch.cat([global_orient, body_pose], dim=1).reshape(-1, 24, 3)
    return 0.3 * torch.sin(pose) + 0.05 * betas[:, None, :3] + torch.linspace(-1, 1, 24)[None, :, None]


def _output(features: torch.Tensor) -> RegressorOutput:
    torch.manual_seed(0)
    model = HKMRRegressor(HKMRConfig(feature_dim=FEAT)).eval()
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "heads" in name:
                param.normal_(0.0, 0.1)
    return model(features)


def _targets(batch: int, seed: int = 1, **overrides: object) -> RegressorTargets:
    g = torch.Generator().manual_seed(seed)
    targets = RegressorTargets(
        keypoints_2d=torch.rand(batch, 24, 2, generator=g) * 2 - 1,
        visibility_2d=torch.rand(batch, 24, generator=g),
        joints_3d=torch.randn(batch, 24, 3, generator=g),
        has_3d=torch.tensor([True] + [False] * (batch - 1)),
        global_orient=torch.randn(batch, 3, generator=g),
        body_pose=0.3 * torch.randn(batch, 69, generator=g),
        betas=torch.randn(batch, 10, generator=g),
        has_smpl=torch.tensor([True] + [False] * (batch - 1)),
    )
    return dataclasses.replace(targets, **overrides)


def _loss_and_feature_grad(targets: RegressorTargets, **kwargs: object) -> tuple[torch.Tensor, torch.Tensor]:
    features = torch.randn(2, FEAT, generator=torch.Generator().manual_seed(3), requires_grad=True)
    loss = regressor_loss(_output(features), targets, _joints, **kwargs).total
    (grad,) = torch.autograd.grad(loss, features)
    return loss.detach(), grad


def test_two_d_only_samples_contribute_only_their_two_d_term() -> None:
    targets = _targets(2)  # sample 0 has every label, sample 1 only 2D
    loss, grad = _loss_and_feature_grad(targets)
    # Sample 1's 3D and SMPL labels are ignored: changing them changes nothing.
    g = torch.Generator().manual_seed(9)
    scrambled = dataclasses.replace(
        targets,
        joints_3d=torch.cat([targets.joints_3d[:1], torch.randn(1, 24, 3, generator=g)]),
        body_pose=torch.cat([targets.body_pose[:1], torch.randn(1, 69, generator=g)]),
        betas=torch.cat([targets.betas[:1], torch.randn(1, 10, generator=g)]),
    )
    loss_scrambled, grad_scrambled = _loss_and_feature_grad(scrambled)
    assert torch.equal(loss, loss_scrambled) and torch.equal(grad, grad_scrambled)
    # Sample 1's gradient is exactly that of its 2D term (samples are independent in eval mode).
    _, grad_2d = _loss_and_feature_grad(targets, weights=LossWeights(smpl=0.0, joints_3d=0.0, kl=0.0))
    assert torch.allclose(grad[1], grad_2d[1]) and not torch.allclose(grad[0], grad_2d[0])
    # Sample 0's labels do count.
    moved = dataclasses.replace(targets, joints_3d=targets.joints_3d + torch.randn(2, 24, 3, generator=g))
    assert not torch.equal(_loss_and_feature_grad(moved)[0], loss)


def test_weights_are_respected_and_terms_behave() -> None:
    vae = PoseVAE().eval()
    out = _output(torch.randn(2, FEAT))
    targets = _targets(2)
    weights = LossWeights(smpl=0.5, joints_3d=2.0, keypoints_2d=3.0, kl=0.25)
    loss = regressor_loss(out, targets, _joints, weights=weights, pose_kl=vae.kl)
    assert all(t > 0 for t in (loss.smpl, loss.joints_3d, loss.keypoints_2d, loss.kl))
    expected = 0.5 * loss.smpl + 2.0 * loss.joints_3d + 3.0 * loss.keypoints_2d + 0.25 * loss.kl
    assert torch.allclose(loss.total, expected)
    # L_KL applies to every sample, label or not: the mean over the batch, summed over steps.
    kl = sum(vae.kl(pose[:, 1:].flatten(1)).mean() for pose in out.step_poses)
    assert torch.allclose(loss.kl, kl)
    # 3D joints are root-centred, and invisible 2D keypoints do not count.
    shifted = dataclasses.replace(targets, joints_3d=targets.joints_3d + torch.tensor([1.0, -2.0, 0.5]))
    assert torch.allclose(regressor_loss(out, shifted, _joints).joints_3d, loss.joints_3d)
    hidden = targets.visibility_2d.clone()
    hidden[:, 5] = 0.0
    moved = targets.keypoints_2d.clone()
    moved[:, 5] += 1.0
    a = regressor_loss(out, dataclasses.replace(targets, visibility_2d=hidden), _joints).keypoints_2d
    b = regressor_loss(out, dataclasses.replace(targets, visibility_2d=hidden, keypoints_2d=moved), _joints)
    assert torch.allclose(a, b.keypoints_2d)


@pytest.mark.parametrize("missing", ["joints_3d", "body_pose"])
def test_absent_labels_give_zero_terms(missing: str) -> None:
    loss = regressor_loss(_output(torch.randn(2, FEAT)), _targets(2, **{missing: None}), _joints)
    term = loss.joints_3d if missing == "joints_3d" else loss.smpl
    assert term.item() == 0.0 and loss.kl.item() == 0.0
