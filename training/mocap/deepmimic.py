"""DeepMimic humanoid3d motion clips (as shipped in pybullet_data) -> per-frame 3D joint positions.

A clip is JSON {"Loop": ..., "Frames": [[...44 numbers...], ...]}. Each frame: duration (s), root position (3, m),
root quaternion (w, x, y, z), then per joint in `MOTION_JOINTS` order a quaternion (w, x, y, z) for spherical joints
or one angle (rad) about the local z axis for the knees and elbows (pybullet's HumanoidPoseInterpolator reads them
so). Joint offsets come from pybullet_data/humanoid/humanoid.urdf, scaled by 0.25 as pybullet's deep_mimic
environment loads it (`globalScaling=0.25`). Frame: Y up, the character faces +X, its right is +Z; metres.
Forward kinematics: G = G_parent @ R_local, p = p_parent + G_parent @ offset.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

URDF_SCALE = 0.25
#: (joint, number of values) in the order a frame stores them after duration, root position and root rotation.
MOTION_JOINTS: tuple[tuple[str, int], ...] = (
    ("chest", 4),
    ("neck", 4),
    ("right_hip", 4),
    ("right_knee", 1),
    ("right_ankle", 4),
    ("right_shoulder", 4),
    ("right_elbow", 1),
    ("left_hip", 4),
    ("left_knee", 1),
    ("left_ankle", 4),
    ("left_shoulder", 4),
    ("left_elbow", 1),
)
FRAME_SIZE = 8 + sum(n for _, n in MOTION_JOINTS)  # 44
#: Points fixed to a link that are not joints: (name, link, point in the link frame before URDF scaling), from the
#: collision shapes: the head sphere's centre, and the sole's toe edge of each foot box.
LINK_POINTS: tuple[tuple[str, str, tuple[float, float, float]], ...] = (
    ("head", "neck", (0.0, 0.70, 0.0)),
    ("right_toe", "right_ankle", (0.534, -0.20, 0.0)),
    ("left_toe", "left_ankle", (0.534, -0.20, 0.0)),
)


@dataclass(frozen=True)
class UrdfJoint:
    """One URDF joint: its child link's name, parent link, origin offset (3,) in metres, type and unit axis (3,)."""

    name: str
    parent: str
    child: str
    offset: np.ndarray
    kind: str
    axis: np.ndarray


@dataclass(frozen=True)
class Clip:
    """One DeepMimic clip: frame durations (F,) in s, root position (F, 3), root and joint quaternions."""

    durations: np.ndarray
    root_position: np.ndarray
    root_rotation: np.ndarray  # (F, 4) w, x, y, z
    joint_values: dict[str, np.ndarray]  # joint -> (F, 4) quaternion (w, x, y, z) or (F, 1) angle


def parse_urdf(text: str, scale: float = URDF_SCALE) -> dict[str, UrdfJoint]:
    """URDF joints keyed by their child link's name (equal to the joint's name in this humanoid)."""
    joints: dict[str, UrdfJoint] = {}
    # pybullet's humanoid.urdf ends with a NUL byte after </robot>, which XML parsers reject.
    for element in ET.fromstring(text.replace("\x00", "")).iter("joint"):
        origin = element.find("origin")
        xyz = origin.get("xyz", "0 0 0") if origin is not None else "0 0 0"
        child = element.find("child").get("link")
        axis = element.find("axis")
        joints[child] = UrdfJoint(
            name=element.get("name"),
            parent=element.find("parent").get("link"),
            child=child,
            offset=np.array([float(v) for v in xyz.split()]) * scale,
            kind=element.get("type"),
            axis=np.array([float(v) for v in (axis.get("xyz") if axis is not None else "1 0 0").split()]),
        )
    return joints


def parse_clip(text: str) -> Clip:
    """Parse one humanoid3d_*.txt clip."""
    frames = np.asarray(json.loads(text)["Frames"], dtype=np.float64)
    if frames.ndim != 2 or frames.shape[1] != FRAME_SIZE:
        raise ValueError(f"expected frames of {FRAME_SIZE} values, got shape {frames.shape}")
    values: dict[str, np.ndarray] = {}
    start = 8
    for name, size in MOTION_JOINTS:
        values[name] = frames[:, start : start + size]
        start += size
    return Clip(frames[:, 0], frames[:, 1:4], frames[:, 4:8], values)


def _quaternion_wxyz_to_matrix(q: np.ndarray) -> np.ndarray:
    return Rotation.from_quat(q[:, [1, 2, 3, 0]]).as_matrix()


def forward_kinematics(clip: Clip, urdf: dict[str, UrdfJoint]) -> tuple[tuple[str, ...], np.ndarray]:
    """Joint positions: (names, (F, J, 3)) in metres, the clip's frame. Names: 'root', the URDF's joints below it
    (wrists included) and the `LINK_POINTS`."""
    num_frames = clip.durations.shape[0]
    rotation = {"root": _quaternion_wxyz_to_matrix(clip.root_rotation)}
    position = {"root": clip.root_position}
    pending = [j for j in urdf.values() if j.parent != "base" and j.child != "root"]
    while pending:
        joint = next(j for j in pending if j.parent in rotation)
        pending.remove(joint)
        parent_rotation = rotation[joint.parent]
        position[joint.child] = position[joint.parent] + parent_rotation @ joint.offset
        if joint.kind == "spherical":
            local = _quaternion_wxyz_to_matrix(clip.joint_values[joint.child])
        elif joint.kind == "revolute":
            local = Rotation.from_rotvec(clip.joint_values[joint.child] * joint.axis).as_matrix()
        else:
            local = np.broadcast_to(np.eye(3), (num_frames, 3, 3))
        rotation[joint.child] = parent_rotation @ local
    for name, link, point in LINK_POINTS:
        position[name] = position[link] + rotation[link] @ (np.array(point) * URDF_SCALE)
    names = tuple(position)
    return names, np.stack([position[n] for n in names], axis=1)


def load_deepmimic(clip_path: Path, urdf_path: Path) -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """Read a clip -> (joint names, (F, J, 3) positions in metres in the clip's frame, (F,) frame times in s)."""
    clip = parse_clip(clip_path.read_text())
    names, positions = forward_kinematics(clip, parse_urdf(urdf_path.read_text()))
    times = np.concatenate([[0.0], np.cumsum(clip.durations[:-1])])
    return names, positions, times
