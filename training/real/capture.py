"""The real multi-view capture behind the benchmark: pose2sim 0.10.49's `Demo_MultiPerson` (the same take as
`Demo_Batch/Trial_2`): four calibrated, synchronised 1088 x 1920 videos at 60 fps of two people walking, with a
Qualisys calibration. The videos stay in the wheel: pip fetches it into a cache folder and only this take is
extracted, checked against a pinned digest. BSD-3-Clause (the wheel's LICENSE).

`Demo_SinglePerson` (= `Demo_Batch/Trial_1`) is reserved as a held-out set: nothing here reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.mocap.sources import Package, default_cache, fetch
from training.real.calibration import CalibrationError, Camera, read_qca

TAKE = "Pose2Sim/Demo_MultiPerson"
POSE2SIM = Package(
    name="pose2sim",
    requirement="pose2sim==0.10.49",
    pip_args=("--only-binary", ":all:"),
    archive_glob="pose2sim-0.10.49-*.whl",
    members=(f"{TAKE}/calibration/Calib.qca.txt", f"{TAKE}/videos/cam*.mp4",
             "pose2sim-0.10.49.dist-info/licenses/LICENSE"),
    sha256="a63f43bada1ed2ae3b1c60464f1da0e56355ade0d2728fe3b2d514e2add6667c",
)


@dataclass(frozen=True)
class Capture:
    """The take's cameras (sorted by name) and each camera's video, same order."""

    cameras: list[Camera]
    videos: list[Path]


def load_capture(cache: Path | None = None) -> Capture:
    """Fetch (once) and open the take: its calibration and videos, checked against each other."""
    folder = fetch(POSE2SIM, cache or default_cache()) / TAKE
    cameras = read_qca(folder / "calibration" / "Calib.qca.txt")
    videos = [folder / "videos" / f"{camera.name}.mp4" for camera in cameras]
    checked = []
    for camera, video in zip(cameras, videos, strict=True):
        size, _, _ = video_info(video)
        checked.append(camera if size == camera.size else camera.resized(size))
    return Capture(checked, videos)


def video_info(path: Path) -> tuple[tuple[int, int], float, int]:
    """(width, height) px, frames per second and frame count of a video."""
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise CalibrationError(f"{path}: not a readable video")
        size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        return size, float(capture.get(cv2.CAP_PROP_FPS)), int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()


def frames(path: Path) -> Iterator[np.ndarray]:
    """The video's frames in order, each (H, W, 3) uint8 RGB."""
    capture = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                return
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    finally:
        capture.release()
