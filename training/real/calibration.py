"""Calibrated cameras of a multi-view capture: Qualisys QTM `.qca.txt` files -> OpenCV pinhole cameras.

QTM's convention, as Pose2Sim's reader interprets it (that reader is the reference for the convention only):
- `transform` holds the camera's position (x, y, z, millimetres, world frame) and a rotation M (r11..r33 row by row)
  that takes world directions to QTM's camera axes; QTM's camera looks along its -z with y up, so a half turn about
  x gives OpenCV's camera axes (x right, y down, z forward): R = Rx(pi) M, t = -R c.
- `intrinsic` focal lengths, principal point and distortion are in 1/64 sub-pixels of the sensor; the principal
  point is shifted by the video's field of view (`fov_video` left/top), which also gives the image size.
- Radial (k1, k2) and tangential (p1, p2) distortion are scaled by 1/64 like the other intrinsics.

World frame: the capture's (here Z up), metres. Camera frame: OpenCV, metres. Pixels: origin top-left, x right, y down.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

#: QTM stores intrinsics in sub-pixels: this many per pixel.
SUBPIXELS = 64.0
_HALF_TURN_X = np.diag([1.0, -1.0, -1.0])


class CalibrationError(ValueError):
    """A calibration file could not be read; the message names the file and the problem."""


@dataclass(frozen=True)
class Camera:
    """One calibrated camera. size (width, height) px; K (3, 3); dist (4,) OpenCV (k1, k2, p1, p2); R (3, 3) and
    t (3,) take world points (metres) to the OpenCV camera frame: X_cam = R X_world + t."""

    name: str
    size: tuple[int, int]
    K: np.ndarray
    dist: np.ndarray
    R: np.ndarray
    t: np.ndarray

    @property
    def centre(self) -> np.ndarray:
        """(3,) the camera's position in the world frame, metres."""
        return -self.R.T @ self.t

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) world points -> (..., 3) camera-frame points."""
        return points @ self.R.T + self.t

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, 3) world points -> (N, 2) distorted pixels."""
        rvec, _ = cv2.Rodrigues(self.R)
        pixels, _ = cv2.projectPoints(np.asarray(points, np.float64).reshape(-1, 1, 3), rvec, self.t, self.K, self.dist)
        return pixels.reshape(-1, 2)

    def undistort(self, pixels: np.ndarray) -> np.ndarray:
        """(N, 2) distorted pixels -> (N, 2) ideal normalised image coordinates (x / z, y / z in the camera frame)."""
        points = np.asarray(pixels, np.float64).reshape(-1, 1, 2)
        return cv2.undistortPoints(points, self.K, self.dist).reshape(-1, 2)

    def projection_matrix(self) -> np.ndarray:
        """(3, 4) [R | t]: world points to normalised image coordinates (homogeneous), for triangulation."""
        return np.hstack([self.R, self.t[:, None]])

    def resized(self, size: tuple[int, int]) -> Camera:
        """The same camera for images scaled uniformly to `size` (width, height) px."""
        scale = size[0] / self.size[0]
        if not math.isclose(size[1] / self.size[1], scale, rel_tol=1e-3):
            raise CalibrationError(
                f"camera {self.name}: a {size[0]} x {size[1]} video is not a uniform scaling of the calibrated "
                f"{self.size[0]} x {self.size[1]} images (letterboxed or cropped?); crop it back before use"
            )
        K = self.K.copy()
        K[:2] *= scale
        return Camera(self.name, size, K, self.dist, self.R, self.t)


def _floats(element: ET.Element, names: tuple[str, ...], path: Path) -> list[float]:
    try:
        return [float(element.attrib[n]) for n in names]
    except (KeyError, ValueError) as exc:
        raise CalibrationError(f"{path}: <{element.tag}> lacks a number for {exc}") from exc


def _camera(element: ET.Element, path: Path) -> Camera:
    name = element.attrib.get("serial", "")
    fov, transform, intrinsic = (element.find(tag) for tag in ("fov_video", "transform", "intrinsic"))
    if fov is None or transform is None or intrinsic is None:
        raise CalibrationError(f"{path}: camera {name!r} lacks fov_video, transform or intrinsic")
    left, top, right, bottom = _floats(fov, ("left", "top", "right", "bottom"), path)
    size = (int(right - left + 1), int(bottom - top + 1))
    fu, fv, cu, cv = (v / SUBPIXELS for v in _floats(
        intrinsic, ("focalLengthU", "focalLengthV", "centerPointU", "centerPointV"), path))
    K = np.array([[fu, 0.0, cu - left], [0.0, fv, cv - top], [0.0, 0.0, 1.0]])
    dist = np.array(_floats(intrinsic, ("radialDistortion1", "radialDistortion2", "tangentalDistortion1",
                                        "tangentalDistortion2"), path)) / SUBPIXELS
    rotation = np.array(_floats(transform, tuple(f"r{i}{j}" for i in "123" for j in "123"), path)).reshape(3, 3)
    if not np.allclose(rotation @ rotation.T, np.eye(3), atol=1e-4):
        raise CalibrationError(f"{path}: camera {name!r} has a transform that is not a rotation")
    position = np.array(_floats(transform, ("x", "y", "z"), path)) / 1000.0
    R = _HALF_TURN_X @ rotation
    return Camera(name, size, K, dist, R, -R @ position)


def read_qca(path: str | Path) -> list[Camera]:
    """The active cameras of a QTM `.qca.txt` file, sorted by name."""
    path = Path(path)
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise CalibrationError(f"{path}: not a readable QTM calibration ({exc})") from exc
    cameras = [_camera(e, path) for e in root.iterfind("cameras/camera") if e.attrib.get("active", "1") == "1"]
    if not cameras:
        raise CalibrationError(f"{path}: no active camera")
    return sorted(cameras, key=lambda c: c.name)
