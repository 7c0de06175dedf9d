"""Photo-like renders of the body for MediaPipe: skin, hair and clothing colours, a procedural room behind the person,
a pinhole camera that frames the body at a chosen height in pixels.

MediaPipe finds a plain grey body on black far less often than a dressed one on a light background (STACK.md), so
calibration renders what it would see in a photo. Images are (H, W, 3) uint8 RGB.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS

from hkmr_studio.body import kinematics
from hkmr_studio.geometry.cameras import depth_for_pixel_scale, perspective_project, pixel_scale_at_depth
from hkmr_studio.render.overlay import MeshRenderer, PinholeCamera, blend

_J = kinematics.JOINT_INDEX
_SKIN_TONES = np.array([
    [0.96, 0.80, 0.69], [0.92, 0.72, 0.58], [0.82, 0.62, 0.47], [0.66, 0.47, 0.34], [0.48, 0.33, 0.23],
    [0.34, 0.23, 0.16],
])  # fmt: skip
_HAIR = np.array([[0.08, 0.06, 0.05], [0.25, 0.16, 0.09], [0.55, 0.40, 0.22], [0.80, 0.68, 0.45], [0.5, 0.5, 0.5]])
_HEAD = {_J["head"], _J["neck"]}
_TORSO = {
    _J[n] for n in ("spine1", "spine2", "spine3", "left_collar", "right_collar", "left_shoulder", "right_shoulder")
}
_FOREARM = {_J["left_elbow"], _J["right_elbow"]}
_HAND = {_J[n] for n in ("left_wrist", "right_wrist", "left_hand", "right_hand")}
_THIGH = {_J[n] for n in ("pelvis", "left_hip", "right_hip")}
_SHIN = {_J["left_knee"], _J["right_knee"]}
_FOOT = {_J[n] for n in ("left_ankle", "right_ankle", "left_foot", "right_foot")}
_SMPLX_IDS = SMPLX_VERTEX_IDS["smplh"]  # the open body's nose and eye-centre vertices sit at smplx's indices
_EYE_RADIUS_M, _EYE_DEPTH_M = 0.012, 0.05
_LIPS_BELOW_NOSE_M, _LIPS_HALF_WIDTH_M, _LIPS_HALF_HEIGHT_M = 0.034, 0.021, 0.006


@dataclass(frozen=True)
class BodyRegions:
    """Per-vertex region masks (V,) of the rest body, from each vertex's main skinning joint and its rest position."""

    head: np.ndarray
    hair: np.ndarray
    eyes: np.ndarray
    lips: np.ndarray
    torso: np.ndarray
    forearm: np.ndarray
    hand: np.ndarray
    thigh: np.ndarray
    shin: np.ndarray
    foot: np.ndarray

    @staticmethod
    def from_body(lbs_weights: np.ndarray, rest_vertices: np.ndarray, rest_joints: np.ndarray) -> BodyRegions:
        """lbs_weights (V, 24); rest_vertices (V, 3), rest_joints (24, 3) in the body frame (Y up, facing +Z)."""
        main = np.argmax(lbs_weights, axis=1)

        def of(joints: set[int]) -> np.ndarray:
            return np.isin(main, list(joints))

        head = of(_HEAD)
        eyes_y = rest_joints[_J["head"], 1] + 0.07
        y, z = rest_vertices[:, 1], rest_vertices[:, 2]
        hair = head & ((y > eyes_y + 0.035) | ((z < rest_joints[_J["head"], 2] - 0.01) & (y > eyes_y - 0.05)))
        eye_centres = rest_vertices[[_SMPLX_IDS["leye"], _SMPLX_IDS["reye"]]]
        across = np.linalg.norm(rest_vertices[:, None, :2] - eye_centres[None, :, :2], axis=-1).min(axis=1)
        eyes = head & (across < _EYE_RADIUS_M) & (z > eye_centres[0, 2] - _EYE_DEPTH_M)  # eyelids and the socket
        nose = rest_vertices[_SMPLX_IDS["nose"]]
        lips = (
            head
            & (np.abs(rest_vertices[:, 0]) < _LIPS_HALF_WIDTH_M)
            & (np.abs(y - (nose[1] - _LIPS_BELOW_NOSE_M)) < _LIPS_HALF_HEIGHT_M)
            & (z > nose[2] - 0.04)
        )
        return BodyRegions(
            head & ~hair, hair, eyes, lips, of(_TORSO), of(_FOREARM), of(_HAND), of(_THIGH), of(_SHIN), of(_FOOT)
        )


def _hsv(rng: np.random.Generator, sat: tuple[float, float], val: tuple[float, float]) -> np.ndarray:
    return np.array(colorsys.hsv_to_rgb(rng.uniform(), rng.uniform(*sat), rng.uniform(*val)))


def body_colors(regions: BodyRegions, rng: np.random.Generator) -> np.ndarray:
    """(V, 3) RGB in [0, 1]: a random skin tone with dark eyes and lips, hair, a shirt (long or short sleeves),
    trousers or shorts, shoes."""
    skin = np.clip(_SKIN_TONES[rng.integers(len(_SKIN_TONES))] + rng.normal(0, 0.03, 3), 0, 1)
    colors = np.tile(skin, (len(regions.head), 1))
    shirt, trousers = _hsv(rng, (0.15, 0.85), (0.3, 0.95)), _hsv(rng, (0.05, 0.5), (0.12, 0.6))
    colors[regions.hair] = _HAIR[rng.integers(len(_HAIR))]
    colors[regions.eyes] = (0.12, 0.08, 0.06)
    colors[regions.lips] = skin * (0.75, 0.45, 0.45)
    colors[regions.torso] = shirt
    if rng.uniform() < 0.5:
        colors[regions.forearm] = shirt
    colors[regions.thigh] = trousers
    if rng.uniform() < 0.7:
        colors[regions.shin] = trousers
    colors[regions.foot] = _hsv(rng, (0.0, 0.3), (0.05, 0.9))
    return colors


def background(size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size, 3) uint8: a light wall and a floor, soft shading, a few furniture-like blocks, sensor noise."""
    wall, floor = _hsv(rng, (0.0, 0.25), (0.65, 0.97)), _hsv(rng, (0.05, 0.4), (0.3, 0.75))
    rows = np.linspace(0.0, 1.0, size)[:, None, None]
    horizon = rng.uniform(0.6, 0.9)
    image = np.where(rows < horizon, wall * (1.05 - 0.15 * rows), floor * (0.85 + 0.2 * rows))
    image = np.broadcast_to(image, (size, size, 3)).copy()
    for _ in range(rng.integers(0, 5)):
        x0, y0 = rng.integers(0, size, 2)
        w, h = rng.integers(size // 12, size // 3, 2)
        color = _hsv(rng, (0.0, 0.6), (0.2, 0.95))
        image[y0 : y0 + h, x0 : x0 + w] = 0.6 * color + 0.4 * image[y0 : y0 + h, x0 : x0 + w]
    shading = cv2.resize(rng.uniform(0.85, 1.1, (4, 4)), (size, size), interpolation=cv2.INTER_CUBIC)
    image = image * shading[..., None] + rng.normal(0.0, 0.012, image.shape)
    return (np.clip(image, 0.0, 1.0) * 255).round().astype(np.uint8)


def frame_body(vertices: np.ndarray, focal_length: float, height_px: float, offset_px: np.ndarray) -> np.ndarray:
    """(3,) camera-frame translation that puts (V, 3) camera-aligned vertices `height_px` tall (their longer
    projected side) with their projected box centred `offset_px` (2,) from the principal point."""
    extent = np.ptp(vertices[:, :2], axis=0).max()
    transl = np.array([0.0, 0.0, depth_for_pixel_scale(focal_length, height_px / extent)])
    for _ in range(3):  # perspective makes size and centre depend on depth: refine a few times
        points = torch.from_numpy(vertices + transl)[None]
        pixels = perspective_project(points, focal_length, torch.zeros(1, 2, dtype=torch.float64))[0].numpy()
        low, high = pixels.min(axis=0), pixels.max(axis=0)
        transl[2] *= (high - low).max() / height_px
        transl[:2] += (offset_px - (low + high) / 2.0) / float(pixel_scale_at_depth(focal_length, torch.tensor(transl[2])))
    return transl


def render_photo(
    renderer: MeshRenderer,
    vertices: np.ndarray,
    faces: np.ndarray,
    colors: np.ndarray,
    camera: PinholeCamera,
    backdrop: np.ndarray,
) -> np.ndarray:
    """The (V, 3) camera-frame mesh with per-vertex colours, rendered and composited over `backdrop` (H, W, 3)."""
    return blend(backdrop, renderer.render([(vertices, faces, colors)], camera), opacity=1.0)
