"""Mirror averaging: the averaged answer of any keypoint network is exactly mirror-symmetric, and its pieces (mirrored
landmarks and poses, the per-joint rotation average) do what they say."""

from __future__ import annotations

import math

import torch

from hkmr_studio.body.landmarks import LANDMARK_MIRROR
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
