"""Per-stage times of the photo-to-mesh pipeline on a 640 x 480 frame (`hkmr-studio bench pipeline`).

Stages: decode (JPEG bytes -> RGB), detect (MediaPipe Pose), regress (crop + encoder + regressor), mesh (body model
forward + projection), render (mesh over the photo, offscreen VTK), refine (SMPLify). End-to-end frames per second
counts detect + regress + mesh, what live webcam overlay needs before drawing. Target: >= 20 fps on 2 CPU cores.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from hkmr_studio.checkpoints import DEFAULT_MODEL, resolve_model_path, save_checkpoint
from hkmr_studio.nets.recovery import MeshRegressor, ModelConfig
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.images import image_from_array
from hkmr_studio.render.compose import overlay_image
from hkmr_studio.render.overlay import MeshRenderer
from hkmr_studio.resources import resources_dir

FRAME_SIZE = (640, 480)
TARGET_FPS = 20.0
SAMPLE = "samples/pose2sim_single_person.jpg"


def letterboxed_sample(width: int, height: int) -> np.ndarray:
    """(height, width, 3) uint8 BGR: the sample photo scaled to fit, centred on light grey."""
    photo = cv2.imread(str(resources_dir() / SAMPLE))
    scale = min(width / photo.shape[1], height / photo.shape[0])
    resized = cv2.resize(photo, (round(photo.shape[1] * scale), round(photo.shape[0] * scale)))
    frame = np.full((height, width, 3), 235, np.uint8)
    y0, x0 = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    frame[y0 : y0 + resized.shape[0], x0 : x0 + resized.shape[1]] = resized
    return frame


def _frame_jpeg() -> bytes:
    """The sample photo letterboxed into a 640 x 480 frame, JPEG-encoded as a webcam would deliver it."""
    return cv2.imencode(".jpg", letterboxed_sample(*FRAME_SIZE))[1].tobytes()


def model_spec(tmp_dir: Path) -> tuple[str | Path, str]:
    """The shipped default model when present, else an untrained one of the same architecture (timing only)."""
    if resolve_model_path(DEFAULT_MODEL).is_file():
        return DEFAULT_MODEL, f"shipped model '{DEFAULT_MODEL}'"
    path = save_checkpoint(tmp_dir / "model.pt", MeshRegressor(ModelConfig()), {"name": "untrained", "trained": False})
    return path, "untrained default architecture (the shipped model is missing; latency does not depend on weights)"


def run(rounds: int = 30, refine: bool = False) -> str:
    """Run the benchmark and return its report."""
    import tempfile

    jpeg = _frame_jpeg()
    with tempfile.TemporaryDirectory() as tmp:
        spec, model_note = model_spec(Path(tmp))
        pipeline = Pipeline(model=spec, device="cpu")
        renderer = MeshRenderer()
        times: dict[str, list[float]] = {k: [] for k in ("decode", "detect", "regress", "mesh", "render", "refine")}
        try:
            for i in range(rounds + 3):  # the first 3 rounds warm caches and are dropped
                start = time.perf_counter()
                rgb = cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                decode = time.perf_counter() - start
                result = pipeline.run(image_from_array(rgb), refine=refine)
                if not result.found:
                    return f"benchmark frame: no person found ({result.message})"
                start = time.perf_counter()
                overlay_image(result, renderer, result.regression, pipeline.body.faces)
                render = time.perf_counter() - start
                if i >= 3:
                    times["decode"].append(decode)
                    times["render"].append(render)
                    for stage in ("detect", "regress", "mesh", "refine"):
                        times[stage].append(result.timings.get(stage, float("nan")))
        finally:
            renderer.close()
            pipeline.close()
    ms = {k: statistics.median(v) * 1e3 for k, v in times.items() if v}
    live = ms["detect"] + ms["regress"] + ms["mesh"]
    fps = 1e3 / live
    lines = [
        (f"Pipeline stages on a {FRAME_SIZE[0]}x{FRAME_SIZE[1]} frame, median of {rounds} runs, CPU "
         f"({torch.get_num_threads()} torch threads); model: {model_note}"),
        *(f"  {stage:<8}{value:8.1f} ms" for stage, value in ms.items()),
        (f"  end-to-end (detect + regress + mesh): {live:.1f} ms = {fps:.1f} fps "
         f"(target >= {TARGET_FPS:.0f} fps: {'met' if fps >= TARGET_FPS else 'NOT met'})"),
        f"  with decode and render as well: {1e3 / (live + ms['decode'] + ms['render']):.1f} fps",
    ]
    return "\n".join(lines)
