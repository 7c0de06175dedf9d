"""Render the body in random poses, shapes and views, run MediaPipe Pose on each render, and keep what calibration
needs: the detections and the camera-frame positions of the vertices and joints that landmarks may be made of.

Camera frame: OpenCV (x right, y down, z forward), metres; pixels of the render (origin top-left). Render i is drawn
from numpy's Generator seeded with (seed, i), so any render can be reproduced alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from hkmr_studio.body.model import BodyModel
from hkmr_studio.geometry.cameras import perspective_project
from hkmr_studio.occlusion import OCCLUDER_KINDS, Occluder, make_occluder, noise_texture
from hkmr_studio.pipeline.detection import PoseDetector
from hkmr_studio.pipeline.keypoints import NUM_LANDMARKS
from hkmr_studio.render.overlay import MeshRenderer, PinholeCamera
from training.landmarks.scene import BodyRegions, background, body_colors, frame_body, render_photo
from training.samples.poses import PoseSet
from training.samples.views import camera_global_orient


@dataclass(frozen=True)
class RenderSettings:
    """How calibration renders are drawn. Lengths in pixels of the square render; angles in degrees."""

    image_size: int = 512
    body_height_px: float = 350.0  # the body's longer projected side, +- height_jitter
    height_jitter: float = 0.1
    offset_px: float = 30.0  # the body's centre moves up to this far from the image centre
    focal_range_px: tuple[float, float] = (450.0, 900.0)  # about 59 to 32 degrees of horizontal field of view
    pitch_std_deg: float = 10.0
    roll_std_deg: float = 3.0
    betas_std: float = 1.0
    betas_clip: float = 2.5


@dataclass
class Observations:
    """N renders. found (N,); detected (N, 33, 2) pixels, visibility (N, 33), world (N, 33, 3) MediaPipe's
    (NaN where not found); vertices (N, T, 3) camera-frame positions of the tracked vertex ids (T,); joints (N, 24, 3);
    focal (N,) pixels; yaw (N,) radians (0: facing the camera, pi/2: left side to the camera); height_px (N,).
    Each render is detected a second time with an occluder drawn over it: occluders (N,), occluded_found (N,),
    occluded_detected (N, 33, 2), occluded_visibility (N, 33)."""

    tracked: np.ndarray
    found: np.ndarray
    detected: np.ndarray
    visibility: np.ndarray
    world: np.ndarray
    vertices: np.ndarray
    joints: np.ndarray
    focal: np.ndarray
    yaw: np.ndarray
    height_px: np.ndarray
    occluders: list[Occluder]
    occluded_found: np.ndarray
    occluded_detected: np.ndarray
    occluded_visibility: np.ndarray
    principal: float

    def project(self, points: np.ndarray) -> np.ndarray:
        """(N, K, 3) camera-frame points -> (N, K, 2) pixels of the renders."""
        principal = torch.full((len(points), 2), self.principal, dtype=torch.float64)
        return perspective_project(torch.from_numpy(points), torch.from_numpy(self.focal), principal).numpy()


def _scene(
    body: BodyModel,
    poses: PoseSet,
    regions: BodyRegions,
    renderer: MeshRenderer,
    settings: RenderSettings,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One random render (H, W, 3) and its truth: camera-frame vertices (V, 3) and joints (24, 3), focal, yaw,
    height_px."""
    k = int(rng.integers(len(poses)))
    yaw = rng.uniform(-math.pi, math.pi)
    pitch, roll = (
        math.radians(np.clip(rng.normal(0.0, std), -30.0, 30.0))
        for std in (settings.pitch_std_deg, settings.roll_std_deg)
    )
    angles = [torch.tensor([a], dtype=torch.float32) for a in (yaw, pitch, roll)]
    betas = np.clip(rng.normal(0.0, settings.betas_std, (1, 10)), -settings.betas_clip, settings.betas_clip)
    with torch.no_grad():
        out = body(
            camera_global_orient(poses.global_orient[k : k + 1], *angles),
            poses.body_pose[k : k + 1],
            torch.from_numpy(betas.astype(np.float32)),
        )
    vertices = out.vertices[0].double().numpy()
    focal = rng.uniform(*settings.focal_range_px)
    height = settings.body_height_px * rng.uniform(1 - settings.height_jitter, 1 + settings.height_jitter)
    transl = frame_body(vertices, focal, height, rng.uniform(-settings.offset_px, settings.offset_px, 2))
    size = settings.image_size
    camera = PinholeCamera(focal, size / 2.0, size / 2.0, size, size)
    image = render_photo(
        renderer, vertices + transl, body.faces, body_colors(regions, rng), camera, background(size, rng)
    )
    truth = {
        "vertices": vertices + transl,
        "joints": out.joints[0].double().numpy() + transl,
        "focal": focal,
        "yaw": yaw,
        "height_px": height,
    }
    return image, truth


def collect(
    body: BodyModel,
    poses: PoseSet,
    tracked: np.ndarray,
    count: int,
    seed: int,
    settings: RenderSettings,
    progress: Callable[[int], None] | None = None,
) -> Observations:
    """Render and detect `count` scenes; `tracked` (T,) are the vertex ids to keep positions of."""
    regions = BodyRegions.from_body(body.lbs_weights.numpy(), body.smpl.v_template.numpy(), body.joint_template.numpy())
    size = settings.image_size
    records: list[dict[str, np.ndarray]] = []
    occluders: list[Occluder] = []
    renderer = MeshRenderer()
    try:
        with PoseDetector() as detector:
            for i in range(count):
                rng = np.random.default_rng([seed, i])
                image, truth = _scene(body, poses, regions, renderer, settings, rng)
                occluder = _random_occluder(truth["joints"], truth["focal"], size / 2.0, truth["height_px"], rng)
                texture = noise_texture(size, size, rng) if rng.uniform() < 0.5 else None
                occluded = occluder.draw(image, tuple(int(c) for c in rng.integers(0, 256, 3)), texture)
                record = {k: np.asarray(v) for k, v in truth.items()}
                record["vertices"] = truth["vertices"][tracked]
                for prefix, picture in (("", image), ("occluded_", occluded)):
                    kp = detector.detect(picture).keypoints
                    record[prefix + "found"] = np.array(kp is not None)
                    record[prefix + "detected"] = kp.xy if kp is not None else np.full((NUM_LANDMARKS, 2), np.nan)
                    record[prefix + "visibility"] = kp.visibility if kp is not None else np.full(NUM_LANDMARKS, np.nan)
                    if not prefix:
                        record["world"] = kp.world if kp is not None else np.full((NUM_LANDMARKS, 3), np.nan)
                records.append(record)
                occluders.append(occluder)
                if progress is not None:
                    progress(i + 1)
    finally:
        renderer.close()
    stacked = {key: np.stack([r[key] for r in records]) for key in records[0]}
    return Observations(tracked=tracked, principal=size / 2.0, occluders=occluders, **stacked)


def _random_occluder(
    joints: np.ndarray, focal: float, principal: float, height_px: float, rng: np.random.Generator
) -> Occluder:
    """An occluder of random kind, degree 1-5 and angle over a random joint (24, 3 camera frame) of the render, sized
    for a person crop 1.2 times the body's projected height (the paper occludes one joint at a time)."""
    joint = joints[rng.integers(1, len(joints))]
    target = perspective_project(torch.from_numpy(joint)[None, None], focal, torch.full((1, 2), principal))[0, 0].numpy()
    return make_occluder(
        OCCLUDER_KINDS[rng.integers(3)],
        int(rng.integers(1, 6)),
        (target[0], target[1]),
        rng.uniform(0, np.pi),
        1.2 * height_px,
        aspect=float(np.exp(rng.uniform(-0.7, 0.7))),
    )
