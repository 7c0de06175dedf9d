"""The facing check: a body turned round against a back view's evidence is flagged, the true body is not, and Flip
gives the body facing the other way."""

import math

import numpy as np
import pytest
import torch

from hkmr_studio.body.facing import facing_error_deg
from hkmr_studio.body.landmarks import landmarks_from_body
from hkmr_studio.body.model import load_body_model
from hkmr_studio.geometry.cameras import perspective_project
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.facing_check import check_facing, swap_sides
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D

FOCAL = 1500.0
SIZE = (960, 1280)
PRINCIPAL = torch.tensor([[480.0, 640.0]])


def _pose() -> torch.Tensor:
    """Walking: the left arm forward, the right back, the right knee bent, feet flat."""
    pose = torch.zeros(1, 23, 3)
    pose[0, 15, 2], pose[0, 16, 2] = -1.2, 1.2  # arms down from the T-pose
    pose[0, 15, 1], pose[0, 16, 1] = -0.4, -0.3  # left arm forward, right arm back
    pose[0, 1, 0], pose[0, 4, 0] = -0.4, 0.6  # right hip flexed, right knee bent
    return pose.reshape(1, 69)


def _seen(body, yaw: float) -> tuple[np.ndarray, np.ndarray]:
    """(33, 3) camera-frame landmarks and (33, 2) pixels of the body turned by `yaw` from facing the camera, from a
    camera 4 m away and 1 m above its hips."""
    facing = axis_angle_to_matrix(torch.tensor([[math.pi, 0.0, 0.0]]))
    look_down = axis_angle_to_matrix(torch.tensor([[-0.25, 0.0, 0.0]]))
    orient = matrix_to_axis_angle(look_down @ facing @ axis_angle_to_matrix(torch.tensor([[0.0, yaw, 0.0]])))
    with torch.no_grad():
        out = body(orient, _pose(), torch.zeros(1, 10), torch.tensor([[0.0, 0.3, 4.0]]))
        points = landmarks_from_body(out.vertices, out.joints)
    return points[0].double().numpy(), perspective_project(points, FOCAL, PRINCIPAL)[0].double().numpy()


@pytest.fixture(scope="module")
def back_view():
    """Exact keypoints and world landmarks of a back view (turned 170 degrees), and the landmarks of that body and
    of the same body turned round to face the camera."""
    body = load_body_model()
    truth, pixels = _seen(body, math.radians(170))
    world = truth - truth[[23, 24]].mean(0)
    keypoints = Keypoints2D(pixels, np.ones(33), np.ones(33, dtype=bool), "user", world=world)
    return keypoints, (truth, pixels), _seen(body, math.radians(-10))


def test_a_body_turned_round_against_a_back_views_evidence_is_flagged_and_the_true_body_is_not(back_view):
    keypoints, true_body, turned_body = back_view
    right, wrong = check_facing(keypoints, *true_body), check_facing(keypoints, *turned_body)
    assert right.agreement > 0.8 and not right.flagged and right.message == ""
    assert wrong.flagged and wrong.agreement < -0.5
    assert "may face the wrong way" in wrong.message and "shoulders" in wrong.message


def test_the_other_reading_of_the_keypoints_is_its_own_inverse_and_faces_the_other_way(back_view):
    keypoints, _, _ = back_view
    swapped = swap_sides(keypoints)
    again = swap_sides(swapped)
    assert np.array_equal(again.xy, keypoints.xy) and np.array_equal(again.world, keypoints.world)
    assert swapped.xy[11].tolist() == keypoints.xy[12].tolist()  # the left shoulder is read where the right was
    turned = facing_error_deg(torch.as_tensor(swapped.world), torch.as_tensor(keypoints.world))
    assert turned.item() > 120.0  # a mirror in depth: turned round, tilted by the camera looking down


def test_flip_turns_the_body_round_and_back(back_view, one_thread):
    keypoints, (truth, _), _ = back_view
    pipeline = Pipeline(device="cpu")
    result = pipeline.run(LoadedImage(np.zeros((SIZE[1], SIZE[0], 3), np.uint8), None), keypoints=keypoints,
                          focal_length=FOCAL)
    flipped = pipeline.flip(result)
    assert flipped.flipped and flipped.other_way is result and not result.flipped

    def facing_of(r) -> torch.Tensor:
        body = r.best
        return landmarks_from_body(torch.as_tensor(body.vertices)[None], torch.as_tensor(body.joints3d)[None])

    assert facing_error_deg(facing_of(result), facing_of(flipped)).item() > 90.0
    assert facing_error_deg(facing_of(result), torch.as_tensor(truth)[None].float()).item() < 60.0
