"""`python -m training evaluate`: a seeded test set, its occlusion grid, an oracle scoring zero, the JSON structure,
the table and the plot."""

from __future__ import annotations

import json

import pytest
import torch

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from hkmr_studio.occlusion import DEGREES, OCCLUDER_KINDS
from training.__main__ import main as training_main
from training.evaluation.evaluate import evaluate_predictor
from training.evaluation.testset import build_test_set
from training.poses.families import FAMILIES
from training.trainer.config import EVAL_SEED

SAMPLES, OCCLUDED, PER_FAMILY = 24, 3, 2


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: a second thread costs more than it saves


@pytest.fixture(scope="module")
def test_set():
    return build_test_set(SAMPLES, OCCLUDED, per_family=PER_FAMILY)


def oracle(batch):
    """Predicts every sample's true parameters, whatever its keypoints say."""
    return batch["global_orient"], batch["body_pose"], batch["betas"]


def test_test_set_is_seeded_and_the_grid_occludes_each_joint_of_each_sample(test_set):
    assert test_set.config.seed == EVAL_SEED and test_set.config.occluder_fraction == 0.0
    again = build_test_set(SAMPLES, OCCLUDED)
    assert torch.equal(again.standard["keypoints"], test_set.standard["keypoints"])
    assert torch.equal(again.occluded[("bar", 3)]["keypoints"], test_set.occluded[("bar", 3)]["keypoints"])
    assert set(test_set.occluded) == {(k, d) for k in OCCLUDER_KINDS for d in DEGREES}
    clean = test_set.clean["keypoints"].repeat(kinematics.NUM_JOINTS, 1, 1)
    changed = {}
    for (kind, degree), batch in test_set.occluded.items():
        assert len(batch["keypoints"]) == OCCLUDED * kinematics.NUM_JOINTS
        assert torch.equal(batch["joints3d"], test_set.clean["joints3d"].repeat(kinematics.NUM_JOINTS, 1, 1))
        changed[kind, degree] = float((batch["keypoints"] - clean).abs().sum(-1).gt(1e-6).float().mean())
    for kind in OCCLUDER_KINDS:  # bigger occluders disturb more landmarks
        assert 0.0 < changed[kind, 1] < changed[kind, 5]


def test_an_oracle_scores_zero_everywhere(test_set):
    result = evaluate_predictor(oracle, test_set)
    assert result["mpjpe_mm"] < 1e-3 and result["pa_mpjpe_mm"] < 1e-2
    assert all(v["mpjpe_mm"] < 1e-3 for v in result["per_chain"].values())
    assert all(result["occlusion"][k][str(d)] < 1e-3 for k in OCCLUDER_KINDS for d in DEGREES)
    assert set(result["per_family"]) == set(FAMILIES)
    assert all(v["mpjpe_mm"] < 1e-3 for v in result["per_family"].values())


def test_each_family_set_holds_that_familys_poses(test_set):
    lying = test_set.families["lying_back"]
    head_axis = axis_angle_to_matrix(lying["global_orient"])[:, :, 1]  # the body's Y (feet to head), camera frame
    assert (head_axis[:, 1].abs() < 0.7).all()  # lying: closer to the camera's horizontal plane than to its vertical
    assert all(len(batch["joints3d"]) == PER_FAMILY for batch in test_set.families.values())


def test_a_predictor_that_ignores_occluded_joints_pays_for_them(test_set):
    """Zeroing the left arm in the prediction costs exactly the left arm's chain, not the others."""
    arm = [3 * (j - 1) + i for j in kinematics.CHAIN_BY_NAME["left_arm"].joints for i in range(3)]

    def no_left_arm(batch):
        body_pose = batch["body_pose"].clone()
        body_pose[:, arm] = 0.0
        return batch["global_orient"], body_pose, batch["betas"]

    result = evaluate_predictor(no_left_arm, test_set)
    chains = result["per_chain"]
    assert chains["left_arm"]["mpjpe_mm"] > 10.0
    assert all(chains[c]["mpjpe_mm"] < 1e-3 for c in chains if c != "left_arm")
    assert result["per_joint"]["left_wrist"]["mpjpe_mm"] > result["per_joint"]["left_shoulder"]["mpjpe_mm"]


def test_the_command_writes_json_plot_and_table(untrained_model_path, tmp_path, capsys):
    out = tmp_path / "eval"
    argv = ["evaluate", "--model", str(untrained_model_path), "--model", str(untrained_model_path), "--out", str(out),
            "--samples", str(SAMPLES), "--occlusion-samples", str(OCCLUDED), "--per-family", str(PER_FAMILY),
            "--device", "cpu"]  # fmt: skip
    assert training_main(argv) == 0
    results = json.loads((out / "evaluation.json").read_text())
    assert (out / "occlusion.png").read_bytes().startswith(b"\x89PNG")
    assert results["test_set"]["seed"] == EVAL_SEED and results["test_set"]["samples"] == SAMPLES
    assert list(results["models"]) == ["untrained-test-hkmr", "untrained-test-hkmr (2)"]
    model = results["models"]["untrained-test-hkmr"]
    assert model["trained"] is False and model["regressor"] == "hkmr"
    assert set(model["per_chain"]) == {c.name for c in kinematics.CHAINS}
    assert set(model["per_joint"]) == set(kinematics.JOINT_NAMES)
    assert set(model["occlusion"]) == set(OCCLUDER_KINDS)
    assert all(set(v) == {str(d) for d in DEGREES} for v in model["occlusion"].values())
    assert model["mpjpe_mm"] > 0 and model["occlusion_reference_mpjpe_mm"] > 0
    assert set(model["per_family"]) == set(FAMILIES) and results["test_set"]["per_family"]["squatting"] == PER_FAMILY
    printed = capsys.readouterr().out
    assert "PA-MPJPE" in printed and "left_arm" in printed and "rectangle" in printed and "kneeling_one_knee" in printed
    missing = ["evaluate", "--model", str(tmp_path / "none.pt"), "--out", str(out)]
    assert training_main(missing) == 2
    assert "model file not found" in capsys.readouterr().err
