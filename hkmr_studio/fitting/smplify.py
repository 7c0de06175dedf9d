"""SMPLify (Bogo et al. 2016, as SPIN runs it) on MediaPipe-33 keypoints, fast enough to follow a dragged keypoint.

Stage 1 fits the camera translation and global orientation to the torso keypoints, with a depth regulariser keeping
the initial distance; stage 2 fits body pose, betas and orientation (translation optional) to all keypoints with a
confidence-weighted Geman-McClure reprojection loss, a pose prior, an elbow/knee angle prior, the anatomical joint
limits (`body.joint_limits`), a shape prior, and, when given, MediaPipe's world landmarks (`fitting.world_term`) and a
hinge that keeps the torso within FACING_TOLERANCE_DEG of the start's facing.
The loop poses only joints and the landmarks' few vertices (`BodyLandmarks`); the mesh is built once at the end.

Frames: parameters in the camera frame (OpenCV: x right, y down, z forward), metres; keypoints in image pixels.
Keypoints: (B, 33, 2) in MediaPipe order (COCO-17 as the subset `body.keypoint_sets.COCO17_FROM_MEDIAPIPE33` with the
rest weighted 0), weights (B, 33) >= 0, e.g. visibility, larger for keypoints the user pinned.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from hkmr_studio.body import kinematics
from hkmr_studio.body.facing import torso_forward
from hkmr_studio.body.joint_limits import limit_violation
from hkmr_studio.body.landmarks import BodyLandmarks
from hkmr_studio.body.model import BodyModel
from hkmr_studio.fitting.priors import elbow_knee_angle_prior, load_pose_prior
from hkmr_studio.fitting.result import FitResult, chain_means, root_aligned_change_mm
from hkmr_studio.fitting.world_term import world_landmark_energy
from hkmr_studio.geometry.cameras import DEFAULT_CROP_SIZE_PX, perspective_project, scaled_orthographic_project
from hkmr_studio.geometry.crops import crop_boxes_from_points

#: MediaPipe indices of the shoulders and hips: what stage 1 aligns.
TORSO_LANDMARKS = (11, 12, 23, 24)
MIN_KEYPOINTS = 4
PINNED_WEIGHT = 5.0
#: The facing hinge lets the torso turn this far (degrees) from the start's facing before it costs anything.
FACING_TOLERANCE_DEG = 45.0


@dataclass
class SMPLifyConfig:
    """Weights follow SPIN's SMPLify (sigma in pixels); iteration counts are tuned for interactive refits."""

    camera_model: str = "perspective"  # or "weak": scaled orthographic with s = focal / depth
    camera_iterations: int = 5
    body_iterations: int = 20
    learning_rate: float = 0.03  # Adam's, camera stage
    fit_shape: bool = True  # False for drag refits: the person's build does not change when a wrist moves
    sigma_px: float = 100.0
    pose_prior: str = "gmm"
    pose_prior_weight: float = 4.78
    angle_prior_weight: float = 15.2
    shape_prior_weight: float = 5.0
    limit_weight: float = 100.0  # per radian beyond a joint's anatomical limits
    world_weight: float = 0.0  # MediaPipe's world landmarks (0: not used)
    facing_weight: float = 0.0  # the hinge on turning beyond FACING_TOLERANCE_DEG (0: not used)
    crop_pixels: bool = False  # measure 2D residuals in pixels of a 224 px person crop (SPIN's scale)
    depth_weight: float = 100.0
    fit_translation_in_body_stage: bool = True
    frozen_joints: tuple[int, ...] = ()
    frozen_chains: tuple[str, ...] = ()
    relative_tolerance: float = 1e-4
    return_vertices: bool = False


def refine_config(**overrides: object) -> SMPLifyConfig:
    """Settings for Refine (SMPLify from the regressor's body): residuals in a 224 px person crop's pixels, the scale
    SPIN's weights were set for (in a photo's pixels a large person's keypoints outweigh every prior and the fit
    chases MediaPipe's noise); a pull toward the regressor's pose rather than the pose library's; MediaPipe's world
    landmarks; and the facing hinge. The weights were chosen on every fifth view of the real benchmark, the pull
    toward the regressor's pose again for the models of 2026-12-04 (20 -> 40: lower PA-MPJPE on 72% of the other
    views instead of 65%); `python -m training evaluate --real --refine` reports all views."""
    settings = {"camera_iterations": 20, "body_iterations": 60, "crop_pixels": True, "pose_prior": "init",
                "pose_prior_weight": 40.0, "world_weight": 5.0, "facing_weight": 100.0}
    return SMPLifyConfig(**{**settings, **overrides})


def drag_refit_config(**overrides: object) -> SMPLifyConfig:
    """Settings for refits after the user drags a keypoint: the build, the camera and the body's overall orientation
    stay as they were, and a pull toward the start (the `init` prior, not the pose library's) keeps untouched parts
    in place."""
    settings = {"pose_prior": "init", "fit_shape": False, "fit_translation_in_body_stage": False, "frozen_joints": (0,),
                "camera_iterations": 0, "pose_prior_weight": 10.0, "body_iterations": 25}
    return SMPLifyConfig(**{**settings, **overrides})


def changing_refit_config(**overrides: object) -> SMPLifyConfig:
    """Settings for the refits while a keypoint is being dragged ("changing"): the drag settings with a few
    iterations, each refit warm-started from the one before, so the fit follows the cursor and converges as it
    slows down; the release then runs the full drag refit."""
    return drag_refit_config(**{"body_iterations": 4, **overrides})


def warm_up_lbfgs() -> None:
    """One tiny L-BFGS step. torch imports much of what L-BFGS uses on its first step (1.5-3 s on 2 CPU cores), which
    would otherwise delay the first interactive refit; the app calls this in the background once a body is shown."""
    x = torch.zeros(2, requires_grad=True)
    optimizer = torch.optim.LBFGS([x], max_iter=2)

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = (x - 1.0).pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)


def _gmof(residual: torch.Tensor, sigma: float) -> torch.Tensor:
    """Geman-McClure robust error per 2D residual (..., 2) -> (...)."""
    squared = residual.pow(2).sum(-1)
    return sigma**2 * squared / (squared + sigma**2)


def _limit_violation(body_pose: torch.Tensor) -> torch.Tensor:
    """`limit_violation` of (B, 69) poses, (B, 23, 3) radians; a pose within every limit gets constant zeros: the
    same value and (zero) gradient without the differentiable pass, whose graph was 30% of a refit's time."""
    with torch.no_grad():
        violation = limit_violation(body_pose)
    return limit_violation(body_pose) if bool(violation.any()) else violation


def _frozen_mask(config: SMPLifyConfig, device: torch.device) -> torch.Tensor:
    """(24,) bool: joints whose rotation stays at the initialisation."""
    frozen = torch.zeros(kinematics.NUM_JOINTS, dtype=torch.bool, device=device)
    for j in config.frozen_joints:
        frozen[j] = True
    for name in config.frozen_chains:
        frozen[list(kinematics.CHAIN_BY_NAME[name].joints)] = True
    return frozen


def degenerate_keypoints_reason(keypoints: torch.Tensor, weights: torch.Tensor) -> str:
    """Why (B, K, 2) pixel keypoints with (B, K) weights cannot constrain a body, or "" when they can (checked per
    sample, the first failure wins): too few with weight > 0, or those on one point or one line."""
    for b in range(keypoints.shape[0]):
        used = weights[b] > 0
        if int(used.sum()) < MIN_KEYPOINTS:
            return f"fewer than {MIN_KEYPOINTS} usable keypoints: mark more keypoints visible or add them"
        pts = keypoints[b, used].double()
        spread = torch.linalg.svdvals(pts - pts.mean(0))
        if spread[0] < 1.0 or spread[1] < 1e-3 * spread[0]:
            return "the usable keypoints lie on one line (or one point): a body cannot be fitted to them"
    return ""


@contextmanager
def single_thread_for_one_body(keypoints: torch.Tensor) -> Iterator[None]:
    """Run a one-body CPU fit on one thread: its tensors are tiny and thread hand-offs cost more than they save
    (8x slower on a busy 2-core machine). The thread count is process-wide; it is restored afterwards."""
    if keypoints.shape[0] != 1 or keypoints.device.type != "cpu":
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


class SMPLify:
    """Refits bodies to 2D keypoints with a perspective camera; construct once per body, reuse for every refit."""

    def __init__(self, body: BodyModel, config: SMPLifyConfig | None = None) -> None:
        self.body = body
        self.config = config or SMPLifyConfig()
        self.landmarks = BodyLandmarks(body)

    def _project(self, params: dict[str, torch.Tensor], focal: float, principal: torch.Tensor,
                 points: torch.Tensor | None = None) -> torch.Tensor:
        """(B, 33, 2) pixels of the body's landmarks under the configured camera model; `points`: the landmarks
        (B, 33, 3) in the global orientation's frame when already computed."""
        if points is None:
            points = self.landmarks(params["global_orient"], params["body_pose"], params["betas"]).landmarks
        transl = params["transl"]
        if self.config.camera_model == "weak":  # every point at the body origin's depth (HMR's camera, s = f / tz)
            return scaled_orthographic_project(points + transl[:, None], focal, principal, transl[:, 2])
        return perspective_project(points + transl[:, None], focal, principal)

    def fit(
        self,
        keypoints: torch.Tensor,
        weights: torch.Tensor,
        init: dict[str, torch.Tensor],
        focal_length: float,
        principal_point: torch.Tensor,
        world: torch.Tensor | None = None,
        held_joints: tuple[int, ...] = (),
        warm_start: dict[str, torch.Tensor] | None = None,
    ) -> FitResult:
        """Fit from `init` (global_orient (B,3), body_pose (B,69), betas (B,10), transl (B,3)); inputs are not
        modified. principal_point: (B, 2) pixels. NaN keypoints count as weight 0. world: (B, 33, 3) MediaPipe's
        world landmarks (camera axes), used when the config weighs them. held_joints: joints kept at `init` besides
        the config's frozen ones. warm_start: parameters (as `init`) the optimisation starts from instead, e.g. the
        fit of a drag's previous position; `init` stays what the fit is measured and held against (the `init` pose
        prior, held and frozen joints, the depth regulariser, the errors and joint changes "before")."""
        with single_thread_for_one_body(keypoints):
            return self._fit(keypoints, weights, init, focal_length, principal_point, world, held_joints, warm_start)

    def _fit(self, keypoints: torch.Tensor, weights: torch.Tensor, init: dict[str, torch.Tensor],
             focal_length: float, principal_point: torch.Tensor, world: torch.Tensor | None,
             held_joints: tuple[int, ...], warm_start: dict[str, torch.Tensor] | None) -> FitResult:
        cfg = self.config
        finite = torch.isfinite(keypoints).all(-1)
        weights = torch.where(finite, weights.clamp_min(0), torch.zeros_like(weights))
        target = torch.where(finite[..., None], keypoints, torch.zeros_like(keypoints))
        names = ("global_orient", "body_pose", "betas", "transl")
        params = {k: init[k].detach().clone() for k in names}
        with torch.no_grad():
            before_2d = self._project(params, focal_length, principal_point)
            before_joints = self.body.joints_only(params["global_orient"], params["body_pose"], params["betas"])
        error_before = torch.where(weights > 0, (before_2d - target).norm(dim=-1), torch.full_like(weights, torch.nan))
        reason = degenerate_keypoints_reason(target, weights)
        if reason:
            return self._result("degenerate", reason, params, error_before, error_before, before_joints, 0, {},
                                focal_length, principal_point)
        prior, note = load_pose_prior(cfg.pose_prior, params["body_pose"])
        frozen = _frozen_mask(cfg, keypoints.device)
        frozen[list(held_joints)] = True
        if warm_start is not None:
            params = {k: warm_start[k].detach().clone() for k in names}
        iterations = self._camera_stage(params, target, weights, focal_length, principal_point, init["transl"])
        terms: dict[str, float] = {}
        iterations += self._body_stage(params, target, weights, focal_length, principal_point, prior, frozen, terms,
                                       world, init["body_pose"])
        with torch.no_grad():
            after_2d = self._project(params, focal_length, principal_point)
        error_after = torch.where(weights > 0, (after_2d - target).norm(dim=-1), torch.full_like(weights, torch.nan))
        return self._result("ok", note, params, error_before, error_after, before_joints, iterations, terms,
                            focal_length, principal_point)

    def _camera_stage(self, params: dict[str, torch.Tensor], target: torch.Tensor, weights: torch.Tensor,
                      focal: float, principal: torch.Tensor, init_transl: torch.Tensor) -> int:
        cfg = self.config
        torso = list(TORSO_LANDMARKS)
        if cfg.camera_iterations == 0 or int((weights[:, torso] > 0).sum(-1).min()) < 2:
            return 0  # too little torso to align: keep the initial camera
        init_depth = init_transl[:, 2].detach()
        free = {k: params[k].requires_grad_(True) for k in ("transl", "global_orient")}
        optimizer = torch.optim.Adam(free.values(), lr=cfg.learning_rate)
        for _ in range(cfg.camera_iterations):
            projected = self._project(params, focal, principal)
            data = (weights[:, torso] ** 2 * (projected[:, torso] - target[:, torso]).pow(2).sum(-1)).sum(-1)
            depth = cfg.depth_weight**2 * (params["transl"][:, 2] - init_depth).pow(2)
            loss = (data + depth).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        for value in free.values():
            value.requires_grad_(False)
        return cfg.camera_iterations

    def _body_stage(self, params: dict[str, torch.Tensor], target: torch.Tensor, weights: torch.Tensor,
                    focal: float, principal: torch.Tensor, prior, frozen: torch.Tensor,
                    terms: dict[str, float], world: torch.Tensor | None, init_body_pose: torch.Tensor) -> int:
        """L-BFGS on pose (and shape, translation as configured). Frozen joints keep `init_body_pose` (B, 69), the
        root its orientation after the camera stage."""
        cfg = self.config
        names = (["global_orient", "body_pose"] + (["betas"] if cfg.fit_shape else [])
                 + (["transl"] if cfg.fit_translation_in_body_stage else []))
        init_pose = torch.cat([params["global_orient"], init_body_pose.detach()], dim=1).clone()
        keep = frozen.repeat_interleave(3)  # (72,)
        use_world = world is not None and cfg.world_weight > 0
        residual_scale = torch.ones(target.shape[0], 1, 1, dtype=target.dtype)
        if cfg.crop_pixels:
            residual_scale = (DEFAULT_CROP_SIZE_PX / crop_boxes_from_points(target, weights > 0)[:, 2])[:, None, None]
        world_weights = weights.clamp(max=1.0)  # the user's pins weigh the 2D keypoints, not MediaPipe's 3D guess
        with torch.no_grad():
            start_forward = torso_forward(self.landmarks(params["global_orient"], params["body_pose"],
                                                         params["betas"]).landmarks)
        facing_cos = math.cos(math.radians(FACING_TOLERANCE_DEG))
        free = {k: params[k].requires_grad_(True) for k in names}
        optimizer = torch.optim.LBFGS(free.values(), lr=1.0, max_iter=cfg.body_iterations,
                                      tolerance_change=cfg.relative_tolerance, line_search_fn="strong_wolfe")
        named: dict[str, torch.Tensor] = {}

        def closure() -> torch.Tensor:
            full = torch.where(keep, init_pose, torch.cat([params["global_orient"], params["body_pose"]], dim=1))
            current = dict(params, global_orient=full[:, :3], body_pose=full[:, 3:])
            points = self.landmarks(current["global_orient"], current["body_pose"], current["betas"]).landmarks
            projected = self._project(current, focal, principal, points)
            named.update({
                "reprojection": (weights**2 * _gmof((projected - target) * residual_scale, cfg.sigma_px)).sum(-1),
                "pose_prior": cfg.pose_prior_weight**2 * prior(current["body_pose"]),
                "angle_prior": cfg.angle_prior_weight**2 * elbow_knee_angle_prior(current["body_pose"]),
                "joint_limits": cfg.limit_weight**2 * _limit_violation(current["body_pose"]).pow(2).sum((-2, -1)),
                "shape_prior": cfg.shape_prior_weight**2 * params["betas"].pow(2).sum(-1),
            })
            if use_world:
                named["world_landmarks"] = cfg.world_weight**2 * world_landmark_energy(points, world, world_weights)
            if cfg.facing_weight > 0:
                turn = (facing_cos - (torso_forward(points) * start_forward).sum(-1)).clamp_min(0.0)
                named["facing"] = cfg.facing_weight**2 * turn.pow(2)
            loss = sum(v.sum() for v in named.values())
            optimizer.zero_grad()
            loss.backward()
            return loss

        optimizer.step(closure)
        iterations = int(optimizer.state[optimizer._params[0]].get("n_iter", 0))
        terms.update({k: float(v.detach().sum()) for k, v in named.items()})
        with torch.no_grad():
            full = torch.where(keep, init_pose, torch.cat([params["global_orient"], params["body_pose"]], dim=1))
            params["global_orient"], params["body_pose"] = full[:, :3].clone(), full[:, 3:].clone()
        for value in params.values():
            value.requires_grad_(False)
        return iterations

    def _result(self, status: str, message: str, params: dict[str, torch.Tensor], error_before: torch.Tensor,
                error_after: torch.Tensor, before_joints: torch.Tensor, iterations: int, terms: dict[str, float],
                focal: float, principal: torch.Tensor) -> FitResult:
        params = {k: v.detach() for k, v in params.items()}
        with torch.no_grad():
            after_joints = self.body.joints_only(params["global_orient"], params["body_pose"], params["betas"])
            vertices = None
            if self.config.return_vertices:
                vertices = self.body(params["global_orient"], params["body_pose"], params["betas"],
                                     params["transl"]).vertices
        change = root_aligned_change_mm(before_joints, after_joints)
        return FitResult(
            status=status, message=message, global_orient=params["global_orient"], body_pose=params["body_pose"],
            betas=params["betas"], transl=params["transl"], error2d_before=error_before, error2d_after=error_after,
            joint_change_mm=change, chain_change_mm=chain_means(change), iterations=iterations, loss_terms=terms,
            camera={"type": self.config.camera_model, "focal_length_px": focal,
                    "principal_point_px": principal.detach().cpu().tolist()},
            vertices=vertices,
        )
