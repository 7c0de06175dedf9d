"""MediaPipe Pose on every frame of every view of a capture, up to a few people each (training.real.people), stored
as arrays so the benchmark detects once.

Arrays (V views, F frames, P person slots per view in the order MediaPipe found them; zero where `found` is False):
  found (V, F, P) bool; xy (V, F, P, 33, 2) float32 full-image pixels; visibility (V, F, P, 33) float32;
  world (V, F, P, 33, 3) float32 MediaPipe's world landmarks (metres, hip-centred, camera-aligned axes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hkmr_studio.pipeline.detection import PoseDetector
from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS, Keypoints2D
from training.real.arrays import load_arrays, save_arrays
from training.real.capture import Capture, frames
from training.real.people import find_people

#: Person slots searched per view: the two people of the take and one bystander seen by some cameras.
MAX_PEOPLE = 3


@dataclass
class ViewDetections:
    """The module docstring's arrays."""

    found: np.ndarray
    xy: np.ndarray
    visibility: np.ndarray
    world: np.ndarray

    @property
    def shape(self) -> tuple[int, int, int]:
        """(views, frames, person slots)."""
        return self.found.shape

    def keypoints(self, view: int, frame: int, slot: int) -> Keypoints2D:
        """One detection as the app's keypoints (source "mediapipe", with world landmarks)."""
        if not self.found[view, frame, slot]:
            raise IndexError(f"no person in slot {slot} of view {view}, frame {frame}")
        return Keypoints2D(self.xy[view, frame, slot].astype(np.float64),
                           self.visibility[view, frame, slot].astype(np.float64),
                           np.ones(NUM_LANDMARKS, dtype=bool), "mediapipe",
                           world=self.world[view, frame, slot].astype(np.float64))

    def save(self, path: Path) -> Path:
        return save_arrays(self, path)

    @staticmethod
    def load(path: Path) -> ViewDetections:
        return load_arrays(ViewDetections, path)


def detect_capture(capture: Capture, progress: Callable[[int], None] | None = None) -> ViewDetections:
    """Find up to MAX_PEOPLE people in every frame of every view; `progress(frames_done)` after each frame."""
    per_view = []
    done = 0
    with PoseDetector() as detector:
        for video in capture.videos:
            per_frame = []
            for image in frames(video):
                per_frame.append(find_people(detector, image, MAX_PEOPLE))
                done += 1
                if progress is not None:
                    progress(done)
            per_view.append(per_frame)
    views, count = len(per_view), min(len(f) for f in per_view)
    out = ViewDetections(
        found=np.zeros((views, count, MAX_PEOPLE), dtype=bool),
        xy=np.zeros((views, count, MAX_PEOPLE, NUM_LANDMARKS, 2), dtype=np.float32),
        visibility=np.zeros((views, count, MAX_PEOPLE, NUM_LANDMARKS), dtype=np.float32),
        world=np.zeros((views, count, MAX_PEOPLE, NUM_LANDMARKS, 3), dtype=np.float32),
    )
    for v, per_frame in enumerate(per_view):
        for f, people in enumerate(per_frame[:count]):
            for p, person in enumerate(people):
                keypoints = person.keypoints
                assert keypoints is not None and keypoints.world is not None
                out.found[v, f, p] = True
                out.xy[v, f, p], out.visibility[v, f, p] = keypoints.xy, keypoints.visibility
                out.world[v, f, p] = keypoints.world
    return out
