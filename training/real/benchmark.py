"""Build the real benchmark once and keep it: detections and pseudo-ground-truth of the capture
(training.real.capture), with the checks that decide whether the calibration can be trusted.

Steps: check each video against its camera (pixel size; black bands where a letterboxed video would have them);
MediaPipe on every frame of every view (training.real.detections); synchronisation checked by shifting each camera by
a few frames (training.real.pseudo_truth.sync_errors) and the lens distortion by leaving it out; a first
triangulation; views that missed a person searched
again where the others put them (training.real.projected_search); the final triangulation. Everything lands in a
git-ignored folder; `report` holds the figures the data card shows.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.pipeline.keypoints import MEDIAPIPE_LANDMARK_NAMES
from training.real.capture import Capture, frames, load_capture
from training.real.detections import ViewDetections, detect_capture
from training.real.projected_search import search_missed
from training.real.pseudo_truth import (
    BODY_LANDMARKS,
    PseudoTruth,
    build_pseudo_truth,
    choose_offsets,
    median_reprojection,
    sync_errors,
)
from training.real.report import write_card
from training.real.scoring import used_frames

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "real"
#: Every SYNC_STRIDE-th frame is used to check synchronisation.
SYNC_STRIDE = 2
#: A row or column darker than this (mean of 0-255 RGB) at the image's edge counts as a black band.
BAND_LEVEL = 20.0


@dataclass
class RealBenchmark:
    """The capture, all detections, the pseudo-ground-truth and the build's report (JSON-ready)."""

    capture: Capture
    detections: ViewDetections
    truth: PseudoTruth
    report: dict[str, Any]


def black_bands(image: np.ndarray) -> dict[str, int]:
    """Rows or columns of near-black at each edge of an (H, W, 3) image: {top, bottom, left, right}."""
    grey = image.astype(np.float64).mean(axis=2)

    def run(profile: np.ndarray) -> int:
        dark = profile < BAND_LEVEL
        return int(np.argmin(dark)) if not dark.all() else len(dark)

    rows, cols = grey.mean(axis=1), grey.mean(axis=0)
    return {"top": run(rows), "bottom": run(rows[::-1]), "left": run(cols), "right": run(cols[::-1])}


def _video_checks(capture: Capture) -> list[dict[str, Any]]:
    checks = []
    for camera, video in zip(capture.cameras, capture.videos, strict=True):
        first = next(frames(video))
        checks.append({"camera": camera.name, "calibrated_size": list(camera.size),
                       "video_size": [first.shape[1], first.shape[0]], "black_bands": black_bands(first)})
    return checks


def _band_shift_check(capture: Capture, detections: ViewDetections, offsets: np.ndarray,
                      videos: list[dict[str, Any]]) -> dict[str, Any]:
    """For each camera whose first frame has black bands at the top or left (a letterboxed picture would be shifted
    by them), the median reprojection error with its principal point shifted by those bands."""
    frames_used = range(0, detections.shape[1], SYNC_STRIDE)
    out = {}
    for v, video in enumerate(videos):
        shift = np.array([video["black_bands"]["left"], video["black_bands"]["top"]], dtype=np.float64)
        if not shift.any():
            continue
        cameras = list(capture.cameras)
        K = cameras[v].K.copy()
        K[:2, 2] += shift
        cameras[v] = dataclasses.replace(cameras[v], K=K)
        out[video["camera"]] = {"shift_px": shift.tolist(), "median_reprojection_px": round(
            median_reprojection(cameras, detections, frames_used, offsets), 2)}
    return out


def _quality(truth: PseudoTruth) -> dict[str, Any]:
    """The pseudo-ground-truth's own figures: reprojection error per landmark (median and 90th percentile over the
    views each triangulation used), views per person-frame, swaps, person-frames used."""
    used_errors = np.where(truth.used, truth.errors, np.nan)  # (F, K, V, 33)
    with np.errstate(all="ignore"):
        median = np.nanmedian(used_errors, axis=(0, 1, 2))
        p90 = np.nanpercentile(used_errors, 90, axis=(0, 1, 2))
    views = (truth.slot >= 0).sum(axis=2)
    seen = truth.slot >= 0
    return {
        "reprojection_px": {name: {"median": round(float(m), 1), "p90": round(float(p), 1),
                                   "views_used": round(float(truth.used[..., i].sum(axis=2)[views > 0].mean()), 2)}
                            for i, (name, m, p) in enumerate(zip(MEDIAPIPE_LANDMARK_NAMES, median, p90,
                                                                 strict=True))},
        "body_reprojection_px": round(float(np.nanmedian(used_errors[..., list(BODY_LANDMARKS)])), 1),
        "person_frames": int((views > 0).sum()),
        "views_per_person_frame": {str(n): int((views == n).sum()) for n in range(1, truth.slot.shape[2] + 1)},
        "swapped_views": {group: int(truth.swapped[..., g][seen].sum())
                          for g, group in enumerate(("face", "arms", "legs"))},
        "seen_views": int(seen.sum()),
        "complete_person_frames": int(truth.complete().sum()),
        "used_person_frames": int(used_frames(truth).sum()),
        "used_per_person": [int(n) for n in used_frames(truth).sum(axis=0)],
        "most_missing": [_most_missing(truth, k) for k in range(truth.points.shape[1])],
    }


def _most_missing(truth: PseudoTruth, person: int) -> dict[str, Any]:
    """The body landmark of `person` least often triangulated over the frames they were seen in."""
    seen = (truth.slot[:, person] >= 0).any(axis=1)
    missing = ~np.isfinite(truth.points[seen, person][:, list(BODY_LANDMARKS), 0])
    worst = int(missing.sum(axis=0).argmax())
    return {"landmark": MEDIAPIPE_LANDMARK_NAMES[BODY_LANDMARKS[worst]], "frames_missing": int(missing[:, worst].sum()),
            "frames_seen": int(seen.sum())}


def build(folder: Path = DEFAULT_DIR, log: Callable[[str], None] = print) -> RealBenchmark:
    """Detect, check, triangulate; write detections.npz, pseudo_truth.npz and report.json into `folder`."""
    started = time.perf_counter()
    capture = load_capture()
    report: dict[str, Any] = {"take": "pose2sim 0.10.49 Demo_MultiPerson", "videos": _video_checks(capture)}
    views = len(capture.cameras)
    log(f"MediaPipe on {views} videos (about 3 minutes on 2 cores)")
    detections = detect_capture(capture)
    log("checking synchronisation")
    sync = sync_errors(capture.cameras, detections, range(0, detections.shape[1], SYNC_STRIDE))
    offsets = choose_offsets(sync, views)
    report["sync"] = {"median_reprojection_px": {f"{capture.cameras[v].name} {o:+d}": round(e, 2)
                                                 for (v, o), e in sync.items()},
                      "offsets": {c.name: int(o) for c, o in zip(capture.cameras, offsets, strict=True)}}
    undistorted = [dataclasses.replace(c, dist=np.zeros_like(c.dist)) for c in capture.cameras]
    report["distortion"] = {"median_reprojection_px": round(sync[0, 0], 2), "without_distortion_px": round(
        median_reprojection(undistorted, detections, range(0, detections.shape[1], SYNC_STRIDE), offsets), 2)}
    report["band_shift"] = _band_shift_check(capture, detections, offsets, report["videos"])
    first = build_pseudo_truth(capture.cameras, detections, offsets)
    log("searching views that missed a person")
    searched = search_missed(capture, detections, first)
    report["found_by_projection"] = {c.name: int(searched.found[v, :, -1].sum())
                                     for v, c in enumerate(capture.cameras)}
    truth = build_pseudo_truth(capture.cameras, searched, offsets)
    report["quality"] = _quality(truth)
    report["seconds"] = round(time.perf_counter() - started, 1)
    searched.save(folder / "detections.npz")
    truth.save(folder / "pseudo_truth.npz")
    atomic_write_text(folder / "report.json", json.dumps(report, indent=1))
    write_card(report)
    return RealBenchmark(capture, searched, truth, report)


def load_or_build(folder: Path = DEFAULT_DIR, log: Callable[[str], None] = print) -> RealBenchmark:
    """The benchmark from `folder` when it was built there, else build it."""
    paths = [folder / name for name in ("detections.npz", "pseudo_truth.npz", "report.json")]
    if not all(p.is_file() for p in paths):
        return build(folder, log)
    report = json.loads(paths[2].read_text(encoding="utf-8"))
    return RealBenchmark(load_capture(), ViewDetections.load(paths[0]), PseudoTruth.load(paths[1]), report)
