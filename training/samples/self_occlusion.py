"""Self-occlusion of landmarks by the body, from a point-splat z-buffer of a few hundred surface vertices.

A landmark is self-occluded when some surface point's splat (a disc of SPLAT_RADIUS_M seen at the point's depth)
covers the landmark's pixel and lies nearer the camera than the landmark by more than a margin. Surface points close
to the landmark on the rest body (its own limb's skin) never count: a landmark inside a limb is not hidden by that
limb's near skin.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

#: Spacing of the surface points (voxel grid on the rest body), metres, and the splat radius that covers the gaps.
SURFACE_SPACING_M = 0.04
SPLAT_RADIUS_M = 0.03
#: A surface point must be this much nearer than the landmark to hide it, metres.
DEPTH_MARGIN_M = 0.02
#: Surface points within this rest-body distance of a landmark never hide it, metres: face landmarks (0..10) sit on
#: the skin; hip landmarks lie deepest inside the body (the pelvis is ~0.2 m deep); the others are joints of limbs.
FACE_EXCLUSION_M = 0.06
HIP_EXCLUSION_M = 0.15
BODY_EXCLUSION_M = 0.10
_FACE = slice(0, 11)
_HIPS = [23, 24]


def surface_vertices(rest_vertices: np.ndarray, spacing: float = SURFACE_SPACING_M) -> np.ndarray:
    """(P,) sorted vertex ids: from each cell of a `spacing` voxel grid, the vertex nearest the cell's centre.
    rest_vertices (V, 3) metres."""
    cells = np.floor(rest_vertices / spacing)
    offset = np.linalg.norm(rest_vertices - (cells + 0.5) * spacing, axis=1)
    order = np.lexsort((offset, *cells.T[::-1]))  # grouped by cell, nearest the centre first
    _, first = np.unique(cells[order], axis=0, return_index=True)
    return np.sort(order[first])


@dataclass(frozen=True)
class SplatOccluder:
    """The surface points and, per landmark, which of them may hide it. excluded: (33, P) bool."""

    vertex_ids: np.ndarray
    excluded: torch.Tensor

    @staticmethod
    def build(rest_vertices: np.ndarray, rest_landmarks: np.ndarray) -> SplatOccluder:
        """From the rest body's vertices (V, 3) and landmarks (33, 3), body frame metres."""
        ids = surface_vertices(rest_vertices)
        distance = np.linalg.norm(rest_landmarks[:, None] - rest_vertices[ids][None], axis=-1)  # (33, P)
        radius = np.full((len(rest_landmarks), 1), BODY_EXCLUSION_M)
        radius[_FACE] = FACE_EXCLUSION_M
        radius[_HIPS] = HIP_EXCLUSION_M
        return SplatOccluder(ids, torch.from_numpy(distance < radius))

    def occluded(
        self,
        landmark_px: torch.Tensor,
        landmark_depth: torch.Tensor,
        point_px: torch.Tensor,
        point_depth: torch.Tensor,
        pixels_per_metre: torch.Tensor,
    ) -> torch.Tensor:
        """(B, 33) bool: which landmarks the body hides.

        landmark_px (B, 33, 2) and point_px (B, P, 2) image pixels; landmark_depth (B, 33) and point_depth (B, P)
        metres along the optical axis; pixels_per_metre (B, P) at each point's depth (f / z for a pinhole camera,
        the scale for weak perspective).
        """
        covered = torch.cdist(landmark_px, point_px) < (SPLAT_RADIUS_M * pixels_per_metre)[:, None, :]
        nearer = point_depth[:, None, :] < landmark_depth[..., None] - DEPTH_MARGIN_M
        return (covered & nearer & ~self.excluded.to(covered.device)).any(dim=-1)
