"""What the window asks of the pipeline and what it gets back (Qt-free).

`Engine.analyse` is a generator: it yields a line for the status bar before each stage and returns an `Analysis`,
so a thread worker can stop it between stages. An Engine holds MediaPipe and an offscreen VTK renderer, both tied
to the thread that created them: call every Engine method from one thread.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import torch

from hkmr_studio.body.safe_pickle import BodyFileFormatError, UnsafeBodyFileError
from hkmr_studio.checkpoints import ModelFileError
from hkmr_studio.export.fbx import FbxExportError
from hkmr_studio.export.frames import camera_to_yup
from hkmr_studio.export.take_animation import TakeExportError
from hkmr_studio.llvm_load_order import load_triton_before_opengl
from hkmr_studio.pipeline.core import BodyEstimate, Pipeline, PipelineResult
from hkmr_studio.pipeline.detection import VideoPoseDetector
from hkmr_studio.pipeline.images import ImageLoadError, LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.render.colors import vertex_chain_colors
from hkmr_studio.render.compose import photo_camera
from hkmr_studio.render.overlay import MESH_COLOR_RGB, REGRESSION_COLOR_RGB, MeshRenderer, RenderError
from hkmr_studio.trace_steps import start_pose

GPU_OUT_OF_MEMORY = "The GPU ran out of memory, so HKMR Studio switched the device to the CPU and ran again."


@dataclass(frozen=True)
class Request:
    """One pipeline run. model: shipped name or checkpoint path; device: auto | cpu | gpu; body_path: None for the
    embedded body; keypoints: given instead of detection (pixels of `image`). refit_from: an analysis whose body
    SMPLify starts from, fitting `keypoints` (the user's edits) with `pinned` MediaPipe indices weighted more.
    flip_from: an analysis to show the other way round (`Pipeline.flip`). focal_length: the camera's in pixels of
    `image` (None: assume the diagonal), from focal_source ("given" or "exif"); refits and flips keep their base's.
    pose: camera-frame parameters of a take's frame to show as they are (`Pipeline.posed`, with `keypoints`).
    video: a frame of live video number `video` (0: a photo): MediaPipe follows that video's frames in tracking mode
    (`VideoPoseDetector`), the facing check and flip are skipped, as for takes, and no overlay is drawn: VTK holds
    Python's GIL while it renders (70-190 ms a 640 x 480 frame on 2 cores), which froze the window as often; the
    photo view shows live frames with their skeleton and keypoints, the 3D view the mesh. changing: a refit while
    a keypoint is being dragged (`Pipeline.refit`: short, warm-started from `warm_start`, a fit of the same edits);
    like live frames it draws no overlay, so the photo shows its skeleton until the release's refit."""

    image: LoadedImage
    model: str
    device: str
    body_path: str | None = None
    refine: bool = False
    keypoints: Keypoints2D | None = None
    refit_from: Analysis | None = None
    pinned: frozenset[int] = frozenset()
    flip_from: Analysis | None = None
    focal_length: float | None = None
    focal_source: str = "given"
    pose: dict[str, np.ndarray] | None = None
    video: int = 0
    changing: bool = False
    warm_start: BodyEstimate | None = None

    @property
    def pipeline_key(self) -> tuple[str, str, str | None]:
        return self.model, self.device, self.body_path


@dataclass(eq=False)
class Analysis:
    """A finished run. mesh_layer: (H, W, 4) RGBA uint8, the best body rendered with the photo's camera (None when no
    body was found); regression_layer: the regressor's body likewise in REGRESSION_COLOR_RGB, when there is a fit.
    faces (F, 3) and vertex_colors (V, 3) in [0, 1] (chain colours) belong to the body model.
    timings: seconds per stage, the pipeline's plus "render". start_pose: (24, 3) axis-angle, the pose the model's
    regressor starts from, which the result's trace refines (None when the result has no trace)."""

    request: Request
    result: PipelineResult
    faces: np.ndarray
    vertex_colors: np.ndarray
    mesh_layer: np.ndarray | None = None
    regression_layer: np.ndarray | None = None
    timings: dict[str, float] = field(default_factory=dict)
    start_pose: np.ndarray | None = None

    @property
    def image(self) -> LoadedImage:
        """The photo or frame this analysis belongs to."""
        return self.result.image

    def vertices_yup(self) -> np.ndarray | None:
        """(V, 3) the best body's vertices in the Y-up view frame (metres), the frame of the 3D view and exports."""
        body = self.result.best
        return None if body is None else camera_to_yup(body.vertices)

    def joints_yup(self) -> np.ndarray | None:
        """(24, 3) the best body's joints in the Y-up view frame (metres)."""
        body = self.result.best
        return None if body is None else camera_to_yup(body.joints3d)


class Engine:
    """The pipeline and renderer the window runs, rebuilt when the model, device or body changes."""

    def __init__(self) -> None:
        self._pipeline: Pipeline | None = None
        self._video: tuple[int, VideoPoseDetector] | None = None  # (live video number, the detector following it)
        self._key: tuple[str, str, str | None] | None = None
        self._renderer: MeshRenderer | None = None
        self._colors: tuple[object, np.ndarray] | None = None  # (body model, its chain colours)
        self._regression_layer: tuple[BodyEstimate, np.ndarray] | None = None  # refits share their base's regression

    def pipeline_for(self, request: Request) -> Pipeline:
        if self._pipeline is None or self._key != request.pipeline_key:
            self.close_pipeline()
            self._pipeline = Pipeline(model=request.model, body_path=request.body_path, device=request.device)
            self._key = request.pipeline_key
        return self._pipeline

    def close_pipeline(self) -> None:
        if self._pipeline is not None:
            self._pipeline.close()
        self._pipeline, self._key = None, None
        self._close_video_detector()

    def video_detector(self, video: int) -> VideoPoseDetector:
        """The tracking detector following live video number `video` (a new one for a new video)."""
        if self._video is None or self._video[0] != video:
            self._close_video_detector()
            self._video = (video, VideoPoseDetector())
        return self._video[1]

    def _close_video_detector(self) -> None:
        if self._video is not None:
            self._video[1].close()
            self._video = None

    def close(self) -> None:
        """Release MediaPipe and VTK; the Engine can be used again afterwards."""
        self.close_pipeline()
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def _chain_colors(self, pipeline: Pipeline) -> np.ndarray:
        if self._colors is None or self._colors[0] is not pipeline.body:
            self._colors = (pipeline.body, vertex_chain_colors(pipeline.body.lbs_weights.detach().cpu().numpy()))
        return self._colors[1]

    def analyse(self, request: Request) -> Generator[str, None, Analysis]:
        """Run the request, yielding what is about to happen before each stage."""
        if request.refit_from is not None:
            yield "Refitting to the edited keypoints…"
            pipeline = self.pipeline_for(request)
            result = pipeline.refit(request.refit_from.result, request.keypoints, request.pinned,
                                    warm_start=request.warm_start, changing=request.changing)
        elif request.flip_from is not None:
            yield "Turning the body round…"
            pipeline = self.pipeline_for(request)
            base = request.flip_from.result
            result = base.other_way if base.other_way is not None else pipeline.flip(base)
        elif request.pose is not None:
            yield "Posing the take's body…"
            pipeline = self.pipeline_for(request)
            result = pipeline.posed(request.image, request.keypoints, request.pose, request.focal_length)
        else:
            yield "Loading the models…"
            load_triton_before_opengl()  # MediaPipe creates an OpenGL context when a display exists (see llvm_load_order)
            pipeline = self.pipeline_for(request)
            detector = self.video_detector(request.video) if request.video else pipeline.detector
            _ = pipeline.body, pipeline.model  # load each now, so the next stage is the run alone
            yield "Refining with SMPLify…" if request.refine else "Recovering the body…"
            threads = torch.get_num_threads()
            if request.video:  # one body's tiny tensors: torch's thread hand-offs cost more than they save
                torch.set_num_threads(1)
            try:
                result = pipeline.run(request.image, keypoints=request.keypoints, refine=request.refine,
                                      focal_length=request.focal_length, focal_source=request.focal_source,
                                      detector=detector, facing=not request.video)
            finally:
                torch.set_num_threads(threads)
        analysis = Analysis(request, result, pipeline.body.faces, self._chain_colors(pipeline),
                            timings=dict(result.timings), start_pose=self._start_pose(pipeline, result))
        if result.best is None or request.video or request.changing:
            return analysis
        yield "Drawing the overlay…"
        start = time.perf_counter()
        analysis.mesh_layer = self._render(analysis, result.best, MESH_COLOR_RGB)
        if result.fit is not None:
            if self._regression_layer is None or self._regression_layer[0] is not result.regression:
                self._regression_layer = (result.regression,
                                          self._render(analysis, result.regression, REGRESSION_COLOR_RGB))
            analysis.regression_layer = self._regression_layer[1]
        analysis.timings["render"] = time.perf_counter() - start
        return analysis

    @staticmethod
    def _start_pose(pipeline: Pipeline, result: PipelineResult) -> np.ndarray | None:
        """(24, 3) the regressor's starting pose, for the chain inspector to read `result.trace` without a rerun."""
        return None if result.trace is None else start_pose(pipeline.model.net.regressor.mean).numpy()

    def _render(self, analysis: Analysis, body: BodyEstimate, color: tuple[float, float, float]) -> np.ndarray:
        """(H, W, 4) RGBA uint8 of `body` in one colour, seen by the photo's camera."""
        if self._renderer is None:
            self._renderer = MeshRenderer()
        return self._renderer.render([(body.vertices, analysis.faces, color)], photo_camera(analysis.result))


#: Failures the user can act on; anything else is a bug and is logged with its traceback.
EXPECTED_ERRORS = (torch.cuda.OutOfMemoryError, ImageLoadError, ModelFileError, BodyFileFormatError,
                   UnsafeBodyFileError, FbxExportError, TakeExportError, RenderError, OSError)


def is_bug(exc: BaseException) -> bool:
    """Whether `exc` is not one of the failures a user can act on (those get a message only)."""
    return not isinstance(exc, EXPECTED_ERRORS) and not (isinstance(exc, NotImplementedError) and str(exc))


def explain_error(exc: BaseException) -> str:
    """A message for the user about an exception from a run or an export: what went wrong and what to do."""
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return GPU_OUT_OF_MEMORY
    if isinstance(exc, (ImageLoadError, ModelFileError)):
        return str(exc)
    if isinstance(exc, RenderError):
        return f"The overlay was not drawn: {exc}."
    if isinstance(exc, (BodyFileFormatError, UnsafeBodyFileError)):
        return f"The body model could not be loaded: {exc}. Choose another body file in Preferences."
    if isinstance(exc, FbxExportError):
        return f"The FBX file was not written: {exc}"
    if isinstance(exc, TakeExportError):
        return f"The take was not exported: {exc}"
    if isinstance(exc, OSError):
        return f"A file could not be read or written: {exc}"
    if not is_bug(exc):
        return f"Not supported yet: {exc}"
    return (f"Unexpected error ({type(exc).__name__}: {exc}). The details are in the log file "
            "(Help ▸ Open Log Folder); please report it.")
