"""Fit the body to a clip's 3D joint targets: pose and translation per frame, shape (betas) shared by the clip.

Targets are (F, 24, 3) in the body frame (metres, Y up, facing +Z, left +X) with (24,) per-joint weights, 0 for the
joints the source lacks. Objective, minimised by Adam over 6D rotations, betas and translations:
    mean_f sum_j w_j |J_fj - T_fj|^2 / sum_j w_j  +  POSE_PRIOR * mean_f sum_j |R_fj - I|^2  +  SHAPE_PRIOR * |b|^2
    +  HINGE_PRIOR * mean_f sum_{knees, elbows} (|R a - a|^2 + min(0, sin theta_a)^2)
The small pose prior picks the least rotation where the joints do not constrain it (bone twists, head, hands, feet).
The hinge prior keeps knees and elbows rotating about their flexion axis a, in the flexing direction (theta_a is the
angle about a), so the thigh's and upper arm's twist follow the limb's bend instead of the knee bending sideways.
The global orientation starts from a weighted Kabsch alignment of the rest body to the targets; see `fit_clip` for
the restarts of badly fitted frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hkmr_studio.body.kinematics import JOINT_INDEX, NUM_BETAS, NUM_JOINTS
from hkmr_studio.body.model import BodyModel
from hkmr_studio.geometry.rotations import matrix_to_axis_angle, matrix_to_rot6d, rot6d_to_matrix

POSE_PRIOR = 1e-4  # m^2 per unit |R - I|^2: 0.7 rad at one joint costs as much as 1 cm error at every mapped joint
SHAPE_PRIOR = 1e-5  # m^2 per unit beta^2 (betas ~ N(0, 1) over the open body's adults)
HINGE_PRIOR = 1e-2  # m^2: a knee bent 0.3 rad sideways costs as much as 3 cm error at every mapped joint
#: Flexion axes in the T-pose body frame: knees flex the shin backward (+X), elbows the forearm forward.
HINGES = {"left_knee": (1.0, 0.0, 0.0), "right_knee": (1.0, 0.0, 0.0), "left_elbow": (0.0, -1.0, 0.0),
          "right_elbow": (0.0, 1.0, 0.0)}  # fmt: skip
STEPS = 600
RESTART_ERROR_M = 0.08
RESTARTS = 3
LEARNING_RATE = 0.03


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


def _kabsch(source: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Rotation R (F, 3, 3) minimising sum_j w_j |R (s_j - s_mean) - (t_j - t_mean)|^2; (J, 3), (F, J, 3), (J,)."""
    w = weights / weights.sum()
    s = source - (w[:, None] * source).sum(0)
    t = target - (w[None, :, None] * target).sum(1, keepdim=True)
    covariance = torch.einsum("j,fjc,jd->fcd", w, t, s)  # sum_j w_j t_j s_j^T
    u, _, vh = torch.linalg.svd(covariance)
    sign = torch.sign(torch.linalg.det(u @ vh))
    fix = torch.diag_embed(torch.stack([torch.ones_like(sign), torch.ones_like(sign), sign], dim=-1))
    return u @ fix @ vh


def _hinge_penalty(matrices: torch.Tensor) -> torch.Tensor:
    """(F, 24, 3, 3) local rotations -> (F,) hinge violation summed over knees and elbows."""
    index = [JOINT_INDEX[name] for name in HINGES]
    axes = torch.tensor(list(HINGES.values()), dtype=matrices.dtype)  # (H, 3)
    r = matrices[:, index]  # (F, H, 3, 3)
    off_axis = ((r @ axes[:, :, None])[..., 0] - axes).pow(2).sum(-1)
    skew = 0.5 * (r - r.transpose(-1, -2))
    sine = (axes * torch.stack([skew[..., 2, 1], skew[..., 0, 2], skew[..., 1, 0]], dim=-1)).sum(-1)
    return (off_axis + sine.clamp(max=0.0).pow(2)).sum(-1)


def _frame_loss(
    body: BodyModel,
    rot6d: torch.Tensor,
    transl: torch.Tensor,
    betas: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The objective per frame (F,) without the shape prior, and the posed joints (F, 24, 3)."""
    matrices = rot6d_to_matrix(rot6d)
    joints = body.joints_from_rotmats(matrices, betas.expand(len(rot6d), -1), transl)
    data = (((joints - targets) ** 2).sum(-1) * weights).sum(-1) / weights.sum()
    prior = POSE_PRIOR * ((matrices[:, 1:] - torch.eye(3)) ** 2).sum((-1, -2, -3))
    return data + prior + HINGE_PRIOR * _hinge_penalty(matrices), joints


def _optimise(
    body: BodyModel,
    rot6d: torch.Tensor,
    transl: torch.Tensor,
    betas: torch.Tensor,
    targets: torch.Tensor,
    weights: torch.Tensor,
    fit_betas: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Adam from the given (F, 24, 6), (F, 3), (1, 10) start; betas stay fixed unless `fit_betas`."""
    rot6d, transl, betas = (t.detach().clone().requires_grad_() for t in (rot6d, transl, betas))
    optimiser = torch.optim.Adam([rot6d, transl, *([betas] if fit_betas else [])], lr=LEARNING_RATE)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, STEPS)
    for _ in range(STEPS):
        optimiser.zero_grad()
        loss = _frame_loss(body, rot6d, transl, betas, targets, weights)[0].mean() + SHAPE_PRIOR * (betas**2).sum()
        loss.backward()
        optimiser.step()
        schedule.step()
    return rot6d.detach(), transl.detach(), betas.detach()


def fit_clip(body: BodyModel, targets: torch.Tensor, weights: torch.Tensor) -> ClipFit:
    """Fit (F, 24, 3) targets with (24,) weights; see the module docstring.

    Frames that end in a poor local minimum (a fully weighted joint off by more than RESTART_ERROR_M, e.g. a thigh
    twisted the wrong way) are fitted again from their nearest well-fitted frame's pose, kept where that is better.
    """
    frames = targets.shape[0]
    rest = body.rest_joints(torch.zeros(1, NUM_BETAS))[0]
    initial = _kabsch(rest, targets, weights)
    rotations = torch.eye(3).expand(frames, NUM_JOINTS, 3, 3).clone()
    rotations[:, 0] = initial
    w = weights / weights.sum()
    transl = (w[None, :, None] * targets).sum(1) - torch.einsum("j,fcd,jd->fc", w, initial, rest)
    rot6d, transl, betas = _optimise(
        body, matrix_to_rot6d(rotations), transl, torch.zeros(1, NUM_BETAS), targets, weights, fit_betas=True
    )
    for _ in range(RESTARTS):
        with torch.no_grad():
            loss, joints = _frame_loss(body, rot6d, transl, betas, targets, weights)
            worst = (joints - targets).norm(dim=-1)[:, weights >= 1.0].amax(dim=1)
        bad = torch.nonzero(worst > RESTART_ERROR_M)[:, 0]
        good = torch.nonzero(worst <= RESTART_ERROR_M)[:, 0]
        if len(bad) == 0 or len(good) == 0:
            break
        donor = good[(bad[:, None] - good[None, :]).abs().argmin(dim=1)]
        shift = targets[bad, 0] - targets[donor, 0]
        new6d, new_transl, _ = _optimise(
            body, rot6d[donor], transl[donor] + shift, betas, targets[bad], weights, fit_betas=False
        )
        with torch.no_grad():
            new_loss = _frame_loss(body, new6d, new_transl, betas, targets[bad], weights)[0]
        better = new_loss < loss[bad]
        rot6d[bad[better]], transl[bad[better]] = new6d[better], new_transl[better]
    with torch.no_grad():
        matrices = rot6d_to_matrix(rot6d)
        joints = body.joints_from_rotmats(matrices, betas.expand(frames, -1), transl)
        errors = (joints - targets).norm(dim=-1).mean(dim=0) * 1000
        pose = matrix_to_axis_angle(matrices)
    return ClipFit(
        global_orient=pose[:, 0],
        body_pose=pose[:, 1:].reshape(frames, -1),
        betas=betas[0],
        transl=transl,
        joints=joints,
        joint_residual_mm=torch.where(weights > 0, errors, torch.nan),
    )
