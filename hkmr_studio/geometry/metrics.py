"""3D pose metrics: Procrustes alignment, MPJPE, PA-MPJPE, PCK and AUC (MPI-INF-3DHP protocol).

Inputs are (B, J, 3) joint positions in metres; errors come back in the same unit as the inputs, per sample (B,)
or per joint (B, J), so callers choose how to average.
"""

from __future__ import annotations

import torch

from hkmr_studio.geometry.checks import check_last_dims

PCK_THRESHOLD_M = 0.150
AUC_THRESHOLDS_M: tuple[float, ...] = tuple(round(0.005 * i, 3) for i in range(31))  # 0, 5, ..., 150 mm


def similarity_transform(
    source: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None = None, translate: bool = True
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The similarity that best maps (B, J, 3) `source` onto `target`: scale (B,), rotation (B, 3, 3) with
    det +1, translation (B, 3), so that s R x_j + t ~ y_j.

    Solves min_{s,R,t} sum_j w_j |s R x_j + t - y_j|^2 in closed form (Umeyama 1991); weights (B, J) >= 0 (None: all
    1), e.g. 0 for missing points. translate=False keeps t = 0: the best similarity about the origin, for points
    that share one (e.g. both hip-centred).
    """
    check_last_dims(source, (3,), "source")
    check_last_dims(target, (3,), "target")
    w = torch.ones(source.shape[:2], dtype=source.dtype, device=source.device) if weights is None else weights
    w = (w / w.sum(dim=1, keepdim=True).clamp_min(1e-12))[..., None]  # (B, J, 1), summing to 1
    mu_x = (w * source).sum(dim=1, keepdim=True) * translate
    mu_y = (w * target).sum(dim=1, keepdim=True) * translate
    x = source - mu_x
    y = target - mu_y
    var_x = (w * x * x).sum(dim=(1, 2))
    cov = (w * y).transpose(1, 2) @ x  # (B, 3, 3): sum_j w_j y_j x_j^T
    u, sigma, vh = torch.linalg.svd(cov)
    sign = torch.sign(torch.linalg.det(u @ vh))
    d = torch.ones_like(sigma)
    d[:, -1] = sign
    rotation = u @ torch.diag_embed(d) @ vh
    scale = (sigma * d).sum(dim=1) / var_x.clamp_min(1e-12)
    translation = mu_y[:, 0] - scale[:, None] * (rotation @ mu_x[:, 0, :, None])[..., 0]
    return scale, rotation, translation


def procrustes_align(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Similarity-align (B, J, 3) `source` onto `target` (rotation, uniform scale, translation; `similarity_transform`);
    returns (B, J, 3)."""
    scale, rotation, translation = similarity_transform(source, target)
    return scale[:, None, None] * source @ rotation.transpose(1, 2) + translation[:, None]


def per_joint_error(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(B, J, 3) x 2 -> (B, J) Euclidean distances."""
    return torch.linalg.norm(pred - target, dim=-1)


def mpjpe(pred: torch.Tensor, target: torch.Tensor, root_index: int | None = 0) -> torch.Tensor:
    """Mean per-joint position error per sample, (B,), after aligning the roots (None: no alignment)."""
    if root_index is not None:
        pred = pred - pred[:, root_index : root_index + 1]
        target = target - target[:, root_index : root_index + 1]
    return per_joint_error(pred, target).mean(dim=1)


def pa_mpjpe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """MPJPE after Procrustes alignment of the prediction onto the target, per sample (B,)."""
    return per_joint_error(procrustes_align(pred, target), target).mean(dim=1)


def pck(pred: torch.Tensor, target: torch.Tensor, threshold: float = PCK_THRESHOLD_M) -> torch.Tensor:
    """Fraction of joints within `threshold` of the target, per sample (B,); inputs should be root-aligned."""
    return (per_joint_error(pred, target) <= threshold).float().mean(dim=1)


def auc(pred: torch.Tensor, target: torch.Tensor, thresholds: tuple[float, ...] = AUC_THRESHOLDS_M) -> torch.Tensor:
    """Area under the PCK curve over `thresholds` (mean PCK over them), per sample (B,)."""
    errors = per_joint_error(pred, target)
    levels = torch.tensor(thresholds, dtype=errors.dtype, device=errors.device)
    return (errors[..., None] <= levels).float().mean(dim=(1, 2))
