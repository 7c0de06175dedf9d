"""One photo of the rendered set: a sample generator body (pose, shape, camera) rendered offscreen with random skin,
hair and clothing colours, random lights, over a random background, then degraded as a camera would (blur, noise,
JPEG).

Frames: the generator's camera frame (OpenCV: x right, y down, z forward, metres) and photo pixels of the square
`photo_px` photo (origin top-left). The set renders pinhole cameras only (what a real photo is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import cv2
import numpy as np
import torch

from hkmr_studio.body.model import BodyModel
from hkmr_studio.render.overlay import MeshRenderer, PinholeCamera, blend
from training.landmarks.scene import BodyRegions, body_colors
from training.rendered.backgrounds import random_backdrop
from training.samples.rgb_crops import random_lights


@dataclass(frozen=True)
class Photo:
    """image (S, S, 3) uint8 RGB; silhouette (S, S) bool where the body covers a pixel; background: its kind's index
    in backgrounds.KINDS."""

    image: np.ndarray
    silhouette: np.ndarray
    background: int


def camera_effects(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(S, S, 3) uint8 -> the same with, at random, a slight defocus blur, sensor noise and JPEG compression."""
    out = image
    if rng.uniform() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.5))
    if rng.uniform() < 0.3:
        out = np.clip(out + rng.normal(0.0, rng.uniform(2.0, 8.0), out.shape), 0, 255).round().astype(np.uint8)
    if rng.uniform() < 0.5:
        _, encoded = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 95))])
        out = cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(out)


class PhotoRenderer:
    """Renders photos of posed bodies; holds one offscreen VTK renderer (close() it, or use as a context manager)."""

    def __init__(self, body: BodyModel, photo_px: int) -> None:
        self.body, self.photo_px = body, photo_px
        self.regions = BodyRegions.from_body(
            body.lbs_weights.numpy(), body.smpl.v_template.numpy(), body.joint_template.numpy()
        )
        self._renderer = MeshRenderer()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._renderer.close()

    def vertices(
        self, global_orient: torch.Tensor, body_pose: torch.Tensor, betas: torch.Tensor, transl: torch.Tensor
    ) -> np.ndarray:
        """(B, V, 3) camera-frame vertices of bodies given camera-frame global_orient (B, 3), body_pose (B, 69),
        betas (B, 10) and transl (B, 3)."""
        with torch.no_grad():
            vertices = self.body(global_orient, body_pose, betas).vertices
        return (vertices + transl[:, None]).double().numpy()

    def photo(self, vertices: np.ndarray, focal: float, principal: np.ndarray, rng: np.random.Generator) -> Photo:
        """The photo of one body's (V, 3) camera-frame vertices seen by a pinhole camera (focal px, principal (2,)
        px)."""
        size = self.photo_px
        camera = PinholeCamera(float(focal), float(principal[0]), float(principal[1]), size, size)
        self._renderer.set_lights(random_lights(rng))
        rgba = self._renderer.render([(vertices, self.body.faces, body_colors(self.regions, rng))], camera)
        backdrop, kind = random_backdrop(size, rng)
        image = camera_effects(blend(backdrop, rgba, opacity=1.0), rng)
        return Photo(image, rgba[..., 3] > 0, kind)
