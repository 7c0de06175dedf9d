"""Virtual photos for synthetic samples: a square photo, a pinhole (or weak-perspective) camera with a realistic field
of view, the person placed at a random size and position (sometimes cut by the photo's border), and the person crop.

Camera frame: OpenCV (x right, y down, z forward), metres. Photo pixels: origin at the top-left corner. Points are
given camera-aligned about the body model's origin (the frame `BodyModel.joints_only` returns without translation);
the camera sees them translated by `transl`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hkmr_studio.geometry.cameras import perspective_project
from hkmr_studio.geometry.crops import crop_boxes_from_points


@dataclass(frozen=True)
class PhotoCameras:
    """B virtual photos of `size` px. focal (B,) px; principal (B, 2) px; transl (B, 3) metres; perspective (B,)
    bool: pinhole projection, else weak perspective (scaled orthographic at the depth transl_z)."""

    size: float
    focal: torch.Tensor
    principal: torch.Tensor
    transl: torch.Tensor
    perspective: torch.Tensor

    def project(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, N, 3) camera-aligned points -> pixels (B, N, 2), depth (B, N) metres, pixels per metre (B, N)."""
        camera = points + self.transl[:, None, :]
        depth = camera[..., 2]
        pinhole = perspective_project(camera, self.focal, self.principal)
        weak_scale = (self.focal / self.transl[:, 2])[:, None]  # (B, 1)
        weak = weak_scale[..., None] * camera[..., :2] + self.principal[:, None, :]
        persp = self.perspective[:, None]
        pixels = torch.where(persp[..., None], pinhole, weak)
        per_metre = torch.where(persp, self.focal[:, None] / depth.clamp_min(1e-3), weak_scale.expand_as(depth))
        return pixels, depth, per_metre


def place_people(
    landmarks: torch.Tensor,
    size: float,
    fov_deg: torch.Tensor,
    fill: torch.Tensor,
    overhang: torch.Tensor,
    perspective: torch.Tensor,
    generator: torch.Generator,
) -> PhotoCameras:
    """Cameras that show each person's (B, 33, 3) camera-aligned landmarks at `fill` (B,) of the photo's side (their
    box's longer side), the box centre uniform over the positions that keep the box inside the photo extended by
    `overhang` (B,) box sizes on each side (0: never cut by the border). fov_deg (B,) horizontal field of view."""
    focal = (size / 2.0) / torch.tan(torch.deg2rad(fov_deg) / 2.0)
    low, high = landmarks[..., :2].amin(dim=1), landmarks[..., :2].amax(dim=1)
    extent = (high - low).amax(dim=1).clamp_min(0.05)  # (B,) metres
    box_px = fill * size
    depth = focal * extent / box_px
    half_range = (size - box_px) / 2.0 + overhang * box_px  # (B,)
    offset = (torch.rand(len(fill), 2, generator=generator) * 2.0 - 1.0) * half_range[:, None]
    principal = torch.full((len(fill), 2), size / 2.0)
    centre_m = (low + high) / 2.0
    transl_xy = offset * (depth / focal)[:, None] - centre_m
    transl = torch.cat([transl_xy, depth[:, None]], dim=1)
    return PhotoCameras(size, focal, principal, transl, perspective)


def person_crops(pixels: torch.Tensor, used: torch.Tensor, present: torch.Tensor, size: float) -> torch.Tensor:
    """The inference crop rule (`pipeline.detection.person_crop_box`) for a batch: (B, 33, 2) photo pixels, (B, 33)
    bool used (the visible ones) and present -> (B, 3) (cx, cy, side). Points are moved onto the photo's border
    first; a row with fewer than two used points uses the present ones."""
    enough = used.sum(dim=1, keepdim=True) >= 2
    chosen = torch.where(enough, used, present)
    return crop_boxes_from_points(pixels.clamp(0.0, size), chosen)


def image_translation_to_crop_camera(
    transl: torch.Tensor, box: torch.Tensor, focal: torch.Tensor, principal: torch.Tensor
) -> torch.Tensor:
    """Inverse of `geometry.cameras.crop_camera_to_image_translation`: (B, 3) translations in the photo's camera frame,
    (B, 3) crops (cx, cy, side) px, (B,) focal px and (B, 2) principal point px -> (B, 3) weak-perspective crop
    cameras (s, tx, ty). For a weak-perspective photo it is exact: s * (X_xy + t) is the crop projection."""
    depth = transl[:, 2]
    scale = 2.0 * focal / (depth * box[:, 2])
    t = transl[:, :2] + (principal - box[:, :2]) * (depth / focal)[:, None]
    return torch.cat([scale[:, None], t], dim=1)
