"""Anatomical joint limits: joint angles and poses convert both ways inside the limits, a pose beyond them is
projected onto them (and one within is left alone), right joints mirror left ones, and a malformed table is refused
with the row to fix."""

import math
import shutil

import pytest
import torch

from hkmr_studio.body.joint_limits import (
    BODY_JOINT_NAMES,
    LIMITS_PATH,
    JointLimitsError,
    joint_angles,
    limit_violation,
    load_joint_limits,
    pose_from_joint_angles,
    project_to_limits,
    within_limits,
)
from hkmr_studio.body.kinematics import NUM_BODY_JOINTS
from training.mocap.library import mirror_poses

KNEE = BODY_JOINT_NAMES.index("left_knee")


def random_angles_within(count: int, seed: int = 0) -> torch.Tensor:
    """(count, 23, 3) joint angles drawn uniformly inside the limits."""
    limits = load_joint_limits()
    u = torch.rand(count, NUM_BODY_JOINTS, 3, generator=torch.Generator().manual_seed(seed))
    return limits.lower + u * (limits.upper - limits.lower)


def test_angles_and_poses_convert_both_ways_inside_the_limits():
    angles = random_angles_within(256)
    pose = pose_from_joint_angles(angles)
    assert torch.allclose(joint_angles(pose), angles, atol=1e-4)
    assert within_limits(pose).all() and limit_violation(pose).max() < 1e-4


def test_a_pose_beyond_the_limits_is_projected_onto_them_and_one_within_is_kept():
    angles = random_angles_within(8, seed=1)
    inside = pose_from_joint_angles(angles)
    assert torch.allclose(project_to_limits(inside), inside, atol=1e-5)
    beyond = angles.clone()
    beyond[:, KNEE, 0] = math.radians(170)  # a knee bent further than 135 degrees
    projected = project_to_limits(pose_from_joint_angles(beyond).flatten(1))
    assert projected.shape == (8, 69) and within_limits(projected).all()
    knee = torch.rad2deg(joint_angles(projected.unflatten(1, (NUM_BODY_JOINTS, 3)))[:, KNEE, 0])
    assert torch.allclose(knee, torch.full((8,), 135.0), atol=0.05)
    assert not within_limits(pose_from_joint_angles(beyond)).any()


def test_right_joints_mirror_the_left_ones():
    pose = pose_from_joint_angles(random_angles_within(64, seed=2))
    mirrored = mirror_poses(torch.cat([torch.zeros(64, 1, 3), pose], dim=1))[:, 1:]
    assert within_limits(mirrored).all()
    right_knee = BODY_JOINT_NAMES.index("right_knee")
    assert torch.allclose(joint_angles(mirrored)[:, right_knee, 0], joint_angles(pose)[:, KNEE, 0], atol=1e-4)


def test_every_joint_has_a_published_source_and_sane_ranges():
    rows = LIMITS_PATH.read_text().splitlines()[1:]
    assert len(rows) == 14 and all(row.rsplit(",", 1)[-1].strip() for row in rows)  # left and central joints
    limits = load_joint_limits()
    assert (limits.lower <= 0).all() and (limits.upper >= 0).all()
    knee = torch.rad2deg(limits.upper[KNEE, 0])
    assert 130 <= knee <= 160  # published knee flexion


def test_a_malformed_table_is_refused_with_the_row_to_fix(tmp_path):
    broken = tmp_path / "limits.csv"
    shutil.copy(LIMITS_PATH, broken)
    broken.write_text(broken.read_text().replace("left_knee,euler_xzy,-10,135", "left_knee,euler_xzy,10,135"))
    with pytest.raises(JointLimitsError, match="left_knee: every range must contain 0"):
        load_joint_limits(broken)
    missing = tmp_path / "missing.csv"
    missing.write_text("\n".join(line for line in LIMITS_PATH.read_text().splitlines() if not line.startswith("head,")))
    with pytest.raises(JointLimitsError, match=r"missing \['head'\]"):
        load_joint_limits(missing)
