"""Which detections in different views are the same person: epipolar geometry between calibrated cameras.

Two detections of one person put each landmark on the other view's epipolar line of it. Their distance is the median,
over landmarks both views see, of the symmetric epipolar distance (pixels at the views' focal lengths), each group of
left/right landmarks (face, arms, legs) taken as given or mirrored, whichever fits (MediaPipe sometimes swaps sides in
one view, which must not split a person). A person is the set of detections, at most one per view, whose pairwise
distances all stay under a threshold, preferring more views, then a smaller mean distance.

Pixels: each camera's distorted image pixels.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from hkmr_studio.body.landmarks import LANDMARK_MIRROR
from hkmr_studio.pipeline.keypoints import VISIBILITY_THRESHOLD
from training.real.calibration import Camera
from training.samples.detector_model import SWAP_GROUPS

#: Detections of one person lie within this median epipolar distance of each other (px at ~1,700 px focal length).
#: On the benchmark's capture (people 700-900 px tall) one person's views lie 5-60 px apart (the larger where another
#: person stands in front), two people's 150-400 px; robust triangulation then drops a view's outlying landmarks.
SAME_PERSON_PX = 80.0

#: A view's detections in one frame: xy (P, 33, 2) pixels, visibility (P, 33), found (P,) bool.
ViewPeople = tuple[np.ndarray, np.ndarray, np.ndarray]


def mirror_order(swapped: Sequence[bool]) -> np.ndarray:
    """(33,) landmark order that exchanges left and right within each SWAP_GROUPS group flagged in `swapped`."""
    order = np.arange(len(LANDMARK_MIRROR))
    for group, swap in zip(SWAP_GROUPS, swapped, strict=True):
        if swap:
            order[list(group)] = np.asarray(LANDMARK_MIRROR)[list(group)]
    return order


def _skew(v: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


def essential_matrix(a: Camera, b: Camera) -> np.ndarray:
    """(3, 3) E with x_b^T E x_a = 0 for normalised image coordinates of one world point in cameras a and b."""
    rotation = b.R @ a.R.T
    return _skew(b.t - rotation @ a.t) @ rotation


def epipolar_distance(a: Camera, b: Camera, xy_a: np.ndarray, xy_b: np.ndarray, seen: np.ndarray) -> float:
    """Median symmetric epipolar distance (px) of (33, 2) landmarks in views a and b over the (33,) `seen` ones, with
    each SWAP_GROUPS group of b taken as given or mirrored, whichever is closer; inf when fewer than 4 landmarks are
    seen in both."""
    E = essential_matrix(a, b)
    focal = (a.K[0, 0] + b.K[0, 0]) / 2.0
    xa = np.hstack([a.undistort(xy_a), np.ones((len(xy_a), 1))])
    xb = np.hstack([b.undistort(xy_b), np.ones((len(xy_b), 1))])

    def distances(order: np.ndarray) -> np.ndarray:  # (33,) px, NaN where not seen in both
        pb = xb[order]
        line_b, line_a = xa @ E.T, pb @ E  # epipolar lines in b and in a
        residual = np.abs((pb * line_b).sum(axis=1))
        both = residual / np.linalg.norm(line_b[:, :2], axis=1) + residual / np.linalg.norm(line_a[:, :2], axis=1)
        return np.where(seen & seen[order], both / 2.0 * focal, np.nan)

    given, mirrored = distances(np.arange(len(xy_b))), distances(np.asarray(LANDMARK_MIRROR))
    chosen = given.copy()
    for group in SWAP_GROUPS:
        members = list(group)
        with np.errstate(all="ignore"):
            if np.nanmedian(mirrored[members]) < np.nanmedian(given[members]):
                chosen[members] = mirrored[members]
    if np.isfinite(chosen).sum() < 4:
        return np.inf
    return float(np.nanmedian(chosen))


def associate(cameras: Sequence[Camera], views: Sequence[ViewPeople], min_views: int = 3,
              threshold_px: float = SAME_PERSON_PX) -> list[dict[int, int]]:
    """The people of one frame: each a {view: slot} dict over at least `min_views` views, most views first."""
    candidates = [[int(p) for p in np.flatnonzero(found)] for _, _, found in views]
    distance: dict[tuple[int, int, int, int], float] = {}
    for a, b in itertools.combinations(range(len(views)), 2):
        for p in candidates[a]:
            for q in candidates[b]:
                seen = (views[a][1][p] >= VISIBILITY_THRESHOLD) & (views[b][1][q] >= VISIBILITY_THRESHOLD)
                distance[a, p, b, q] = epipolar_distance(cameras[a], cameras[b], views[a][0][p], views[b][0][q], seen)
    people: list[dict[int, int]] = []
    taken: set[tuple[int, int]] = set()
    while True:
        best: tuple[int, float, dict[int, int]] | None = None
        options = [[None, *(p for p in c if (v, p) not in taken)] for v, c in enumerate(candidates)]
        for choice in itertools.product(*options):
            group = {v: p for v, p in enumerate(choice) if p is not None}
            if len(group) < min_views:
                continue
            pairs = [distance[a, group[a], b, group[b]] for a, b in itertools.combinations(sorted(group), 2)]
            if max(pairs) > threshold_px:
                continue
            key = (len(group), -float(np.mean(pairs)))
            if best is None or key > (best[0], -best[1]):
                best = (len(group), float(np.mean(pairs)), group)
        if best is None:
            return people
        people.append(best[2])
        taken.update(best[2].items())
