"""Pose families: every sampled joint angle within the anatomical limits, each family what its name says, and no
accepted sample self-penetrating beyond MAX_DEPTH (capsule proxies), while a pose with a forearm through the
chest is caught."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from hkmr_studio.body.joint_limits import BODY_JOINT_NAMES, joint_angles, pose_from_joint_angles, within_limits
from hkmr_studio.body.kinematics import JOINT_INDEX, NUM_BODY_JOINTS
from hkmr_studio.body.model import load_body_model
from hkmr_studio.body.penetration import MAX_DEPTH, default_capsules
from training.poses.families import FAMILIES, family_counts, sample_families, sample_family

PER_FAMILY = 48


@pytest.fixture(scope="module")
def samples() -> dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """family -> (global_orient (N, 3), body_pose (N, 69), joints (N, 24, 3) in metres, Y up, mean shape)."""
    body, generator = load_body_model(), torch.Generator().manual_seed(0)
    drawn = {}
    for name in FAMILIES:
        orient, pose = sample_family(name, PER_FAMILY, generator)
        drawn[name] = (orient, pose, body.joints_only(orient, pose, torch.zeros(PER_FAMILY, 10)))
    return drawn


def heights(joints: torch.Tensor, *names: str) -> torch.Tensor:
    """(N, 24, 3) joints -> (N, len(names)) heights above the lowest joint of each body (the floor), metres."""
    y = joints[..., 1]
    return y[:, [JOINT_INDEX[n] for n in names]] - y.min(dim=1, keepdim=True).values


def angles_deg(pose: torch.Tensor, joint: str) -> torch.Tensor:
    """(N, 69) body poses -> (N, 3) joint angles of `joint` in degrees (joint_limits' convention)."""
    return torch.rad2deg(joint_angles(pose.reshape(-1, NUM_BODY_JOINTS, 3))[:, BODY_JOINT_NAMES.index(joint)])


def test_sampled_joint_angles_stay_within_the_limits(samples):
    for name, (_, pose, _) in samples.items():
        assert within_limits(pose).all(), name


def test_sitting_on_a_chair_flexes_hips_and_knees_60_to_120_degrees(samples):
    _, pose, _ = samples["sitting_chair"]
    for side in ("left", "right"):
        hip_flexion = -angles_deg(pose, f"{side}_hip")[:, 0]  # hip x: flexion negative
        knee_flexion = angles_deg(pose, f"{side}_knee")[:, 0]
        assert ((hip_flexion >= 60) & (hip_flexion <= 120)).all() and ((knee_flexion >= 60) & (knee_flexion <= 120)).all()


def test_lying_bodies_keep_the_trunk_within_25_degrees_of_the_ground(samples):
    for name in ("lying_back", "lying_front", "lying_side"):
        joints = samples[name][2]
        trunk = joints[:, JOINT_INDEX["neck"]] - joints[:, JOINT_INDEX["pelvis"]]
        elevation = torch.rad2deg(torch.asin(trunk[:, 1].abs() / trunk.norm(dim=1)))
        assert (elevation < 25).all(), name


def test_kneeling_puts_a_knee_at_floor_height(samples):
    # The knee joint's centre sits about 5 cm above the skin it kneels on; the lowest joint of a kneeling body is a
    # knee or the toes, so "at floor height" is: a knee within 6 cm of the lowest joint, in 90% of the samples (the
    # rest lose it to the random tilt of the whole body).
    for name in ("kneeling_one_knee", "kneeling_both_knees"):
        knee = heights(samples[name][2], "left_knee", "right_knee").min(dim=1).values
        assert (knee < 0.06).float().mean() >= 0.9, name


def test_arms_overhead_raise_both_wrists_above_the_head(samples):
    wrists_and_head = heights(samples["arms_overhead"][2], "left_wrist", "right_wrist", "head")
    assert (wrists_and_head[:, :2] > wrists_and_head[:, 2:]).all()


def body_frame_joints(samples, name: str) -> dict[str, torch.Tensor]:
    """The family's samples posed without their global orientation (the body's own frame: Y up, facing +Z, left +X,
    metres): joint name -> (N, 3)."""
    _, pose, _ = samples[name]
    joints = load_body_model().joints_only(torch.zeros(len(pose), 3), pose, torch.zeros(len(pose), 10))
    return {n: joints[:, i] for n, i in JOINT_INDEX.items()}


def test_arms_crossed_fold_each_forearm_across_the_chest_to_the_other_elbow(samples):
    j = body_frame_joints(samples, "arms_crossed")
    for side, other, sign in (("left", "right", 1.0), ("right", "left", -1.0)):
        wrist = j[f"{side}_wrist"]
        # crossed over the midline: the left wrist on the body's right (-X) and vice versa
        assert (sign * wrist[:, 0] < 0).all(), side
        # in front of the chest (the chest's surface is about 0.1 m in front of spine3) and at chest height
        assert (wrist[:, 2] > j["spine3"][:, 2] + 0.1).all(), side
        assert ((wrist[:, 1] > j["spine1"][:, 1]) & (wrist[:, 1] < j["neck"][:, 1])).all(), side
        # the hand reaches the other arm: the wrist within 15 cm of the other elbow
        assert ((wrist - j[f"{other}_elbow"]).norm(dim=1) < 0.15).all(), side


def test_hands_on_hips_rest_each_hand_on_the_side_of_its_hip_with_the_elbow_out(samples):
    j = body_frame_joints(samples, "hands_on_hips")
    for side in ("left", "right"):
        wrist, hip = j[f"{side}_wrist"], j[f"{side}_hip"]
        hand = (wrist + j[f"{side}_hand"]) / 2  # the palm's centre
        # at hip height: the palm within 12 cm of the hip joint's height (on the iliac crest) in at least 95% of the
        # samples, and none higher than 15 cm (the waist)
        height = (hand[:, 1] - hip[:, 1]).abs()
        assert (height < 0.12).float().mean() >= 0.95 and (height < 0.15).all(), side
        # at the side of the pelvis, not in front of the belly: the wrist 4 cm or more outside the hip joint and
        # within 15 cm of it front to back
        assert (wrist[:, 0].abs() > hip[:, 0].abs() + 0.04).all(), side
        assert ((wrist[:, 2] - hip[:, 2]).abs() < 0.15).all(), side
        # elbows out: the elbow at least 10 cm further out to the side than its shoulder
        assert (j[f"{side}_elbow"][:, 0].abs() > j[f"{side}_shoulder"][:, 0].abs() + 0.1).all(), side


def test_no_accepted_sample_self_penetrates_beyond_the_stated_depth(samples):
    capsules = default_capsules()
    for name, (_, pose, _) in samples.items():
        assert capsules.depth(pose).max() <= MAX_DEPTH, name
    assert MAX_DEPTH == 0.02


def test_the_capsule_test_catches_a_forearm_through_the_chest():
    angles = torch.zeros(1, NUM_BODY_JOINTS, 3)
    shoulder, elbow = BODY_JOINT_NAMES.index("left_shoulder"), BODY_JOINT_NAMES.index("left_elbow")
    angles[0, shoulder] = torch.tensor([0.0, -math.radians(60), -math.radians(20)])  # the upper arm forward
    angles[0, elbow, 1] = -math.radians(150)  # elbow flexed far beyond the chest's surface
    angles[0, shoulder, 1] = -math.radians(110)  # and swung across the body
    pose = pose_from_joint_angles(angles).flatten(1)
    assert default_capsules().depth(pose).item() > MAX_DEPTH


def test_mixing_families_follows_the_weights_and_is_seeded():
    counts = family_counts(1000, torch.Generator().manual_seed(0), {"sitting_chair": 3.0, "lying_back": 1.0})
    named = dict(zip(FAMILIES, counts.tolist(), strict=True))
    assert named["sitting_chair"] + named["lying_back"] == 1000 and 650 < named["sitting_chair"] < 850
    first = sample_families(40, torch.Generator().manual_seed(3))
    again = sample_families(40, torch.Generator().manual_seed(3))
    assert all(torch.equal(a, b) for a, b in zip(first, again, strict=True)) and first[1].shape == (40, 69)
    with pytest.raises(ValueError, match="non-negative"):
        family_counts(10, torch.Generator(), {"sitting_chair": -1.0})
    with pytest.raises(KeyError, match="unknown pose family"):
        sample_family("moonwalk", 1, torch.Generator())


def test_the_contact_sheet_shows_every_family_in_rendered_crops(tmp_path):
    from training.__main__ import main as training_main
    from training.poses.contact_sheet import FAMILIES_PER_ROW, LABEL_PX, THUMB_PX, family_crops

    crops = family_crops(1)
    assert list(crops) == list(FAMILIES) and all(c.shape == (1, THUMB_PX, THUMB_PX, 3) for c in crops.values())
    assert all(len(np.unique(c.reshape(-1, 3), axis=0)) > 50 for c in crops.values())  # a shaded body, not blank
    out = tmp_path / "sheet.png"
    assert training_main(["contact-sheet", "--per-family", "1", "--out", str(out)]) == 0
    width, height = Image.open(out).size
    rows = -(-len(FAMILIES) // FAMILIES_PER_ROW)
    assert (width, height) == (FAMILIES_PER_ROW * (LABEL_PX + THUMB_PX), rows * THUMB_PX)
