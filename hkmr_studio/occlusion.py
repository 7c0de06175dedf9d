"""Synthetic occluders of the HKMR paper's occlusion protocol: oriented bars, circles and rectangles.

The degree of occlusion d (1-5) sets the size at a 224 px person crop: bar width 10 d px, circle radius 10 d px,
rectangle area 3,000 d px^2 (the paper's 10-50 px and 3,000-15,000 px^2); `make_occluder` scales these to other crop
sizes. A bar is as long as the crop's side. Shared by the synthetic training data and the app's occlusion lab; Qt-free.

Coordinates: image pixels, origin at the top-left corner of the image, x right, y down; pixel (row i, column j) is the
unit square whose centre is (j + 0.5, i + 0.5). Angles: radians from the +x axis towards +y (clockwise on screen).
Images: (H, W, 3) uint8 RGB.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

OccluderKind = Literal["bar", "circle", "rectangle"]
OCCLUDER_KINDS: tuple[str, ...] = ("bar", "circle", "rectangle")
DEGREES: tuple[int, ...] = (1, 2, 3, 4, 5)
REFERENCE_CROP_PX = 224.0
BAR_WIDTH_PER_DEGREE_PX = 10.0
CIRCLE_RADIUS_PER_DEGREE_PX = 10.0
RECTANGLE_AREA_PER_DEGREE_PX2 = 3000.0
Color = tuple[int, int, int]


class Occluder:
    """A shape in image pixels that hides what lies under it. Subclasses define `covers` and `extent`."""

    def covers(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) pixel points -> (N,) bool, True where the shape covers the point (its boundary included)."""
        raise NotImplementedError

    @property
    def extent(self) -> float:
        """A typical size in pixels (bar width, circle diameter, square root of the rectangle's area)."""
        raise NotImplementedError

    def mask(self, height: int, width: int) -> np.ndarray:
        """(H, W) bool: the pixels whose centres the shape covers (exactly what `covers` says of them)."""
        rows, cols = np.mgrid[0:height, 0:width]
        centres = np.stack([cols.ravel() + 0.5, rows.ravel() + 0.5], axis=1)
        return self.covers(centres).reshape(height, width)

    def draw(self, image: np.ndarray, color: Color = (128, 128, 128), texture: np.ndarray | None = None) -> np.ndarray:
        """A copy of the (H, W, 3) uint8 RGB image with the shape painted over it: flat `color`, or the pixels of
        `texture` (an (H, W, 3) uint8 image, e.g. from `noise_texture`) where given."""
        if not (image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3):
            raise ValueError(f"draw: expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
        if texture is not None and texture.shape != image.shape:
            raise ValueError(f"draw: texture must match the image's shape {image.shape}, got {texture.shape}")
        mask = self.mask(*image.shape[:2])
        out = image.copy()
        out[mask] = texture[mask] if texture is not None else np.asarray(color, dtype=np.uint8)
        return out


def _local(points: np.ndarray, center: tuple[float, float], angle: float) -> np.ndarray:
    """(N, 2) pixels -> (N, 2) coordinates along and across the direction `angle`, relative to `center`."""
    offset = np.asarray(points, dtype=np.float64).reshape(-1, 2) - np.asarray(center, dtype=np.float64)
    c, s = math.cos(angle), math.sin(angle)
    return np.stack([offset[:, 0] * c + offset[:, 1] * s, -offset[:, 0] * s + offset[:, 1] * c], axis=1)


@dataclass(frozen=True)
class Rectangle(Occluder):
    """A rectangle `width` (along `angle`) by `height` (across it) pixels, centred at `center`."""

    center: tuple[float, float]
    angle: float
    width: float
    height: float

    def covers(self, points: np.ndarray) -> np.ndarray:
        local = _local(points, self.center, self.angle)
        return (np.abs(local[:, 0]) <= self.width / 2.0) & (np.abs(local[:, 1]) <= self.height / 2.0)

    @property
    def extent(self) -> float:
        return math.sqrt(self.width * self.height)


@dataclass(frozen=True)
class Bar(Occluder):
    """An oriented bar: `width` pixels thick, `length` pixels long along `angle`, centred at `center`."""

    center: tuple[float, float]
    angle: float
    width: float
    length: float

    def covers(self, points: np.ndarray) -> np.ndarray:
        return Rectangle(self.center, self.angle, self.length, self.width).covers(points)

    @property
    def extent(self) -> float:
        return self.width


@dataclass(frozen=True)
class Circle(Occluder):
    """A disc of `radius` pixels centred at `center`."""

    center: tuple[float, float]
    radius: float

    def covers(self, points: np.ndarray) -> np.ndarray:
        offset = np.asarray(points, dtype=np.float64).reshape(-1, 2) - np.asarray(self.center, dtype=np.float64)
        return np.einsum("ni,ni->n", offset, offset) <= self.radius**2

    @property
    def extent(self) -> float:
        return 2.0 * self.radius


def make_occluder(
    kind: OccluderKind,
    degree: int,
    center: tuple[float, float],
    angle: float = 0.0,
    crop_size: float = REFERENCE_CROP_PX,
    aspect: float = 1.0,
) -> Bar | Circle | Rectangle:
    """The paper's occluder of `kind` and degree of occlusion 1-5, for a person crop of `crop_size` pixels.

    aspect: a rectangle's width / height (its area is fixed by the degree). Circles ignore angle and aspect.
    """
    if kind not in OCCLUDER_KINDS:
        raise ValueError(f"occluder kind must be one of {OCCLUDER_KINDS}, got {kind!r}")
    if degree not in DEGREES:
        raise ValueError(f"degree of occlusion must be an integer from 1 to 5, got {degree!r}")
    if not (crop_size > 0 and aspect > 0):
        raise ValueError(f"crop_size and aspect must be positive, got {crop_size} and {aspect}")
    scale = crop_size / REFERENCE_CROP_PX
    center = (float(center[0]), float(center[1]))
    if kind == "bar":
        return Bar(center, float(angle), BAR_WIDTH_PER_DEGREE_PX * degree * scale, float(crop_size))
    if kind == "circle":
        return Circle(center, CIRCLE_RADIUS_PER_DEGREE_PX * degree * scale)
    area = RECTANGLE_AREA_PER_DEGREE_PX2 * degree * scale**2
    return Rectangle(center, float(angle), math.sqrt(area * aspect), math.sqrt(area / aspect))


def noise_texture(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """(H, W, 3) uint8: a random blotchy colour texture with fine grain, an object-like fill for occluders."""
    base = rng.uniform(0, 255, size=(1, 1, 3))
    blotches = cv2.resize(rng.uniform(-60, 60, size=(6, 6, 3)), (width, height), interpolation=cv2.INTER_CUBIC)
    grain = rng.normal(0.0, 12.0, size=(height, width, 3))
    return np.clip(base + blotches + grain, 0, 255).astype(np.uint8)
