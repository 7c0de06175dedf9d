"""World landmarks that err as MediaPipe's do: the statistics measure planted errors, fitting recovers a planted model's
parameters, the fitted model reproduces the statistics it was fitted to, the generator draws from it (or from
independent noise when asked), withheld rows (synthetic and rendered) have no world landmarks, and the settings are
checked by dotted name."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from training.rendered.dataset import RenderedSet, empty_arrays
from training.rendered.source import MixedBatches, RenderedBatches
from training.samples.generator import SampleConfig, SampleGenerator
from training.samples.world_model import HIPS, LEVELS, WorldErrorModel, flip_limbs
from training.trainer.config import ConfigError, config_from_dict, load_config, save_config
from training.trainer.data import WithheldWorld, regress
from training.trainer.module import RegressorTraining
from training.world.fit import WorldPairs, fit_world_errors, rotation_spreads
from training.world.statistics import world_error_statistics

pytestmark = pytest.mark.usefixtures("one_thread")
SAMPLES = 2048
FOREARMS = [1, 3]  # LIMBS: the left and right forearms (elbow to wrist)


def diagonal(*std_deg: float) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(math.radians(s) ** 2 if i == j else 0.0 for j in range(3)) for i, s in enumerate(std_deg))


def planted_model() -> WorldErrorModel:
    """A model with known, MediaPipe-like parameters."""
    g = torch.Generator().manual_seed(0)
    return WorldErrorModel(
        ray_share=0.5,
        pitch_slope=(-0.3, 0.0, 0.0),
        rotation_offset=(0.0, 0.0, 0.0),
        rotation_weights=(0.8, 0.2),
        rotation_covariances=(diagonal(4.0, 8.0, 4.0), diagonal(10.0, 20.0, 10.0)),
        optical_axis_share=0.5,
        gross_rate=0.03,
        gross_rotations=((0.0, 2.8, 0.0), (0.0, -2.5, 0.3), (2.2, 0.0, 0.0)),
        scale_size_slope=-0.2,
        size_reference_m=0.55,
        scale_quantiles=tuple(math.log(0.92) + 0.08 * torch.special.ndtri(torch.tensor(LEVELS).clamp(0.005, 0.995))),
        depth_scale=0.85,
        limb_flip_rates=(0.05, 0.12, 0.03, 0.05),
        swap_rates=(0.0, 0.02, 0.01),
        offset=tuple((0.0, 0.02 if i in (0, 15, 16) else 0.0, 0.0) for i in range(33)),
        factors=tuple(map(tuple, (torch.randn(99, 4, generator=g) * 0.02).tolist())),
        noise_std=(0.03,) * 99,
        residual_level_spread=0.3,
    )


@pytest.fixture(scope="module")
def truth() -> WorldPairs:
    """SAMPLES exact samples of the generator as pairs without predictions: truth, pitch, hips."""
    batch = SampleGenerator(SampleConfig(batch_size=SAMPLES, seed=3, corrupt=False, family_fraction=0.3)).batch(0)
    landmarks = batch["landmarks3d"].double()
    hips = landmarks[:, list(HIPS)].mean(dim=1)
    hips_camera = hips + batch["transl"].double()
    hips_camera[:, :2] *= batch["perspective"][:, None]
    return WorldPairs(torch.zeros_like(landmarks), landmarks - hips[:, None], batch["view"][:, 1].double(),
                      hips_camera, batch["family"].numpy(), np.arange(SAMPLES) // 16)


def observed(model: WorldErrorModel, pairs: WorldPairs, seed: int) -> WorldPairs:
    predicted = model.apply(pairs.truth.float(), pairs.pitch.float(), pairs.hips.float(),
                            torch.Generator().manual_seed(seed)).double()
    return replace(pairs, predicted=predicted)


def test_statistics_measure_planted_errors(truth):
    x = truth.truth[:256]
    turn = axis_angle_to_matrix(torch.tensor([[0.0, math.radians(30.0), 0.0]], dtype=torch.float64))
    stats = world_error_statistics(0.9 * x @ turn.transpose(1, 2), x)
    assert np.allclose(stats.rotation_deg, 30.0, atol=1e-3) and np.allclose(stats.scale, 0.9, atol=1e-6)
    assert stats.pa_error_cm < 1e-3 and stats.gross_share == 0.0 and stats.depth_slope == pytest.approx(1.0)
    assert stats.mean_error_cm > 10.0
    slopes = [world_error_statistics(x * torch.tensor([1.0, 1.0, k], dtype=torch.float64), x).depth_slope
              for k in (0.9, 0.8)]  # the alignment's scale takes up part of it
    assert 1.0 > slopes[0] > slopes[1] and slopes[1] < 0.95
    forearms = torch.zeros(len(x), 8, dtype=torch.bool)
    forearms[:, FOREARMS] = True
    stats = world_error_statistics(flip_limbs(x, forearms), x)
    assert stats.limb_flips[1] > 0.95 and stats.limb_flips[0] < 0.05 and stats.limb_flips[3] < 0.05
    garbage = x.clone()
    garbage[:, 0] += 5.0  # the nose far off, but marked as missing truth
    valid = torch.ones(x.shape[:2], dtype=torch.bool)
    valid[:, 0] = False
    assert world_error_statistics(garbage, x, valid).mean_error_cm < 1e-6


def test_fitting_recovers_a_planted_models_parameters(truth):
    planted = planted_model()
    fitted = fit_world_errors(observed(planted, truth, seed=1))
    assert fitted.ray_share == pytest.approx(planted.ray_share, abs=0.1)
    assert fitted.pitch_slope[0] == pytest.approx(planted.pitch_slope[0], abs=0.06)
    assert fitted.gross_rate == pytest.approx(planted.gross_rate, abs=0.012)
    assert fitted.depth_scale == pytest.approx(planted.depth_scale, abs=0.05)
    assert fitted.swap_rates[1] == pytest.approx(planted.swap_rates[1], abs=0.01)
    assert np.allclose(fitted.limb_flip_rates, planted.limb_flip_rates, atol=0.04)
    assert np.median(np.exp(fitted.scale_quantiles)) == pytest.approx(0.92, abs=0.03)
    assert fitted.scale_size_slope == pytest.approx(planted.scale_size_slope, abs=0.1)
    assert fitted.optical_axis_share < 0.8  # the turn within the photo is the surest, as planted
    nose_offset = np.array(fitted.offset)[0]
    assert nose_offset[1] == pytest.approx(0.02, abs=0.01) and abs(nose_offset[0]) < 0.01


def test_the_fitted_model_reproduces_the_errors_it_was_fitted_to(truth):
    data = observed(planted_model(), truth, seed=2)
    fitted = fit_world_errors(data)
    again = observed(fitted, truth, seed=3)
    a, b = (world_error_statistics(p.predicted, truth.truth) for p in (data, again))
    assert b.rotation_deg[0] == pytest.approx(a.rotation_deg[0], rel=0.15)
    assert b.rotation_deg[2] == pytest.approx(a.rotation_deg[2], rel=0.15)
    assert b.pa_error_cm == pytest.approx(a.pa_error_cm, rel=0.1)
    assert b.mean_error_cm == pytest.approx(a.mean_error_cm, rel=0.15)
    assert np.allclose(b.scale, a.scale, atol=0.03) and b.depth_slope == pytest.approx(a.depth_slope, abs=0.04)
    spreads = [rotation_spreads(fitted, truth, p.predicted) for p in (data, again)]
    assert np.allclose(spreads[0][0], spreads[1][0], rtol=0.2) and spreads[1][1] == pytest.approx(spreads[0][1], rel=0.25)


def test_the_model_file_round_trips_and_a_missing_one_names_its_command(tmp_path):
    model = planted_model()
    loaded = WorldErrorModel.load(model.save(tmp_path / "model.json"))
    assert np.allclose(loaded.factors, model.factors, atol=1e-6) and loaded.gross_rotations == model.gross_rotations
    with pytest.raises(FileNotFoundError, match="fit-world-errors"):
        WorldErrorModel.load(tmp_path / "none.json")


def test_the_generator_draws_world_landmarks_from_the_fitted_model_or_independent_noise():
    fitted = SampleGenerator(SampleConfig(batch_size=256, seed=4, coco_fraction=0.0))
    independent = SampleGenerator(SampleConfig(batch_size=256, seed=4, coco_fraction=0.0, fitted_world_errors=False))
    batch, plain = fitted.batch(0), independent.batch(0)
    truth = batch["landmarks3d"] - batch["landmarks3d"][:, list(HIPS)].mean(dim=1, keepdim=True)
    turned = world_error_statistics(batch["world"], truth)
    noisy = world_error_statistics(plain["world"], truth)
    assert turned.rotation_deg[0] > 8.0 > noisy.rotation_deg[0]  # MediaPipe-like: the whole body turns
    assert turned.scale[2] < 0.97 and 0.97 < noisy.scale[2] < 1.03
    both_hips = batch["mask"][:, list(HIPS)].all(dim=1).bool()  # (hidden landmarks' world is zeroed)
    assert torch.allclose(batch["world"][both_hips][:, list(HIPS)].mean(dim=1), torch.zeros(1, 3), atol=1e-5)
    assert torch.equal(fitted.batch(0)["world"], batch["world"])  # reproducible per index


def fake_rendered(rows: int) -> RenderedSet:
    """A rendered set whose 'MediaPipe' landmarks are the generator's own (no rendering): plumbing only."""
    batch = SampleGenerator(SampleConfig(batch_size=rows, seed=9, perspective_fraction=1.0, coco_fraction=0.0,
                                         hide_fraction=0.0)).batch(0)
    arrays = empty_arrays(rows)
    arrays["found"][:] = True
    arrays["pixels"][:] = (batch["keypoints"] + 1.0).numpy() * 100.0
    for name, key in (("visibility", "visibility"), ("world", "world"), ("global_orient", "global_orient"),
                      ("body_pose", "body_pose"), ("betas", "betas"), ("transl", "transl"), ("focal", "focal_length"),
                      ("principal", "principal_point"), ("family", "family"), ("view", "view")):  # fmt: skip
        arrays[name][:] = batch[key].numpy()
    return RenderedSet(**arrays, info={"split": "train", "seed": 9, "photo_px": 512, "families": []})


def test_withheld_rows_synthetic_and_rendered_have_no_world_landmarks(tmp_path):
    synthetic = SampleGenerator(SampleConfig(batch_size=96, seed=1, coco_fraction=0.0))
    source = WithheldWorld(MixedBatches(synthetic, RenderedBatches(fake_rendered(32), synthetic, 32)), 0.25, seed=1)
    batch = source.batch(5)
    withheld = ~batch["has_world"]
    assert 0.15 < float(withheld.float().mean()) < 0.35
    assert withheld[:96].any() and withheld[96:].any()  # synthetic rows and rendered rows alike
    assert torch.equal(batch["world"][withheld], torch.zeros(int(withheld.sum()), 33, 3))
    assert (batch["world"][~withheld].abs().sum(dim=(1, 2)) > 0).all()
    assert torch.equal(source.batch(5)["has_world"], batch["has_world"])  # reproducible per index
    net = RegressorTraining({"model": {"feature_dim": 64, "encoder_opts": {"width": 64, "num_blocks": 1},
                                       "regressor_opts": {"head_widths": [64, 32]}}}).net.eval()  # fmt: skip
    with torch.no_grad():
        out = regress(net, batch, use_world=True)
        alone = net(batch["keypoints"][withheld], batch["visibility"][withheld], batch["mask"][withheld])
    assert torch.allclose(out.camera[withheld], alone.camera, atol=1e-5)  # the encoder saw zeros and the flag


def test_world_settings_are_checked_by_name_and_round_trip(tmp_path):
    with pytest.raises(ConfigError) as info:
        config_from_dict({"data": {"world_withheld_fraction": 1.0}})
    assert info.value.field == "data.world_withheld_fraction"
    with pytest.raises(ConfigError) as info:
        config_from_dict({"data": {"generator": {"fitted_world_errors": "yes"}}})
    assert info.value.field.startswith("data.generator")
    config = config_from_dict({"data": {"world_withheld_fraction": 0.3, "generator": {
        "fitted_world_errors": False, "pitch_modes": [[1.0, 0.0, 30.0]], "lens_modes_mm": [[2, 24, 26], [1, 50, 85]]}}})
    assert config.data.world_withheld_fraction == 0.3 and not config.data.sample_config().fitted_world_errors
    assert load_config(save_config(config, tmp_path / "c.yaml")) == config
    assert config_from_dict({}).data.world_withheld_fraction == 0.25 and SampleConfig().fitted_world_errors
