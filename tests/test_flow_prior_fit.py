"""The flow-prior refit (ProHMR's fitting): it starts from the candidate that best matches the keypoints, optimises
the latent z, and its body is the flow's image of that z."""

import pytest
import torch

from hkmr_studio.body.model import load_body_model
from hkmr_studio.fitting.flow_prior import FlowFitConfig, FlowPriorFit
from hkmr_studio.fitting.smplify import warm_up_lbfgs
from hkmr_studio.geometry.rotations import axis_angle_to_rot6d
from hkmr_studio.nets.flow import POSE_DIM, ConditionalPoseFlow, FlowConfig
from hkmr_studio.nets.probabilistic import pose6d_to_smpl

FOCAL = 1000.0
#: L-BFGS's first step imports much of torch (several seconds), then each small fit takes ~1 s on 2 busy cores.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def setup():
    warm_up_lbfgs()
    torch.manual_seed(0)
    flow = ConditionalPoseFlow(FlowConfig(feature_dim=16, context_dim=16, width=32, steps=2, blocks=1)).eval()
    with torch.no_grad():
        for name, p in flow.named_parameters():
            p.add_((0.01 if name.endswith(("lower", "upper")) else 0.05) * torch.randn_like(p))
    upright = torch.zeros(1, 24, 3)
    upright[0, 0, 0] = torch.pi  # standing, facing the camera (OpenCV axes)
    with torch.no_grad():
        context = flow.context(torch.randn(1, 16), axis_angle_to_rot6d(upright))
    fitter = FlowPriorFit(load_body_model(), flow, FlowFitConfig(prior_weight=0.01))
    betas, transl, principal = torch.zeros(1, 10), torch.tensor([[0.0, 0.2, 4.0]]), torch.tensor([[500.0, 500.0]])
    true_z = 0.8 * torch.randn(1, POSE_DIM, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        keypoints = fitter.project(true_z, context, betas, transl, FOCAL, principal)
    return fitter, context, betas, transl, principal, true_z, keypoints


def _fit(setup, candidates, weights=None):
    fitter, context, betas, transl, principal, _, keypoints = setup
    weights = torch.ones(1, 33) if weights is None else weights
    return fitter.fit(keypoints, weights, context, betas, transl, FOCAL, principal, candidates)


def test_refit_starts_from_the_candidate_nearest_the_keypoints(setup):
    true_z = setup[5]
    far = torch.randn(1, 3, POSE_DIM, generator=torch.Generator().manual_seed(9)) * 2.0
    near = true_z[:, None] + 0.05 * torch.randn(1, 1, POSE_DIM, generator=torch.Generator().manual_seed(4))
    result = _fit(setup, torch.cat([far[:, :2], near, far[:, 2:]], dim=1))
    assert int(result.start_index) == 3  # 0 is the mode; the near sample is the third candidate
    assert torch.equal(result.start_z, near[:, 0])


def test_refit_optimises_z_and_its_body_lies_on_the_flow(setup):
    fitter, context = setup[0], setup[1]
    result = _fit(setup, None)
    assert int(result.start_index) == 0 and result.fit.ok
    assert result.fit.iterations > 0 and (result.z - result.start_z).abs().max() > 1e-2
    after, before = result.fit.error2d_after.nanmean(), result.fit.error2d_before.nanmean()
    assert after < 0.5 * before, f"2D error {before:.1f} -> {after:.1f} px"
    with torch.no_grad():
        on_flow = fitter.flow.from_latent(result.z, context)
    assert torch.allclose(result.pose6d, on_flow, atol=1e-6)
    global_orient, body_pose = pose6d_to_smpl(on_flow)
    assert torch.allclose(result.fit.body_pose, body_pose, atol=1e-5)
    assert torch.allclose(result.fit.global_orient, global_orient, atol=1e-5)
    with torch.no_grad():
        assert torch.allclose(result.log_prob, fitter.flow.log_prob(on_flow, context), atol=1e-3)


def test_a_stronger_latent_prior_keeps_z_closer_to_the_mode(setup):
    fitter = setup[0]
    loose = _fit(setup, None)
    fitter.config = FlowFitConfig(prior_weight=1e5)
    try:
        tight = _fit(setup, None)
    finally:
        fitter.config = FlowFitConfig(prior_weight=0.01)
    assert tight.z.norm() < 0.5 * loose.z.norm()


def test_too_few_keypoints_leave_the_start_with_a_message(setup):
    weights = torch.zeros(1, 33)
    weights[0, :3] = 1.0
    result = _fit(setup, None, weights)
    assert result.fit.status == "degenerate" and "fewer than" in result.fit.message
    assert torch.equal(result.z, result.start_z)
