"""Mirror averaging: the averaged answer of any keypoint network is exactly mirror-symmetric, and its pieces (mirrored
landmarks and poses, the per-joint rotation average) do what they say."""

from __future__ import annotations

import math

import pytest
import torch

from hkmr_studio.body.landmarks import LANDMARK_MIRROR
from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from hkmr_studio.nets.mirror_average import average_poses, mirror_averaged, mirror_landmarks, mirror_pose
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig


def test_mirroring_twice_gives_back_the_landmarks_and_the_pose():
    points = torch.randn(4, 33, 3)
    pose = torch.randn(4, 24, 3) * 0.5
    torch.testing.assert_close(mirror_landmarks(mirror_landmarks(points)), points)
    torch.testing.assert_close(mirror_pose(mirror_pose(pose)), pose)


def test_the_average_of_two_turns_about_one_axis_is_the_turn_halfway():
    axis = torch.tensor([0.0, 0.6, 0.8])
    first, second = (axis * angle for angle in (0.2, 1.4))
    halfway = average_poses(first[None, None], second[None, None])[0, 0]
    torch.testing.assert_close(halfway, axis * 0.8, atol=1e-5, rtol=0)
    # opposite quaternion signs describe the same rotation: a turn of 2 pi - 0.2 the other way round is `first`
    same_as_first = -axis * (2.0 * math.pi - 0.2)
    torch.testing.assert_close(average_poses(same_as_first[None, None], second[None, None])[0, 0], axis * 0.8,
                               atol=1e-4, rtol=0)


def test_a_mirror_averaged_network_answers_a_mirror_image_with_the_mirrored_body():
    torch.manual_seed(0)
    net = MeshRegressor(ModelConfig(regressor="hkmr", feature_dim=64)).eval()  # untrained: far from symmetric
    landmarks, visibility = torch.rand(3, 33, 2) * 2 - 1, torch.rand(3, 33)
    mask, world = torch.ones(3, 33), torch.randn(3, 33, 3) * 0.3
    order = list(LANDMARK_MIRROR)
    with torch.no_grad():
        given = mirror_averaged(net, landmarks, visibility, mask, world)
        mirrored = mirror_averaged(net, mirror_landmarks(landmarks), visibility[:, order], mask[:, order],
                                   mirror_landmarks(world))
        plain = net(landmarks, visibility, mask, world)
        plain_mirrored = net(mirror_landmarks(landmarks), visibility[:, order], mask[:, order], mirror_landmarks(world))

    def pose(out):
        return torch.cat([out.global_orient, out.body_pose], dim=1).reshape(3, 24, 3)

    torch.testing.assert_close(mirror_pose(pose(mirrored)), pose(given), atol=1e-4, rtol=0)
    torch.testing.assert_close(mirrored.betas, given.betas, atol=1e-5, rtol=0)
    assert (mirror_pose(pose(plain_mirrored)) - pose(plain)).abs().max() > 1e-2  # the bare network is not symmetric


def _two_pass_reference(net, landmarks, visibility, mask, world):
    """Mirror averaging as two separate forward passes, one per image: what the one batched pass must equal."""
    order = list(LANDMARK_MIRROR)
    plain = net(landmarks, visibility, mask, world)
    mirrored = net(mirror_landmarks(landmarks), visibility[:, order], mask[:, order],
                   None if world is None else mirror_landmarks(world))

    def pose(out):
        return torch.cat([out.global_orient, out.body_pose], dim=1).reshape(len(landmarks), 24, 3)

    camera = (plain.camera + mirrored.camera * torch.tensor([1.0, -1.0, 1.0])) / 2.0
    return plain, average_poses(pose(plain), mirror_pose(pose(mirrored))), (plain.betas + mirrored.betas) / 2.0, camera


@pytest.mark.parametrize("with_world", [True, False])
@pytest.mark.parametrize("rows", [1, 5])
def test_one_batched_pass_over_both_images_equals_two_separate_passes(with_world, rows):
    torch.manual_seed(rows)
    net = MeshRegressor(ModelConfig()).eval()  # the shipped architecture (feature_dim 1024, encoder width 1024)
    landmarks, visibility = torch.rand(rows, 33, 2) * 2 - 1, torch.rand(rows, 33)
    mask = (torch.rand(rows, 33) > 0.1).float()
    world = torch.randn(rows, 33, 3) * 0.3 if with_world else None
    with torch.inference_mode():
        batched = mirror_averaged(net, landmarks, visibility, mask, world)
        plain, pose, betas, camera = _two_pass_reference(net, landmarks, visibility, mask, world)
    torch.testing.assert_close(batched.global_orient, pose[:, 0], atol=1e-5, rtol=0)
    torch.testing.assert_close(batched.body_pose, pose[:, 1:].reshape(rows, 69), atol=1e-5, rtol=0)
    torch.testing.assert_close(batched.betas, betas, atol=1e-5, rtol=0)
    torch.testing.assert_close(batched.camera, camera, atol=1e-5, rtol=0)
    torch.testing.assert_close(batched.rotmats, axis_angle_to_matrix(pose), atol=1e-5, rtol=0)
    for name in ("pass_poses", "betas", "cameras"):  # the trace is the given rows' own, not the mirror images'
        torch.testing.assert_close(getattr(batched.trace, name), getattr(plain.trace, name), atol=1e-5, rtol=0)
