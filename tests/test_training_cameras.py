"""Photo-like cameras of the synthetic samples: a camera looking down sees a standing body as a high camera would, pitch,
roll and lens follow their stated mixtures, the photo's border cuts the share of people it should where it should, the
person fills the stated share of the photo, bad settings are refused by name, and the data card states the code's
distributions."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch

from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES
from training.samples import camera_card, mixtures
from training.samples.generator import SampleConfig, SampleConfigError, SampleGenerator
from training.samples.poses import simple_poses
from training.samples.views import camera_global_orient, sample_view
from training.trainer.config import ConfigError, config_from_dict
from training.trainer.data import true_landmark_pixels

NOSE, L_ANKLE, R_ANKLE = (MEDIAPIPE_LANDMARK_NAMES.index(n) for n in ("nose", "left_ankle", "right_ankle"))
KNEES = [MEDIAPIPE_LANDMARK_NAMES.index(n) for n in ("left_knee", "right_knee")]
SHOULDERS = [MEDIAPIPE_LANDMARK_NAMES.index(n) for n in ("left_shoulder", "right_shoulder")]
HIPS = [MEDIAPIPE_LANDMARK_NAMES.index(n) for n in ("left_hip", "right_hip")]
DRAWS = 20_000
#: Kolmogorov-Smirnov distance a sample of DRAWS stays under with 99.9 % probability.
KS_LIMIT = 1.95 / math.sqrt(DRAWS)

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def generator():
    return SampleGenerator(SampleConfig(batch_size=8, corrupt=False))


def standing(generator: SampleGenerator, pitch_deg: float, roll_deg: float = 0.0):
    poses = simple_poses()
    arms_down = 1  # "arms_down" in training/samples/poses.py
    angles = [torch.tensor([math.radians(a)]) for a in (0.0, pitch_deg, roll_deg)]
    orient = camera_global_orient(poses.global_orient[arms_down : arms_down + 1], *angles)
    return orient, generator.body(orient, poses.body_pose[arms_down : arms_down + 1], torch.zeros(1, 10)).landmarks[0]


def test_a_camera_looking_down_sees_a_standing_persons_head_nearer_than_the_feet(generator):
    def body_up(landmarks: torch.Tensor) -> torch.Tensor:
        up = landmarks[SHOULDERS].mean(dim=0) - landmarks[HIPS].mean(dim=0)
        return up / up.norm()

    _, level = standing(generator, 0.0)
    _, above = standing(generator, 40.0)
    assert abs(float(body_up(level)[2])) < 0.1  # a level camera: the trunk lies across the line of sight
    feet = above[[L_ANKLE, R_ANKLE]].mean(dim=0)
    assert above[NOSE, 2] < feet[2] - 0.8  # from 40 degrees above, the head is nearer the camera than the feet ...
    assert above[NOSE, 1] < feet[1] - 0.8  # ... and still above them in the photo
    assert float(body_up(above) @ world_up(40.0, 0.0)) > 0.98  # the trunk points along the world's up as seen
    # the view turns the body frame's +Y (up) into the world's up seen by the pitched and rolled camera
    orient, _ = standing(generator, 25.0, 15.0)
    rest = simple_poses().global_orient[1:2]
    turn = axis_angle_to_matrix(orient) @ axis_angle_to_matrix(rest).transpose(1, 2)
    assert torch.allclose(turn[0] @ torch.tensor([0.0, 1.0, 0.0]), world_up(25.0, 15.0), atol=1e-5)


def world_up(pitch_deg: float, roll_deg: float) -> torch.Tensor:
    """The world's up in the camera frame (x right, y down, z forward) of a camera whose axis points pitch_deg below
    the horizon and which is rolled by roll_deg about it: level, up is (0, -1, 0); pitched down by p it tilts towards
    the camera, (0, -cos p, -sin p); the roll turns it in the image plane."""
    p, r = math.radians(pitch_deg), math.radians(roll_deg)
    return torch.tensor([math.sin(r) * math.cos(p), -math.cos(r) * math.cos(p), -math.sin(p)])


@pytest.mark.parametrize(("name", "log"), [("pitch_modes", False), ("roll_modes", False), ("lens_modes_mm", True)])
def test_draws_follow_the_stated_mixtures(name, log):
    modes = getattr(SampleConfig(), name)
    draws = mixtures.sample(modes, DRAWS, torch.Generator().manual_seed(3), log=log).double().numpy()
    grid = mixtures.quantiles(modes, np.linspace(0.01, 0.99, 99), log=log)
    empirical = np.searchsorted(np.sort(draws), grid, side="right") / DRAWS
    assert np.abs(empirical - mixtures.cdf(modes, grid, log)).max() < KS_LIMIT
    assert np.allclose(mixtures.cdf(modes, grid, log), np.linspace(0.01, 0.99, 99), atol=1e-6)  # exact quantiles
    low, high = min(m[1] for m in modes), max(m[2] for m in modes)
    assert low <= draws.min() and draws.max() <= high


def test_views_yaw_all_round_and_pitch_down_as_stated():
    config = SampleConfig()
    yaw, pitch, roll = sample_view(DRAWS, torch.Generator().manual_seed(4), config.pitch_modes, config.roll_modes)
    back = (yaw.abs() > math.radians(135)).float().mean()
    assert abs(float(back) - 0.25) < 0.02  # back views as often as a uniform heading gives them
    down = float((pitch > math.radians(30)).float().mean())
    assert abs(down - float(1 - mixtures.cdf(config.pitch_modes, np.array(30.0)))) < KS_LIMIT
    assert down > 0.1 and float((pitch < math.radians(-5)).float().mean()) > 0.05  # from above and from below
    assert float((roll.abs() > math.radians(10)).float().mean()) > 0.05


def people(**settings) -> tuple[dict, torch.Tensor, torch.Tensor]:
    config = SampleConfig(batch_size=1024, seed=7, corrupt=False, **settings)
    batch = SampleGenerator(config).batch(0)
    return batch, batch["truncated"], true_landmark_pixels(batch, config.photo_px)


def test_the_border_cuts_only_the_share_it_should():
    batch, truncated, _ = people(truncation_fraction=0.0)
    assert not truncated.any()  # off-centre pinhole stretch is corrected, so nobody is cut by accident
    assert batch["perspective"].float().mean() > 0.7
    _, truncated, _ = people()
    share = float(truncated.any(dim=1).float().mean())
    config = SampleConfig()
    assert config.truncation_fraction - 0.1 < share < config.truncation_fraction + 0.03


def test_people_cut_from_below_lose_their_legs_and_keep_their_shoulders():
    _, truncated, pixels = people(truncation_fraction=1.0, bottom_cut_share=1.0, bottom_cut_range=(0.35, 0.4))
    upright = pixels[:, NOSE, 1] < pixels[:, [L_ANKLE, R_ANKLE], 1].mean(dim=1) - 100  # head well above the feet
    assert upright.sum() > 300
    assert truncated[upright][:, [L_ANKLE, R_ANKLE]].any(dim=1).float().mean() > 0.95  # (a raised foot may stay)
    assert truncated[upright][:, KNEES].any(dim=1).float().mean() > 0.5
    assert truncated[upright][:, SHOULDERS].any(dim=1).float().mean() < 0.02
    lowest_shown = torch.where(truncated, -1.0, pixels[..., 1]).amax(dim=1)
    assert float(lowest_shown.median()) > 440  # what stays in the photo reaches down to its bottom border


def test_uncut_people_fill_the_stated_share_of_the_photo():
    batch, _, pixels = people(truncation_fraction=0.0, fill_range=(0.5, 0.8))
    fill = (pixels.amax(dim=1) - pixels.amin(dim=1)).amax(dim=1) / 512.0
    nearest = (batch["landmarks3d"] + batch["transl"][:, None])[..., 2].amin(dim=1)
    assert nearest.min() > 0.5 - 1e-4  # nobody nearer the camera than NEAREST_M
    within = (fill > 0.5 - 0.02) & (fill < 0.8 + 0.02)
    assert within.float().mean() > 0.9  # as asked with the person centred; seen off-centre a deep body shrinks or grows
    assert fill.max() < 0.8 + 0.05
    far = nearest > 1.5
    assert within[far].float().mean() > 0.95


@pytest.mark.parametrize(
    ("generator_settings", "field"),
    [
        ({"pitch_modes": [[1.0, 30.0, 10.0]]}, "data.generator.pitch_modes"),
        ({"roll_modes": []}, "data.generator.roll_modes"),
        ({"lens_modes_mm": [[1.0, 0.0, 50.0]]}, "data.generator.lens_modes_mm"),
        ({"fill_range": [0.5, 1.5]}, "data.generator.fill_range"),
        ({"bottom_cut_share": 1.5}, "data.generator.bottom_cut_share"),
        ({"pitch_std_deg": 10.0}, "data.generator.pitch_std_deg"),
        ({"fov_range_deg": [25.0, 60.0]}, "data.generator.fov_range_deg"),
    ],
)
def test_camera_settings_are_checked_by_dotted_name(generator_settings, field):
    with pytest.raises(ConfigError) as info:
        config_from_dict({"data": {"generator": generator_settings}})
    assert info.value.field == field and str(info.value).startswith(f"{field}: ")
    if field.endswith("_deg"):
        assert "replaced by" in str(info.value)


def test_camera_settings_from_a_config_reach_the_generator():
    config = config_from_dict({"data": {"generator": {"pitch_modes": [[1, 40, 45]], "lens_modes_mm": [[1, 50, 50]]}}})
    samples = config.data.sample_config()
    assert samples.pitch_modes == ((1.0, 40.0, 45.0),) and samples.lens_modes_mm == ((1.0, 50.0, 50.0),)
    batch = SampleGenerator(replace(samples, batch_size=16)).batch(0)
    assert torch.rad2deg(batch["view"][:, 1]).min() >= 40.0 - 1e-4
    assert torch.allclose(batch["focal_length"], torch.full((16,), 50.0 * 512.0 / 36.0))
    with pytest.raises(SampleConfigError, match="^two_d_only_fraction: "):
        SampleConfig(two_d_only_fraction=2.0)


def test_the_card_states_what_the_code_draws():
    assert camera_card.stated(SampleConfig()) in camera_card.CARD_PATH.read_text(encoding="utf-8")
    other = camera_card.stated(SampleConfig(pitch_modes=((1.0, 0.0, 1.0),)))
    assert other != camera_card.stated(SampleConfig())
