"""Offline video speed: frames per second of a take from a 640 x 480 clip (`hkmr-studio bench video`).

The clip is the bundled sample photo letterboxed into 640 x 480 and drifting 2 px a frame (MJPG, written to a
temporary folder). The target figure is wall-clock frames/s of `recover_take` (read, detect in tracking mode beside
regress + pose) plus smoothing the take; export and rendering are not run. Per-stage times inside the take overlap
(detection runs in a worker thread) and stretch as the stages and other programs share the cores, so each stage is
also timed alone on the same frames (detection in video and in photo mode: the person detector and the mask every
frame), and the 1-minute load average as the take starts and ends and the process's CPU time per frame are printed:
on a shared machine, wall-clock figures are worth only as much as the cores the run got. The window's Live figures
(`bench.live.figures`, when that module exists) follow.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from math import nan
from pathlib import Path

import cv2
import numpy as np

from hkmr_studio.bench.pipeline import FRAME_SIZE, letterboxed_sample, model_spec
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.detection import PoseDetector, VideoPoseDetector
from hkmr_studio.pipeline.images import LoadedImage
from hkmr_studio.pipeline.keypoints import Keypoints2D
from hkmr_studio.video.frames import open_frames
from hkmr_studio.video.recover import recover_take, torch_threads
from hkmr_studio.video.smoothing import SmoothingSettings, smooth_take

TARGET_FPS = 25.0
CLIP_FRAMES = 90


@dataclass(frozen=True)
class Figure:
    """One measured number: name, value, unit, and the target it is held against (None: none), higher or lower
    being better."""

    name: str
    value: float
    unit: str
    target: float | None = None
    higher_is_better: bool = True

    def line(self) -> str:
        text = f"  {self.name:<56}{self.value:9.1f} {self.unit}"
        if self.target is None:
            return text
        met = self.value >= self.target if self.higher_is_better else self.value <= self.target
        ratio = self.value / self.target
        sign = ">=" if self.higher_is_better else "<="
        return f"{text}   (target {sign} {self.target:g}: {ratio:.2f}x, {'met' if met else 'NOT met'})"


def write_bench_clip(path: Path, frames: int = CLIP_FRAMES, fps: float = 30.0) -> Path:
    """The benchmark clip: the sample photo in a FRAME_SIZE frame drifting right 2 px a frame, MJPG .avi."""
    still = letterboxed_sample(*FRAME_SIZE)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, FRAME_SIZE)
    for i in range(frames):
        writer.write(np.roll(still, 2 * i, axis=1))
    writer.release()
    return path


def video_figures(frames: int = CLIP_FRAMES) -> list[Figure]:
    """Measure the offline take path on a fresh clip; returns its figures: the load average around the take, per
    stage ms (read, detect, regress, pose, smooth) in the take and alone, the process's CPU time, and frames/s."""
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_bench_clip(Path(tmp) / "bench.avi", frames)
        spec, _ = model_spec(Path(tmp))
        pipeline = Pipeline(model=spec, device="cpu")
        try:
            _ = pipeline.model, pipeline.body  # loaded before timing
            with open_frames(clip) as source:
                start = time.perf_counter()
                decoded = [frame.image for frame in source]
                decode_s = time.perf_counter() - start
            load_start, cpu_start = os.getloadavg()[0], time.process_time()
            with open_frames(clip) as source:
                recovered = recover_take(source, pipeline)
            start = time.perf_counter()
            smooth_take(recovered.take, SmoothingSettings(), pipeline.body)
            smooth_s = time.perf_counter() - start
            cpu_s, load_end = time.process_time() - cpu_start, os.getloadavg()[0]
            sample = decoded[:30]
            video_detect_s, found = _detect_seconds(VideoPoseDetector, [image.rgb for image in sample])
            photo_detect_s, _ = _detect_seconds(PoseDetector, [image.rgb for image in sample])
            alone_ms = _regress_and_pose_ms(pipeline, sample, found)
        finally:
            pipeline.close()
    n = recovered.take.frame_count
    stage_ms = {stage: 1e3 * seconds / n for stage, seconds in recovered.stage_seconds.items()}
    serial_ms = sum(stage_ms.get(s, 0.0) for s in ("detect", "regress", "mesh")) + 1e3 * smooth_s / n
    return [
        Figure("load average (1 min) as the take started", load_start, "runnable"),
        Figure("load average (1 min) as it ended", load_end, "runnable"),
        Figure(f"frames with a body (of {n})", int(recovered.take.found.sum()), "frames"),
        Figure("read: decode the file (alone, before the take)", 1e3 * decode_s / n, "ms/frame"),
        Figure("detect in the take (a worker thread, beside the rest)", stage_ms.get("detect", nan), "ms/frame"),
        Figure("regress in the take (network + its mirror image)", stage_ms.get("regress", nan), "ms/frame"),
        Figure("pose in the take (the body's joints, projection)", stage_ms.get("mesh", nan), "ms/frame"),
        Figure("smooth (the whole take, per frame)", 1e3 * smooth_s / n, "ms/frame"),
        Figure("detect alone, video mode (tracking)", 1e3 * video_detect_s, "ms/frame"),
        Figure("detect alone, photo mode (person detector + mask)", 1e3 * photo_detect_s, "ms/frame"),
        Figure("regress alone (one torch thread, nothing beside it)", alone_ms["regress"], "ms/frame"),
        Figure("pose alone", alone_ms["mesh"], "ms/frame"),
        Figure("CPU time of the take + smoothing, all threads", 1e3 * cpu_s / n, "ms/frame"),
        Figure("the stages one after another would give", 1e3 / serial_ms, "frames/s"),
        Figure("offline video: read + detect + regress + pose + smooth", n / (recovered.seconds + smooth_s),
               "frames/s", TARGET_FPS),
    ]


def _detect_seconds(kind: type[PoseDetector], frames: list[np.ndarray]) -> tuple[float, list[Keypoints2D | None]]:
    """Median seconds per frame of a detector of `kind` on `frames` in order, after one warm-up frame, and the
    keypoints it found in each frame (None: no person)."""
    with kind() as detector:
        detector.detect(frames[0])
        times, found = [], []
        for rgb in frames:
            start = time.perf_counter()
            detection = detector.detect(rgb)
            times.append(time.perf_counter() - start)
            found.append(detection.keypoints if detection.found else None)
    return statistics.median(times), found


def _regress_and_pose_ms(pipeline: Pipeline, images: list[LoadedImage],
                         keypoints: list[Keypoints2D | None]) -> dict[str, float]:
    """Median ms per frame of the regress and pose ("mesh") stages of the take's pipeline run on each image's given
    keypoints, torch on one thread as in the take, the first run dropped (warm-up)."""
    runs = [(image, kp) for image, kp in zip(images, keypoints, strict=True) if kp is not None]
    with torch_threads(1):
        timings = [pipeline.run(image, keypoints=kp, facing=False, mesh=False).timings for image, kp in runs]
    return {stage: 1e3 * statistics.median(t.get(stage, nan) for t in timings[1:] or timings)
            for stage in ("regress", "mesh")}


def run() -> str:
    """Run the offline benchmark and return its report (`bench.live` measures the window's Live view after it)."""
    header = (f"Video takes on a {FRAME_SIZE[0]}x{FRAME_SIZE[1]} clip of {CLIP_FRAMES} frames, CPU: {os.cpu_count()} "
              f"cores (figures shrink as other programs share them: see the load average)")
    return "\n".join([header] + [figure.line() for figure in video_figures()])
