"""The motion-capture pose library: parsers (on small hand-written fixtures), mirroring, de-duplication and the
committed library file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hkmr_studio.resources import embedded_body_path
from training.mocap import acclaim, deepmimic, mapping
from training.mocap.library import PoseLibrary, deduplicate, mirror_poses, remove_heading
from training.mocap.retarget import fit_clip

LIBRARY = Path(__file__).resolve().parents[1] / "training" / "data" / "pose_library.npz"

ASF = """\
:version 1.10
:units
  mass 1.0
  length 0.45
  angle deg
:root
   order TX TY TZ RX RY RZ
   axis XYZ
   position 0 0 0
   orientation 0 0 0
:bonedata
  begin
     id 1
     name lhipjoint
     direction 1 -1 0
     length 2
     axis 0 0 0  XYZ
  end
  begin
     id 2
     name lfemur
     direction 0.34202 -0.939693 0
     length 7
     axis 0 0 20  XYZ
    dof rx ry rz
    limits (-160.0 20.0)
           (-70.0 70.0)
           (-60.0 70.0)
  end
  begin
     id 3
     name rhipjoint
     direction -1 -1 0
     length 2
     axis 0 0 0  XYZ
  end
  begin
     id 4
     name rfemur
     direction -0.34202 -0.939693 0
     length 7
     axis 0 0 -20  XYZ
    dof rx ry rz
  end
  begin
     id 5
     name lowerback
     direction 0 1 0
     length 6
     axis 0 0 0  XYZ
    dof rx ry rz
  end
  begin
     id 6
     name head
     direction 0 1 0
     length 3
     axis 0 0 0  XYZ
    dof rx rz
  end
:hierarchy
  begin
    root lhipjoint rhipjoint lowerback
    lhipjoint lfemur
    rhipjoint rfemur
    lowerback head
  end
"""

AMC = """\
:FULLY-SPECIFIED
:DEGREES
1
root 0 20 0 0 0 0
lowerback 0 0 0
head 0 0
lfemur 0 0 0
rfemur 0 0 0
2
root 1 20 -3 10 45 -5
lowerback 20 -10 5
head 30 15
lfemur -90 0 0
rfemur 10 20 30
"""


def _pairs(names: tuple[str, ...], parent: dict[str, str]) -> list[tuple[int, int]]:
    return [(names.index(parent[n]), names.index(n)) for n in names if n in parent]


def test_acclaim_bone_lengths_are_constant_and_in_metres() -> None:
    skeleton = acclaim.parse_asf(ASF)
    positions = acclaim.forward_kinematics(skeleton, acclaim.parse_amc(AMC, skeleton))
    assert positions.shape == (2, 7, 3)
    metres_per_unit = 0.0254 / 0.45
    for parent, child in _pairs(skeleton.joint_names, skeleton.parent):
        lengths = np.linalg.norm(positions[:, child] - positions[:, parent], axis=-1)
        expected = skeleton.bones[skeleton.joint_names[child]].length
        np.testing.assert_allclose(lengths, expected, atol=1e-9)
    assert skeleton.bones["lfemur"].length == pytest.approx(7 * metres_per_unit)
    np.testing.assert_allclose(positions[0, 0], [0.0, 20 * metres_per_unit, 0.0])


def test_acclaim_first_frame_is_upright_with_left_on_plus_x() -> None:
    skeleton = acclaim.parse_asf(ASF)
    first = acclaim.forward_kinematics(skeleton, acclaim.parse_amc(AMC, skeleton))[0]
    index = {n: i for i, n in enumerate(skeleton.joint_names)}
    assert first[index["head"], 1] > first[index["root"], 1] > first[index["lfemur"], 1]
    assert first[index["lhipjoint"], 0] > 0 > first[index["rhipjoint"], 0]


def test_acclaim_dofs_rotate_about_the_bone_axes() -> None:
    """lfemur's axis (0 0 20) tilts its local x by 20 degrees, perpendicular to the femur: rx = -90 (hip flexion in
    CMU's limits) swings the knee straight forward (+Z) to hip height."""
    skeleton = acclaim.parse_asf(ASF)
    motion = acclaim.parse_amc(AMC, skeleton)
    motion["root"][1] = [0, 20, 0, 0, 0, 0]
    positions = acclaim.forward_kinematics(skeleton, motion)
    index = {n: i for i, n in enumerate(skeleton.joint_names)}
    thigh = positions[1, index["lfemur"]] - positions[1, index["lhipjoint"]]
    np.testing.assert_allclose(thigh, [0.0, 0.0, skeleton.bones["lfemur"].length], atol=1e-6)


def _humanoid_urdf() -> str:
    """A URDF with the DeepMimic humanoid's joint tree and offsets (before its 0.25 scaling), right side at +Z."""
    joints = [("chest", "root", "spherical", "0 0.944604 0"), ("neck", "chest", "spherical", "0 0.895576 0")]
    for side, z in (("right", 1.0), ("left", -1.0)):
        joints += [
            (f"{side}_hip", "root", "spherical", f"0 0 {0.339548 * z}"),
            (f"{side}_knee", f"{side}_hip", "revolute", "0 -1.686184 0"),
            (f"{side}_ankle", f"{side}_knee", "spherical", "0 -1.639480 0"),
            (f"{side}_shoulder", "chest", "spherical", f"-0.0962 0.974 {0.73244 * z}"),
            (f"{side}_elbow", f"{side}_shoulder", "revolute", "0 -1.099152 0"),
            (f"{side}_wrist", f"{side}_elbow", "fixed", "0 -1.035788 0"),
        ]
    body = ['<joint name="root" type="fixed"><parent link="base"/><child link="root"/></joint>']
    for name, parent, kind, xyz in joints:
        axis = '<axis xyz="0 0 1"/>' if kind == "revolute" else ""
        body.append(
            f'<joint name="{name}" type="{kind}"><parent link="{parent}"/><child link="{name}"/>'
            f'<origin rpy="0 0 0" xyz="{xyz}"/>{axis}</joint>'
        )
    return '<robot name="humanoid">' + "".join(body) + "</robot>\x00"  # pybullet's file ends with a NUL too


def _frame(root_quaternion: list[float], knee: float) -> list[float]:
    identity = [1.0, 0.0, 0.0, 0.0]
    values: list[float] = [1 / 60, 0.0, 0.9, 0.0, *root_quaternion]
    for _, size in deepmimic.MOTION_JOINTS:
        values += identity if size == 4 else [knee]
    return values


def _snippet() -> str:
    half = np.sqrt(0.5)
    frames = [_frame([1, 0, 0, 0], 0.0), _frame([1, 0, 0, 0], -1.2), _frame([half, 0, half, 0], -0.4)]
    return json.dumps({"Loop": "none", "Frames": frames})


def test_deepmimic_bone_lengths_are_constant_and_first_frame_upright() -> None:
    urdf = deepmimic.parse_urdf(_humanoid_urdf())
    names, positions = deepmimic.forward_kinematics(deepmimic.parse_clip(_snippet()), urdf)
    index = {n: i for i, n in enumerate(names)}
    for joint in urdf.values():
        if joint.parent in index and joint.child != "root":
            lengths = np.linalg.norm(positions[:, index[joint.child]] - positions[:, index[joint.parent]], axis=-1)
            np.testing.assert_allclose(lengths, np.linalg.norm(joint.offset), atol=1e-9)
    first = positions[0]
    assert first[index["head"], 1] > first[index["neck"], 1] > first[index["root"], 1] > first[index["left_ankle"], 1]
    # Right is +Z, the toes point +X (forward): in SMPL's frame the left hip is at +X and the toes point +Z.
    body = mapping.DEEPMIMIC.to_body_frame
    assert (body @ first[index["left_hip"]])[0] > 0 > (body @ first[index["right_hip"]])[0]
    assert (body @ (first[index["left_toe"]] - first[index["left_ankle"]]))[2] > 0


def test_deepmimic_negative_knee_angle_bends_the_shin_backward() -> None:
    names, positions = deepmimic.forward_kinematics(
        deepmimic.parse_clip(_snippet()), deepmimic.parse_urdf(_humanoid_urdf())
    )
    index = {n: i for i, n in enumerate(names)}
    shin = positions[1, index["right_ankle"]] - positions[1, index["right_knee"]]
    assert shin[0] < 0 and shin[1] < 0  # behind the knee (-X) and still below it


def test_mapping_tables_name_real_joints() -> None:
    urdf_names, _ = deepmimic.forward_kinematics(
        deepmimic.parse_clip(_snippet()), deepmimic.parse_urdf(_humanoid_urdf())
    )
    cmu_names = {
        "root",
        "lhipjoint",
        "lfemur",
        "ltibia",
        "lfoot",
        "lclavicle",
        "lhumerus",
        "lwrist",
        "lhand",
        "lowerback",
        "upperback",
        "thorax",
        "head",
        "upperneck",
    }
    for table, names in (
        (mapping.CMU, cmu_names | {n.replace("l", "r", 1) for n in cmu_names if n[0] == "l"}),
        (mapping.DEEPMIMIC, set(urdf_names)),
    ):
        assert {row[0] for row in table.rows} <= names
        smpl = [row[1] for row in table.rows]
        assert len(set(smpl)) == len(smpl) and set(smpl) <= set(kinematics.JOINT_NAMES)
        mirrored = [kinematics.JOINT_NAMES[kinematics.MIRROR_PERMUTATION[kinematics.JOINT_INDEX[n]]] for n in smpl]
        assert set(mirrored) == set(smpl)


def test_resample_picks_nearest_frames_without_repeats() -> None:
    np.testing.assert_array_equal(mapping.resample(np.arange(13) / 120.0), [0, 4, 8, 12])
    np.testing.assert_array_equal(mapping.resample(np.arange(5) / 16.0), [0, 1, 2, 3, 4])


def _random_poses(count: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(count, kinematics.NUM_JOINTS, 3, generator=torch.Generator().manual_seed(seed)) * 0.5


def test_mirroring_twice_is_identity() -> None:
    poses = _random_poses(8)
    torch.testing.assert_close(mirror_poses(mirror_poses(poses)), poses)


def test_remove_heading_drops_only_the_turn_about_y() -> None:
    tilt = torch.tensor([[0.3, 0.0, 0.2], [-1.5, 0.0, 0.0], [0.0, 0.0, 0.0]])
    turn = torch.tensor([[0.0, 1.0, 0.0], [0.0, -2.5, 0.0], [0.0, 0.7, 0.0]])
    composed = axis_angle_to_matrix(turn) @ axis_angle_to_matrix(tilt)
    kept = remove_heading(matrix_to_axis_angle(composed))
    torch.testing.assert_close(axis_angle_to_matrix(kept), axis_angle_to_matrix(tilt), atol=1e-5, rtol=0)


def test_deduplicate_removes_exact_duplicates_and_keeps_distinct_poses() -> None:
    joints = torch.arange(5, dtype=torch.float32)[:, None, None] * 0.05 + torch.zeros(5, 24, 3)
    with_copies = torch.cat([joints, joints[[3, 0]], joints[1:2] + 0.005])
    np.testing.assert_array_equal(deduplicate(with_copies, threshold=0.02, chunk=3), [0, 1, 2, 3, 4])


@pytest.mark.skipif(not embedded_body_path().exists(), reason="models/body/SMPL_OPEN_NEUTRAL.pkl is not built yet")
def test_mirrored_pose_mirrors_the_joints() -> None:
    from hkmr_studio.body.model import load_body_model

    body = load_body_model()
    poses = _random_poses(4, seed=1)
    betas = torch.zeros(4, kinematics.NUM_BETAS)
    flip = torch.tensor([-1.0, 1.0, 1.0])
    with torch.no_grad():
        joints = body.joints_only(poses[:, 0], poses[:, 1:].reshape(4, -1), betas)
        mirrored = mirror_poses(poses)
        mirrored_joints = body.joints_only(mirrored[:, 0], mirrored[:, 1:].reshape(4, -1), betas)
        rest = body.rest_joints(betas[:1])[0]
    # Exact for a left/right-symmetric rest skeleton; each joint's error is bounded by its ancestors' asymmetry.
    asymmetry = (rest - rest[list(kinematics.MIRROR_PERMUTATION)] * flip).norm(dim=-1).sum()
    expected = joints[:, list(kinematics.MIRROR_PERMUTATION)] * flip
    assert (mirrored_joints - expected).norm(dim=-1).max() <= asymmetry + 1e-4


@pytest.mark.skipif(not embedded_body_path().exists(), reason="models/body/SMPL_OPEN_NEUTRAL.pkl is not built yet")
def test_fit_recovers_the_joints_of_a_posed_body_up_to_the_pose_priors_bias() -> None:
    from hkmr_studio.body.model import load_body_model

    body = load_body_model()
    pose = torch.zeros(3, kinematics.NUM_JOINTS, 3)
    pose[:, 0] = torch.tensor([[0.0, 0.0, 0.0], [0.0, 2.0, 0.0], [-1.4, 0.0, 0.0]])  # upright, turned, lying
    for name, flexion in (("left_knee", [1.2, 0.0, 0.0]), ("right_hip", [-0.8, 0.0, 0.2]), ("left_elbow", [0, -1, 0])):
        pose[:, kinematics.JOINT_INDEX[name]] = torch.tensor(flexion)
    with torch.no_grad():
        targets = body.joints_only(pose[:, 0], pose[:, 1:].flatten(1), torch.zeros(3, kinematics.NUM_BETAS))
    targets = targets + torch.tensor([0.1, 0.9, -0.3])
    nearly_free = fit_clip(body, targets, torch.ones(kinematics.NUM_JOINTS), pose_prior=1e-5)
    assert nearly_free.residual_mm < 1.0  # the fit itself finds the pose (0.4 mm measured)
    assert nearly_free.body_pose.shape == (3, 69) and nearly_free.global_orient.shape == (3, 3)
    # The library's prior trades a few mm of joint error for the least rotation where joints leave it free (bone
    # twists, head, hands): 6.1 mm measured on these poses.
    assert fit_clip(body, targets, torch.ones(kinematics.NUM_JOINTS)).residual_mm < 7.0


@pytest.mark.skipif(not LIBRARY.exists(), reason="training/data/pose_library.npz is not built yet")
def test_committed_library_loads_with_sane_ranges() -> None:
    library = PoseLibrary.load(LIBRARY)
    n = len(library)
    assert n > 500
    assert library.body_pose.shape == (n, 69) and library.global_orient.shape == (n, 3)
    assert library.body_pose.dtype == np.float32
    assert np.isfinite(library.body_pose).all() and np.isfinite(library.global_orient).all()
    angles = np.linalg.norm(np.concatenate([library.global_orient, library.body_pose], 1).reshape(n, 24, 3), axis=-1)
    assert angles.max() <= np.pi + 1e-4
    assert set(library.source) == {"cmu", "deepmimic", "cmu_iclone", "cmu_daz", "cmu_expmap"}
    # The priors hold out the last frames of every clip by name: no clip name may stand in two sources.
    pairs = set(zip(library.source, library.clip))
    assert len({clip for _, clip in pairs}) == len(pairs)
    assert library.mirrored.any() and (~library.mirrored).any()
    assert (library.frame >= 0).all()
    assert LIBRARY.stat().st_size < 12 * 2**20  # 43,524 poses: 9.1 MB
