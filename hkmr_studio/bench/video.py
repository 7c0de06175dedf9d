"""Offline video speed: frames per second of a take from a 640 x 480 clip (`hkmr-studio bench video`).

The clip is the bundled sample photo letterboxed into 640 x 480 and drifting 2 px a frame (MJPG, written to a
temporary folder). The target figure is wall-clock frames/s of `recover_take` (read, detect in tracking mode beside
regress + mesh) plus smoothing the take; export and rendering are not run. Per-stage times inside the take overlap
(detection runs in a worker thread); detection alone in video and in photo mode (the person detector and the mask
every frame) is timed on the same frames for comparison. The window's Live figures (`bench.live.figures`, when that module exists) follow.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from hkmr_studio.bench.pipeline import FRAME_SIZE, letterboxed_sample, model_spec
from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.detection import PoseDetector, VideoPoseDetector
from hkmr_studio.video.frames import open_frames
from hkmr_studio.video.recover import recover_take
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
    """Measure the offline take path on a fresh clip; returns its figures."""
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
            with open_frames(clip) as source:
                recovered = recover_take(source, pipeline)
            start = time.perf_counter()
            smooth_take(recovered.take, SmoothingSettings(), pipeline.body)
            smooth_s = time.perf_counter() - start
            sample = [image.rgb for image in decoded[:30]]
            video_detect_s = _detect_seconds(VideoPoseDetector, sample)
            photo_detect_s = _detect_seconds(PoseDetector, sample)
        finally:
            pipeline.close()
    n = recovered.take.frame_count
    found = int(recovered.take.found.sum())
    stage_ms = {stage: 1e3 * seconds / n for stage, seconds in recovered.stage_seconds.items()}
    serial_ms = sum(stage_ms.get(s, 0.0) for s in ("detect", "regress", "mesh")) + 1e3 * smooth_s / n
    return [
        Figure(f"frames with a body (of {n})", found, "frames"),
        Figure("read + decode the file", 1e3 * decode_s / n, "ms/frame"),
        Figure("detect alone, video mode (tracking)", 1e3 * video_detect_s, "ms/frame"),
        Figure("detect alone, photo mode (person detector + mask)", 1e3 * photo_detect_s, "ms/frame"),
        Figure("in the take: detect (beside regress + mesh)", stage_ms.get("detect", float("nan")), "ms/frame"),
        Figure("in the take: regress (network, mirror average)", stage_ms.get("regress", float("nan")), "ms/frame"),
        Figure("in the take: mesh (body model, projection)", stage_ms.get("mesh", float("nan")), "ms/frame"),
        Figure("smoothing (whole take, per frame)", 1e3 * smooth_s / n, "ms/frame"),
        Figure("the stages one after another would give", 1e3 / serial_ms, "frames/s"),
        Figure("offline video: read + detect + regress + mesh + smooth", n / (recovered.seconds + smooth_s),
               "frames/s", TARGET_FPS),
    ]


def _detect_seconds(kind: type[PoseDetector], frames: list[np.ndarray]) -> float:
    """Median seconds per frame of a detector of `kind` on `frames` in order, after one warm-up frame."""
    with kind() as detector:
        detector.detect(frames[0])
        times = []
        for rgb in frames:
            start = time.perf_counter()
            detector.detect(rgb)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run() -> str:
    """Run the benchmark and return its report: the offline figures, then the window's Live figures."""
    load = os.getloadavg()[0]
    header = (f"Video takes on a {FRAME_SIZE[0]}x{FRAME_SIZE[1]} clip of {CLIP_FRAMES} frames, CPU: {os.cpu_count()} "
              f"cores, load average {load:.1f} at the start (figures shrink as others share the cores)")
    lines = [header]
    lines += [figure.line() for figure in video_figures()]
    if importlib.util.find_spec("hkmr_studio.bench.live") is not None:
        from hkmr_studio.bench import live

        lines += ["Live view with the window open"] + [figure.line() for figure in live.figures()]
    else:
        lines.append("Live view: not measured here (hkmr_studio.bench.live is not installed)")
    return "\n".join(lines)
