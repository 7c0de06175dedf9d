"""MediaPipe landmarks on the body: the shipped definition loads and is sane, and the restricted skinning pass gives the
same landmarks as the full mesh."""

import json

import pytest
import torch

from hkmr_studio.body.landmarks import (
    LANDMARK_MIRROR,
    BodyLandmarks,
    LandmarkDefinitionError,
    default_definition_path,
    landmarks_from_body,
    load_landmark_definition,
)
from hkmr_studio.body.model import BodyModel
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES


@pytest.fixture(scope="module")
def definition():
    return load_landmark_definition()


def _random_pose(batch: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (
        torch.randn(batch, 3, generator=g),
        0.3 * torch.randn(batch, 69, generator=g),
        torch.randn(batch, 10, generator=g),
    )


def test_definition_loads_with_33_landmarks_whose_weights_sum_to_one(definition, body):
    assert tuple(lm.name for lm in definition.landmarks) == MEDIAPIPE_LANDMARK_NAMES
    assert definition.num_vertices == body.num_vertices
    for lm in definition.landmarks:
        weights = lm.vertex_weights + lm.joint_weights
        assert min(weights) >= 0 and sum(weights) == pytest.approx(1.0, abs=1e-4), lm.name


def test_left_landmarks_lie_at_plus_x_of_right_ones_on_the_rest_body(definition, body):
    rest = landmarks_from_body(body.smpl.v_template[None], body.joint_template[None], definition)[0]
    for i, j in enumerate(LANDMARK_MIRROR):
        name = MEDIAPIPE_LANDMARK_NAMES[i]
        if name.startswith("left") or name.endswith("_left"):
            assert rest[i, 0] > rest[j, 0] + 0.01, name
            mirrored = rest[j] * torch.tensor([-1.0, 1.0, 1.0])
            assert torch.allclose(rest[i], mirrored, atol=1e-3), name  # the calibration keeps pairs symmetric


def test_restricted_skinning_matches_the_full_mesh(definition, body):
    global_orient, body_pose, betas = _random_pose(4, 0)
    extra = [0, 100, 5000]
    out = BodyLandmarks(body, definition, extra_vertices=extra)(global_orient, body_pose, betas)
    full = body(global_orient, body_pose, betas)
    assert torch.allclose(out.joints, full.joints, atol=1e-5)
    assert torch.allclose(out.landmarks, landmarks_from_body(full.vertices, full.joints, definition), atol=1e-5)
    assert torch.allclose(out.vertices, full.vertices[:, extra], atol=1e-5)


def test_restricted_skinning_applies_pose_correctives(definition):
    body = BodyModel()  # a private copy: its pose correctives are replaced
    body.smpl.posedirs = 1e-3 * torch.randn(body.smpl.posedirs.shape, generator=torch.Generator().manual_seed(1))
    global_orient, body_pose, betas = _random_pose(2, 2)
    out = BodyLandmarks(body, definition)(global_orient, body_pose, betas)
    full = body(global_orient, body_pose, betas)
    assert torch.allclose(out.landmarks, landmarks_from_body(full.vertices, full.joints, definition), atol=1e-5)


def test_landmarks_are_differentiable(definition, body):
    vertices = body.smpl.v_template[None].clone().requires_grad_(True)
    joints = body.joint_template[None].clone().requires_grad_(True)
    landmarks_from_body(vertices, joints, definition).sum().backward()
    assert vertices.grad.abs().sum() > 0 and joints.grad.abs().sum() > 0


def _write_modified(tmp_path, change) -> str:
    document = json.loads(default_definition_path().read_text())
    change(document)
    path = tmp_path / "landmarks.json"
    path.write_text(json.dumps(document))
    return path


def test_bad_definitions_are_refused_with_a_reason(tmp_path):
    def unnormalised(doc):
        doc["landmarks"][3]["vertex_weights"][0] += 0.5

    def reordered(doc):
        doc["landmarks"][1], doc["landmarks"][2] = doc["landmarks"][2], doc["landmarks"][1]

    def out_of_range(doc):
        doc["landmarks"][0]["vertices"][0] = doc["num_vertices"]

    for change, reason in ((unnormalised, "sum to"), (reordered, "order"), (out_of_range, "outside")):
        with pytest.raises(LandmarkDefinitionError, match=reason):
            load_landmark_definition(_write_modified(tmp_path, change))
    with pytest.raises(LandmarkDefinitionError, match="calibrate-landmarks"):
        load_landmark_definition(tmp_path / "missing.json")


def test_a_definition_for_another_body_is_refused(definition, body):
    with pytest.raises(ValueError, match="vertices"):
        landmarks_from_body(torch.zeros(1, 6890, 3), torch.zeros(1, 24, 3), definition)
