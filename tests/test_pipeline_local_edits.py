"""Keypoint edits stay local: a dragged wrist moves its arm to the cursor and leaves the other chains where they
were; a hidden knee frees its leg only."""

import numpy as np
import pytest
import torch

from hkmr_studio.bench.edits import FOCAL_PX, FRAME, exact_keypoints, prior_bodies
from hkmr_studio.body import kinematics
from hkmr_studio.body.keypoint_sets import MEDIAPIPE_LANDMARK_NAMES
from hkmr_studio.body.landmarks import landmarks_from_body
from hkmr_studio.fitting.result import root_aligned_change_mm
from hkmr_studio.geometry.cameras import perspective_project
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.pipeline.local_edits import LANDMARK_CHAIN, edited_landmarks, held_joints, moved_keypoints

LEFT_WRIST = MEDIAPIPE_LANDMARK_NAMES.index("left_wrist")
RIGHT_KNEE = MEDIAPIPE_LANDMARK_NAMES.index("right_knee")


@pytest.fixture(scope="module")
def recovered():
    """The app's body for the exact keypoints of a body drawn from the pose prior."""
    pipeline = Pipeline(device="cpu")
    keypoints = exact_keypoints(pipeline, prior_bodies(1, seed=3)[0])
    blank = LoadedImage(np.zeros((FRAME[1], FRAME[0], 3), np.uint8), None)
    return pipeline, pipeline.run(blank, keypoints=keypoints, focal_length=FOCAL_PX)


def _change(before, after, chain: str) -> tuple[float, float]:
    change = root_aligned_change_mm(torch.as_tensor(before.joints3d)[None], torch.as_tensor(after.joints3d)[None])[0]
    own = list(kinematics.CHAIN_BY_NAME[chain].joints)
    return float(change[[j for j in range(24) if j not in own]].mean()), float(change[own].mean())


def test_chains_of_edited_keypoints_are_freed_and_the_rest_held():
    assert LANDMARK_CHAIN[LEFT_WRIST] == "left_arm" and LANDMARK_CHAIN[0] == "head"
    assert LANDMARK_CHAIN[RIGHT_KNEE] == "right_leg"
    held = held_joints([LEFT_WRIST])
    assert set(range(24)) - set(held) == set(kinematics.CHAIN_BY_NAME["left_arm"].joints)


def test_a_dragged_wrist_reaches_the_cursor_and_the_other_chains_stay(recovered, one_thread):
    pipeline, base = recovered
    cursor = base.keypoints.xy[LEFT_WRIST] + [30.0, -30.0]
    moved = moved_keypoints(base.keypoints, LEFT_WRIST, tuple(cursor))
    assert edited_landmarks(base.keypoints, moved) == [15, 17, 19, 21]  # the wrist carries its hand
    fit = pipeline.refit(base, moved).best
    untouched, own = _change(base.best, fit, "left_arm")
    assert untouched <= 20.0 and own > 30.0
    landmarks = landmarks_from_body(torch.as_tensor(fit.vertices)[None], torch.as_tensor(fit.joints3d)[None])
    reached = perspective_project(landmarks, base.focal_length, torch.tensor([base.principal_point]))[0, LEFT_WRIST]
    assert np.linalg.norm(reached.numpy() - cursor) < 10.0


def test_a_hidden_knee_frees_its_leg_only(recovered, one_thread):
    pipeline, base = recovered
    visibility = base.keypoints.visibility.copy()
    visibility[RIGHT_KNEE] = 0.0
    hidden = Keypoints2D(base.keypoints.xy, visibility, base.keypoints.present, "user", world=base.keypoints.world)
    untouched, _ = _change(base.best, pipeline.refit(base, hidden).best, "right_leg")
    assert untouched <= 20.0
