"""A pseudo-ground-truth for a multi-view capture: MediaPipe's landmarks of each person, associated across views and
triangulated robustly, frame by frame.

Per frame: the people are associated across views by epipolar geometry (training.real.association); for each person
and each left/right group of landmarks (face, arms, legs), the views whose sides MediaPipe swapped are found as the
assignment of swaps, majority unswapped, that triangulates with the least reprojection error; then every landmark is
triangulated from the views that call it visible, dropping outlier views while at least MIN_VIEWS remain
(training.real.triangulation). People keep their identity across frames by the nearest hip midpoint. Cameras found to
be a frame out of step (`frame_offsets`) are shifted before all this.

Arrays (F frames, K people, V views, 33 MediaPipe landmarks; world frame of the calibration, metres):
  points (F, K, 33, 3) float64   NaN where fewer than MIN_VIEWS views agree
  slot (F, K, V) int16           the person's detection slot in each view (training.real.detections), -1 if not seen
  swapped (F, K, V, 3) bool      per SWAP_GROUPS group, whether that view's detection had left and right swapped
  used (F, K, V, 33) bool        views that the landmark's triangulation used
  errors (F, K, V, 33) float32   reprojection error (px) of each view's (swap-corrected) landmark, NaN if not seen
  offsets (V,) int16             frame offset of each view: view v's frame f + offsets[v] is frame f
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS, VISIBILITY_THRESHOLD
from training.real.arrays import load_arrays, save_arrays
from training.real.association import associate, mirror_order
from training.real.calibration import Camera
from training.real.detections import ViewDetections
from training.real.triangulation import triangulate_robust
from training.samples.detector_model import SWAP_GROUPS

MIN_VIEWS = 3
#: The landmarks scored by the benchmark: shoulders, elbows, wrists, hips, knees, ankles (MediaPipe indices).
BODY_LANDMARKS: tuple[int, ...] = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
HIPS: tuple[int, int] = (23, 24)
#: Swaps are adopted only when they fit better than error x SWAP_MARGIN[0] + SWAP_MARGIN[1] px of the best assignment.
SWAP_MARGIN: tuple[float, float] = (1.3, 1.0)
#: Reprojection errors count up to this (px) when comparing swap assignments, so one wild landmark cannot decide.
SWAP_ERROR_CAP_PX = 100.0
#: Frame offsets tried per camera when checking synchronisation.
SYNC_OFFSETS: tuple[int, ...] = (-2, -1, 0, 1, 2)
#: An offset is adopted only if it lowers the median reprojection error by more than this fraction.
SYNC_GAIN = 0.05
#: Cost of starting a person's track instead of continuing one (metres of hip travel between frames).
NEW_TRACK_M = 1.0


@dataclass
class PseudoTruth:
    """The module docstring's arrays."""

    points: np.ndarray
    slot: np.ndarray
    swapped: np.ndarray
    used: np.ndarray
    errors: np.ndarray
    offsets: np.ndarray

    def complete(self, landmarks: Sequence[int] = BODY_LANDMARKS) -> np.ndarray:
        """(F, K) bool: every one of `landmarks` triangulated."""
        return np.isfinite(self.points[:, :, list(landmarks)]).all(axis=(2, 3))

    def save(self, path: Path) -> Path:
        return save_arrays(self, path)

    @staticmethod
    def load(path: Path) -> PseudoTruth:
        return load_arrays(PseudoTruth, path)


@dataclass(frozen=True)
class PersonViews:
    """One person in one frame: the views that see them and, per view, the detection's (33, 2) pixels and (33,)
    visibility as MediaPipe gave them."""

    views: tuple[int, ...]
    xy: np.ndarray  # (n, 33, 2)
    visibility: np.ndarray  # (n, 33)


@dataclass(frozen=True)
class Triangulated:
    """One person triangulated: points (33, 3), swap flags (n, 3), used views (n, 33), reprojection errors (n, 33) px
    of the swap-corrected landmarks (NaN where the view does not see the landmark)."""

    points: np.ndarray
    swapped: np.ndarray
    used: np.ndarray
    errors: np.ndarray


def _corrected(person: PersonViews, flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The person's pixels (n, 33, 2) and seen mask (n, 33) with each view's swap `flags` (n, 3) undone."""
    xy, seen = person.xy.copy(), person.visibility >= VISIBILITY_THRESHOLD
    for i, view_flags in enumerate(flags):
        order = mirror_order(tuple(view_flags))
        xy[i], seen[i] = xy[i][order], seen[i][order]
    return xy, seen


def find_swaps(cameras: Sequence[Camera], person: PersonViews) -> np.ndarray:
    """(n, 3) bool: per view of `person` and SWAP_GROUPS group, whether MediaPipe swapped left and right.

    Per group, every assignment of swaps is triangulated and scored by the mean reprojection error, each capped at
    SWAP_ERROR_CAP_PX, of all views that see the group's landmarks (dropped views included, so that swapping a view
    into an outlier gains nothing).
    An assignment and its complement fit equally, so the fewest swaps (the majority's sides) win among the
    assignments within SWAP_MARGIN of the best, then the lower error. `cameras`: all of the capture's, indexed by
    the person's views."""
    seen_by = [cameras[v] for v in person.views]
    n = len(person.views)
    flags = np.zeros((n, len(SWAP_GROUPS)), dtype=bool)
    for g, group in enumerate(SWAP_GROUPS):
        landmarks = list(group)
        scored: list[tuple[float, tuple[bool, ...]]] = []
        for choice in itertools.product((False, True), repeat=n):
            trial = flags.copy()
            trial[:, g] = choice
            xy, seen = _corrected(person, trial)
            points, _, errors = triangulate_robust(seen_by, xy[:, landmarks], seen[:, landmarks].astype(float))
            valid = seen[:, landmarks] & np.isfinite(points).all(axis=1)[None]
            if valid.any():
                scored.append((float(np.minimum(errors[valid], SWAP_ERROR_CAP_PX).mean()), choice))
        if scored:
            best = min(error for error, _ in scored)
            near = [(2 * sum(c) + int(c[0]), e, c) for e, c in scored if e <= best * SWAP_MARGIN[0] + SWAP_MARGIN[1]]
            flags[:, g] = min(near)[2]
    return flags


def triangulate_person(cameras: Sequence[Camera], person: PersonViews) -> Triangulated:
    """Swap correction, then robust triangulation of all 33 landmarks of one person from the views that see them."""
    flags = find_swaps(cameras, person)
    xy, seen = _corrected(person, flags)
    points, used, errors = triangulate_robust([cameras[v] for v in person.views], xy, seen.astype(float), MIN_VIEWS)
    return Triangulated(points, flags, used, np.where(seen, errors, np.nan))


def people_in_frame(cameras: Sequence[Camera], detections: ViewDetections, frame: int,
                    offsets: np.ndarray) -> list[tuple[dict[int, int], PersonViews]]:
    """The people of `frame` (each view shifted by its offset) as {view: slot} groups with their detections; none when
    a shifted view runs past its video."""
    views, count, _ = detections.shape
    shifted = [frame + int(offsets[v]) for v in range(views)]
    if not all(0 <= f < count for f in shifted):
        return []
    per_view = [(detections.xy[v, f], detections.visibility[v, f], detections.found[v, f])
                for v, f in enumerate(shifted)]
    people = []
    for group in associate(cameras, per_view):
        ordered = tuple(sorted(group))
        xy = np.stack([per_view[v][0][group[v]] for v in ordered]).astype(np.float64)
        visibility = np.stack([per_view[v][1][group[v]] for v in ordered]).astype(np.float64)
        people.append((group, PersonViews(ordered, xy, visibility)))
    return people


def median_reprojection(cameras: Sequence[Camera], detections: ViewDetections, frames: Sequence[int],
                        offsets: np.ndarray) -> float:
    """Median reprojection error (px) of the body landmarks' used views over `frames`, views shifted by `offsets`."""
    body = list(BODY_LANDMARKS)
    errors = [triangulated.errors[:, body][triangulated.used[:, body]]
              for frame in frames
              for _, person in people_in_frame(cameras, detections, frame, offsets)
              for triangulated in [triangulate_person(cameras, person)]]
    return float(np.nanmedian(np.concatenate(errors)))


def sync_errors(cameras: Sequence[Camera], detections: ViewDetections, frames: Sequence[int]
                ) -> dict[tuple[int, int], float]:
    """`median_reprojection` with one view shifted by each of SYNC_OFFSETS: {(view, offset): error}; (0, 0) is the
    capture as recorded (view 0 is the reference)."""
    views = detections.shape[0]
    trials = [(0, 0)] + [(v, o) for v in range(1, views) for o in SYNC_OFFSETS if o != 0]
    results = {}
    for view, offset in trials:
        offsets = np.zeros(views, dtype=int)
        offsets[view] = offset
        results[view, offset] = median_reprojection(cameras, detections, frames, offsets)
    return results


def choose_offsets(errors: dict[tuple[int, int], float], views: int) -> np.ndarray:
    """(V,) frame offsets: per view the offset of least error, where it beats the recorded timing by SYNC_GAIN."""
    offsets = np.zeros(views, dtype=np.int16)
    reference = errors[0, 0]
    for view in range(1, views):
        offset, error = min(((o, e) for (v, o), e in errors.items() if v == view), key=lambda item: item[1])
        if error < (1.0 - SYNC_GAIN) * reference:
            offsets[view] = offset
    return offsets


def _hip_mid(points: np.ndarray) -> np.ndarray:
    return points[list(HIPS)].mean(axis=0)


def match_tracks(hips: Sequence[np.ndarray], tracks: Sequence[np.ndarray | None]) -> list[int]:
    """The track index of each of the frame's people (len(hips) <= len(tracks)): the assignment with the least total
    distance from each hip midpoint (3,) to its track's last one; a track not started yet costs NEW_TRACK_M."""
    def cost(hip: np.ndarray, track: np.ndarray | None) -> float:
        return NEW_TRACK_M if track is None else float(np.linalg.norm(hip - track))

    best = min(itertools.permutations(range(len(tracks)), len(hips)),
               key=lambda chosen: sum(cost(h, tracks[k]) for h, k in zip(hips, chosen, strict=True)))
    return list(best)


def build_pseudo_truth(cameras: Sequence[Camera], detections: ViewDetections, offsets: np.ndarray,
                       people: int = 2) -> PseudoTruth:
    """Triangulate up to `people` people (those seen by the most views) in every frame; identities follow
    `match_tracks`."""
    views, frames, _ = detections.shape
    out = PseudoTruth(
        points=np.full((frames, people, NUM_LANDMARKS, 3), np.nan),
        slot=np.full((frames, people, views), -1, dtype=np.int16),
        swapped=np.zeros((frames, people, views, len(SWAP_GROUPS)), dtype=bool),
        used=np.zeros((frames, people, views, NUM_LANDMARKS), dtype=bool),
        errors=np.full((frames, people, views, NUM_LANDMARKS), np.nan, dtype=np.float32),
        offsets=np.asarray(offsets, dtype=np.int16),
    )
    tracks: list[np.ndarray | None] = [None] * people
    for frame in range(frames):
        found = [(group, person, triangulate_person(cameras, person))
                 for group, person in people_in_frame(cameras, detections, frame, out.offsets)]
        found = [item for item in found if np.isfinite(_hip_mid(item[2].points)).all()][:people]
        hips = [_hip_mid(triangulated.points) for _, _, triangulated in found]
        for (group, person, triangulated), k in zip(found, match_tracks(hips, tracks), strict=True):
            tracks[k] = _hip_mid(triangulated.points)
            out.points[frame, k] = triangulated.points
            for i, v in enumerate(person.views):
                out.slot[frame, k, v] = group[v]
                out.swapped[frame, k, v] = triangulated.swapped[i]
                out.used[frame, k, v] = triangulated.used[i]
                out.errors[frame, k, v] = triangulated.errors[i]
    return out
