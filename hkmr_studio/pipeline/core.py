"""The one photo-to-mesh pipeline used by the CLI and the GUI (Qt-free).

image (+ box or keypoints) -> detect -> square person crop -> network -> SMPL parameters, camera and trace ->
mesh and 24 joints in the camera frame -> optional SMPLify refinement -> PipelineResult with per-stage timings.

Camera frame: OpenCV (x right, y down, z forward), metres. The photo's camera is assumed to be a pinhole with focal
length `cameras.assumed_focal_length` (the image diagonal) and its principal point at the image centre, unless given.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from hkmr_studio.body.facing import torso_forward
from hkmr_studio.body.landmarks import landmarks_from_body
from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.checkpoints import DEFAULT_MODEL, LoadedModel, load_checkpoint
from hkmr_studio.fitting.plausibility import PlausibilityCheck
from hkmr_studio.fitting.priors import load_pose_prior
from hkmr_studio.fitting.smplify import PINNED_WEIGHT, SMPLify, drag_refit_config, refine_config
from hkmr_studio.geometry.cameras import (
    assumed_focal_length,
    crop_camera_to_image_translation,
    perspective_project,
    pixels_to_normalised,
)
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hkmr_studio.nets.mirror_average import mirror_averaged
from hkmr_studio.nets.output import RegressorTrace
from hkmr_studio.pipeline import guards, local_edits
from hkmr_studio.pipeline.detection import Box, PoseDetector, person_crop_box
from hkmr_studio.pipeline.facing_check import FacingCheck, check_facing, swap_sides
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D

NO_GPU_MESSAGE = "No CUDA GPU was found; running on the CPU."
#: Where a result's focal length came from: assumed (the image diagonal), given by the user, or EXIF's 35 mm equivalent.
FOCAL_SOURCES = ("assumed", "given", "exif")


def resolve_device(choice: str = "auto") -> tuple[torch.device, str]:
    """'auto' | 'cpu' | 'gpu' (or 'cuda') -> the device to use and a message when the wish could not be met."""
    wants_gpu = choice in {"auto", "gpu", "cuda"}
    if wants_gpu and torch.cuda.is_available():
        return torch.device("cuda"), ""
    if choice in {"gpu", "cuda"}:
        return torch.device("cpu"), NO_GPU_MESSAGE
    if choice not in {"auto", "cpu"}:
        raise ValueError(f"unknown device {choice!r}: use auto, cpu or gpu")
    return torch.device("cpu"), ""


@dataclass
class BodyEstimate:
    """One body in the photo's camera frame. global_orient (3,), body_pose (69,) axis-angle; betas (10,);
    transl (3,) metres; vertices (V, 3) and joints3d (24, 3) metres; joints2d (24, 2) pixels of the photo."""

    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    vertices: np.ndarray
    joints3d: np.ndarray
    joints2d: np.ndarray


@dataclass
class PipelineResult:
    """Everything one run produced; `found` False means no body (see `message`), and the rest may be empty: no
    person, or, when `refused`, a person whose keypoints or body failed the checks of `pipeline.guards`."""

    image: LoadedImage
    found: bool
    message: str = ""
    refused: bool = False
    keypoints: Keypoints2D | None = None
    mask: np.ndarray | None = None
    crop: tuple[float, float, float] | None = None  # (centre x, centre y, side) pixels
    focal_length: float = 0.0
    focal_length_source: str = "assumed"  # FOCAL_SOURCES: assumed (the image diagonal), given, or from EXIF
    principal_point: tuple[float, float] = (0.0, 0.0)
    model_name: str = ""
    model_trained: bool = False
    camera: np.ndarray | None = None  # (3,) weak perspective (s, tx, ty) of the crop
    regression: BodyEstimate | None = None
    trace: RegressorTrace | None = None
    fit: BodyEstimate | None = None
    fit_report: object | None = None  # hkmr_studio.fitting's result when refined
    facing: FacingCheck | None = None  # the best body's facing against the keypoints' evidence
    flipped: bool = False  # the keypoints are read the other way round (`Pipeline.flip`)
    other_way: PipelineResult | None = None  # the flipped result, ready when the facing check is flagged
    timings: dict[str, float] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)

    @property
    def best(self) -> BodyEstimate | None:
        """The refined body when there is one, else the regressor's."""
        return self.fit if self.fit is not None else self.regression


@dataclass(frozen=True)
class NetworkInputs:
    """What the keypoint network reads for one person: crop (centre x, centre y, side) px, landmarks (1, 33, 2) in
    the crop's normalised coordinates, visibility (1, 33), mask (1, 33) (1 = present), world (1, 33, 3) MediaPipe's
    world landmarks or None."""

    crop: tuple[float, float, float]
    landmarks: torch.Tensor
    visibility: torch.Tensor
    mask: torch.Tensor
    world: torch.Tensor | None


def network_inputs(keypoints: Keypoints2D, image_size: tuple[int, int], use_world: bool) -> NetworkInputs:
    """The network's inputs for `keypoints` (pixels of an image of (width, height)): the person crop's rule
    (`person_crop_box`), world landmarks when `use_world` and the keypoints have them."""
    crop = person_crop_box(keypoints, image_size)
    center = torch.tensor([crop[:2]], dtype=torch.float32)
    size = torch.tensor([crop[2]], dtype=torch.float32)
    landmarks = pixels_to_normalised(torch.as_tensor(keypoints.xy, dtype=torch.float32)[None], center, size)
    world = None
    if use_world and keypoints.world is not None:
        world = torch.as_tensor(keypoints.world, dtype=torch.float32)[None]
    return NetworkInputs(crop, landmarks, torch.as_tensor(keypoints.visibility, dtype=torch.float32)[None],
                         torch.as_tensor(keypoints.present, dtype=torch.float32)[None], world)


class Pipeline:
    """Holds the body, the network and the detector, each loaded once on first use and reused."""

    def __init__(self, model: str | Path = DEFAULT_MODEL, body_path: str | Path | None = None,
                 device: str = "auto") -> None:
        self.device, device_message = resolve_device(device)
        self.messages: list[str] = [device_message] if device_message else []
        self.model_spec = model
        self.body_path = body_path
        self._model: LoadedModel | None = None
        self._body: BodyModel | None = None
        self._detector: PoseDetector | None = None
        self._fitter: SMPLify | None = None
        self._drag_fitter: SMPLify | None = None
        self._plausibility: PlausibilityCheck | None = None

    @property
    def model(self) -> LoadedModel:
        if self._model is None:
            self._model = load_checkpoint(self.model_spec, self.device)
            if self._model.net.input_kind != "keypoints":
                raise NotImplementedError("image-encoder models run through training/ for now; pick a keypoint model")
        return self._model

    @property
    def body(self) -> BodyModel:
        if self._body is None:
            self._body = load_body_model(self.body_path)
        return self._body

    @property
    def detector(self) -> PoseDetector:
        if self._detector is None:
            self._detector = PoseDetector()
        return self._detector

    def close(self) -> None:
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def run(
        self,
        image: LoadedImage,
        box: Box | None = None,
        keypoints: Keypoints2D | None = None,
        refine: bool = False,
        focal_length: float | None = None,
        focal_source: str = "given",
        detector: PoseDetector | None = None,
        facing: bool = True,
        mesh: bool = True,
    ) -> PipelineResult:
        """Recover the body in `image`; detect unless `keypoints` are given (pixels of this image). `focal_length` in
        pixels, where it came from in `focal_source` ("given" or "exif"); None assumes the image diagonal.
        `detector`: one to use instead of the pipeline's own (a `VideoPoseDetector` following one video's frames).
        `facing` False skips the facing check and its other-way-round body (frames of a take: a per-frame flip
        would turn the body back and forth). `mesh` False poses the joints alone: the body's vertices are empty,
        and the facing check, which needs them, is skipped too."""
        width, height = image.original_size
        result = PipelineResult(image=image, found=False, messages=list(self.messages + list(image.notes)))
        result.focal_length = float(focal_length or assumed_focal_length(width, height))
        result.focal_length_source = _focal_source(focal_source) if focal_length else "assumed"
        result.principal_point = (width / 2.0, height / 2.0)
        timer = _StageTimer(result.timings)
        if keypoints is None:
            with timer("detect"):
                detection = (detector or self.detector).detect(image.rgb, box)
            if not detection.found:
                result.message = detection.message
                return result
            keypoints, result.mask = detection.keypoints, detection.mask
        result.keypoints = keypoints
        if keypoints.visible().sum() < 4:
            return _refused(result, "too few keypoints are visible (fewer than 4). Use a photo that shows more of "
                                    "the person, or add keypoints by hand")
        if reason := guards.keypoints_reason(keypoints):
            return _refused(result, reason)
        with timer("regress"):
            params = self._regress(result)
        if reason := guards.crop_reason(result.crop[2]):
            return _refused(result, reason)
        with timer("mesh"):
            regression = self._body_estimate(result, params, vertices=mesh)
        if reason := guards.body_reason(dataclasses.asdict(regression)):
            return _refused(result, reason)
        result.regression, result.found = regression, True
        if refine:
            with timer("refine"):
                self._refine(result, self.fitter)
        if not (facing and mesh):
            return result
        result.facing = self._facing(result, result.best)
        if result.facing.flagged:
            with timer("flip"):
                result.other_way = self.flip(result)
        return result

    @property
    def fitter(self) -> SMPLify:
        """SMPLify with Refine's settings (`refine_config`), built on first use."""
        if self._fitter is None:
            self._fitter = SMPLify(self.body, refine_config())
        return self._fitter

    def flip(self, base: PipelineResult) -> PipelineResult:
        """The other way round: base's keypoints read as a person facing the other way (`facing_check.swap_sides`)
        and regressed again. Where the network reads them the same way round, the base's body is turned about its
        own up axis instead and fitted to whichever reading of the keypoints it agrees with. Refined again if base
        was. Returns a new result with `flipped` toggled and base as its `other_way`; base is not changed."""
        if base.best is None:
            raise ValueError("flip needs a result with a recovered body: run the pipeline on the photo first")
        result = dataclasses.replace(base, keypoints=swap_sides(base.keypoints), fit=None, fit_report=None,
                                     facing=None, timings={}, messages=[], flipped=not base.flipped, other_way=base)
        timer = _StageTimer(result.timings)
        with timer("regress"):
            regression = self._body_estimate(result, self._regress(result))
        if _turn_deg(regression, base.best) < 90.0:
            with timer("turn"):
                regression = self._body_estimate(result, _turned_params(base.best))
                if self._facing(result, regression).agreement < self._facing(base, regression).agreement:
                    result.keypoints = base.keypoints
                self._refine(result, self.fitter, start=regression)
                regression, result.fit = result.fit or regression, None
        if reason := guards.body_reason(dataclasses.asdict(regression)):
            return _refused(result, reason)
        result.regression = regression
        if base.fit is not None:
            with timer("refine"):
                self._refine(result, self.fitter)
        result.facing = self._facing(result, result.best)
        return result

    def refit(self, base: PipelineResult, keypoints: Keypoints2D,
              pinned: frozenset[int] = frozenset()) -> PipelineResult:
        """SMPLify from `base`'s body (its fit when refined, else its regression) to edited `keypoints` (pixels of
        base's image) with the drag settings (`drag_refit_config`: build, camera and orientation kept), moving only
        the chains of the keypoints that differ from base's or are `pinned` (`local_edits`). `pinned`: MediaPipe
        indices weighted PINNED_WEIGHT times their visibility, as are the keypoints the user moved. Returns a copy of `base` with the new keypoints and
        fit; its regression is base's (base itself is not changed)."""
        if base.best is None:
            raise ValueError("refit needs a result with a recovered body: run the pipeline on the photo first")
        held = local_edits.held_joints(local_edits.edited_landmarks(base.keypoints, keypoints, pinned))
        pinned = pinned | frozenset(local_edits.moved_landmarks(base.keypoints, keypoints))
        result = dataclasses.replace(base, keypoints=keypoints, fit=None, fit_report=None, timings={}, messages=[])
        if self._drag_fitter is None:
            self._drag_fitter = SMPLify(self.body, drag_refit_config())
        with _StageTimer(result.timings)("refit"):
            self._refine(result, self._drag_fitter, pinned, start=base.best, held_joints=held, check=False)
        result.facing = self._facing(result, result.best)
        return result

    def posed(self, image: LoadedImage, keypoints: Keypoints2D | None, params: dict[str, np.ndarray],
              focal_length: float | None) -> PipelineResult:
        """A result holding the body of given camera-frame parameters (global_orient (3,), body_pose (69,), betas
        (10,), transl (3,) metres: a frame of a take) with `keypoints` (pixels of `image`), seen by a camera of
        `focal_length` pixels (None: the image diagonal) centred on the image: no detection, regression or checks."""
        width, height = image.original_size
        focal_length = float(focal_length or assumed_focal_length(width, height))
        result = PipelineResult(image=image, found=True, keypoints=keypoints, focal_length=focal_length,
                                principal_point=(width / 2.0, height / 2.0), model_name=self.model.name,
                                model_trained=self.model.trained)
        result.regression = self._body_estimate(result, tuple(
            torch.as_tensor(np.asarray(params[name]), dtype=torch.float32)[None]
            for name in ("global_orient", "body_pose", "betas", "transl")))
        return result

    def _regress(self, result: PipelineResult) -> tuple[torch.Tensor, ...]:
        """Run the network on the keypoints; fills crop, camera, trace and model fields of `result` and returns the
        camera-frame parameters (1, 3), (1, 69), (1, 10), (1, 3)."""
        use_world = bool(self.model.meta.get("uses_world_landmarks", False))
        inputs = network_inputs(result.keypoints, result.image.original_size, use_world)
        result.crop = inputs.crop
        net = self.model.net
        with torch.inference_mode():
            out = mirror_averaged(net, inputs.landmarks.to(self.device), inputs.visibility.to(self.device),
                                  inputs.mask.to(self.device),
                                  inputs.world.to(self.device) if inputs.world is not None else None)
        out_cpu = {k: getattr(out, k).float().cpu() for k in ("global_orient", "body_pose", "betas", "camera")}
        center = torch.tensor([result.crop[:2]], dtype=torch.float32)
        size = torch.tensor([result.crop[2]], dtype=torch.float32)
        transl = crop_camera_to_image_translation(out_cpu["camera"], center, size, result.focal_length,
                                                  torch.tensor([result.principal_point], dtype=torch.float32))
        result.camera = out_cpu["camera"][0].numpy()
        result.trace = out.trace
        result.model_name, result.model_trained = self.model.name, self.model.trained
        if not self.model.trained:
            result.messages.append(f"Model '{self.model.name}' is UNTRAINED: its bodies are placeholders.")
        return out_cpu["global_orient"], out_cpu["body_pose"], out_cpu["betas"], transl

    def _body_estimate(self, result: PipelineResult, params: tuple[torch.Tensor, ...],
                       vertices: bool = True) -> BodyEstimate:
        """(1, 3), (1, 69), (1, 10), (1, 3) camera-frame parameters -> mesh, joints and their projection; without
        `vertices` the joints alone (0.4 instead of 13 ms on one core) and an empty (0, 3) mesh."""
        global_orient, body_pose, betas, transl = params
        with torch.inference_mode():
            if vertices:
                out = self.body(global_orient, body_pose, betas, transl)
                joints, mesh = out.joints, out.vertices[0].numpy()
            else:
                joints, mesh = self.body.joints_only(global_orient, body_pose, betas, transl), np.zeros((0, 3))
        principal = torch.tensor([result.principal_point], dtype=torch.float32)
        joints2d = perspective_project(joints, result.focal_length, principal)
        return BodyEstimate(
            global_orient=global_orient[0].numpy(), body_pose=body_pose[0].numpy(), betas=betas[0].numpy(),
            transl=transl[0].numpy(), vertices=mesh, joints3d=joints[0].numpy(), joints2d=joints2d[0].numpy(),
        )

    def _refine(self, result: PipelineResult, fitter: SMPLify, pinned: frozenset[int] = frozenset(),
                start: BodyEstimate | None = None, held_joints: tuple[int, ...] = (), check: bool = True) -> None:
        """SMPLify from `start` (default: the regressor's body) on the result's keypoints (visibility as weights,
        PINNED_WEIGHT times that for `pinned`; `held_joints` kept as they start); fills the fit fields, unless the
        fit is not a body or, with `check` (off for the user's own edits), is implausible (`PlausibilityCheck`) or
        turned the body round against the keypoints' evidence: then the fit stays empty and a message says why."""
        start, kp = start or result.regression, result.keypoints
        init = {name: torch.as_tensor(getattr(start, name), dtype=torch.float32)[None]
                for name in ("global_orient", "body_pose", "betas", "transl")}
        weights = torch.as_tensor(kp.visibility * kp.present, dtype=torch.float32)[None]
        weights[0, sorted(pinned)] *= PINNED_WEIGHT
        world = None if kp.world is None else torch.as_tensor(kp.world, dtype=torch.float32)[None]
        report = fitter.fit(torch.as_tensor(kp.xy, dtype=torch.float32)[None], weights, init, result.focal_length,
                            torch.tensor([result.principal_point], dtype=torch.float32), world, held_joints)
        result.fit_report = report
        if not report.ok:
            result.messages.append(f"Refinement skipped: {report.message}")
            return
        if report.message:
            result.messages.append(report.message)
        fit = self._body_estimate(result, (report.global_orient, report.body_pose, report.betas, report.transl))
        reason = guards.body_reason(dataclasses.asdict(fit))
        if check and not reason:
            reason = self._implausible(init["body_pose"], report.body_pose)
        if (check and not reason and _turn_deg(fit, start) > 90.0
                and self._facing(result, fit).agreement <= self._facing(result, start).agreement):
            reason = "it turned the body round, against what the keypoints say about its facing"
        if reason:
            result.messages.append(f"The refined body was discarded ({reason}); the regressor's body is shown.")
            return
        result.fit = fit

    def _implausible(self, start_pose: torch.Tensor, fit_pose: torch.Tensor) -> str:
        """`PlausibilityCheck.reason` for the fit under the pose GMM (or its fallback)."""
        if self._plausibility is None:
            self._plausibility = PlausibilityCheck(self.body)
        prior, _ = load_pose_prior("gmm", start_pose)
        return self._plausibility.reason(fit_pose, start_pose, prior)

    def _facing(self, result: PipelineResult, body: BodyEstimate) -> FacingCheck:
        """`check_facing` of `body` against the result's keypoints."""
        points = landmarks_from_body(torch.as_tensor(body.vertices)[None], torch.as_tensor(body.joints3d)[None])
        projected = perspective_project(points, result.focal_length, torch.tensor([result.principal_point]))
        return check_facing(result.keypoints, points[0].double().numpy(), projected[0].double().numpy())


def _turn_deg(body: BodyEstimate, other: BodyEstimate) -> float:
    """Degrees between the torso forward directions of two bodies (camera frame)."""
    def forward(b: BodyEstimate) -> torch.Tensor:
        return torso_forward(landmarks_from_body(torch.as_tensor(b.vertices)[None], torch.as_tensor(b.joints3d)[None]))
    return float(torch.rad2deg(torch.arccos((forward(body) * forward(other)).sum().clamp(-1.0, 1.0))))


def _turned_params(body: BodyEstimate) -> tuple[torch.Tensor, ...]:
    """(1, 3), (1, 69), (1, 10), (1, 3) parameters of `body` turned half round about its own up axis (body Y), its
    pelvis kept in place."""
    rotation = axis_angle_to_matrix(torch.as_tensor(body.global_orient, dtype=torch.float32)[None])
    turned = matrix_to_axis_angle(rotation @ axis_angle_to_matrix(torch.tensor([[0.0, math.pi, 0.0]])))
    return (turned, *(torch.as_tensor(getattr(body, k), dtype=torch.float32)[None]
                      for k in ("body_pose", "betas", "transl")))


def _focal_source(source: str) -> str:
    if source not in FOCAL_SOURCES:
        raise ValueError(f"unknown focal length source {source!r}: use one of {', '.join(FOCAL_SOURCES)}")
    return source


def _refused(result: PipelineResult, reason: str) -> PipelineResult:
    """`result` marked as a person without a body the app can report, with `reason` for the user."""
    result.refused, result.message = True, guards.NOT_RECOVERED.format(reason=reason)
    return result


class _StageTimer:
    """Records wall-clock seconds per named stage into a dict."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings = timings

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[stage] = self.timings.get(stage, 0.0) + time.perf_counter() - start

