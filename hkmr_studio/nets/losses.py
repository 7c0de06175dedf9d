"""HKMR's training objective, Eq. 3: sum over the T outer steps of
lambda_smpl L_smpl + lambda_3D L_3D + lambda_2D L_2D + lambda_KL L_KL.

Joints come from a callable (global_orient (B, 3), body_pose (B, 69), betas (B, 10)) -> (B, J, 3), e.g. the body
layer's `joints_only`, so this module depends on no body file. Each term is summed over joints and coordinates (as the
paper writes it) and averaged over the B samples of the batch; a sample without 3D joints or SMPL labels (has_3d /
has_smpl false) adds nothing to those terms. L_KL needs no label and applies to every sample.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.cameras import weak_perspective_project
from hkmr_studio.geometry.checks import check_shape
from hkmr_studio.geometry.rotations import axis_angle_to_matrix
from hkmr_studio.nets.output import RegressorOutput

JointsFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
PoseKL = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class LossWeights:
    """The lambdas of Eq. 3 (supplement: 1, 1, 1, 0.001)."""

    smpl: float = 1.0
    joints_3d: float = 1.0
    keypoints_2d: float = 1.0
    kl: float = 0.001


@dataclass
class RegressorTargets:
    """Labels of a batch. J joints, in the order of the joints callable's output.

    keypoints_2d (B, J, 2) in normalised crop coordinates with visibility (B, J) in [0, 1] weighting each joint;
    joints_3d (B, J, 3) metres, any root (both sides are root-centred); has_3d (B,) marks the samples that have them;
    global_orient (B, 3), body_pose (B, 69), betas (B, 10) SMPL labels where has_smpl (B,) is true. Labels of the
    samples whose flag is false are ignored but must be finite (zeros, not NaN: NaN * 0 poisons the gradients).
    """

    keypoints_2d: torch.Tensor
    visibility_2d: torch.Tensor
    joints_3d: torch.Tensor | None = None
    has_3d: torch.Tensor | None = None
    global_orient: torch.Tensor | None = None
    body_pose: torch.Tensor | None = None
    betas: torch.Tensor | None = None
    has_smpl: torch.Tensor | None = None


@dataclass
class RegressorLoss:
    """total: the weighted sum to minimise; the other fields are each term summed over the T steps, unweighted."""

    total: torch.Tensor
    smpl: torch.Tensor
    joints_3d: torch.Tensor
    keypoints_2d: torch.Tensor
    kl: torch.Tensor


def _sample_mask(flags: torch.Tensor | None, batch: int, like: torch.Tensor) -> torch.Tensor:
    """(B,) 0/1 weights from optional per-sample flags (None: every sample), in `like`'s dtype and device."""
    if flags is None:
        return like.new_ones(batch)
    check_shape(flags, (batch,), "per-sample flags")
    return flags.to(like)


def regressor_loss(
    output: RegressorOutput,
    targets: RegressorTargets,
    joints_fn: JointsFn,
    weights: LossWeights | None = None,
    pose_kl: PoseKL | None = None,
    root_joints: Sequence[int] = (0,),
) -> RegressorLoss:
    """Eq. 3 for one batch.

    joints_fn: (global_orient, body_pose, betas) -> (B, J, 3) joints in the camera-aligned body frame (before the
    camera's translation). pose_kl: body_pose (B, 69) -> (B,) KL, e.g. a frozen PoseVAE's `kl`; None skips L_KL.
    root_joints: joints averaged into the root that 3D joints are centred on (SMPL pelvis by default).

    L_smpl compares poses as rotation matrices (squared Frobenius distance, about 2 * angle^2 for small errors) rather
    than as raw axis-angle vectors, which jump at angle pi - and the mean global orientation sits exactly there.
    """
    weights = weights or LossWeights()
    steps = output.trace.num_outer
    poses = torch.stack(output.step_poses)  # (T, B, 24, 3)
    betas = torch.stack(output.step_betas)  # (T, B, 10)
    cameras = torch.stack(output.step_cameras)  # (T, B, 3)
    batch = poses.shape[1]
    flat_poses = poses.flatten(0, 1)  # (T*B, 24, 3)
    joints = joints_fn(flat_poses[:, 0], flat_poses[:, 1:].flatten(1), betas.flatten(0, 1))
    joints = joints.reshape(steps, batch, *joints.shape[1:])  # (T, B, J, 3)
    zero = poses.new_zeros(())

    projected = weak_perspective_project(joints.flatten(0, 1), cameras.flatten(0, 1)).reshape(*joints.shape[:-1], 2)
    check_shape(targets.keypoints_2d, (batch, joints.shape[2], 2), "keypoints_2d")
    per_joint = (projected - targets.keypoints_2d).abs().sum(-1) * targets.visibility_2d  # (T, B, J)
    loss_2d = per_joint.sum() / batch

    loss_3d = zero
    if targets.joints_3d is not None:
        check_shape(targets.joints_3d, (batch, joints.shape[2], 3), "joints_3d")
        roots = list(root_joints)
        pred = joints - joints[:, :, roots].mean(dim=2, keepdim=True)
        true = targets.joints_3d - targets.joints_3d[:, roots].mean(dim=1, keepdim=True)
        per_sample = (pred - true).abs().sum(dim=(-1, -2))  # (T, B)
        loss_3d = (per_sample * _sample_mask(targets.has_3d, batch, poses)).sum() / batch

    loss_smpl = zero
    if targets.body_pose is not None and targets.global_orient is not None and targets.betas is not None:
        true_pose = torch.cat([targets.global_orient, targets.body_pose], dim=1).reshape(
            batch, kinematics.NUM_JOINTS, 3
        )
        pose_error = (axis_angle_to_matrix(poses) - axis_angle_to_matrix(true_pose)).square().sum(dim=(-1, -2, -3))
        per_sample = pose_error + (betas - targets.betas).square().sum(-1)  # (T, B)
        loss_smpl = (per_sample * _sample_mask(targets.has_smpl, batch, poses)).sum() / batch

    loss_kl = zero
    if pose_kl is not None:
        loss_kl = pose_kl(flat_poses[:, 1:].flatten(1)).sum() / batch

    total = (
        weights.smpl * loss_smpl + weights.joints_3d * loss_3d + weights.keypoints_2d * loss_2d + weights.kl * loss_kl
    )
    return RegressorLoss(total=total, smpl=loss_smpl, joints_3d=loss_3d, keypoints_2d=loss_2d, kl=loss_kl)
