"""Camera models and the one conversion between them.

Camera frame: OpenCV (x right, y down, z forward), metres. Image coordinates: pixels, origin at the top-left corner.
Normalised crop coordinates: the square person crop mapped to [-1, 1] on both axes (x right, y down).

Weak perspective (HMR's form): x_norm = s * (X_xy + t_xy), camera (..., 3) = (s, tx, ty).
HKMR's paper writes s * X_xy + rho; rho = s * t_xy, so the two forms describe the same cameras.
"""

from __future__ import annotations

import math

import torch

from hkmr_studio.geometry.checks import check_last_dims

#: Focal length assumed for an unknown camera, in pixels of a 224 px crop (HMR/SPIN use 5000 px at 224 px: a long lens,
#: so that weak perspective and perspective agree on a person filling the crop).
DEFAULT_FOCAL_LENGTH_PX = 5000.0
DEFAULT_CROP_SIZE_PX = 224.0


def weak_perspective_project(points: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
    """Project (B, N, 3) camera-frame points with (B, 3) cameras (s, tx, ty) to (B, N, 2) normalised crop coords."""
    check_last_dims(points, (3,), "points")
    check_last_dims(camera, (3,), "camera")
    scale = camera[..., None, :1]
    return scale * (points[..., :2] + camera[..., None, 1:])


def perspective_project(
    points: torch.Tensor, focal_length: torch.Tensor | float, principal_point: torch.Tensor
) -> torch.Tensor:
    """Pinhole projection of (B, N, 3) camera-frame points to (B, N, 2) pixels.

    focal_length: a float or (B,) / (B, 2) in pixels; principal_point: (B, 2) pixels. Depths are clamped at 1 mm.
    """
    check_last_dims(points, (3,), "points")
    focal = torch.as_tensor(focal_length, dtype=points.dtype, device=points.device)
    if focal.dim() == 1:
        focal = focal[:, None, None]
    elif focal.dim() == 2:
        focal = focal[:, None, :]
    depth = points[..., 2:].clamp_min(1e-3)
    return focal * points[..., :2] / depth + principal_point[..., None, :]


def weak_perspective_to_translation(
    camera: torch.Tensor,
    focal_length_px: float = DEFAULT_FOCAL_LENGTH_PX,
    crop_size_px: float = DEFAULT_CROP_SIZE_PX,
) -> torch.Tensor:
    """(B, 3) weak-perspective cameras (s, tx, ty) -> (B, 3) body translations in the crop's camera frame, metres.

    A perspective camera with `focal_length_px` looking at the crop's centre sees the body translated by
    (tx, ty, 2 f / (crop_size * s)) as the weak-perspective camera does, to first order in the body's depth extent.
    """
    check_last_dims(camera, (3,), "camera")
    scale = camera[..., 0].clamp_min(1e-6)
    depth = 2.0 * focal_length_px / (crop_size_px * scale)
    return torch.stack([camera[..., 1], camera[..., 2], depth], dim=-1)


def translation_to_weak_perspective(
    translation: torch.Tensor,
    focal_length_px: float = DEFAULT_FOCAL_LENGTH_PX,
    crop_size_px: float = DEFAULT_CROP_SIZE_PX,
) -> torch.Tensor:
    """Inverse of `weak_perspective_to_translation`: (B, 3) translations -> (B, 3) cameras (s, tx, ty)."""
    check_last_dims(translation, (3,), "translation")
    scale = 2.0 * focal_length_px / (crop_size_px * translation[..., 2].clamp_min(1e-6))
    return torch.stack([scale, translation[..., 0], translation[..., 1]], dim=-1)


def normalised_to_pixels(points: torch.Tensor, box_center: torch.Tensor, box_size: torch.Tensor) -> torch.Tensor:
    """(B, N, 2) normalised crop coords -> (B, N, 2) image pixels for square crops of (B,) size at (B, 2) centre."""
    return points * (box_size[:, None, None] / 2.0) + box_center[:, None, :]


def pixels_to_normalised(points: torch.Tensor, box_center: torch.Tensor, box_size: torch.Tensor) -> torch.Tensor:
    """(B, N, 2) image pixels -> (B, N, 2) normalised crop coords; inverse of `normalised_to_pixels`."""
    return (points - box_center[:, None, :]) / (box_size[:, None, None] / 2.0)


#: Diagonal of a 36 x 24 mm full-frame sensor, in millimetres: the reference of 35 mm-equivalent focal lengths.
FULL_FRAME_DIAGONAL_MM = 43.27


def assumed_focal_length(width: int, height: int) -> float:
    """Focal length in pixels assumed for a photo from an unknown camera: the image diagonal (about 53 degrees of
    diagonal field of view, a normal lens; CLIFF makes the same assumption)."""
    return float((width**2 + height**2) ** 0.5)


def focal_length_from_35mm(f35_mm: float, width: int, height: int) -> float:
    """Focal length in pixels of a (width, height) photo taken with a 35 mm-equivalent focal length `f35_mm`: the
    photo's diagonal spans the full-frame diagonal (43.27 mm), so f_px = f35_mm / 43.27 * diagonal_px."""
    if not math.isfinite(f35_mm) or f35_mm <= 0:
        raise ValueError(f"a 35 mm-equivalent focal length must be a positive number of millimetres, got {f35_mm}")
    return f35_mm / FULL_FRAME_DIAGONAL_MM * assumed_focal_length(width, height)


def crop_camera_to_image_translation(
    camera: torch.Tensor,
    box_center: torch.Tensor,
    box_size: torch.Tensor,
    focal_length: torch.Tensor | float,
    principal_point: torch.Tensor,
) -> torch.Tensor:
    """Weak-perspective cameras of square person crops -> body translations in the full image's camera frame.

    camera (B, 3) = (s, tx, ty) in normalised crop coords; box_center (B, 2) and box_size (B,) in image pixels;
    focal_length in pixels (float or (B,)); principal_point (B, 2) pixels. Returns (B, 3) metres such that a
    pinhole camera (focal_length, principal_point) projects the body's root-depth plane where the crop camera does.
    """
    check_last_dims(camera, (3,), "camera")
    focal = torch.as_tensor(focal_length, dtype=camera.dtype, device=camera.device)
    scale = camera[:, 0].clamp_min(1e-6)
    depth = 2.0 * focal / (scale * box_size)  # (B,)
    # Pixel of the body origin under the crop camera, then back-projected at that depth.
    origin_px = box_center + (box_size / 2.0)[:, None] * scale[:, None] * camera[:, 1:]
    xy = (origin_px - principal_point) * (depth / focal)[:, None]
    return torch.cat([xy, depth[:, None]], dim=-1)
