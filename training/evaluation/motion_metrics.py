"""Jitter, lag and error of a body's motion through a take against the truth.

Joints are (T, J, 3) metres, one row per frame of the take, NaN where a frame has no body (or no truth). Accelerations
are per frame (not per second): compare takes of the same frame rate.
  jitter     mean length of the second difference x[t+1] - 2 x[t] + x[t-1] over the joints and the frames whose two
             neighbours are present too, mm/frame^2
  lag        the shift s (frames, to a tenth, within +-max_shift) that minimises the mean distance between
             predicted[t + s] and truth[t]: positive when the prediction follows the truth late
  error      mean joint distance over the frames where both are present, mm
"""

from __future__ import annotations

import numpy as np


def centred(joints: np.ndarray, root: tuple[int, ...]) -> np.ndarray:
    """(T, J, 3) joints with the mean of the `root` joints moved to the origin in every frame."""
    return joints - joints[:, list(root)].mean(axis=1, keepdims=True)


def jitter_mm(joints: np.ndarray) -> float:
    """Mean joint acceleration, mm/frame^2 (see the module docstring); NaN when no three consecutive frames exist."""
    acceleration = joints[2:] - 2.0 * joints[1:-1] + joints[:-2]
    lengths = np.linalg.norm(acceleration, axis=-1)
    valid = np.isfinite(lengths)
    return float(lengths[valid].mean() * 1000.0) if valid.any() else float("nan")


def error_mm(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean distance between predicted and true joints where both are present, mm."""
    distances = np.linalg.norm(predicted - truth, axis=-1)
    valid = np.isfinite(distances)
    return float(distances[valid].mean() * 1000.0) if valid.any() else float("nan")


def shifted_errors(predicted: np.ndarray, truth: np.ndarray, max_shift: int) -> np.ndarray:
    """(2 max_shift + 1,) mean error (mm) of predicted[t + s] against truth[t] for s = -max_shift..max_shift."""
    frames = len(truth)
    out = []
    for shift in range(-max_shift, max_shift + 1):
        first, last = max(0, -shift), min(frames, frames - shift)
        out.append(error_mm(predicted[first + shift:last + shift], truth[first:last]))
    return np.array(out)


def lag_frames(predicted: np.ndarray, truth: np.ndarray, max_shift: int = 6) -> float:
    """The shift (frames) that best aligns the prediction with the truth, refined between frames by a parabola
    through the best shift and its neighbours."""
    errors = shifted_errors(predicted, truth, max_shift)
    best = int(np.nanargmin(errors))
    shift = float(best - max_shift)
    if 0 < best < len(errors) - 1:
        left, middle, right = errors[best - 1], errors[best], errors[best + 1]
        curvature = left - 2.0 * middle + right
        if curvature > 0:
            shift += 0.5 * (left - right) / curvature
    return round(shift, 1)
