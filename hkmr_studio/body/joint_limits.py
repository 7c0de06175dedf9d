"""Anatomical joint limits of the 23 body joints, from published ranges of motion (`joint_limits.csv`).

Joint angles: SMPL's local joint frames are aligned with the body frame in the rest T-pose (Y up, facing +Z, the
person's left +X; palms down), so each bone points along a coordinate axis at rest: legs and spine along Y, arms
along X, feet along Z. A joint's local rotation R (axis-angle, SMPL's pose parameters) becomes three *joint angles*
(radians), one per body axis, by the joint's `decomposition`:
- `euler_xzy` (legs, spine, neck, head): R = R_x(a_x) R_z(a_z) R_y(a_y), the clinical order of flexion, then
  abduction or lateral bending, then axial rotation, so published ranges (measured one plane at a time from the
  neutral position) apply per angle also in combined positions (a cross-legged sit: hip flexion 114, abduction 35,
  external rotation 41). Unique while |a_z| < 90 degrees.
- `swing_twist_x` (collars, arms, hands): R = S @ T, T a twist about the bone (X) and S a swing about an axis
  perpendicular to it; a_x is the twist angle, (a_y, a_z) S's axis-angle vector. The swing has no singularity where
  an arm can go (only at the arm pointing through the body), which no Euler order gives the shoulder.
Near the rest pose both equal the axis-angle components. Limits are a box [lower, upper] per joint and angle; the
rest pose (all zero) lies inside every box, and every box stays clear of its decomposition's singularity, so the
angles are one-to-one inside it.

The table lists the left and the central joints with the anatomical motion each signed angle means (e.g. left hip x:
flexion negative); right joints are their mirror images (a mirror about the YZ plane maps angles (x, y, z) to
(x, -y, -z)). Sources per row; training/data/POSE_FAMILIES.md has the details.
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from pathlib import Path

import torch

from hkmr_studio.body.kinematics import JOINT_NAMES, MIRROR_PERMUTATION, NUM_BODY_JOINTS
from hkmr_studio.geometry.checks import check_last_dims
from hkmr_studio.geometry.rotations import (
    axis_angle_to_matrix,
    axis_angle_to_quaternion,
    matrix_to_axis_angle,
    quaternion_to_axis_angle,
)

LIMITS_PATH = Path(__file__).with_name("joint_limits.csv")
BODY_JOINT_NAMES = JOINT_NAMES[1:]
_DECOMPOSITIONS = ("euler_xzy", "swing_twist_x")
_EPS = 1e-9
#: Angles may exceed a limit by this much (radians, 0.1 degree) and still count as within it (float32 round trips).
TOLERANCE = math.radians(0.1)


class JointLimitsError(ValueError):
    """The joint-limit table is malformed; the message names the row and what to fix."""


@dataclass(frozen=True)
class JointLimits:
    """lower, upper (23, 3) radians per body joint (SMPL order without the pelvis) and joint angle (x, y, z);
    euler (23,) bool: the joint uses `euler_xzy`, else `swing_twist_x`."""

    lower: torch.Tensor
    upper: torch.Tensor
    euler: torch.Tensor


def _read_rows(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = {row["joint"]: row for row in csv.DictReader(handle)}
    needed = [n for n in BODY_JOINT_NAMES if not n.startswith("right_")]
    missing, unknown = [n for n in needed if n not in rows], [n for n in rows if n not in needed]
    if missing or unknown:
        raise JointLimitsError(
            f"{path.name}: rows must name the left and central body joints once each (right ones are mirrored); "
            f"missing {missing}, not expected {unknown}"
        )
    return rows


def _check_row(name: str, euler: bool, box: torch.Tensor) -> None:
    """box (3, 2) degrees."""
    if not ((box[:, 0] <= 0) & (box[:, 1] >= 0)).all():
        raise JointLimitsError(f"{name}: every range must contain 0 (the rest pose), got {box.tolist()}")
    if euler and box[2].abs().max() >= 90:
        raise JointLimitsError(f"{name}: an euler_xzy joint's z range must stay within +-90 degrees")
    swing = box[1:].abs().max(dim=1).values.norm()
    if box.abs().max() >= 180 or (not euler and swing >= 180):
        raise JointLimitsError(f"{name}: angles and the swing must stay below 180 degrees (the largest swing is {swing:.0f})")


@functools.cache
def load_joint_limits(path: Path = LIMITS_PATH) -> JointLimits:
    """The limits in the table at `path` (float32 radians), right joints mirrored from the left ones."""
    rows = _read_rows(path)
    lower, upper, euler = torch.zeros(NUM_BODY_JOINTS, 3), torch.zeros(NUM_BODY_JOINTS, 3), []
    mirror = torch.tensor([1.0, -1.0, -1.0])
    for i, name in enumerate(BODY_JOINT_NAMES):
        source = JOINT_NAMES[MIRROR_PERMUTATION[i + 1]] if name.startswith("right_") else name
        row = rows[source]
        if row["decomposition"] not in _DECOMPOSITIONS:
            raise JointLimitsError(f"{path.name}, {source}: decomposition must be one of {', '.join(_DECOMPOSITIONS)}")
        try:
            box = torch.tensor([[float(row[f"{a}_min"]), float(row[f"{a}_max"])] for a in "xyz"])
        except (ValueError, TypeError) as exc:
            raise JointLimitsError(f"{path.name}, {source}: limits must be numbers (degrees)") from exc
        _check_row(source, row["decomposition"] == "euler_xzy", box)
        if source != name:  # mirrored: y and z ranges negate and swap ends
            box = (box * mirror[:, None]).sort(dim=1).values
        lower[i], upper[i] = torch.deg2rad(box[:, 0]), torch.deg2rad(box[:, 1])
        euler.append(row["decomposition"] == "euler_xzy")
    return JointLimits(lower, upper, torch.tensor(euler))


def _multiply(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Hamilton product of (..., 4) quaternions (w, x, y, z): the rotation q first, then p."""
    pw, pv, qw, qv = p[..., :1], p[..., 1:], q[..., :1], q[..., 1:]
    w = pw * qw - (pv * qv).sum(-1, keepdim=True)
    return torch.cat([w, pw * qv + qw * pv + torch.cross(pv, qv, dim=-1)], dim=-1)


def _swing_twist_x(rotation: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 3): the twist about X, then the swing's y and z axis-angle components. A swing of
    exactly a half turn has no defined twist; it gets twist 0."""
    q = axis_angle_to_quaternion(rotation)
    q = torch.where(q[..., :1] < 0, -q, q)
    w, x, y, z = q.unbind(-1)
    norm = torch.sqrt(w * w + x * x)  # the twist quaternion is (w, x, 0, 0) / norm; the swing q * twist^-1 is:
    defined = norm > 1e-6
    swing_y = torch.where(defined, (w * y - x * z) / norm.clamp_min(_EPS), y)
    swing_z = torch.where(defined, (w * z + x * y) / norm.clamp_min(_EPS), z)
    swing = quaternion_to_axis_angle(torch.stack([norm, torch.zeros_like(norm), swing_y, swing_z], dim=-1))
    twist = torch.where(defined, 2.0 * torch.atan2(x, w), torch.zeros_like(w))
    return torch.cat([twist[..., None], swing[..., 1:]], dim=-1)


def _euler_xzy(rotation: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle R = R_x(a) R_z(b) R_y(c) -> (..., 3) angles (a, c, b): per body axis x, y, z."""
    m = axis_angle_to_matrix(rotation)
    b = torch.asin((-m[..., 0, 1]).clamp(-1.0, 1.0))
    a = torch.atan2(m[..., 2, 1], m[..., 1, 1])
    c = torch.atan2(m[..., 0, 2], m[..., 0, 0])
    return torch.stack([a, c, b], dim=-1)


def _about(angles: torch.Tensor, axis: int) -> torch.Tensor:
    """(..., 3) angles -> (..., 3) axis-angle of the rotation by angles[..., axis] about body axis `axis`."""
    return angles * torch.nn.functional.one_hot(torch.tensor(axis), 3).to(angles)


def joint_angles(body_pose: torch.Tensor, limits: JointLimits | None = None) -> torch.Tensor:
    """(..., 23, 3) axis-angle local rotations -> (..., 23, 3) joint angles (radians), see the module docstring."""
    check_last_dims(body_pose, (NUM_BODY_JOINTS, 3), "body_pose")
    limits = limits or load_joint_limits()
    euler = limits.euler.to(body_pose.device)[:, None]
    return torch.where(euler, _euler_xzy(body_pose), _swing_twist_x(body_pose))


def pose_from_joint_angles(angles: torch.Tensor, limits: JointLimits | None = None) -> torch.Tensor:
    """(..., 23, 3) joint angles -> (..., 23, 3) axis-angle local rotations, the inverse of `joint_angles`."""
    check_last_dims(angles, (NUM_BODY_JOINTS, 3), "angles")
    limits = limits or load_joint_limits()
    euler = axis_angle_to_matrix(_about(angles, 0)) @ axis_angle_to_matrix(_about(angles, 2))
    euler = matrix_to_axis_angle(euler @ axis_angle_to_matrix(_about(angles, 1)))
    swing, twist = angles * torch.tensor([0.0, 1.0, 1.0]).to(angles), _about(angles, 0)
    swing_twist = quaternion_to_axis_angle(_multiply(axis_angle_to_quaternion(swing), axis_angle_to_quaternion(twist)))
    return torch.where(limits.euler.to(angles.device)[:, None], euler, swing_twist)


def _per_joint(body_pose: torch.Tensor) -> torch.Tensor:
    """(..., 69) or (..., 23, 3) axis-angle -> (..., 23, 3)."""
    if body_pose.shape[-1] == 3 * NUM_BODY_JOINTS:
        return body_pose.unflatten(-1, (NUM_BODY_JOINTS, 3))
    return body_pose


def limit_violation(body_pose: torch.Tensor, limits: JointLimits | None = None) -> torch.Tensor:
    """(..., 69) or (..., 23, 3) axis-angle -> (..., 23, 3) radians by which each joint angle lies beyond its limits
    (0 within); differentiable, e.g. for a fitting penalty."""
    limits = limits or load_joint_limits()
    angles = joint_angles(_per_joint(body_pose), limits)
    lower, upper = limits.lower.to(angles), limits.upper.to(angles)
    return (lower - angles).clamp_min(0.0) + (angles - upper).clamp_min(0.0)


def within_limits(
    body_pose: torch.Tensor, limits: JointLimits | None = None, tolerance: float = TOLERANCE
) -> torch.Tensor:
    """(..., 69) or (..., 23, 3) axis-angle -> (...) bool: every joint angle within its limits (up to `tolerance`
    radians)."""
    return (limit_violation(body_pose, limits) <= tolerance).all(dim=-1).all(dim=-1)


def project_to_limits(body_pose: torch.Tensor, limits: JointLimits | None = None) -> torch.Tensor:
    """(..., 69) or (..., 23, 3) axis-angle -> the same poses, same shape, with each joint angle clamped into its
    limits (joints within their limits keep their rotation)."""
    limits = limits or load_joint_limits()
    return pose_from_joint_angles(clamp_joint_angles(joint_angles(_per_joint(body_pose), limits), limits), limits).reshape(
        body_pose.shape
    )


def clamp_joint_angles(angles: torch.Tensor, limits: JointLimits | None = None) -> torch.Tensor:
    """(..., 23, 3) joint angles -> the same clamped into the limits."""
    limits = limits or load_joint_limits()
    return torch.maximum(torch.minimum(angles, limits.upper.to(angles)), limits.lower.to(angles))
