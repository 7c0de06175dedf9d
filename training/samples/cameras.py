"""Virtual photos for synthetic samples: a square photo, a pinhole (or weak-perspective) camera with a realistic field
of view, the person placed at a random size and position (sometimes cut by the photo's border), and the person crop.

Camera frame: OpenCV (x right, y down, z forward), metres. Photo pixels: origin at the top-left corner. Points are
given camera-aligned about the body model's origin (the frame `BodyModel.joints_only` returns without translation);
the camera sees them translated by `transl`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hkmr_studio.geometry.cameras import perspective_project, pixel_scale_at_depth, scaled_orthographic_project
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
        weak = scaled_orthographic_project(camera, self.focal, self.principal, self.transl[:, 2])
        persp = self.perspective[:, None]
        pixels = torch.where(persp[..., None], pinhole, weak)
        seen_depth = torch.where(persp, depth, self.transl[:, 2:].expand_as(depth))
        return pixels, depth, pixel_scale_at_depth(self.focal[:, None], seen_depth)


def place_people(
    landmarks: torch.Tensor,
    size: float,
    focal: torch.Tensor,
    fill: torch.Tensor,
    bottom_cut: torch.Tensor,
    overhang: torch.Tensor,
    perspective: torch.Tensor,
    generator: torch.Generator,
) -> PhotoCameras:
    """Cameras that show each person's (B, 33, 3) camera-aligned landmarks in a `size` px photo of focal length
    `focal` (B,) px.

    The landmarks shown (those above the photo's bottom border) span `fill` (B,) of the photo's side with their
    longer side, as projected with the person centred, unless that would bring a landmark nearer the camera than
    NEAREST_M (the person then looks smaller). `bottom_cut` (B,) is the share of the person's height below the bottom
    border (0: the whole person; 0.5: about the waist when standing): such a person rests on the border, their centre
    uniform across. Otherwise the box's centre is uniform over the positions that keep it inside the photo extended
    by `overhang` (B,) box sizes on each side (0: never cut). Positions are then corrected for the stretch a pinhole
    camera gives people off the photo's centre, so that a person who should not be cut is not."""
    low, high = landmarks[..., :2].amin(dim=1), landmarks[..., :2].amax(dim=1)  # (B, 2) metres
    cut_line = high[:, 1] - bottom_cut * (high[:, 1] - low[:, 1])  # (B,) y of the bottom border, metres
    shown = landmarks[..., 1] <= cut_line[:, None] + 1e-6  # (B, 33)
    low_shown, high_shown = _box(landmarks[..., :2], shown)
    centre = (low_shown + high_shown) / 2.0  # (B, 2) metres
    depth = _depth_for_fill(landmarks, shown, centre, size, focal, fill * size, perspective)
    principal = torch.full((len(fill), 2), size / 2.0)
    cameras = PhotoCameras(size, focal, principal, torch.cat([-centre, depth[:, None]], dim=1), perspective)
    low_px, high_px = _box(cameras.project(landmarks)[0], shown)
    shown_px = high_px - low_px  # (B, 2) as seen centred
    margin = (overhang * shown_px.amax(dim=1))[:, None]  # (B, 1) how far the box may reach past the border
    half_range = ((size - shown_px) / 2.0 + margin).clamp_min(0.0)
    offset = (torch.rand(len(fill), 2, generator=generator) * 2.0 - 1.0) * half_range
    cut = bottom_cut > 0
    offset[:, 1] = torch.where(cut, size / 2.0 - (high_px[:, 1] - principal[:, 1]), offset[:, 1])
    transl = torch.cat([offset / pixel_scale_at_depth(focal, depth)[:, None] - centre, depth[:, None]], dim=1)
    for _ in range(3):  # move what an off-centre view stretched past the allowed border back
        low_px, high_px = _box(PhotoCameras(size, focal, principal, transl, perspective).project(landmarks)[0], shown)
        first, last = _INSIDE_PX - margin, size - _INSIDE_PX + margin  # (B, 1) the allowed span
        shift = (first - low_px).clamp_min(0.0) - (high_px - last).clamp_min(0.0)  # (B, 2) px
        shift[:, 1] = torch.where(cut, size - _INSIDE_PX - high_px[:, 1], shift[:, 1])
        transl = transl + torch.cat([shift / pixel_scale_at_depth(focal, depth)[:, None], torch.zeros_like(depth)[:, None]], dim=1)
    return PhotoCameras(size, focal, principal, transl, perspective)


#: How far inside the border a landmark meant to be in the photo is kept, px.
_INSIDE_PX = 0.5


def _box(points: torch.Tensor, chosen: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(B, N, 2) points, (B, N) bool -> the (B, 2) lower and upper corners of the chosen points' box."""
    inf = torch.tensor(float("inf"), dtype=points.dtype)
    low = torch.where(chosen[..., None], points, inf).amin(dim=1)
    high = torch.where(chosen[..., None], points, -inf).amax(dim=1)
    return low, high


#: The nearest a landmark comes to the camera, metres (nobody photographs a whole person from closer).
NEAREST_M = 0.5


def _depth_for_fill(
    landmarks: torch.Tensor,
    shown: torch.Tensor,
    centre: torch.Tensor,
    size: float,
    focal: torch.Tensor,
    extent_px: torch.Tensor,
    perspective: torch.Tensor,
    steps: int = 30,
) -> torch.Tensor:
    """(B,) the body origin's depth at which the `shown` (B, 33) landmarks, centred on the optical axis, span
    `extent_px` (B,) with their box's longer side (the projected extent shrinks with depth), no nearer than NEAREST_M
    to the camera. Bisection in log-depth."""
    nearest = (NEAREST_M - landmarks[..., 2].amin(dim=1)).clamp_min(NEAREST_M)  # (B,)
    low, high = nearest.log(), torch.full_like(nearest, 1000.0).log()
    principal = torch.full((len(focal), 2), size / 2.0)
    for _ in range(steps):
        mid = (low + high) / 2.0
        cameras = PhotoCameras(size, focal, principal, torch.cat([-centre, mid.exp()[:, None]], dim=1), perspective)
        low_px, high_px = _box(cameras.project(landmarks)[0], shown)
        extent = (high_px - low_px).amax(dim=1)
        too_big = extent > extent_px
        low, high = torch.where(too_big, mid, low), torch.where(too_big, high, mid)
    return high.exp()


def person_crops(pixels: torch.Tensor, used: torch.Tensor, present: torch.Tensor, size: float) -> torch.Tensor:
    """The inference crop rule (`pipeline.detection.person_crop_box`) for a batch: (B, 33, 2) photo pixels, (B, 33)
    bool used (the visible ones) and present -> (B, 3) (cx, cy, side). Points are moved onto the photo's border
    first; a row with fewer than two used points uses the present ones."""
    enough = used.sum(dim=1, keepdim=True) >= 2
    chosen = torch.where(enough, used, present)
    return crop_boxes_from_points(pixels.clamp(0.0, size), chosen)

