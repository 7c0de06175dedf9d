"""Every camera model of the project and every conversion between them: one home for each formula.

Frames and units:
- camera frame: OpenCV (x right, y down, z forward), metres;
- image pixels: origin at the image's top-left corner, x right, y down;
- normalised crop coordinates: a square person crop, centre (cx, cy) and side px in the image, mapped to [-1, 1] on
  both axes (x right, y down);
- crop pixels: the same crop resampled to `crop_px` pixels a side; pixel i covers [i, i + 1), so u = 2 p / crop_px - 1.

Weak perspective (HMR's form): x_norm = s * (X_xy + t_xy), camera (..., 3) = (s, tx, ty) of the crop.
HKMR's paper writes s * X_xy + rho; rho = s * t_xy, so the two forms describe the same cameras.
Scaled orthographic: the same camera in image pixels, every point at the body origin's depth: x_px = f / z0 X_xy + c.
"""

from __future__ import annotations

import math

import torch

from hkmr_studio.geometry.checks import check_last_dims, check_shape

#: Focal length assumed for an unknown camera, in pixels of a 224 px crop (HMR/SPIN use 5000 px at 224 px: a long lens,
#: so that weak perspective and perspective agree on a person filling the crop).
DEFAULT_FOCAL_LENGTH_PX = 5000.0
DEFAULT_CROP_SIZE_PX = 224.0
#: The nearest depth a projection divides by, metres (points behind the camera would otherwise flip).
MIN_DEPTH_M = 1e-3


def _per_point(value: torch.Tensor | float, points: torch.Tensor) -> torch.Tensor:
    """A float, (B,) or (B, 2) per-camera value -> a tensor that broadcasts against (B, N, 2)."""
    value = torch.as_tensor(value, dtype=points.dtype, device=points.device)
    if value.dim() == 1:
        return value[:, None, None]
    if value.dim() == 2:
        return value[:, None, :]
    return value


def pixel_scale_at_depth(focal_length: torch.Tensor | float, depth: torch.Tensor) -> torch.Tensor:
    """Pixels per metre across the view at `depth` (any shape, metres; clamped at MIN_DEPTH_M): focal_length / depth.

    focal_length: pixels, a float or a tensor broadcasting against `depth`."""
    return focal_length / depth.clamp_min(MIN_DEPTH_M)


def depth_for_pixel_scale(
    focal_length: torch.Tensor | float, pixels_per_metre: torch.Tensor | float
) -> torch.Tensor | float:
    """The depth, metres, at which a metre across the view spans `pixels_per_metre` px: focal_length / that (the
    inverse of `pixel_scale_at_depth`). Floats or tensors that broadcast; focal_length in pixels."""
    return focal_length / pixels_per_metre


def weak_perspective_project(points: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
    """Project (B, N, 3) camera-frame points with (B, 3) cameras (s, tx, ty) to (B, N, 2) normalised crop coords."""
    check_last_dims(points, (3,), "points")
    check_last_dims(camera, (3,), "camera")
    scale = camera[..., None, :1]
    return scale * (points[..., :2] + camera[..., None, 1:])


def perspective_project(
    points: torch.Tensor, focal_length: torch.Tensor | float, principal_point: torch.Tensor
) -> torch.Tensor:
    """Pinhole projection of (B, N, 3) camera-frame points to (B, N, 2) image pixels.

    focal_length: a float or (B,) / (B, 2) in pixels; principal_point: (B, 2) pixels. Depths are clamped at 1 mm.
    """
    check_last_dims(points, (3,), "points")
    check_last_dims(principal_point, (2,), "principal_point")
    scale = pixel_scale_at_depth(_per_point(focal_length, points), points[..., 2:])
    return scale * points[..., :2] + principal_point[..., None, :]


def scaled_orthographic_project(
    points: torch.Tensor, focal_length: torch.Tensor | float, principal_point: torch.Tensor, depth: torch.Tensor
) -> torch.Tensor:
    """Weak perspective in image pixels: (B, N, 3) camera-frame points seen as if all lay at the (B,) plane `depth`
    (metres, the body origin's) -> (B, N, 2) pixels, f / depth * (X, Y) + principal point (B, 2).

    focal_length: a float or (B,) pixels. This is `weak_perspective_project` of the crop camera
    `image_translation_to_crop_camera` gives, mapped to image pixels."""
    check_last_dims(points, (3,), "points")
    check_last_dims(principal_point, (2,), "principal_point")
    check_shape(depth, (points.shape[0],), "depth")
    scale = pixel_scale_at_depth(_per_point(focal_length, points), depth[:, None, None])
    return scale * points[..., :2] + principal_point[..., None, :]


def weak_perspective_to_pinhole_points(points: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
    """(B, N, 3) camera-frame points -> (B, N, 3) points a pinhole camera shows where `scaled_orthographic_project` at
    the (B,) plane `depth` shows the originals: X_xy' = X_xy z / depth, z kept (so depth order, for a renderer, too)."""
    check_last_dims(points, (3,), "points")
    check_shape(depth, (points.shape[0],), "depth")
    xy = points[..., :2] * (points[..., 2:] / depth[:, None, None].clamp_min(MIN_DEPTH_M))
    return torch.cat([xy, points[..., 2:]], dim=-1)


def weak_perspective_to_translation(
    camera: torch.Tensor,
    focal_length_px: float = DEFAULT_FOCAL_LENGTH_PX,
    crop_size_px: float = DEFAULT_CROP_SIZE_PX,
) -> torch.Tensor:
    """(B, 3) weak-perspective cameras (s, tx, ty) -> (B, 3) body translations in the crop's camera frame, metres.

    A perspective camera with `focal_length_px` looking at the crop's centre sees the body translated by
    (tx, ty, 2 f / (crop_size * s)) as the weak-perspective camera does, to first order in the body's depth extent.
    """
    check_shape(camera, (None, 3), "camera")
    centre = camera.new_zeros(len(camera), 2)  # the crop centred on the principal point
    return crop_camera_to_image_translation(camera, centre, camera.new_full((len(camera),), crop_size_px),
                                            focal_length_px, centre)


def translation_to_weak_perspective(
    translation: torch.Tensor,
    focal_length_px: float = DEFAULT_FOCAL_LENGTH_PX,
    crop_size_px: float = DEFAULT_CROP_SIZE_PX,
) -> torch.Tensor:
    """Inverse of `weak_perspective_to_translation`: (B, 3) translations -> (B, 3) cameras (s, tx, ty)."""
    check_shape(translation, (None, 3), "translation")
    centre = translation.new_zeros(len(translation), 2)
    return image_translation_to_crop_camera(translation, centre, translation.new_full((len(translation),), crop_size_px),
                                            focal_length_px, centre)


def _check_boxes(box_center: torch.Tensor, box_size: torch.Tensor) -> None:
    """Raise ValueError unless box_center is (B, 2) and box_size (B,)."""
    check_shape(box_center, (None, 2), "box_center")
    check_shape(box_size, (box_center.shape[0],), "box_size")


def normalised_to_pixels(points: torch.Tensor, box_center: torch.Tensor, box_size: torch.Tensor) -> torch.Tensor:
    """(B, N, 2) normalised crop coords -> (B, N, 2) image pixels for square crops of (B,) size at (B, 2) centre."""
    check_last_dims(points, (2,), "points")
    _check_boxes(box_center, box_size)
    return points * (box_size[:, None, None] / 2.0) + box_center[:, None, :]


def pixels_to_normalised(points: torch.Tensor, box_center: torch.Tensor, box_size: torch.Tensor) -> torch.Tensor:
    """(B, N, 2) image pixels -> (B, N, 2) normalised crop coords; inverse of `normalised_to_pixels`."""
    check_last_dims(points, (2,), "points")
    _check_boxes(box_center, box_size)
    return (points - box_center[:, None, :]) / (box_size[:, None, None] / 2.0)


def image_to_crop_scale(box_size: torch.Tensor, crop_px: float = DEFAULT_CROP_SIZE_PX) -> torch.Tensor:
    """(B,) crop sides in image pixels -> (B,) crop pixels per image pixel once each crop is resampled to `crop_px`."""
    return crop_px / box_size


def normalised_to_crop_pixels(points: torch.Tensor, crop_px: float = DEFAULT_CROP_SIZE_PX) -> torch.Tensor:
    """(..., 2) normalised crop coords -> (..., 2) pixels of the crop resampled to `crop_px` a side: (u + 1) S / 2."""
    check_last_dims(points, (2,), "points")
    return (points + 1.0) * (crop_px / 2.0)


def crop_pixels_to_normalised(points: torch.Tensor, crop_px: float = DEFAULT_CROP_SIZE_PX) -> torch.Tensor:
    """(..., 2) pixels of a `crop_px` crop -> (..., 2) normalised crop coords; inverse of `normalised_to_crop_pixels`."""
    check_last_dims(points, (2,), "points")
    return points / (crop_px / 2.0) - 1.0


#: Diagonal of a 36 x 24 mm full-frame sensor, in millimetres: the reference of 35 mm-equivalent focal lengths.
FULL_FRAME_DIAGONAL_MM = 43.27
#: The long side of a 35 mm film frame (36 x 24 mm): a square synthetic photo's side stands for it, so that a lens's
#: 35 mm-equivalent focal length gives the field of view across the photo (for 3:2 and 16:9 frames this matches the
#: usual diagonal-based equivalence within 4 %).
FRAME_SIDE_MM = 36.0


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


def focal_length_to_35mm(focal_px: float, width: int, height: int) -> float:
    """Inverse of `focal_length_from_35mm`: a focal length in pixels of a (width, height) photo -> its 35 mm-equivalent
    focal length, millimetres."""
    return focal_px * FULL_FRAME_DIAGONAL_MM / assumed_focal_length(width, height)


def square_photo_focal_length(f35_mm: torch.Tensor, side_px: float) -> torch.Tensor:
    """(B,) 35 mm-equivalent focal lengths, mm -> (B,) focal lengths in pixels of a square `side_px` photo whose side
    spans the film frame's long side (FRAME_SIDE_MM): f_px = f35_mm * side_px / 36."""
    return f35_mm * (side_px / FRAME_SIDE_MM)


def field_of_view_deg(focal_length: torch.Tensor, side_px: float) -> torch.Tensor:
    """(B,) focal lengths, px -> (B,) field of view across `side_px` pixels of the image, degrees."""
    return torch.rad2deg(2.0 * torch.atan(side_px / 2.0 / focal_length))


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
    check_shape(camera, (None, 3), "camera")
    _check_boxes(box_center, box_size)
    focal = torch.as_tensor(focal_length, dtype=camera.dtype, device=camera.device)
    scale = camera[:, 0].clamp_min(1e-6)
    depth = 2.0 * focal / (scale * box_size)  # (B,)
    # Pixel of the body origin under the crop camera, then back-projected at that depth.
    origin_px = normalised_to_pixels((scale[:, None] * camera[:, 1:])[:, None], box_center, box_size)[:, 0]
    xy = (origin_px - principal_point) / pixel_scale_at_depth(focal, depth)[:, None]
    return torch.cat([xy, depth[:, None]], dim=-1)


def image_translation_to_crop_camera(
    translation: torch.Tensor,
    box_center: torch.Tensor,
    box_size: torch.Tensor,
    focal_length: torch.Tensor | float,
    principal_point: torch.Tensor,
) -> torch.Tensor:
    """Inverse of `crop_camera_to_image_translation`: (B, 3) body translations in the image's camera frame, metres ->
    (B, 3) weak-perspective crop cameras (s, tx, ty), for crops of (B,) side at (B, 2) centre px, focal length px
    (float or (B,)) and (B, 2) principal point px. Exact for a scaled orthographic camera at the translation's depth:
    its projection is `weak_perspective_project` of the returned camera."""
    check_shape(translation, (None, 3), "translation")
    _check_boxes(box_center, box_size)
    focal = torch.as_tensor(focal_length, dtype=translation.dtype, device=translation.device)
    depth = translation[:, 2]
    per_metre = pixel_scale_at_depth(focal, depth)  # (B,) px per metre at the body's depth
    scale = 2.0 * per_metre / box_size
    t = translation[:, :2] + (principal_point - box_center) / per_metre[:, None]
    return torch.cat([scale[:, None], t], dim=1)


def image_intrinsics_to_crop_intrinsics(
    focal_length: torch.Tensor, principal_point: torch.Tensor, box_center: torch.Tensor, box_size: torch.Tensor,
    crop_px: float = DEFAULT_CROP_SIZE_PX,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The image's pinhole camera, (B,) focal length and (B, 2) principal point in image pixels, seen through square
    crops of (B,) side at (B, 2) centre px resampled to `crop_px` -> the crop's (B,) focal length and (B, 2) principal
    point in crop pixels."""
    _check_boxes(box_center, box_size)
    check_shape(principal_point, (box_center.shape[0], 2), "principal_point")
    zoom = image_to_crop_scale(box_size, crop_px)  # (B,)
    corner = box_center - (box_size / 2.0)[:, None]
    return focal_length * zoom, (principal_point - corner) * zoom[:, None]
