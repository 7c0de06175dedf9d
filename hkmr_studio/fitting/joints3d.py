"""Inverse kinematics: body rotations (and optionally shape and translation) from target 3D joint positions.

Used to turn motion-capture skeletons into body poses (training/mocap/retarget.py). Works in whatever frame the
targets are in (metres); batched over frames, on the joints-only forward pass. L-BFGS converges in tens of steps on
this smooth least-squares problem. Objective, over axis-angle pose, translation and (optionally) betas:
    sum_b sum_j w_bj |J_bj - T_bj|^2  +  pose_regulariser * |body_pose|^2  +  hinge_regulariser * sum_b hinge_b
    (+ 1e-3 |betas|^2 when fitting shape)
The hinge term keeps knees and elbows rotating about their flexion axis a, in the flexing direction:
hinge = sum_{knees, elbows} |R a - a|^2 + min(0, sin theta_a)^2 (theta_a the angle about a), so where the joints do
not pin a limb's twist, the twist follows its bend instead of the knee bending sideways.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hkmr_studio.body import kinematics
from hkmr_studio.body.model import BodyModel
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle

#: Flexion axes in the T-pose body frame (Y up, facing +Z, left +X): knees flex the shin backward (+X), elbows the
#: forearm forward.
HINGES = {"left_knee": (1.0, 0.0, 0.0), "right_knee": (1.0, 0.0, 0.0), "left_elbow": (0.0, -1.0, 0.0),
          "right_elbow": (0.0, 1.0, 0.0)}  # fmt: skip


@dataclass
class Joints3DFit:
    """global_orient (B, 3), body_pose (B, 69), betas (B, 10), transl (B, 3); joints (B, 24, 3) of the fit;
    error_mm (B, 24) distance to the targets (NaN where a joint had weight 0)."""

    global_orient: torch.Tensor
    body_pose: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor
    joints: torch.Tensor
    error_mm: torch.Tensor

    @property
    def mean_error_mm(self) -> float:
        return float(self.error_mm.nanmean())


def _torso_orientation(rest: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """(B, 3) axis-angle rotating the rest torso (pelvis, hips, spine, shoulders) onto the targets' (Kabsch), a start
    from which the local fit cannot get stuck facing the wrong way."""
    torso = [kinematics.JOINT_INDEX[n] for n in ("pelvis", "left_hip", "right_hip", "spine1", "spine2", "spine3",
                                                 "neck", "left_shoulder", "right_shoulder")]
    w = weights[:, torso, None]
    a = rest[:, torso] - (rest[:, torso] * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp_min(1e-9)
    b = targets[:, torso] - (targets[:, torso] * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp_min(1e-9)
    u, _, vh = torch.linalg.svd((b * w).transpose(1, 2) @ a)
    d = torch.ones(rest.shape[0], 3, dtype=rest.dtype, device=rest.device)
    d[:, 2] = torch.sign(torch.linalg.det(u @ vh))
    return matrix_to_axis_angle(u @ torch.diag_embed(d) @ vh)


def hinge_penalty(rotations: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3, 3) local joint rotations -> (B,) how far knees and elbows turn off their flexion axis or bend the
    wrong way (see the module docstring)."""
    index = [kinematics.JOINT_INDEX[name] for name in HINGES]
    axes = torch.tensor(list(HINGES.values()), dtype=rotations.dtype, device=rotations.device)  # (H, 3)
    r = rotations[:, index]  # (B, H, 3, 3)
    off_axis = ((r @ axes[:, :, None])[..., 0] - axes).pow(2).sum(-1)
    skew = 0.5 * (r - r.transpose(-1, -2))
    sine = (axes * torch.stack([skew[..., 2, 1], skew[..., 0, 2], skew[..., 1, 0]], dim=-1)).sum(-1)
    return (off_axis + sine.clamp(max=0.0).pow(2)).sum(-1)


def fit_joints3d(
    body: BodyModel,
    targets: torch.Tensor,
    weights: torch.Tensor | None = None,
    init_pose: torch.Tensor | None = None,
    fit_shape: bool = False,
    shared_shape: bool = False,
    iterations: int = 200,
    pose_regulariser: float = 1e-4,
    hinge_regulariser: float = 0.0,
    betas: torch.Tensor | None = None,
) -> Joints3DFit:
    """Fit (B, 24, 3) `targets` with (B, 24) or (24,) `weights` (default 1). init_pose: (B, 72) axis-angle or None
    (rest, the global orientation from a Kabsch alignment of the torso).

    betas: (B, 10) or (1, 10) shape to start from (default zeros), kept unless fit_shape. fit_shape: also fit betas
    (per frame, or one set for all frames with shared_shape); translation is always fitted. A small L2 regulariser on
    the pose keeps joints that the targets do not constrain (zero weight) near rest; see the module docstring for the
    hinge term.
    """
    batch = targets.shape[0]
    dtype, device = targets.dtype, targets.device
    weights = torch.ones(batch, kinematics.NUM_JOINTS, dtype=dtype, device=device) if weights is None else weights
    weights = weights.expand(batch, kinematics.NUM_JOINTS)
    pose = (torch.zeros(batch, 72, dtype=dtype, device=device) if init_pose is None else init_pose.clone()).detach()
    pose.requires_grad_(True)
    if betas is None:
        betas = torch.zeros(1 if shared_shape else batch, kinematics.NUM_BETAS, dtype=dtype, device=device)
    betas = betas.detach().clone().requires_grad_(fit_shape)
    used = weights > 0
    rest = body.rest_joints(betas.detach().expand(batch, -1))
    if init_pose is None:
        with torch.no_grad():
            pose[:, :3] = _torso_orientation(rest, targets, weights)
    transl = (targets[:, 0] - rest[:, 0]).detach().requires_grad_(True)
    variables = [pose, transl] + ([betas] if fit_shape else [])
    optimizer = torch.optim.LBFGS(variables, lr=1.0, max_iter=iterations, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        joints = body.joints_only(pose[:, :3], pose[:, 3:], betas.expand(batch, -1), transl)
        loss = (weights * (joints - targets).pow(2).sum(-1)).sum() + pose_regulariser * pose[:, 3:].pow(2).sum()
        if hinge_regulariser > 0:
            rotations = axis_angle_to_matrix(pose.reshape(batch, kinematics.NUM_JOINTS, 3))
            loss = loss + hinge_regulariser * hinge_penalty(rotations).sum()
        if fit_shape:
            loss = loss + 1e-3 * betas.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        betas_out = betas.detach().expand(batch, -1).clone()
        joints = body.joints_only(pose[:, :3], pose[:, 3:], betas_out, transl)
        error = (joints - targets).norm(dim=-1) * 1000.0
        error = torch.where(used, error, torch.full_like(error, torch.nan))
    return Joints3DFit(pose[:, :3].detach(), pose[:, 3:].detach(), betas_out, transl.detach(), joints, error)
