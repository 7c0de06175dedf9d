"""Points seen by several calibrated cameras -> 3D: weighted linear triangulation (DLT on undistorted, normalised
image coordinates), reprojection errors in pixels, and a robust variant that drops the view that disagrees most with
the others while its disagreement is an outlier and enough views remain.

World frame: the calibration's, metres. Pixels: each camera's distorted image pixels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from training.real.calibration import Camera

#: A view's reprojection error (px) against the point the other views triangulate counts as an outlier above
#: max(OUTLIER_PX, OUTLIER_RATIO x the median of theirs).
OUTLIER_PX = 12.0
OUTLIER_RATIO = 3.0


def triangulate(cameras: Sequence[Camera], pixels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(V, N, 2) pixels in V views with (V, N) non-negative weights (0: not seen) -> (N, 3) world points; NaN where
    fewer than two views have weight."""
    normalised = np.stack([c.undistort(pixels[v]) for v, c in enumerate(cameras)])  # (V, N, 2)
    matrices = np.stack([c.projection_matrix() for c in cameras])  # (V, 3, 4)
    rows = np.concatenate([
        normalised[..., 0:1] * matrices[:, None, 2] - matrices[:, None, 0],
        normalised[..., 1:2] * matrices[:, None, 2] - matrices[:, None, 1],
    ], axis=0) * np.concatenate([weights, weights])[..., None]  # (2V, N, 4)
    _, _, vh = np.linalg.svd(rows.transpose(1, 0, 2))
    homogeneous = vh[:, -1]
    points = homogeneous[:, :3] / homogeneous[:, 3:]
    points[(weights > 0).sum(axis=0) < 2] = np.nan
    return points


def reprojection_errors(cameras: Sequence[Camera], points: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """(N, 3) world points and (V, N, 2) observed pixels -> (V, N) distances in pixels (NaN for NaN points)."""
    errors = np.full(pixels.shape[:2], np.nan)
    valid = np.isfinite(points).all(axis=1)
    for v, camera in enumerate(cameras):
        if valid.any():
            errors[v, valid] = np.linalg.norm(camera.project(points[valid]) - pixels[v, valid], axis=1)
    return errors


def triangulate_robust(
    cameras: Sequence[Camera], pixels: np.ndarray, weights: np.ndarray, min_views: int = 3
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`triangulate` per point, dropping outlier views one at a time while more than `min_views` remain: the view
    dropped is the one without which the other views agree best (the least largest reprojection error among them),
    and it goes only if its own error against their point exceeds max(OUTLIER_PX, OUTLIER_RATIO x their median).

    Returns points (N, 3) (NaN where fewer than `min_views` views were usable), the used views (V, N) bool and the
    reprojection errors (V, N) px of every view, used or not, against the final points.
    """
    used = weights > 0
    views = len(cameras)
    while True:
        columns = np.flatnonzero(used.sum(axis=0) > min_views)
        if len(columns) == 0:
            break
        spread = np.full((views, len(columns)), np.inf)  # largest error of the others without view v
        own = np.full((views, len(columns)), np.nan)  # view v's error against the others' point
        median = np.full((views, len(columns)), np.nan)
        for v in range(views):
            has_v = used[v, columns]
            if not has_v.any():
                continue
            rows = columns[has_v]
            without = np.where(used[:, rows], weights[:, rows], 0.0)
            without[v] = 0.0
            errors = reprojection_errors(cameras, triangulate(cameras, pixels[:, rows], without), pixels[:, rows])
            others = np.where(without > 0, errors, np.nan)
            spread[v, has_v] = np.nanmax(others, axis=0)
            median[v, has_v] = np.nanmedian(others, axis=0)
            own[v, has_v] = errors[v]
        best = spread.argmin(axis=0)
        index = np.arange(len(columns))
        limit = np.maximum(OUTLIER_PX, OUTLIER_RATIO * median[best, index])
        drop = own[best, index] > limit
        if not drop.any():
            break
        used[best[drop], columns[drop]] = False
    points = triangulate(cameras, pixels, np.where(used, weights, 0.0))
    points[used.sum(axis=0) < min_views] = np.nan
    return points, used, reprojection_errors(cameras, points, pixels)
