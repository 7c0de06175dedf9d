"""Synthetic training samples: exact projections without corruption, reproducible batches, half of them 2D-only,
occluders and the body itself lowering the visibility of what they hide."""

import math

import pytest
import torch

from hkmr_studio.body.joint_limits import BODY_JOINT_NAMES, joint_angles, within_limits
from hkmr_studio.body.model import load_body_model
from hkmr_studio.geometry.cameras import (
    crop_camera_to_image_translation,
    perspective_project,
    pixels_to_normalised,
    weak_perspective_project,
)
from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from hkmr_studio.nets.vae import PoseVAE
from hkmr_studio.occlusion import make_occluder
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES
from training.samples import corruption
from training.samples.cameras import PhotoCameras
from training.samples.generator import SampleConfig, SampleDataset, SampleGenerator
from training.samples.poses import perturb_body_pose, simple_poses, vae_sampler
from training.samples.views import camera_global_orient

BATCH = 32
L_WRIST, R_WRIST = MEDIAPIPE_LANDMARK_NAMES.index("left_wrist"), MEDIAPIPE_LANDMARK_NAMES.index("right_wrist")


@pytest.fixture(scope="module")
def generator():
    return SampleGenerator(SampleConfig(batch_size=BATCH, seed=5))


@pytest.fixture(scope="module")
def clean():
    return SampleGenerator(SampleConfig(batch_size=BATCH, corrupt=False, perspective_fraction=0.5))


def test_batch_has_the_documented_keys_and_shapes(generator):
    batch = generator.batch(0)
    shapes = {
        "keypoints": (BATCH, 33, 2), "keypoints_px": (BATCH, 33, 2), "visibility": (BATCH, 33), "mask": (BATCH, 33),
        "world": (BATCH, 33, 3), "joints3d": (BATCH, 24, 3), "joints2d": (BATCH, 24, 2), "global_orient": (BATCH, 3),
        "body_pose": (BATCH, 69), "betas": (BATCH, 10), "camera": (BATCH, 3), "has_3d": (BATCH,),
        "has_smpl": (BATCH,),
    }  # fmt: skip
    for key, shape in shapes.items():
        assert tuple(batch[key].shape) == shape, key
        assert torch.isfinite(batch[key].float()).all(), key
    assert ((batch["visibility"] >= 0) & (batch["visibility"] <= 1)).all()
    assert torch.allclose(batch["joints3d"][:, 0], torch.zeros(BATCH, 3))


def test_without_noise_keypoints_are_the_camera_projection_of_the_3d_landmarks(clean):
    batch = clean.batch(1)
    weak, persp = ~batch["perspective"], batch["perspective"]
    assert weak.any() and persp.any()
    projected = weak_perspective_project(batch["landmarks3d"], batch["camera"])
    assert torch.allclose(batch["keypoints"][weak], projected[weak], atol=1e-5)
    pixels = perspective_project(batch["landmarks3d"] + batch["transl"][:, None], batch["focal_length"],
                                 batch["principal_point"])  # fmt: skip
    normalised = pixels_to_normalised(pixels, batch["box"][:, :2], batch["box"][:, 2])
    assert torch.allclose(batch["keypoints"][persp], normalised[persp], atol=1e-5)
    assert torch.allclose(batch["keypoints_px"], (batch["keypoints"] + 1) * 112, atol=1e-4)
    # the crop camera is the one the inference pipeline turns back into the translation
    transl = crop_camera_to_image_translation(batch["camera"], batch["box"][:, :2], batch["box"][:, 2],
                                              batch["focal_length"], batch["principal_point"])  # fmt: skip
    assert torch.allclose(transl, batch["transl"], atol=1e-4)
    # the SMPL labels reproduce the 3D joints, and their projection is the 2D joint label
    joints = load_body_model().joints_only(batch["global_orient"], batch["body_pose"], batch["betas"])
    assert torch.allclose(joints - joints[:, :1], batch["joints3d"], atol=1e-5)
    assert torch.allclose(weak_perspective_project(joints, batch["camera"])[weak], batch["joints2d"][weak], atol=1e-5)


def test_same_seed_same_batch_other_seed_or_index_another(generator):
    again = SampleGenerator(SampleConfig(batch_size=BATCH, seed=5))
    first, second = generator.batch(3), again.batch(3)
    for key in first:
        assert torch.equal(first[key], second[key]), key
    other_seed = SampleGenerator(SampleConfig(batch_size=BATCH, seed=6)).batch(3)
    assert not torch.equal(first["keypoints"], other_seed["keypoints"])
    assert not torch.equal(first["body_pose"], generator.batch(4)["body_pose"])


def test_half_of_each_batch_is_2d_only(generator):
    for index in range(3):
        batch = generator.batch(index)
        assert int(batch["has_3d"].sum()) == BATCH // 2
        assert torch.equal(batch["has_3d"], batch["has_smpl"])


def test_dataset_streams_the_generators_batches(generator):
    batches = list(SampleDataset(generator, start=2, num_batches=2))
    assert len(batches) == 2 and torch.equal(batches[1]["keypoints"], generator.batch(3)["keypoints"])


def test_an_occluder_lowers_visibility_exactly_where_it_covers(generator):
    g = torch.Generator().manual_seed(0)
    pixels = torch.rand(1, 33, 2, generator=g) * 224
    visibility = torch.full((1, 33), 0.9)
    bar = make_occluder("bar", 3, tuple(pixels[0, 5].tolist()), angle=0.7)
    covered = corruption.covered_by([bar], pixels)
    assert covered[0, 5] and torch.equal(covered[0], torch.from_numpy(bar.covers(pixels[0].numpy())))
    moved, lowered = corruption.occlude(pixels, visibility, covered, torch.tensor([200.0]), generator.statistics, g)
    assert (lowered[covered] < visibility[covered]).all()
    assert torch.equal(lowered[~covered], visibility[~covered]) and torch.equal(moved[~covered], pixels[~covered])


def test_occluders_in_batches_are_sized_by_degree_for_the_crop(generator):
    targets = torch.full((64, 33, 2), 100.0)
    occluders = corruption.random_occluders(targets, torch.full((64,), 448.0), 1.0, torch.Generator().manual_seed(1))
    widths = {o.width for o in occluders if type(o).__name__ == "Bar"}
    assert widths and widths <= {20.0 * d for d in range(1, 6)}  # 10 d px at 224 px is 20 d px at 448 px


def test_in_a_side_view_the_far_wrist_is_less_visible_than_the_near_one(clean):
    poses = simple_poses()
    arms_down = 1  # "arms_down" in training/samples/poses.py
    half_turn = torch.tensor([math.pi / 2])
    global_orient = camera_global_orient(poses.global_orient[arms_down : arms_down + 1], half_turn,
                                         torch.zeros(1), torch.zeros(1))  # fmt: skip
    posed = clean.body(global_orient, poses.body_pose[arms_down : arms_down + 1], torch.zeros(1, 10))
    cameras = PhotoCameras(512.0, torch.tensor([600.0]), torch.tensor([[256.0, 256.0]]),
                           torch.tensor([[0.0, 0.0, 4.0]]), torch.tensor([True]))  # fmt: skip
    pixels, depth, _ = cameras.project(posed.landmarks)
    points, point_depth, per_metre = cameras.project(posed.vertices)
    hidden = clean.splats.occluded(pixels, depth, points, point_depth, per_metre)
    assert depth[0, L_WRIST] < depth[0, R_WRIST]  # the left side faces the camera
    assert hidden[0, R_WRIST] and not hidden[0, L_WRIST]
    visibility = corruption.visibility(hidden, torch.zeros_like(hidden), clean.statistics, None)
    assert visibility[0, R_WRIST] < visibility[0, L_WRIST]


def test_a_pose_sampler_hook_supplies_the_requested_share_of_poses():
    vae = PoseVAE().eval()
    sampler = vae_sampler(vae)
    first, again = sampler(5, torch.Generator().manual_seed(3)), sampler(5, torch.Generator().manual_seed(3))
    assert first.shape == (5, 69) and torch.equal(first, again)
    config = SampleConfig(batch_size=8, vae_fraction=1.0, perturb_max_deg=0.0)
    batch = SampleGenerator(config, pose_sampler=lambda n, g: torch.zeros(n, 69)).batch(0)
    assert torch.equal(batch["body_pose"], torch.zeros(8, 69))
    with pytest.raises(ValueError, match="pose_sampler"):
        SampleGenerator(config)


def test_pose_families_supply_their_share_of_poses_with_their_weights():
    config = SampleConfig(batch_size=64, family_fraction=0.5, family_weights={"sitting_chair": 1.0})
    generator = SampleGenerator(config)
    batch = generator.batch(3)
    angles = torch.rad2deg(joint_angles(batch["body_pose"].reshape(-1, 23, 3)))
    knee_flexion = angles[:, BODY_JOINT_NAMES.index("left_knee"), 0]
    sitting = (knee_flexion >= 75 - 0.1) & (knee_flexion <= 105 + 0.1) & within_limits(batch["body_pose"])
    assert 20 <= int(sitting.sum()) <= 44  # about half the batch sits (library poses rarely bend a knee that far)
    assert torch.equal(generator.batch(3)["body_pose"], batch["body_pose"])  # still reproducible per index
    with pytest.raises(ValueError, match="family weights"):
        SampleGenerator(SampleConfig(family_fraction=0.1, family_weights={"moonwalk": 1.0}))


def test_pose_perturbations_are_bounded():
    poses = simple_poses()
    g = torch.Generator().manual_seed(0)
    perturbed = perturb_body_pose(poses.body_pose, math.radians(10), g)
    before = axis_angle_to_matrix(poses.body_pose.reshape(-1, 3))
    after = axis_angle_to_matrix(perturbed.reshape(-1, 3))
    cos = ((before.transpose(1, 2) @ after).diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2
    angles = torch.arccos(cos.clamp(-1, 1))
    assert angles.max() <= math.radians(10) + 1e-3 and angles.mean() > math.radians(2)
