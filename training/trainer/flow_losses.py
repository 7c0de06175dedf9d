"""ProHMR's training objective for the pose flow (ProHMR supplement, section 2), on the HKMR trainer's batches.

Per batch of B rows with the frozen regressor's betas (B, 10) and weak-perspective camera (B, 3):
- L_nll: -log p(true pose | context) on the rows with SMPL labels (has_smpl);
- L_exp,2D: the 2D reprojection error of `samples` poses drawn per row, on the rows without SMPL labels (the
  trainer's 2D-only half: every synthetic row has 3D truth, half are used as if they had only 2D, as for HKMR);
- L_mode,2D / L_mode,3D / L_mode,theta: the mode (z = 0) supervised as the point estimate: its 2D reprojection on
  every row, its 3D joints (root-centred) and its rotations on the rows with labels;
- L_orth: the drawn samples' and the mode's 6D vectors kept orthonormal (|a1| = |a2| = 1, a1 . a2 = 0).
ℓ1 on keypoints, squared error on rotation matrices; each term summed over dimensions and divided by B.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from hkmr_studio.body.model import BodyModel
from hkmr_studio.geometry.cameras import weak_perspective_project
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, rot6d_to_matrix
from hkmr_studio.nets.flow import ConditionalPoseFlow, FlowContext


@dataclass
class FlowLossWeights:
    """ProHMR's lambdas (supplement): nll 0.001, exp_2d 0.001, mode_2d 0.01, mode_3d 0.05, mode_theta 0.001,
    orth 0.1. The adversarial terms and L_mode,beta do not apply (betas come from the frozen regressor)."""

    nll: float = 0.001
    exp_2d: float = 0.001
    mode_2d: float = 0.01
    mode_3d: float = 0.05
    mode_theta: float = 0.001
    orth: float = 0.1


@dataclass
class FlowLoss:
    """total: the weighted sum; the rest unweighted, per row."""

    total: torch.Tensor
    nll: torch.Tensor
    exp_2d: torch.Tensor
    mode_2d: torch.Tensor
    mode_3d: torch.Tensor
    mode_theta: torch.Tensor
    orth: torch.Tensor

    def values(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name).detach()) for f in fields(self)}


def orthogonality(pose6d: torch.Tensor) -> torch.Tensor:
    """(..., 24, 6) -> (...,): sum over joints of (|a1|^2 - 1)^2 + (|a2|^2 - 1)^2 + (a1 . a2)^2."""
    a1, a2 = pose6d[..., :3], pose6d[..., 3:]
    terms = (a1.square().sum(-1) - 1).square() + (a2.square().sum(-1) - 1).square() + (a1 * a2).sum(-1).square()
    return terms.sum(-1)


def project_poses(body: BodyModel, pose6d: torch.Tensor, betas: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
    """pose6d (B, 24, 6), betas (B, 10), camera (B, 3) -> (B, 24, 2) joints in normalised crop coordinates."""
    return weak_perspective_project(body.joints_from_rotmats(rot6d_to_matrix(pose6d), betas), camera)


def flow_loss(
    flow: ConditionalPoseFlow,
    context: FlowContext,
    body: BodyModel,
    batch: dict[str, torch.Tensor],
    betas: torch.Tensor,
    camera: torch.Tensor,
    weights: FlowLossWeights,
    samples: int = 2,
    generator: torch.Generator | None = None,
) -> FlowLoss:
    """The objective for one batch (labels as training.samples makes them: joints2d (B, 24, 2), joints3d (B, 24, 3)
    root-centred metres, global_orient (B, 3), body_pose (B, 69), has_smpl (B,))."""
    rows = len(context)
    labelled = batch["has_smpl"].bool()
    true_rotmats = axis_angle_to_matrix(torch.cat([batch["global_orient"], batch["body_pose"]], 1).reshape(rows, 24, 3))
    true6d = torch.cat([true_rotmats[..., 0], true_rotmats[..., 1]], dim=-1)
    zero = betas.new_zeros(())

    nll = -flow.log_prob(true6d[labelled], context.select(labelled)).sum() / rows if labelled.any() else zero

    mode = flow.mode(context)  # (B, 24, 6)
    mode_2d = (project_poses(body, mode, betas, camera) - batch["joints2d"]).abs().sum() / rows
    joints = body.joints_from_rotmats(rot6d_to_matrix(mode[labelled]), betas[labelled])
    mode_3d = ((joints - joints[:, :1]) - batch["joints3d"][labelled]).abs().sum() / rows
    mode_theta = (rot6d_to_matrix(mode[labelled]) - true_rotmats[labelled]).square().sum() / rows

    exp_2d, orth = zero, orthogonality(mode).sum() / rows
    unlabelled = ~labelled
    if unlabelled.any():
        drawn, _ = flow.sample(samples, context.select(unlabelled), generator)  # (U, n, 24, 6)
        flat = drawn.flatten(0, 1)
        projected = project_poses(body, flat, betas[unlabelled].repeat_interleave(samples, 0),
                                  camera[unlabelled].repeat_interleave(samples, 0))
        target = batch["joints2d"][unlabelled].repeat_interleave(samples, 0)
        exp_2d = (projected - target).abs().sum() / (rows * samples)
        orth = orth + orthogonality(flat).sum() / (rows * samples)

    total = (weights.nll * nll + weights.exp_2d * exp_2d + weights.mode_2d * mode_2d + weights.mode_3d * mode_3d
             + weights.mode_theta * mode_theta + weights.orth * orth)
    return FlowLoss(total, nll, exp_2d, mode_2d, mode_3d, mode_theta, orth)
