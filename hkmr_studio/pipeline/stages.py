"""The pipeline's stages as frozen values, and the result assembled from them once per run (Qt-free).

DetectionStage (the photo, its camera and the person's keypoints) -> RegressionStage (the network's crop, camera,
trace and body) -> FitStage (SMPLify's body and report) -> `assemble` -> PipelineResult. `Pipeline.detect`, `regress`,
`mesh` and `refine` return the stages; nothing writes into a result once made.

Camera frame: OpenCV (x right, y down, z forward), metres; 2D points in pixels of the original image.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import torch

from hkmr_studio.fitting.result import FitResult
from hkmr_studio.geometry.cameras import assumed_focal_length
from hkmr_studio.nets.output import RegressorTrace
from hkmr_studio.pipeline import guards
from hkmr_studio.pipeline.facing_check import FacingCheck
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D

#: Where a result's focal length came from: assumed (the image diagonal), given by the user, or EXIF's 35 mm equivalent.
FOCAL_SOURCES = ("assumed", "given", "exif")
#: Camera-frame body parameters: global_orient (1, 3), body_pose (1, 69) axis-angle, betas (1, 10), transl (1, 3) m.
BodyParams = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
PARAM_NAMES = ("global_orient", "body_pose", "betas", "transl")


@dataclass(frozen=True, eq=False)
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


def body_params(body: BodyEstimate) -> BodyParams:
    """`body`'s parameters as the (1, n) float32 tensors the body model and SMPLify take."""
    return tuple(torch.as_tensor(getattr(body, name), dtype=torch.float32)[None] for name in PARAM_NAMES)


@dataclass(frozen=True)
class Intrinsics:
    """The photo's pinhole camera: focal_length and principal_point (x, y) in pixels; focal_length_source says where
    the focal length came from (FOCAL_SOURCES)."""

    focal_length: float
    principal_point: tuple[float, float]
    focal_length_source: str = "assumed"

    @classmethod
    def of_image(cls, image: LoadedImage, focal_length: float | None = None, source: str = "given") -> Intrinsics:
        """Centred on `image`; `focal_length` pixels from `source` ("given" or "exif"), None: the image diagonal."""
        width, height = image.original_size
        if focal_length and source not in FOCAL_SOURCES:
            raise ValueError(f"unknown focal length source {source!r}: use one of {', '.join(FOCAL_SOURCES)}")
        return cls(float(focal_length or assumed_focal_length(width, height)), (width / 2.0, height / 2.0),
                   source if focal_length else "assumed")

    @property
    def principal_tensor(self) -> torch.Tensor:
        """(1, 2) float32 principal point, pixels."""
        return torch.tensor([self.principal_point], dtype=torch.float32)


@dataclass(frozen=True, eq=False)
class DetectionStage:
    """The photo as the later stages read it: its camera, the person's keypoints (pixels; None when nobody was
    found, `message` says why) and MediaPipe's segmentation mask (H, W) float32 in [0, 1] when it made one.
    `flipped`: the keypoints are read the other way round (`facing_check.swap_sides`, `Pipeline.flip`)."""

    image: LoadedImage
    intrinsics: Intrinsics
    keypoints: Keypoints2D | None = None
    mask: np.ndarray | None = None
    message: str = ""
    flipped: bool = False

    @classmethod
    def of_result(cls, result: PipelineResult) -> DetectionStage:
        """The detection stage `result` was assembled from."""
        intrinsics = Intrinsics(result.focal_length, result.principal_point, result.focal_length_source)
        return cls(result.image, intrinsics, result.keypoints, result.mask, result.message, result.flipped)


@dataclass(frozen=True, eq=False)
class RegressionStage:
    """The network's reading of the keypoints: crop (centre x, centre y, side) pixels, camera (3,) weak perspective
    (s, tx, ty) of the crop, trace (every chain step), the model's name and whether it was trained; crop, camera and
    trace are None for a body posed from given parameters. params: the camera-frame parameters the body is posed
    from; body: the posed body (`Pipeline.mesh`), None until then. messages: notes for the user."""

    crop: tuple[float, float, float] | None
    camera: np.ndarray | None
    trace: RegressorTrace | None
    model_name: str
    model_trained: bool
    params: BodyParams
    body: BodyEstimate | None = None
    messages: tuple[str, ...] = ()

    @classmethod
    def of_result(cls, result: PipelineResult) -> RegressionStage:
        """The regression stage of a result with a body (its notes are left with the result)."""
        if result.regression is None:
            raise ValueError("the result has no regressed body")
        return cls(result.crop, result.camera, result.trace, result.model_name, result.model_trained,
                   body_params(result.regression), result.regression)


@dataclass(frozen=True, eq=False)
class FitStage:
    """SMPLify's outcome: the refined body, or None when the fit was skipped or discarded (`messages` say why), and
    the fit's own report."""

    body: BodyEstimate | None
    report: FitResult
    messages: tuple[str, ...] = ()


@dataclass(frozen=True, eq=False)
class PipelineResult:
    """Everything one run produced; `found` False means no body (see `message`), and the rest may be empty: no
    person, or, when `refused`, a person whose keypoints or body failed the checks of `pipeline.guards`.

    Frozen: build changed copies with `replaced`. It keeps the stages' fields rather than the stage objects, so
    readers and `dataclasses.replace(result, regression=...)` name one field for one value. timings: stage ->
    seconds (read-only); messages: notes for the user."""

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
    fit_report: FitResult | None = None  # SMPLify's report when refinement ran (kept when its body was discarded)
    facing: FacingCheck | None = None  # the best body's facing against the keypoints' evidence
    flipped: bool = False  # the keypoints are read the other way round (`Pipeline.flip`)
    other_way: PipelineResult | None = None  # the flipped result, ready when the facing check is flagged
    timings: Mapping[str, float] = field(default_factory=dict)
    messages: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # A private read-only copy: a result never shares a container a caller could change.
        object.__setattr__(self, "timings", MappingProxyType(dict(self.timings)))
        object.__setattr__(self, "messages", tuple(self.messages))

    @property
    def best(self) -> BodyEstimate | None:
        """The refined body when there is one, else the regressor's."""
        return self.fit if self.fit is not None else self.regression

    def replaced(self, **changes: object) -> PipelineResult:
        """`dataclasses.replace`, keeping the two readings of the keypoints paired: where this result and its
        `other_way` point at each other, the copy gets its own `other_way` pointing back at it."""
        other = self.other_way
        if other is None or other.other_way is not self or "other_way" in changes:
            return dataclasses.replace(self, **changes)
        return paired(self, other, **changes)


def paired(result: PipelineResult, other: PipelineResult, **changes: object) -> PipelineResult:
    """A copy of `result` (with `changes`) and a copy of `other` as each other's `other_way`. Frozen values cannot
    point at each other, so the new copy's `other_way` is set once here, before anyone else holds it."""
    first = dataclasses.replace(result, **changes)
    object.__setattr__(first, "other_way", dataclasses.replace(other, other_way=first))
    return first


def assemble(detection: DetectionStage, regression: RegressionStage | None = None, fit: FitStage | None = None,
             refused: str = "", facing: FacingCheck | None = None, other_way: PipelineResult | None = None,
             timings: Mapping[str, float] | None = None, notes: tuple[str, ...] = ()) -> PipelineResult:
    """The result of the stages that ran: `refused` the reason (`pipeline.guards`) no body is reported, `notes`
    (device, image) before the stages' own messages."""
    body = regression.body if regression is not None and not refused else None
    intrinsics = detection.intrinsics
    return PipelineResult(
        image=detection.image, found=body is not None,
        message=guards.NOT_RECOVERED.format(reason=refused) if refused else detection.message,
        refused=bool(refused), keypoints=detection.keypoints, mask=detection.mask,
        focal_length=intrinsics.focal_length, focal_length_source=intrinsics.focal_length_source,
        principal_point=intrinsics.principal_point,
        crop=regression.crop if regression else None, camera=regression.camera if regression else None,
        trace=regression.trace if regression else None, model_name=regression.model_name if regression else "",
        model_trained=regression.model_trained if regression else False,
        regression=body, fit=fit.body if fit is not None and body is not None else None,
        fit_report=fit.report if fit is not None else None, facing=facing, flipped=detection.flipped,
        other_way=other_way, timings=timings or {},
        messages=(*notes, *(regression.messages if regression else ()), *(fit.messages if fit else ())),
    )
