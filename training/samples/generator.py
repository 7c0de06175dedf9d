"""Synthetic training batches for the keypoint regressor: bodies in library poses (with shares from the VAE and the
pose families when asked), seen by virtual cameras, with the 33 MediaPipe landmarks corrupted the way MediaPipe
corrupts them.

`SampleGenerator(config).batch(index)` builds batch `index` from its own random generator seeded by (config.seed,
index): the same index gives the same batch, in any order and in any worker. Everything is vectorised over the batch
in torch; the body is posed only at its joints, landmark vertices and a few hundred surface points.

Batch keys (B = config.batch_size; float32 unless said; "crop" = the square person crop that inference would cut
from the noisy landmarks, coordinates normalised to [-1, 1], x right, y down):
  keypoints (B, 33, 2)       landmarks in normalised crop coordinates (zero where mask is 0)
  keypoints_px (B, 33, 2)    the same in pixels of a virtual 224 px crop
  visibility (B, 33)         MediaPipe-like visibility in [0, 1]
  mask (B, 33)               1 where the landmark is given (COCO-like samples give only COCO's 17, partial ones lack
                             a region: SampleConfig.partial_fraction)
  world (B, 33, 3)           MediaPipe-like world landmarks: metres, hip-centred, camera-aligned axes (zero if absent)
  has_world (B,) bool        world landmarks given
  joints3d (B, 24, 3)        true SMPL joints, camera frame, root(pelvis)-relative, metres
  joints2d (B, 24, 2)        true SMPL joints projected, normalised crop coordinates
  global_orient (B, 3)       camera-frame axis-angle; body_pose (B, 69) axis-angle; betas (B, 10)
  camera (B, 3)              weak-perspective crop camera (s, tx, ty): s * (X_xy + t) ~ normalised crop coordinates
                             of camera-aligned points X about the body origin (exact for weak-perspective samples)
  has_3d (B,) bool, has_smpl (B,) bool   False for the half of the batch flagged 2D-only
  landmarks3d (B, 33, 3)     true landmarks, camera-aligned about the body origin (add transl for the camera frame)
  transl (B, 3), focal_length (B,), principal_point (B, 2), box (B, 3) (cx, cy, side), perspective (B,) bool:
                             the virtual photo's camera (pixels of a `photo_px` square photo) and the crop in it
  self_occluded (B, 33) bool, covered (B, 33) bool, truncated (B, 33) bool: why the true landmarks (before any
                             left/right swap) are less visible
  family (B,) int64          the pose family's index in training.poses.FAMILIES; -1 for library and VAE poses
  view (B, 3)                (yaw, pitch, roll) radians of the view (training.samples.views): the body's heading, the
                             camera's angle below the horizon and its roll

`SampleGenerator.from_detections` builds the same keys around a real detector's report on known bodies and cameras
(training.rendered: MediaPipe run on renders).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.body.keypoint_sets import PARTIAL_INPUTS
from hkmr_studio.body.landmarks import (
    BodyLandmarks,
    LandmarkDefinition,
    LandmarkOutput,
    landmarks_from_body,
    load_landmark_definition,
)
from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.geometry.cameras import (
    image_translation_to_crop_camera,
    normalised_to_crop_pixels,
    pixels_to_normalised,
    square_photo_focal_length,
)
from hkmr_studio.pipeline.keypoints import COCO17_FROM_MEDIAPIPE33, NUM_LANDMARKS, VISIBILITY_THRESHOLD
from training.poses.families import family_counts, sample_families
from training.samples import corruption, mixtures
from training.samples.cameras import (
    PhotoCameras,
    person_crops,
    place_people,
)
from training.samples.detector_model import DetectorStatistics
from training.samples.mixtures import Modes
from training.samples.poses import PoseSampler, PoseSet, load_poses, perturb_body_pose
from training.samples.self_occlusion import SplatOccluder
from training.samples.views import camera_global_orient, sample_view
from training.samples.world_model import WorldErrorModel

#: The regions a partial sample lacks (hkmr_studio.body.keypoint_sets.PARTIAL_INPUTS; COCO-17 samples come apart).
PARTIAL_REGIONS: tuple[str, ...] = ("no_face", "no_hands_feet", "left_side_hidden", "right_side_hidden")
_HIPS = [23, 24]


class SampleConfigError(ValueError):
    """A SampleConfig setting is out of range; `field` names it and starts the message."""

    def __init__(self, field_name: str, problem: str) -> None:
        super().__init__(f"{field_name}: {problem}")
        self.field, self.problem = field_name, problem


@dataclass(frozen=True)
class SampleConfig:
    """All settings of the generator. Angles in degrees; fractions of the batch in [0, 1]. Camera distributions are
    mixtures of [weight, low, high] intervals (training.samples.mixtures); training/data/CAMERAS.md states the
    defaults' quantiles and why they look like photos."""

    batch_size: int = 128
    seed: int = 0
    # bodies
    perturb_max_deg: float = 12.0  # each joint's rotation is composed with one of angle uniform in [0, this]
    vae_fraction: float = 0.0  # share of poses from the pose_sampler hook (e.g. poses.vae_sampler(vae))
    family_fraction: float = 0.0  # share of poses, with their orientation, from the pose families (training.poses)
    family_weights: dict[str, float] | None = None  # family -> weight (unnamed: 0); None: all families equally
    betas_std: float = 1.0
    betas_clip: float = 3.0
    # views (yaw uniform over the circle): pitch > 0 looks down on the person, roll turns the horizon in the photo
    pitch_modes: Modes = ((0.5, -5.0, 10.0), (0.4, 10.0, 45.0), (0.1, -20.0, -5.0))  # eye level, above, below
    roll_modes: Modes = ((0.75, -3.0, 3.0), (0.25, -20.0, 20.0))  # level, or held askew
    # cameras: lens as 35 mm-equivalent focal length, log-uniform in each mode (geometry.cameras.FRAME_SIDE_MM)
    lens_modes_mm: Modes = ((0.1, 20.0, 23.0), (0.45, 23.0, 28.0), (0.35, 28.0, 85.0), (0.1, 85.0, 135.0))
    perspective_fraction: float = 0.8  # pinhole; the rest use weak perspective
    fill_range: tuple[float, float] = (0.35, 1.0)  # the shown part of the person's box / photo side
    truncation_fraction: float = 0.35  # samples cut by the photo's border: ...
    bottom_cut_share: float = 0.7  # ... this share of them by the bottom border, ...
    bottom_cut_range: tuple[float, float] = (0.05, 0.6)  # ... below this share of the person's height (feet to waist)
    max_overhang: float = 0.35  # ... the others on any side, by up to this many person sizes
    photo_px: float = 512.0
    # corruption (corrupt=False: exact landmarks, mean visibilities, no occluders)
    corrupt: bool = True
    noise_scale: float = 1.0  # x the measured MediaPipe noise, outlier rate and swap rate
    swap_scale: float = 1.0  # x the left/right swap rates again (MediaPipe swapped arms 4-6x as often on real video)
    occluder_fraction: float = 0.5
    hide_fraction: float = 0.1  # covered landmarks dropped (mask 0) instead of displaced
    coco_fraction: float = 0.1  # samples given as COCO-17 keypoints (no world landmarks)
    partial_fraction: float = 0.15  # other samples with a region's landmarks missing (PARTIAL_REGIONS, equally often)
    fitted_world_errors: bool = True  # world landmarks err as fitted to MediaPipe's (training/data/WORLD_LANDMARKS.md);
    # False: independent noise per axis (DetectorStatistics.world_noise), swapped with the 2D landmarks
    two_d_only_fraction: float = 0.5

    def __post_init__(self) -> None:
        for name, log in (("pitch_modes", False), ("roll_modes", False), ("lens_modes_mm", True)):
            try:
                object.__setattr__(self, name, mixtures.check_modes(getattr(self, name), log))
            except ValueError as error:
                raise SampleConfigError(name, str(error)) from error
        for name in ("fill_range", "bottom_cut_range"):
            low, high = (float(v) for v in getattr(self, name))
            if not 0.0 < low <= high <= 1.0:
                raise SampleConfigError(name, f"needs 0 < low <= high <= 1, got {[low, high]}")
            object.__setattr__(self, name, (low, high))
        for name in ("vae_fraction", "family_fraction", "perspective_fraction", "truncation_fraction",
                     "bottom_cut_share", "occluder_fraction", "hide_fraction", "coco_fraction", "partial_fraction",
                     "two_d_only_fraction"):  # fmt: skip
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise SampleConfigError(name, f"must lie in [0, 1], got {getattr(self, name)}")
        for name in ("corrupt", "fitted_world_errors"):
            if not isinstance(getattr(self, name), bool):
                raise SampleConfigError(name, f"expected true or false, got {getattr(self, name)!r}")
        if self.max_overhang < 0:
            raise SampleConfigError("max_overhang", f"must be >= 0, got {self.max_overhang}")
        if self.swap_scale < 0:
            raise SampleConfigError("swap_scale", f"must be >= 0, got {self.swap_scale}")


@dataclass
class DetectorReport:
    """A detector's report: pixels (B, 33, 2) photo px, visibility (B, 33), world (B, 33, 3) hip-centred metres,
    present (B, 33) bool; covered (B, 33) bool by an occluder; has_world (B,) bool."""

    pixels: torch.Tensor
    visibility: torch.Tensor
    world: torch.Tensor
    present: torch.Tensor
    covered: torch.Tensor
    has_world: torch.Tensor


class SampleGenerator:
    """Reproducible synthetic batches; see the module docstring for the keys."""

    def __init__(
        self,
        config: SampleConfig | None = None,
        body: BodyModel | None = None,
        poses: PoseSet | None = None,
        definition: LandmarkDefinition | None = None,
        statistics: DetectorStatistics | None = None,
        pose_sampler: PoseSampler | None = None,
        world_errors: WorldErrorModel | None = None,
    ) -> None:
        self.config = config or SampleConfig()
        if self.config.vae_fraction > 0 and pose_sampler is None:
            raise ValueError("vae_fraction > 0 needs a pose_sampler")
        if self.config.family_fraction > 0:
            family_counts(0, torch.Generator(), self.config.family_weights)  # unknown names and bad weights fail now
        body = body or load_body_model()
        definition = definition or load_landmark_definition()
        self.poses = poses or load_poses()
        self.statistics = statistics or DetectorStatistics.load()
        self.world_errors = (world_errors or WorldErrorModel.load()) if self.config.fitted_world_errors else None
        self.pose_sampler = pose_sampler
        rest_vertices, rest_joints = body.smpl.v_template[None], body.joint_template[None]
        rest = landmarks_from_body(rest_vertices, rest_joints, definition)[0]
        self.splats = SplatOccluder.build(rest_vertices[0].double().numpy(), rest.double().numpy())
        self.body = BodyLandmarks(body, definition, extra_vertices=self.splats.vertex_ids)
        coco = torch.zeros(NUM_LANDMARKS, dtype=torch.bool)
        coco[list(COCO17_FROM_MEDIAPIPE33)] = True
        self._coco = coco
        self._partial_kept = torch.zeros(len(PARTIAL_REGIONS), NUM_LANDMARKS, dtype=torch.bool)
        for row, region in enumerate(PARTIAL_REGIONS):
            self._partial_kept[row, list(PARTIAL_INPUTS[region])] = True

    def generator(self, index: int) -> torch.Generator:
        """The random generator of batch `index`."""
        seed = int(np.random.SeedSequence([self.config.seed, index]).generate_state(1, dtype=np.uint64)[0]) >> 1
        return torch.Generator().manual_seed(seed)

    def _bodies(self, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Body-frame global orientation (B, 3), body pose (B, 69), betas (B, 10) and pose family (B,) (-1: none)."""
        c = self.config
        pick = torch.randint(0, len(self.poses), (c.batch_size,), generator=g)
        global_orient, body_pose = self.poses.global_orient[pick], self.poses.body_pose[pick]
        body_pose = perturb_body_pose(body_pose, np.radians(c.perturb_max_deg), g)
        family = torch.full((c.batch_size,), -1, dtype=torch.long)
        if self.pose_sampler is not None and c.vae_fraction > 0:
            use = torch.rand(c.batch_size, generator=g) < c.vae_fraction
            sampled = self.pose_sampler(int(use.sum()), g).to(body_pose)
            body_pose = body_pose.clone()
            body_pose[use] = sampled
        if c.family_fraction > 0:  # drawn last, so that neither the perturbation nor the VAE moves them
            use = torch.rand(c.batch_size, generator=g) < c.family_fraction
            orient, pose, family[use] = sample_families(int(use.sum()), g, c.family_weights)
            global_orient, body_pose = global_orient.clone(), body_pose.clone()
            global_orient[use], body_pose[use] = orient.to(global_orient), pose.to(body_pose)
        betas = (torch.randn(c.batch_size, 10, generator=g) * c.betas_std).clamp(-c.betas_clip, c.betas_clip)
        return global_orient, body_pose, betas, family

    def _detect(
        self,
        true_px: torch.Tensor,
        hidden: torch.Tensor,
        truncated: torch.Tensor,
        world: torch.Tensor,
        pitch: torch.Tensor,
        hips: torch.Tensor,
        g: torch.Generator,
    ) -> DetectorReport:
        """What a detector reports for the true landmarks: (B, 33, 2) photo pixels, (B, 33) bool hidden by the body
        and beyond the border, (B, 33, 3) hip-centred world landmarks, seen by cameras pitched by (B,) radians with the
        hips' midpoint at (B, 3) in the camera frame."""
        c, stats = self.config, self.statistics
        size = len(true_px)
        if not c.corrupt:
            return DetectorReport(
                true_px,
                corruption.visibility(hidden, truncated, stats, None),
                world,
                torch.ones(size, NUM_LANDMARKS, dtype=torch.bool),
                torch.zeros_like(hidden),
                torch.ones(size, dtype=torch.bool),
            )
        person = (true_px.amax(dim=1) - true_px.amin(dim=1)).amax(dim=1)  # (B,) person size, px
        vis = corruption.visibility(hidden, truncated, stats, g)
        clean_crop = person_crops(true_px, ~truncated, torch.ones_like(truncated), c.photo_px)
        occluders = corruption.random_occluders(true_px, clean_crop[:, 2], c.occluder_fraction, g)
        covered = corruption.covered_by(occluders, true_px)
        pixels = corruption.jitter(true_px, truncated, person, stats, c.noise_scale, g)
        pixels, vis = corruption.occlude(pixels, vis, covered, person, stats, g)
        hide = covered & (torch.rand(size, NUM_LANDMARKS, generator=g) < c.hide_fraction)
        swap = torch.rand(size, len(stats.swap_rates), generator=g) < torch.tensor(stats.swap_rates) * (c.noise_scale * c.swap_scale)
        if self.world_errors is not None:  # MediaPipe's world landmarks swap sides apart from its 2D ones
            world = self.world_errors.apply(world, pitch, hips, g)
            pixels, vis, hide = corruption.swap_sides(swap, pixels, vis, hide)
        else:
            world = world + torch.randn(world.shape, generator=g) * torch.tensor(stats.world_noise)
            pixels, vis, world, hide = corruption.swap_sides(swap, pixels, vis, world, hide)
        coco = torch.rand(size, generator=g) < c.coco_fraction
        coco_vis = torch.where(hidden | covered, 0.5, 1.0)  # COCO's "labelled but occluded" reads as 0.5
        vis = torch.where(coco[:, None], coco_vis, vis)
        present = ~(hide | (coco[:, None] & (~self._coco[None] | truncated)))
        partial = ~coco & (torch.rand(size, generator=g) < c.partial_fraction)
        region = torch.randint(0, len(PARTIAL_REGIONS), (size,), generator=g)
        present &= ~partial[:, None] | self._partial_kept[region]
        return DetectorReport(pixels, vis, world, present, covered, ~coco)

    @torch.no_grad()
    def batch(self, index: int) -> dict[str, torch.Tensor]:
        """Batch `index` (any non-negative integer)."""
        c, g = self.config, self.generator(index)
        size = c.batch_size
        body_orient, body_pose, betas, family = self._bodies(g)
        view = torch.stack(sample_view(size, g, c.pitch_modes, c.roll_modes), dim=1)  # (B, 3) yaw, pitch, roll
        global_orient = camera_global_orient(body_orient, *view.T)
        posed = self.body(global_orient, body_pose, betas)
        cameras = self._cameras(posed.landmarks, g)
        true_px, hidden, truncated, world = self._truth(posed, cameras)
        hips = posed.landmarks[:, _HIPS].mean(dim=1) + cameras.transl  # (B, 3) camera frame
        hips[:, :2] *= cameras.perspective[:, None]  # a weak-perspective photo sees everyone along the optical axis
        seen = self._detect(true_px, hidden, truncated, world, view[:, 1], hips, g)
        return self._assemble(global_orient, body_pose, betas, family, view, posed, cameras, hidden, truncated, seen, g)

    @torch.no_grad()
    def from_detections(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        betas: torch.Tensor,
        family: torch.Tensor,
        view: torch.Tensor,
        cameras: PhotoCameras,
        report: DetectorReport,
        g: torch.Generator,
    ) -> dict[str, torch.Tensor]:
        """A batch (the module docstring's keys) of known bodies (camera-frame global_orient (B, 3), body_pose (B, 69),
        betas (B, 10), family (B,), view (B, 3)) seen by `cameras`, with a real detector's `report` as the landmarks;
        `g` draws which samples are 2D-only."""
        posed = self.body(global_orient, body_pose, betas)
        _, hidden, truncated, _ = self._truth(posed, cameras)
        return self._assemble(global_orient, body_pose, betas, family, view, posed, cameras, hidden, truncated, report,
                              g)

    def _cameras(self, landmarks: torch.Tensor, g: torch.Generator) -> PhotoCameras:
        """Photo cameras for (B, 33, 3) camera-aligned landmarks: lens, pinhole or weak perspective, person size and
        position, cut by the border as the config says."""
        c, size = self.config, len(landmarks)

        def uniform(low: float, high: float) -> torch.Tensor:
            return low + (high - low) * torch.rand(size, generator=g)

        focal = square_photo_focal_length(mixtures.sample(c.lens_modes_mm, size, g, log=True), c.photo_px)
        perspective = torch.rand(size, generator=g) < c.perspective_fraction
        cut = torch.rand(size, generator=g) < c.truncation_fraction
        from_below = cut & (torch.rand(size, generator=g) < c.bottom_cut_share)
        bottom_cut = torch.where(from_below, uniform(*c.bottom_cut_range), torch.zeros(size))
        overhang = torch.where(cut & ~from_below, uniform(0.0, c.max_overhang), torch.zeros(size))
        fill = uniform(*c.fill_range)
        return place_people(landmarks, c.photo_px, focal, fill, bottom_cut, overhang, perspective, g)

    def _truth(
        self, posed: LandmarkOutput, cameras: PhotoCameras
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The true landmarks in photo px (B, 33, 2), hidden by the body (B, 33) bool, beyond the photo's border
        (B, 33) bool, and hip-centred camera-aligned (B, 33, 3) metres."""
        true_px, depth, _ = cameras.project(posed.landmarks)
        hidden = self.splats.occluded(true_px, depth, *cameras.project(posed.vertices))
        truncated = ((true_px < 0) | (true_px >= self.config.photo_px)).any(dim=-1)
        world = posed.landmarks - posed.landmarks[:, _HIPS].mean(dim=1, keepdim=True)
        return true_px, hidden, truncated, world

    def _assemble(
        self,
        global_orient: torch.Tensor,
        body_pose: torch.Tensor,
        betas: torch.Tensor,
        family: torch.Tensor,
        view: torch.Tensor,
        posed: LandmarkOutput,
        cameras: PhotoCameras,
        hidden: torch.Tensor,
        truncated: torch.Tensor,
        seen: DetectorReport,
        g: torch.Generator,
    ) -> dict[str, torch.Tensor]:
        """The batch's keys from the bodies, their cameras and what the detector reported."""
        c, size = self.config, len(global_orient)
        mask = seen.present.float()
        box = person_crops(
            seen.pixels, (seen.visibility >= VISIBILITY_THRESHOLD) & seen.present, seen.present, c.photo_px
        )
        keypoints = pixels_to_normalised(seen.pixels, box[:, :2], box[:, 2]) * mask[..., None]
        joints_px = cameras.project(posed.joints)[0]
        labelled = torch.ones(size, dtype=torch.bool)
        labelled[torch.randperm(size, generator=g)[: round(c.two_d_only_fraction * size)]] = False
        return {
            "keypoints": keypoints,
            "keypoints_px": normalised_to_crop_pixels(keypoints) * mask[..., None],
            "visibility": seen.visibility * mask,
            "mask": mask,
            "world": seen.world * (mask * seen.has_world[:, None])[..., None],
            "has_world": seen.has_world,
            "joints3d": posed.joints - posed.joints[:, :1],
            "joints2d": pixels_to_normalised(joints_px, box[:, :2], box[:, 2]),
            "global_orient": global_orient,
            "body_pose": body_pose,
            "betas": betas,
            "camera": image_translation_to_crop_camera(cameras.transl, box[:, :2], box[:, 2], cameras.focal,
                                                       cameras.principal),
            "has_3d": labelled,
            "has_smpl": labelled.clone(),
            "landmarks3d": posed.landmarks,
            "transl": cameras.transl,
            "focal_length": cameras.focal,
            "principal_point": cameras.principal,
            "box": box,
            "perspective": cameras.perspective,
            "self_occluded": hidden,
            "covered": seen.covered,
            "truncated": truncated,
            "family": family,
            "view": view,
        }


class SampleDataset(torch.utils.data.IterableDataset):
    """Batches `start`, `start + 1`, ... (`num_batches` of them, or endless when None) for a DataLoader with
    batch_size=None; with several workers each takes every num_workers-th batch, so the stream is the same."""

    def __init__(self, generator: SampleGenerator, start: int = 0, num_batches: int | None = None) -> None:
        super().__init__()
        self.generator = generator
        self.start = start
        self.num_batches = num_batches

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        index = self.start + worker
        stop = None if self.num_batches is None else self.start + self.num_batches
        while stop is None or index < stop:
            yield self.generator.batch(index)
            index += workers
