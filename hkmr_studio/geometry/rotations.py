"""Rotation conversions between axis-angle, rotation matrices, quaternions and the 6D representation.

Conventions (fixed for the whole project):
- axis-angle: (..., 3), the unit axis times the angle in radians (SMPL's pose parameters);
- rotation matrix: (..., 3, 3), acting on column vectors (x' = R @ x);
- quaternion: (..., 4) in (w, x, y, z) order, w the scalar part;
- 6D: (..., 6), the first two *columns* of the rotation matrix, [R[:, 0], R[:, 1]] (Zhou et al. 2019). SPIN and
  4D-Humans lay these six numbers out differently under the same name; this module is the one layout used here.
All functions are batched over leading dimensions and differentiable.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hkmr_studio.geometry.checks import check_last_dims

_EPS = 1e-8


def axis_angle_to_matrix(axis_angle: torch.Tensor) -> torch.Tensor:
    """Rodrigues' formula. (..., 3) axis-angle -> (..., 3, 3) rotation matrices; exact and smooth at zero angle."""
    check_last_dims(axis_angle, (3,), "axis_angle")
    angle_sq = (axis_angle * axis_angle).sum(-1, keepdim=True)  # (..., 1)
    angle = torch.sqrt(angle_sq.clamp_min(_EPS * _EPS))
    small = angle_sq < 1e-8
    # sin(a)/a and (1 - cos a)/a^2 with Taylor expansions near zero, so gradients stay finite there.
    sinc = torch.where(small, 1.0 - angle_sq / 6.0, torch.sin(angle) / angle)
    cosc = torch.where(small, 0.5 - angle_sq / 24.0, (1.0 - torch.cos(angle)) / angle_sq.clamp_min(_EPS))
    x, y, z = axis_angle.unbind(-1)
    zero = torch.zeros_like(x)
    skew = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*axis_angle.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device).expand_as(skew)
    return eye + sinc[..., None] * skew + cosc[..., None] * (skew @ skew)


def matrix_to_quaternion(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 4) unit quaternions (w, x, y, z) with w >= 0.

    Uses the best-conditioned of the four algebraic candidates per matrix, so it is stable for all rotations.
    """
    check_last_dims(matrix, (3, 3), "matrix")
    m = matrix
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    # 4 * component^2 for w, x, y, z.
    q_abs_sq = torch.stack(
        [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22], dim=-1
    )
    q_abs = torch.sqrt(q_abs_sq.clamp_min(_EPS))
    candidates = torch.stack(
        [
            torch.stack([q_abs_sq[..., 0], m21 - m12, m02 - m20, m10 - m01], dim=-1),
            torch.stack([m21 - m12, q_abs_sq[..., 1], m10 + m01, m02 + m20], dim=-1),
            torch.stack([m02 - m20, m10 + m01, q_abs_sq[..., 2], m12 + m21], dim=-1),
            torch.stack([m10 - m01, m20 + m02, m21 + m12, q_abs_sq[..., 3]], dim=-1),
        ],
        dim=-2,
    ) / (2.0 * q_abs[..., None])
    best = q_abs.argmax(dim=-1)
    quat = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    quat = F.normalize(quat, dim=-1)
    return torch.where(quat[..., :1] < 0, -quat, quat)


def quaternion_to_axis_angle(quaternion: torch.Tensor) -> torch.Tensor:
    """(..., 4) quaternions (w, x, y, z) -> (..., 3) axis-angle with angle in [0, pi]."""
    check_last_dims(quaternion, (4,), "quaternion")
    q = torch.where(quaternion[..., :1] < 0, -quaternion, quaternion)
    xyz = q[..., 1:]
    sin_half = torch.linalg.norm(xyz, dim=-1, keepdim=True)
    half_angle = torch.atan2(sin_half, q[..., :1])
    angle = 2.0 * half_angle
    small = sin_half < 1e-6
    # angle / sin(half) -> 2 / cos(half) (about 2) as the angle goes to zero.
    scale = torch.where(small, 2.0 / q[..., :1].clamp_min(_EPS), angle / sin_half.clamp_min(_EPS))
    return xyz * scale


def axis_angle_to_quaternion(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 4) quaternions (w, x, y, z)."""
    check_last_dims(axis_angle, (3,), "axis_angle")
    angle = torch.linalg.norm(axis_angle, dim=-1, keepdim=True)
    half = 0.5 * angle
    small = angle < 1e-6
    sin_half_over_angle = torch.where(small, 0.5 - angle * angle / 48.0, torch.sin(half) / angle.clamp_min(_EPS))
    return torch.cat([torch.cos(half), axis_angle * sin_half_over_angle], dim=-1)


def matrix_to_axis_angle(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 3) axis-angle with angle in [0, pi]."""
    return quaternion_to_axis_angle(matrix_to_quaternion(matrix))


def rot6d_to_matrix(rot6d: torch.Tensor) -> torch.Tensor:
    """(..., 6) 6D representation (first two matrix columns) -> (..., 3, 3) via Gram-Schmidt."""
    check_last_dims(rot6d, (6,), "rot6d")
    a1, a2 = rot6d[..., :3], rot6d[..., 3:]
    b1 = F.normalize(a1, dim=-1)
    b2 = F.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-1)


def matrix_to_rot6d(matrix: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) rotation matrices -> (..., 6), the first two columns concatenated."""
    check_last_dims(matrix, (3, 3), "matrix")
    return torch.cat([matrix[..., :, 0], matrix[..., :, 1]], dim=-1)


def axis_angle_to_rot6d(axis_angle: torch.Tensor) -> torch.Tensor:
    """(..., 3) axis-angle -> (..., 6)."""
    return matrix_to_rot6d(axis_angle_to_matrix(axis_angle))


def rot6d_to_axis_angle(rot6d: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3) axis-angle."""
    return matrix_to_axis_angle(rot6d_to_matrix(rot6d))
