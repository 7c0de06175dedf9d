"""The one photo-to-mesh pipeline used by the CLI and the GUI (Qt-free).

image (+ box or keypoints) -> detect -> square person crop -> network -> SMPL parameters, camera and trace ->
mesh and 24 joints in the camera frame -> optional SMPLify refinement -> PipelineResult with per-stage timings.
Each stage returns a frozen value (`pipeline.stages`); `stages.assemble` makes the result once per run.

Camera frame: OpenCV (x right, y down, z forward), metres. The photo's camera is assumed to be a pinhole with focal
length `cameras.assumed_focal_length` (the image diagonal) and its principal point at the image centre, unless given.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from hkmr_studio.body.facing import torso_forward
from hkmr_studio.body.landmarks import landmarks_from_body
from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.checkpoints import DEFAULT_MODEL, LoadedModel, load_checkpoint
from hkmr_studio.fitting.plausibility import PlausibilityCheck
from hkmr_studio.fitting.priors import load_pose_prior
from hkmr_studio.fitting.smplify import (
    PINNED_WEIGHT,
    SMPLify,
    changing_refit_config,
    drag_refit_config,
    refine_config,
)
from hkmr_studio.geometry.cameras import crop_camera_to_image_translation, perspective_project, pixels_to_normalised
from hkmr_studio.geometry.rotations import axis_angle_to_matrix, matrix_to_axis_angle
from hkmr_studio.nets.mirror_average import mirror_averaged
from hkmr_studio.pipeline import guards, local_edits
from hkmr_studio.pipeline.detection import Box, PoseDetector, person_crop_box
from hkmr_studio.pipeline.facing_check import FacingCheck, check_facing, swap_sides
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.pipeline.stages import (  # BodyEstimate, FOCAL_SOURCES and PipelineResult are read from here too
    FOCAL_SOURCES,
    PARAM_NAMES,
    BodyEstimate,
    BodyParams,
    DetectionStage,
    FitStage,
    Intrinsics,
    PipelineResult,
    RegressionStage,
    assemble,
    body_params,
    paired,
)

NO_GPU_MESSAGE = "No CUDA GPU was found; running on the CPU."
__all__ = ["FOCAL_SOURCES", "BodyEstimate", "NetworkInputs", "Pipeline", "PipelineResult", "network_inputs",
           "resolve_device"]


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
        self._changing_fitter: SMPLify | None = None
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
        intrinsics = Intrinsics.of_image(image, focal_length, focal_source)
        notes = (*self.messages, *image.notes)
        timings: dict[str, float] = {}
        timer = _StageTimer(timings)
        if keypoints is None:
            with timer("detect"):
                detection = self.detect(image, intrinsics, box, detector)
        else:
            detection = DetectionStage(image, intrinsics, keypoints)
        if detection.keypoints is None:
            return assemble(detection, timings=timings, notes=notes)
        if reason := _keypoints_reason(detection.keypoints):
            return assemble(detection, refused=reason, timings=timings, notes=notes)
        with timer("regress"):
            regression = self.regress(detection)
        if reason := guards.crop_reason(regression.crop[2]):
            return assemble(detection, regression, refused=reason, timings=timings, notes=notes)
        with timer("mesh"):
            regression = self.mesh(detection, regression, vertices=mesh)
        if reason := guards.body_reason(dataclasses.asdict(regression.body)):
            return assemble(detection, regression, refused=reason, timings=timings, notes=notes)
        fit = None
        if refine:
            with timer("refine"):
                fit = self.refine(detection, regression.body)
        if not (facing and mesh):
            return assemble(detection, regression, fit, timings=timings, notes=notes)
        check = self._facing(detection, _best(regression, fit))
        result = assemble(detection, regression, fit, facing=check, timings=timings, notes=notes)
        if not check.flagged:
            return result
        with timer("flip"):
            other_way = self.flip(result)
        return paired(result, other_way, timings=timings)

    def detect(self, image: LoadedImage, intrinsics: Intrinsics, box: Box | None = None,
               detector: PoseDetector | None = None) -> DetectionStage:
        """MediaPipe's person in `image` (within `box` when given), by `detector` or the pipeline's own."""
        found = (detector or self.detector).detect(image.rgb, box)
        if not found.found:
            return DetectionStage(image, intrinsics, message=found.message)
        return DetectionStage(image, intrinsics, found.keypoints, found.mask)

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
        seen = DetectionStage.of_result(base)
        detection = dataclasses.replace(seen, keypoints=swap_sides(base.keypoints), flipped=not base.flipped)
        timings: dict[str, float] = {}
        timer = _StageTimer(timings)
        with timer("regress"):
            regression = self.mesh(detection, self.regress(detection))
        if _turn_deg(regression.body, base.best) < 90.0:
            with timer("turn"):
                turned = self._body_estimate(detection.intrinsics, _turned_params(base.best))
                if self._facing(detection, turned).agreement < self._facing(seen, turned).agreement:
                    detection = dataclasses.replace(detection, keypoints=base.keypoints)
                turn = self.refine(detection, turned)
                body = turn.body or turned
                regression = dataclasses.replace(regression, params=body_params(body), body=body,
                                                 messages=regression.messages + turn.messages)
        if reason := guards.body_reason(dataclasses.asdict(regression.body)):
            return assemble(detection, regression, refused=reason, other_way=base, timings=timings)
        fit = None
        if base.fit is not None:
            with timer("refine"):
                fit = self.refine(detection, regression.body)
        return assemble(detection, regression, fit, facing=self._facing(detection, _best(regression, fit)),
                        other_way=base, timings=timings)

    def refit(self, base: PipelineResult, keypoints: Keypoints2D, pinned: frozenset[int] = frozenset(),
              warm_start: BodyEstimate | None = None, changing: bool = False) -> PipelineResult:
        """SMPLify from `base`'s body (its fit when refined, else its regression) to edited `keypoints` (pixels of
        base's image) with the drag settings (`drag_refit_config`: build, camera and orientation kept), moving only
        the chains of the keypoints that differ from base's or are `pinned` (`local_edits`). `pinned`: MediaPipe
        indices weighted PINNED_WEIGHT times their visibility, as are the keypoints the user moved. `warm_start`: a
        fit of the same edits to start from (a drag's previous refit, so its refits add up; base's body stays what the
        fit holds and pulls toward). `changing`: a refit while the keypoint is still dragged, of a few iterations
        (`changing_refit_config`). Returns a copy of `base` with the new keypoints and fit; its regression is
        base's (base itself is not changed)."""
        if base.best is None:
            raise ValueError("refit needs a result with a recovered body: run the pipeline on the photo first")
        held = local_edits.held_joints(local_edits.edited_landmarks(base.keypoints, keypoints, pinned))
        pinned = pinned | frozenset(local_edits.moved_landmarks(base.keypoints, keypoints))
        detection = dataclasses.replace(DetectionStage.of_result(base), keypoints=keypoints)
        timings: dict[str, float] = {}
        if self._drag_fitter is None:
            self._drag_fitter = SMPLify(self.body, drag_refit_config())
            self._changing_fitter = SMPLify(self.body, changing_refit_config())
        fitter = self._changing_fitter if changing else self._drag_fitter
        with _StageTimer(timings)("refit"):
            fit = self.refine(detection, base.best, fitter, pinned, held_joints=held, check=False,
                              warm_start=warm_start)
        regression = RegressionStage.of_result(base)
        return assemble(detection, regression, fit, facing=self._facing(detection, _best(regression, fit)),
                        other_way=base.other_way, timings=timings)

    def posed(self, image: LoadedImage, keypoints: Keypoints2D | None, params: dict[str, np.ndarray],
              focal_length: float | None) -> PipelineResult:
        """A result holding the body of given camera-frame parameters (global_orient (3,), body_pose (69,), betas
        (10,), transl (3,) metres: a frame of a take) with `keypoints` (pixels of `image`), seen by a camera of
        `focal_length` pixels (None: the image diagonal) centred on the image: no detection, regression or checks."""
        detection = DetectionStage(image, Intrinsics.of_image(image, focal_length), keypoints)
        given = tuple(torch.as_tensor(np.asarray(params[name]), dtype=torch.float32)[None] for name in PARAM_NAMES)
        regression = RegressionStage(None, None, None, self.model.name, self.model.trained, given)
        return assemble(detection, self.mesh(detection, regression))

    def regress(self, detection: DetectionStage) -> RegressionStage:
        """The network on the detection's keypoints: its crop, camera, trace and camera-frame parameters (the body
        itself comes from `mesh`)."""
        use_world = bool(self.model.meta.get("uses_world_landmarks", False))
        inputs = network_inputs(detection.keypoints, detection.image.original_size, use_world)
        with torch.inference_mode():
            out = mirror_averaged(self.model.net, inputs.landmarks.to(self.device), inputs.visibility.to(self.device),
                                  inputs.mask.to(self.device),
                                  inputs.world.to(self.device) if inputs.world is not None else None)
        out_cpu = {k: getattr(out, k).float().cpu() for k in ("global_orient", "body_pose", "betas", "camera")}
        center = torch.tensor([inputs.crop[:2]], dtype=torch.float32)
        size = torch.tensor([inputs.crop[2]], dtype=torch.float32)
        intrinsics = detection.intrinsics
        transl = crop_camera_to_image_translation(out_cpu["camera"], center, size, intrinsics.focal_length,
                                                  intrinsics.principal_tensor)
        untrained = () if self.model.trained else (
            f"Model '{self.model.name}' is UNTRAINED: its bodies are placeholders.",)
        return RegressionStage(inputs.crop, out_cpu["camera"][0].numpy(), out.trace, self.model.name,
                               self.model.trained, (out_cpu["global_orient"], out_cpu["body_pose"], out_cpu["betas"],
                                                    transl), messages=untrained)

    def mesh(self, detection: DetectionStage, regression: RegressionStage, vertices: bool = True) -> RegressionStage:
        """`regression` with its body posed from its parameters (`vertices` False: the joints alone)."""
        return dataclasses.replace(regression, body=self._body_estimate(detection.intrinsics, regression.params,
                                                                        vertices))

    def _body_estimate(self, intrinsics: Intrinsics, params: BodyParams, vertices: bool = True) -> BodyEstimate:
        """(1, 3), (1, 69), (1, 10), (1, 3) camera-frame parameters -> mesh, joints and their projection; without
        `vertices` the joints alone (0.4 instead of 13 ms on one core) and an empty (0, 3) mesh."""
        global_orient, body_pose, betas, transl = params
        with torch.inference_mode():
            if vertices:
                out = self.body(global_orient, body_pose, betas, transl)
                joints, mesh = out.joints, out.vertices[0].numpy()
            else:
                joints, mesh = self.body.joints_only(global_orient, body_pose, betas, transl), np.zeros((0, 3))
        joints2d = perspective_project(joints, intrinsics.focal_length, intrinsics.principal_tensor)
        return BodyEstimate(
            global_orient=global_orient[0].numpy(), body_pose=body_pose[0].numpy(), betas=betas[0].numpy(),
            transl=transl[0].numpy(), vertices=mesh, joints3d=joints[0].numpy(), joints2d=joints2d[0].numpy(),
        )

    def refine(self, detection: DetectionStage, start: BodyEstimate, fitter: SMPLify | None = None,
               pinned: frozenset[int] = frozenset(), held_joints: tuple[int, ...] = (),
               check: bool = True, warm_start: BodyEstimate | None = None) -> FitStage:
        """SMPLify (`fitter`, default Refine's) from `start` on the detection's keypoints (visibility as weights,
        PINNED_WEIGHT times that for `pinned`; `held_joints` kept as they start; `warm_start`: a body the
        optimisation starts from instead, `start` still what it holds and pulls toward). The stage's body is None when
        the fit is not a body or, with `check` (off for the user's own edits), is implausible
        (`PlausibilityCheck`) or turned the body round against the keypoints' evidence; its messages say why."""
        kp, intrinsics = detection.keypoints, detection.intrinsics
        init = dict(zip(PARAM_NAMES, body_params(start), strict=True))
        weights = torch.as_tensor(kp.visibility * kp.present, dtype=torch.float32)[None]
        weights[0, sorted(pinned)] *= PINNED_WEIGHT
        world = None if kp.world is None else torch.as_tensor(kp.world, dtype=torch.float32)[None]
        fitter = self.fitter if fitter is None else fitter
        warm = None if warm_start is None else dict(zip(PARAM_NAMES, body_params(warm_start), strict=True))
        report = fitter.fit(torch.as_tensor(kp.xy, dtype=torch.float32)[None], weights, init, intrinsics.focal_length,
                            intrinsics.principal_tensor, world, held_joints, warm)
        if not report.ok:
            return FitStage(None, report, (f"Refinement skipped: {report.message}",))
        notes = (report.message,) if report.message else ()
        fit = self._body_estimate(intrinsics, (report.global_orient, report.body_pose, report.betas, report.transl))
        reason = guards.body_reason(dataclasses.asdict(fit))
        if check and not reason:
            reason = self._implausible(init["body_pose"], report.body_pose)
        if (check and not reason and _turn_deg(fit, start) > 90.0
                and self._facing(detection, fit).agreement <= self._facing(detection, start).agreement):
            reason = "it turned the body round, against what the keypoints say about its facing"
        if reason:
            discarded = f"The refined body was discarded ({reason}); the regressor's body is shown."
            return FitStage(None, report, (*notes, discarded))
        return FitStage(fit, report, notes)

    def _implausible(self, start_pose: torch.Tensor, fit_pose: torch.Tensor) -> str:
        """`PlausibilityCheck.reason` for the fit under the pose GMM (or its fallback)."""
        if self._plausibility is None:
            self._plausibility = PlausibilityCheck(self.body)
        prior, _ = load_pose_prior("gmm", start_pose)
        return self._plausibility.reason(fit_pose, start_pose, prior)

    def _facing(self, detection: DetectionStage, body: BodyEstimate) -> FacingCheck:
        """`check_facing` of `body` against the detection's keypoints."""
        points = landmarks_from_body(torch.as_tensor(body.vertices)[None], torch.as_tensor(body.joints3d)[None])
        intrinsics = detection.intrinsics
        projected = perspective_project(points, intrinsics.focal_length, intrinsics.principal_tensor)
        return check_facing(detection.keypoints, points[0].double().numpy(), projected[0].double().numpy())


def _keypoints_reason(keypoints: Keypoints2D) -> str:
    """Why the network cannot read `keypoints` ('' when it can): too few visible, or `guards.keypoints_reason`."""
    if keypoints.visible().sum() < 4:
        return ("too few keypoints are visible (fewer than 4). Use a photo that shows more of the person, or add "
                "keypoints by hand")
    return guards.keypoints_reason(keypoints)


def _best(regression: RegressionStage, fit: FitStage | None) -> BodyEstimate:
    """The refined body when the fit kept one, else the regressor's."""
    return fit.body if fit is not None and fit.body is not None else regression.body


def _turn_deg(body: BodyEstimate, other: BodyEstimate) -> float:
    """Degrees between the torso forward directions of two bodies (camera frame)."""
    def forward(b: BodyEstimate) -> torch.Tensor:
        return torso_forward(landmarks_from_body(torch.as_tensor(b.vertices)[None], torch.as_tensor(b.joints3d)[None]))
    return float(torch.rad2deg(torch.arccos((forward(body) * forward(other)).sum().clamp(-1.0, 1.0))))


def _turned_params(body: BodyEstimate) -> BodyParams:
    """`body`'s parameters turned half round about its own up axis (body Y), its pelvis kept in place."""
    global_orient, *rest = body_params(body)
    turned = matrix_to_axis_angle(axis_angle_to_matrix(global_orient)
                                  @ axis_angle_to_matrix(torch.tensor([[0.0, math.pi, 0.0]])))
    return (turned, *rest)


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

