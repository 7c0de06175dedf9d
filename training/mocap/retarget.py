"""Fit the body to a clip's 3D joint targets: pose and translation per frame, shape (betas) shared by the clip.

Targets are (F, 24, 3) in the body frame (metres, Y up, facing +Z, left +X) with (24,) per-joint weights, 0 for the
joints the source lacks. The fit is `hkmr_studio.fitting.joints3d.fit_joints3d` (L-BFGS from a Kabsch alignment of
the torso) with its hinge term on, so that knees and elbows bend about their flexion axis where the joints leave a
limb's twist free; see `fit_clip` for the restarts of badly fitted frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hkmr_studio.body.model import BodyModel
from hkmr_studio.fitting.joints3d import Joints3DFit, fit_joints3d

POSE_PRIOR = 2e-4  # m^2 per rad^2 at one joint: 0.7 rad costs as much as 1 cm error at every mapped joint
HINGE_PRIOR = 1e-2  # m^2: a knee bent 0.3 rad sideways costs as much as 3 cm error at every mapped joint
ITERATIONS = 500
RESTART_ERROR_M = 0.08
RESTARTS = 3


@dataclass(frozen=True)
class ClipFit:
    """global_orient (F, 3) and body_pose (F, 69) axis-angle, betas (10,), transl (F, 3), joints (F, 24, 3), and
    the mean error per joint (24,) in mm over the frames, NaN for joints of weight 0."""

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor
    joints: torch.Tensor
    joint_residual_mm: torch.Tensor

    @property
    def residual_mm(self) -> float:
        """The mean per-joint error over the weighted joints, mm."""
        return float(self.joint_residual_mm.nanmean())


def _fit(body: BodyModel, targets: torch.Tensor, weights: torch.Tensor, pose_prior: float, **options) -> Joints3DFit:
    """fit_joints3d with the clip's settings; the priors scale with the summed joint weights, so they trade against
    the mean error per mapped joint whatever the source's mapping. The small pose prior picks the least rotation
    where the joints do not constrain it (bone twists, head, hands, feet)."""
    mapped = float(weights.sum())
    return fit_joints3d(body, targets, weights, iterations=ITERATIONS, pose_regulariser=pose_prior * mapped,
                        hinge_regulariser=HINGE_PRIOR * mapped, **options)


def fit_clip(body: BodyModel, targets: torch.Tensor, weights: torch.Tensor, pose_prior: float = POSE_PRIOR) -> ClipFit:
    """Fit (F, 24, 3) targets with (24,) weights; see the module docstring. `pose_prior`: the pose regulariser's
    weight (POSE_PRIOR built the library; it biases the fit by a few mm where the joints do constrain the pose).

    Frames that end in a poor local minimum (a fully weighted joint off by more than RESTART_ERROR_M, e.g. a thigh
    twisted the wrong way) are fitted again, with the clip's shape, from their nearest well-fitted frame's pose, kept
    where their mean error is lower.
    """
    fit = _fit(body, targets, weights, pose_prior, fit_shape=True, shared_shape=True)
    pose = torch.cat([fit.global_orient, fit.body_pose], dim=1)
    transl, joints, error = fit.transl.clone(), fit.joints.clone(), fit.error_mm.clone()
    for _ in range(RESTARTS):
        worst = error[:, weights >= 1.0].amax(dim=1) / 1000.0
        bad = torch.nonzero(worst > RESTART_ERROR_M)[:, 0]
        good = torch.nonzero(worst <= RESTART_ERROR_M)[:, 0]
        if len(bad) == 0 or len(good) == 0:
            break
        donor = good[(bad[:, None] - good[None, :]).abs().argmin(dim=1)]
        again = _fit(body, targets[bad], weights, pose_prior, init_pose=pose[donor], betas=fit.betas[:1])
        better = again.error_mm.nanmean(dim=1) < error[bad].nanmean(dim=1)
        rows = bad[better]
        pose[rows] = torch.cat([again.global_orient, again.body_pose], dim=1)[better]
        transl[rows], joints[rows], error[rows] = again.transl[better], again.joints[better], again.error_mm[better]
    return ClipFit(
        global_orient=pose[:, :3],
        body_pose=pose[:, 3:],
        betas=fit.betas[0],
        transl=transl,
        joints=joints,
        joint_residual_mm=error.mean(dim=0),
    )
