"""Refits in the pose flow's latent space (ProHMR's model fitting): the body is the flow's image of a latent z, and
the fit moves z to match 2D keypoints under a prior on |z|, so it never leaves what the flow finds plausible for
this photo.

Start: among the flow's mode (z = 0) and the given samples' latents, the one whose body best matches the keypoints
(the edited ones, after a drag). Energy: the confidence-weighted Geman-McClure reprojection error of SMPLify
(residuals in a 224 px person crop's pixels, as Refine measures them) + prior_weight * |z|^2 (= -2 prior_weight
log N(z) up to a constant). Betas, the camera translation and the focal length stay as given: the flow models
the pose, the global orientation included.

Frames: as `fitting.smplify` (camera frame, OpenCV axes, metres; keypoints in image pixels, MediaPipe-33 order).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hkmr_studio.body.landmarks import BodyLandmarks
from hkmr_studio.body.model import BodyModel
from hkmr_studio.fitting.result import FitResult, chain_means, root_aligned_change_mm
from hkmr_studio.fitting.smplify import _gmof, degenerate_keypoints_reason, single_thread_for_one_body
from hkmr_studio.geometry.cameras import image_to_crop_scale, perspective_project
from hkmr_studio.geometry.crops import crop_boxes_from_points
from hkmr_studio.nets.flow import POSE_DIM, ConditionalPoseFlow, FlowContext
from hkmr_studio.nets.probabilistic import pose6d_to_smpl


@dataclass
class FlowFitConfig:
    """iterations: L-BFGS's (strong Wolfe line search); sigma_px: the Geman-McClure scale in crop pixels."""

    iterations: int = 10
    sigma_px: float = 100.0
    prior_weight: float = 5.0
    relative_tolerance: float = 1e-4


@dataclass
class FlowFitResult:
    """The fit (FitResult: parameters, errors, change from the start) and where it lies on the flow: z (B, 144) the
    optimised latent, start_z (B, 144) the chosen start, start_index (B,) which candidate it was (0: the mode,
    i: sample i - 1), pose6d (B, 24, 6) the fitted pose, log_prob (B,) its log-density under the flow."""

    fit: FitResult
    z: torch.Tensor
    start_z: torch.Tensor
    start_index: torch.Tensor
    pose6d: torch.Tensor
    log_prob: torch.Tensor


class FlowPriorFit:
    """Fits bodies to 2D keypoints in a flow's latent space; construct once per model and body, reuse per refit.
    The flow's weights are frozen (requires_grad off): the fit differentiates through it with respect to z only."""

    def __init__(self, body: BodyModel, flow: ConditionalPoseFlow, config: FlowFitConfig | None = None) -> None:
        self.body, self.flow = body, flow.requires_grad_(False)
        self.config = config or FlowFitConfig()
        self.landmarks = BodyLandmarks(body)

    def project(self, z: torch.Tensor, context: FlowContext, betas: torch.Tensor, transl: torch.Tensor,
                focal: float, principal: torch.Tensor) -> torch.Tensor:
        """z (N, 144) -> (N, 33, 2) pixels of the bodies' landmarks; context, betas (N, 10), transl (N, 3) and
        principal (N, 2) for the same N rows."""
        global_orient, body_pose = pose6d_to_smpl(self.flow.from_latent(z, context))
        points = self.landmarks(global_orient, body_pose, betas).landmarks
        return perspective_project(points + transl[:, None], focal, principal)

    def fit(self, keypoints: torch.Tensor, weights: torch.Tensor, context: FlowContext, betas: torch.Tensor,
            transl: torch.Tensor, focal_length: float, principal_point: torch.Tensor,
            candidates: torch.Tensor | None = None) -> FlowFitResult:
        """keypoints (B, 33, 2) pixels (NaN: unused), weights (B, 33) >= 0, the flow's context for the B bodies,
        betas (B, 10), transl (B, 3), principal_point (B, 2); candidates (B, n, 144) sample latents to start from
        besides the mode (None: the mode alone)."""
        with single_thread_for_one_body(keypoints):
            return self._fit(keypoints, weights, context, betas, transl, focal_length, principal_point, candidates)

    def _fit(self, keypoints: torch.Tensor, weights: torch.Tensor, context: FlowContext, betas: torch.Tensor,
             transl: torch.Tensor, focal: float, principal: torch.Tensor,
             candidates: torch.Tensor | None) -> FlowFitResult:
        cfg, batch = self.config, len(keypoints)
        finite = torch.isfinite(keypoints).all(-1)
        weights = torch.where(finite, weights.clamp_min(0), torch.zeros_like(weights))
        target = torch.where(finite[..., None], keypoints, torch.zeros_like(keypoints))
        scale = image_to_crop_scale(crop_boxes_from_points(target, weights > 0)[:, 2])[:, None, None]

        def energy(z: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
            """(N,) energy of latents z (N, 144) for the bodies `rows` (N,) index."""
            projected = self.project(z, context.select(rows), betas[rows], transl[rows], focal, principal[rows])
            data = (weights[rows] ** 2 * _gmof((projected - target[rows]) * scale[rows], cfg.sigma_px)).sum(-1)
            return data + cfg.prior_weight * z.square().sum(-1)

        mode = torch.zeros(batch, 1, POSE_DIM, dtype=keypoints.dtype)
        options = mode if candidates is None else torch.cat([mode, candidates.to(mode)], dim=1)  # (B, 1 + n, 144)
        count = options.shape[1]
        rows = torch.arange(batch).repeat_interleave(count)
        with torch.no_grad():
            start_index = energy(options.flatten(0, 1), rows).reshape(batch, count).argmin(1)
        start_z = options[torch.arange(batch), start_index]
        with torch.no_grad():
            start_pose = self.flow.from_latent(start_z, context)
            before_2d = self.project(start_z, context, betas, transl, focal, principal)
        error_before = torch.where(weights > 0, (before_2d - target).norm(dim=-1), torch.full_like(weights, torch.nan))
        z = start_z.clone()
        iterations, message, status = 0, degenerate_keypoints_reason(target, weights), "ok"
        if message:
            status = "degenerate"
        else:
            z.requires_grad_(True)
            optimizer = torch.optim.LBFGS([z], lr=1.0, max_iter=cfg.iterations, line_search_fn="strong_wolfe",
                                          tolerance_change=cfg.relative_tolerance)
            every = torch.arange(batch)

            def closure() -> torch.Tensor:
                optimizer.zero_grad()
                loss = energy(z, every).sum()
                loss.backward()
                return loss

            optimizer.step(closure)
            iterations = int(optimizer.state[z].get("n_iter", 0))
            z = z.detach()
        with torch.no_grad():
            pose6d = self.flow.from_latent(z, context)
            after_2d = self.project(z, context, betas, transl, focal, principal)
            log_prob = self.flow.log_prob(pose6d, context)
        error_after = torch.where(weights > 0, (after_2d - target).norm(dim=-1), torch.full_like(weights, torch.nan))
        fit = self._result(status, message, start_pose, pose6d, betas, transl, error_before, error_after, iterations,
                           focal, principal, float(cfg.prior_weight * z.square().sum()))
        return FlowFitResult(fit, z, start_z, start_index, pose6d, log_prob)

    def _result(self, status: str, message: str, start_pose: torch.Tensor, pose6d: torch.Tensor, betas: torch.Tensor,
                transl: torch.Tensor, error_before: torch.Tensor, error_after: torch.Tensor, iterations: int,
                focal: float, principal: torch.Tensor, prior: float) -> FitResult:
        with torch.no_grad():
            before = self.body.joints_only(*pose6d_to_smpl(start_pose), betas)
            global_orient, body_pose = pose6d_to_smpl(pose6d)
            after = self.body.joints_only(global_orient, body_pose, betas)
        change = root_aligned_change_mm(before, after)
        return FitResult(
            status=status, message=message, global_orient=global_orient, body_pose=body_pose, betas=betas,
            transl=transl, error2d_before=error_before, error2d_after=error_after, joint_change_mm=change,
            chain_change_mm=chain_means(change), iterations=iterations, loss_terms={"latent_prior": prior},
            camera={"type": "perspective", "focal_length_px": focal,
                    "principal_point_px": principal.detach().cpu().tolist()},
        )
