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
    out = result.image.rgb
    body = body or result.best
    if body is not None and faces is not None:
        rgba = renderer.render([(body.vertices, faces, MESH_COLOR_RGB)], photo_camera(result))
        out = blend(out, rgba, opacity)
    if body is not None and skeleton:
        out = draw_skeleton(out, body.joints2d)
    if keypoints and result.keypoints is not None:
        kp = result.keypoints
        out = draw_keypoints(out, np.where(kp.present[:, None], kp.xy, np.nan), kp.visibility)
    return out
