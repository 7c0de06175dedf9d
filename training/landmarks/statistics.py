"""Measure how MediaPipe errs around the calibrated landmarks on the renders: the DetectorStatistics that synthetic
samples are corrupted with."""

from __future__ import annotations

import numpy as np
import torch

from hkmr_studio.body.landmarks import LandmarkDefinition
from hkmr_studio.geometry.cameras import pixel_scale_at_depth
from training.landmarks.fit import MIRRORED, predicted_landmarks, swapped_landmarks, usable
from training.landmarks.observe import Observations
from training.samples.detector_model import DISPLACEMENT_LEVELS, DetectorStatistics
from training.samples.self_occlusion import SplatOccluder

OUTLIER_DISTANCE = 0.1  # person sizes
_LEFT_HIP, _RIGHT_HIP = 23, 24


def person_size(projected: np.ndarray) -> np.ndarray:
    """(N, 33, 2) landmark pixels -> (N,) the longer side of their bounding box."""
    return np.ptp(projected, axis=1).max(axis=1)


def self_occluded(obs: Observations, landmarks: np.ndarray, splats: SplatOccluder) -> np.ndarray:
    """(N, 33) bool: the point-splat test on each render; landmarks (N, 33, 3) camera frame."""
    column = np.searchsorted(obs.tracked, splats.vertex_ids)
    points = obs.vertices[:, column]
    hidden = splats.occluded(
        torch.from_numpy(obs.project(landmarks)),
        torch.from_numpy(landmarks[..., 2]),
        torch.from_numpy(obs.project(points)),
        torch.from_numpy(points[..., 2]),
        pixel_scale_at_depth(torch.from_numpy(obs.focal[:, None]), torch.from_numpy(points[..., 2])),
    )
    return hidden.numpy()


def _pooled(values: np.ndarray, mask: np.ndarray, reduce: str, default: float) -> np.ndarray:
    """(N, 33) values where mask -> (33,) mean or std over each landmark and its mirror image together."""
    out = np.full(values.shape[1], default)
    for i in range(values.shape[1]):
        picked = np.concatenate([values[mask[:, i], i], values[mask[:, MIRRORED[i]], MIRRORED[i]]])
        if len(picked) > 1:
            out[i] = picked.mean() if reduce == "mean" else picked.std()
    return out


def _robust_sigma(values: np.ndarray) -> float:
    return float(1.4826 * np.median(np.abs(values - np.median(values))))


def measure(
    obs: Observations, definition: LandmarkDefinition, swaps: np.ndarray, splats: SplatOccluder
) -> tuple[DetectorStatistics, np.ndarray]:
    """The statistics over the renders (swaps (N, G): left/right swaps per SWAP_GROUPS group), and the (N, 33)
    self-occlusion flags they used."""
    swapped = swapped_landmarks(swaps)
    landmarks = predicted_landmarks(obs, definition)
    projected = obs.project(landmarks)
    size = person_size(projected)[:, None, None]
    seen = usable(obs) & ~swapped
    offset = (obs.detected - projected) / size  # (N, 33, 2)
    distance = np.linalg.norm(offset, axis=-1)
    inlier = seen & (distance < OUTLIER_DISTANCE)
    noise = np.array(
        [
            _robust_sigma(np.concatenate([offset[inlier[:, i], i].ravel(), offset[inlier[:, m], m].ravel()]))
            for i, m in enumerate(MIRRORED)
        ]
    )
    outliers = seen & ~inlier

    hidden = self_occluded(obs, landmarks, splats)
    found = obs.found[:, None] & np.ones_like(hidden)
    visibility = np.nan_to_num(obs.visibility)

    covered = np.stack([o.covers(p) for o, p in zip(obs.occluders, projected)])
    both = obs.found & obs.occluded_found
    covered_both = covered & both[:, None] & ~swapped
    moved = np.linalg.norm(obs.occluded_detected - obs.detected, axis=-1) / size[..., 0]

    hip_centre = (landmarks[:, _LEFT_HIP] + landmarks[:, _RIGHT_HIP]) / 2.0
    world_error = obs.world - (landmarks - hip_centre[:, None])
    statistics = DetectorStatistics(
        noise=tuple(noise),
        outlier_rate=float(outliers.sum() / max(seen.sum(), 1)),
        outlier_scale=float(np.median(distance[outliers])) if outliers.any() else 0.0,
        swap_rates=tuple(swaps.sum(axis=0) / max(obs.found.sum(), 1)),
        visibility_seen_mean=tuple(_pooled(visibility, found & ~hidden, "mean", 1.0)),
        visibility_seen_std=tuple(_pooled(visibility, found & ~hidden, "std", 0.0)),
        visibility_hidden_mean=tuple(_pooled(visibility, found & hidden, "mean", 0.5)),
        visibility_hidden_std=tuple(_pooled(visibility, found & hidden, "std", 0.0)),
        visibility_covered_mean=tuple(_pooled(np.nan_to_num(obs.occluded_visibility), covered_both, "mean", 0.5)),
        visibility_covered_std=tuple(_pooled(np.nan_to_num(obs.occluded_visibility), covered_both, "std", 0.0)),
        covered_displacement=tuple(np.quantile(moved[covered_both], DISPLACEMENT_LEVELS)),
        occluded_detection_rate=float(obs.occluded_found[obs.found].mean()),
        world_noise=tuple(np.nanstd(world_error[seen], axis=0)),
    )
    return statistics, hidden
