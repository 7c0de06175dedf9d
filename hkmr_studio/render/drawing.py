"""2D drawing on photos: the 24-joint skeleton and detected or edited keypoints (OpenCV, RGB uint8 images)."""

from __future__ import annotations

import cv2
import numpy as np

from hkmr_studio.body import kinematics
from hkmr_studio.render.colors import joint_colors


def _line_width(image: np.ndarray) -> int:
    return max(1, round(max(image.shape[:2]) / 400))


def draw_skeleton(image: np.ndarray, joints_2d: np.ndarray) -> np.ndarray:
    """Draw the (24, 2) pixel joints as bones coloured by chain on a copy of the (H, W, 3) image."""
    out = image.copy()
    width = _line_width(out)
    colors = (joint_colors() * 255).astype(int)
    for j, parent in enumerate(kinematics.PARENTS):
        if parent < 0 or not np.isfinite(joints_2d[[j, parent]]).all():
            continue
        p, q = joints_2d[parent].round().astype(int), joints_2d[j].round().astype(int)
        cv2.line(out, tuple(p.tolist()), tuple(q.tolist()), tuple(colors[j].tolist()), width + 1, cv2.LINE_AA)
    return out


def draw_keypoints(
    image: np.ndarray, xy: np.ndarray, visibility: np.ndarray, threshold: float = 0.5
) -> np.ndarray:
    """Draw (K, 2) pixel keypoints on a copy of the image: filled when visibility >= threshold, hollow otherwise."""
    out = image.copy()
    radius = 2 * _line_width(out) + 1
    for (x, y), vis in zip(xy, visibility):
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        centre = (round(float(x)), round(float(y)))
        if vis >= threshold:
            cv2.circle(out, centre, radius, (255, 255, 255), -1, cv2.LINE_AA)
            cv2.circle(out, centre, radius, (20, 20, 20), 1, cv2.LINE_AA)
        else:
            cv2.circle(out, centre, radius, (255, 170, 0), max(1, radius // 2), cv2.LINE_AA)
    return out
