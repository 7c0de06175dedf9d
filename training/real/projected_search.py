"""Views that missed a person: search again inside the box where the other views' triangulation puts them.

MediaPipe's first search (training.real.people) misses a person in some views, mostly when another person stands in
front. Where a person is triangulated from the other views, their body landmarks are projected into the view that
missed them; MediaPipe is run inside that box, and its answer is kept in a new detection slot when it lands on the
projection (median distance of the seen body landmarks under SAME_PERSON_PX, left/right in either order).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from hkmr_studio.body.landmarks import LANDMARK_MIRROR
from hkmr_studio.pipeline.detection import PoseDetector
from hkmr_studio.pipeline.keypoints import VISIBILITY_THRESHOLD
from training.real.association import SAME_PERSON_PX
from training.real.calibration import Camera
from training.real.capture import Capture, frames
from training.real.detections import ViewDetections
from training.real.pseudo_truth import BODY_LANDMARKS, PseudoTruth

#: The projected body's box is widened by this fraction of its longer side on each side.
BOX_MARGIN = 0.2
#: At least this many body landmarks must be triangulated to place the box.
MIN_PLACED = 8


def projected_box(camera: Camera, points: np.ndarray) -> tuple[float, float, float, float] | None:
    """The (x, y, w, h) pixel box around (K, 3) world points projected into `camera`, widened by BOX_MARGIN and
    clipped to the image; None when fewer than MIN_PLACED points are finite or the box leaves the image."""
    finite = points[np.isfinite(points).all(axis=1)]
    if len(finite) < MIN_PLACED:
        return None
    pixels = camera.project(finite)
    low, high = pixels.min(axis=0), pixels.max(axis=0)
    pad = BOX_MARGIN * float((high - low).max())
    width, height = camera.size
    x0, y0 = max(0.0, low[0] - pad), max(0.0, low[1] - pad)
    x1, y1 = min(float(width), high[0] + pad), min(float(height), high[1] + pad)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    return x0, y0, x1 - x0, y1 - y0


def lands_on(camera: Camera, points: np.ndarray, xy: np.ndarray, visibility: np.ndarray) -> bool:
    """Whether a detection's (33, 2) landmarks lie on the projection of the person's (33, 3) triangulated points:
    median distance over the seen, triangulated body landmarks below SAME_PERSON_PX, sides in either order."""
    body = list(BODY_LANDMARKS)
    best = np.inf
    for order in (np.arange(len(xy)), np.asarray(LANDMARK_MIRROR)):
        seen = (visibility[order] >= VISIBILITY_THRESHOLD)[body] & np.isfinite(points[body]).all(axis=1)
        if seen.sum() < 4:
            continue
        projected = camera.project(points[body][seen])
        best = min(best, float(np.median(np.linalg.norm(projected - xy[order][body][seen], axis=1))))
    return best < SAME_PERSON_PX


def search_missed(capture: Capture, detections: ViewDetections, truth: PseudoTruth,
                  progress: Callable[[int], None] | None = None) -> ViewDetections:
    """`detections` with one more slot per view holding the people found again where the view had missed them."""
    views, count, slots = detections.shape
    out = ViewDetections(
        found=np.concatenate([detections.found, np.zeros((views, count, 1), dtype=bool)], axis=2),
        xy=np.concatenate([detections.xy, np.zeros_like(detections.xy[:, :, :1])], axis=2),
        visibility=np.concatenate([detections.visibility, np.zeros_like(detections.visibility[:, :, :1])], axis=2),
        world=np.concatenate([detections.world, np.zeros_like(detections.world[:, :, :1])], axis=2),
    )
    wanted = _missed(truth, count)
    with PoseDetector() as detector:
        for v, video in enumerate(capture.videos):
            for f, image in enumerate(frames(video)):
                if f >= count:
                    break
                for k in wanted.get((v, f), ()):
                    box = projected_box(capture.cameras[v], truth.points[f - truth.offsets[v], k])
                    if box is None:
                        continue
                    found = detector.detect(image, box=box)
                    if found.found and found.keypoints is not None and lands_on(
                            capture.cameras[v], truth.points[f - truth.offsets[v], k], found.keypoints.xy,
                            found.keypoints.visibility):
                        out.found[v, f, slots] = True
                        out.xy[v, f, slots], out.visibility[v, f, slots] = found.keypoints.xy, found.keypoints.visibility
                        out.world[v, f, slots] = found.keypoints.world
            if progress is not None:
                progress(v + 1)
    return out


def _missed(truth: PseudoTruth, count: int) -> dict[tuple[int, int], Sequence[int]]:
    """{(view, video frame): people} to search for: triangulated in the truth's frame but not seen by that view."""
    wanted: dict[tuple[int, int], list[int]] = {}
    frames_, people, views = truth.slot.shape
    for f in range(frames_):
        for k in range(people):
            if not np.isfinite(truth.points[f, k]).any():
                continue
            for v in range(views):
                video_frame = f + int(truth.offsets[v])
                if truth.slot[f, k, v] < 0 and 0 <= video_frame < count:
                    wanted.setdefault((v, video_frame), []).append(k)
    return wanted
