"""The conditional pose flow (ProHMR): a bijection with a correct density, seeded sampling, and a model file that
carries it."""

import torch

from hkmr_studio.checkpoints import load_checkpoint, save_checkpoint
from hkmr_studio.geometry.rotations import axis_angle_to_rot6d
from hkmr_studio.nets.flow import POSE_DIM, ConditionalPoseFlow, FlowConfig
from hkmr_studio.nets.probabilistic import NoFlowError, predict_with_flow, require_flow
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig


def _trained_looking_flow(seed: int = 0) -> ConditionalPoseFlow:
    """A small flow with every parameter random (a fresh one starts as the identity shift, which proves little); the
    LU factors' off-diagonal entries are kept small, as a trained flow's are, so that the mixing stays invertible in
    float32."""
    torch.manual_seed(seed)
    flow = ConditionalPoseFlow(FlowConfig(feature_dim=32, context_dim=16, width=32, steps=4, blocks=1))
    with torch.no_grad():
        for name, p in flow.named_parameters():
            p.add_((0.01 if name.endswith(("lower", "upper")) else 0.1) * torch.randn_like(p))
    return flow.eval()


def _context(flow: ConditionalPoseFlow, batch: int = 3, dtype: torch.dtype = torch.float32):
    g = torch.Generator().manual_seed(1)
    anchor = axis_angle_to_rot6d(0.5 * torch.randn(batch, 24, 3, generator=g, dtype=dtype))
    return flow.context(torch.randn(batch, 32, generator=g, dtype=dtype), anchor)


def test_forward_then_inverse_returns_the_pose_to_1e4():
    flow = _trained_looking_flow()
    context = _context(flow)
    pose = context.anchor + 0.3 * torch.randn(3, POSE_DIM)
    with torch.no_grad():
        z, logdet = flow(pose, context)
        back, inverse_logdet = flow.inverse(z, context)
    assert (back - pose).abs().max() < 1e-4
    assert torch.allclose(logdet, -inverse_logdet, atol=1e-3)
    assert (z - pose).abs().max() > 1e-2  # the flow did transform the pose


def test_log_determinant_matches_the_jacobian():
    flow = _trained_looking_flow().double()
    context = _context(flow, batch=1, dtype=torch.float64)
    pose = context.anchor + 0.2 * torch.randn(1, POSE_DIM, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(lambda x: flow(x[None], context)[0][0], pose[0], vectorize=True)
    expected = torch.linalg.slogdet(jacobian)[1]
    assert torch.allclose(flow(pose, context)[1][0], expected, atol=1e-6)


def test_seeded_sampling_is_reproducible_and_seeds_differ():
    flow = _trained_looking_flow()
    context = _context(flow)
    with torch.no_grad():
        a, za = flow.sample(5, context, torch.Generator().manual_seed(7))
        b, zb = flow.sample(5, context, torch.Generator().manual_seed(7))
        c, _ = flow.sample(5, context, torch.Generator().manual_seed(8))
    assert a.shape == (3, 5, 24, 6) and za.shape == (3, 5, POSE_DIM)
    assert torch.equal(a, b) and torch.equal(za, zb)
    assert not torch.allclose(a, c)


def test_mode_is_the_image_of_the_zero_latent():
    flow = _trained_looking_flow()
    context = _context(flow)
    with torch.no_grad():
        mode = flow.mode(context)
        z, _ = flow(mode.flatten(1), context)
    assert z.abs().max() < 1e-4


def test_an_untrained_flow_is_centred_on_the_regressors_pose():
    flow = ConditionalPoseFlow(FlowConfig(feature_dim=32, context_dim=16, width=32)).eval()
    context = _context(flow)
    with torch.no_grad():
        assert torch.allclose(flow.mode(context).flatten(1), context.anchor, atol=1e-6)


def test_probabilistic_model_file_round_trips_its_flow(tmp_path):
    torch.manual_seed(0)
    config = ModelConfig(feature_dim=32, encoder_opts={"width": 32},
                         flow={"context_dim": 16, "width": 32, "steps": 2, "blocks": 1})
    net = MeshRegressor(config).eval()
    with torch.no_grad():
        for p in net.flow.parameters():
            p.add_(0.05 * torch.randn_like(p))
    loaded = load_checkpoint(save_checkpoint(tmp_path / "model.pt", net, {"name": "tiny-prohmr"})).net
    landmarks, vis = torch.rand(2, 33, 2) * 2 - 1, torch.rand(2, 33)
    with torch.no_grad():
        a, b = (predict_with_flow(n, landmarks, vis, torch.ones(2, 33), None) for n in (net, loaded))
        assert torch.equal(net.flow.mode(a.context), loaded.flow.mode(b.context))


def test_a_model_without_a_flow_is_refused_with_the_model_to_choose():
    net = MeshRegressor(ModelConfig(feature_dim=32, encoder_opts={"width": 32}))
    try:
        require_flow(net)
    except NoFlowError as exc:
        assert "prohmr" in str(exc)
    else:
        raise AssertionError("a model without a flow was accepted")
