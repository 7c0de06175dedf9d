"""The overlay picture of a pipeline result: mesh rendered with the photo's camera, skeleton and keypoints."""

from __future__ import annotations

import numpy as np

from hkmr_studio.pipeline.core import BodyEstimate, PipelineResult
from hkmr_studio.render.drawing import draw_keypoints, draw_skeleton
from hkmr_studio.render.overlay import MESH_COLOR_RGB, MeshRenderer, PinholeCamera, blend


def photo_camera(result: PipelineResult) -> PinholeCamera:
    """The pinhole camera the result's bodies are expressed in, sized to the photo."""
    width, height = result.image.original_size
    cx, cy = result.principal_point
    return PinholeCamera(result.focal_length, cx, cy, width, height)


def overlay_image(
    result: PipelineResult,
    renderer: MeshRenderer,
    body: BodyEstimate | None = None,
    faces: np.ndarray | None = None,
    opacity: float = 0.7,
    skeleton: bool = True,
    keypoints: bool = True,
) -> np.ndarray:
    """(H, W, 3) uint8: the photo with `body` (default: the best one) over it. `faces` (F, 3) are the body model's."""
    body = body or result.best
    kp = result.keypoints if keypoints else None
    return overlay_body(result.image.rgb, renderer, photo_camera(result),
                        None if body is None or faces is None else body.vertices, faces,
                        body.joints2d if body is not None and skeleton else None,
                        None if kp is None else np.where(kp.present[:, None], kp.xy, np.nan),
                        None if kp is None else kp.visibility, opacity)


def overlay_body(
    rgb: np.ndarray,
    renderer: MeshRenderer,
    camera: PinholeCamera,
    vertices: np.ndarray | None,
    faces: np.ndarray | None,
    joints2d: np.ndarray | None = None,
    keypoints_xy: np.ndarray | None = None,
    visibility: np.ndarray | None = None,
    opacity: float = 0.7,
) -> np.ndarray:
    """(H, W, 3) uint8: `rgb` with the mesh (vertices (V, 3) camera frame, metres; faces (F, 3)) rendered by `camera`,
    the (24, 2) skeleton and the (K, 2) keypoints (NaN: none) with their (K,) visibility drawn; None leaves one out."""
    out = rgb
    if vertices is not None and faces is not None:
        out = blend(out, renderer.render([(vertices, faces, MESH_COLOR_RGB)], camera), opacity)
    if joints2d is not None:
        out = draw_skeleton(out, joints2d)
    if keypoints_xy is not None and visibility is not None:
        out = draw_keypoints(out, keypoints_xy, visibility)
    return out
