"""What a fit reports: parameters, per-keypoint 2D errors, per-joint and per-chain 3D change, loss terms, status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch

from hkmr_studio.body import kinematics


@dataclass(frozen=True)
class FitResult:
    """status: "ok" or "degenerate" (then `message` says why and the parameters are the initialisation).

    global_orient (B, 3), body_pose (B, 69), betas (B, 10), transl (B, 3): camera frame (OpenCV), metres.
    error2d_before / error2d_after: (B, K) pixels per keypoint (NaN where a keypoint was not used).
    joint_change_mm: (B, 24) root-aligned 3D joint displacement from the initialisation; chain_change_mm: chain
    name -> (B,) mean over the chain's joints. loss_terms: name -> final value. camera: how points were projected
    ("type", "focal_length_px", "principal_point_px" [x, y]).
    vertices: (B, V, 3) from one final full pass, when asked for.
    """

    status: Literal["ok", "degenerate"]
    message: str
    global_orient: torch.Tensor
    body_pose: torch.Tensor
    betas: torch.Tensor
    transl: torch.Tensor
    error2d_before: torch.Tensor
    error2d_after: torch.Tensor
    joint_change_mm: torch.Tensor
    chain_change_mm: dict[str, torch.Tensor]
    iterations: int
    loss_terms: dict[str, float] = field(default_factory=dict)
    camera: dict[str, str | float | list[float]] = field(default_factory=dict)
    vertices: torch.Tensor | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def chain_means(per_joint: torch.Tensor) -> dict[str, torch.Tensor]:
    """(B, 24) per-joint values -> chain name -> (B,) mean over that chain's joints."""
    return {c.name: per_joint[:, list(c.joints)].mean(dim=1) for c in kinematics.CHAINS}


def root_aligned_change_mm(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """(B, 24, 3) x 2 metres -> (B, 24) millimetres of displacement after aligning the pelvis."""
    return ((after - after[:, :1]) - (before - before[:, :1])).norm(dim=-1) * 1000.0
