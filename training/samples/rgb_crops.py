"""RGB person crops for the image encoders: each sample's posed body rendered offscreen (pyvista/VTK) into the very
crop its keypoints are normalised to, dressed in random skin and clothing colours per body part, lit by random
lights, over a procedural background (gradients, stripes, smooth noise; nothing is downloaded).

`RGBSampleGenerator(config).batch(index)` is the sample generator's batch `index` plus
  image (B, 3, S, S) float32   RGB in [0, 1], S = `size` (224), not yet normalised for an encoder
The crop is the batch's `box` (cx, cy, side) in photo pixels seen at S pixels, so crop pixel p = (u + 1) * S / 2 for
normalised crop coordinates u (keypoints, joints2d); weak-perspective samples are rendered exactly as weak perspective.
The part of a crop that lies outside the virtual photo is black, as when a real crop is padded. The render's random
choices come from their own generator seeded by (config.seed, index), so a batch's crops are reproducible too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from hkmr_studio.body.kinematics import JOINT_INDEX
from hkmr_studio.body.model import BodyModel, load_body_model
from hkmr_studio.geometry.cameras import (
    crop_pixels_to_normalised,
    image_intrinsics_to_crop_intrinsics,
    normalised_to_pixels,
    weak_perspective_to_pinhole_points,
)
from hkmr_studio.render.overlay import DirectionalLight, MeshRenderer, PinholeCamera, blend
from training.samples.generator import SampleConfig, SampleGenerator

CROP_SIZE = 224
_RENDER_STREAM = 1  # the render's seed stream beside the generator's (config.seed, index)


def _joints(*names: str) -> list[int]:
    return [JOINT_INDEX[name] for name in names]


#: Body parts by the joint that moves a vertex most (its largest skinning weight); the rest (head, neck, hands) is skin.
_FOREARMS = _joints("left_elbow", "right_elbow")
_UPPER_ARMS = _joints("left_shoulder", "right_shoulder")
_TORSO = _joints("spine1", "spine2", "spine3", "left_collar", "right_collar")
_HIPS = _joints("pelvis", "left_hip", "right_hip")
_SHINS = _joints("left_knee", "right_knee")
_FEET = _joints("left_ankle", "right_ankle", "left_foot", "right_foot")


@dataclass(frozen=True)
class Outfit:
    """Per-vertex part labels of the rest body: which vertices a top, sleeve, trouser leg, shoe or hair may cover.
    Boolean arrays of shape (V,)."""

    hair: np.ndarray
    forearms: np.ndarray
    upper_arms: np.ndarray
    torso: np.ndarray
    hips: np.ndarray
    shins: np.ndarray
    feet: np.ndarray

    @classmethod
    def from_body(cls, body: BodyModel) -> Outfit:
        rest = body.smpl.v_template.double().numpy()  # (V, 3), y up
        part = body.lbs_weights.argmax(dim=1).numpy()  # (V,)
        head_joint = body.joint_template[JOINT_INDEX["head"]].double().numpy()
        hair = (part == JOINT_INDEX["head"]) & (
            (rest[:, 1] > head_joint[1] + 0.06) | ((rest[:, 2] < head_joint[2] - 0.02) & (rest[:, 1] > head_joint[1]))
        )  # crown and back of the head
        return cls(hair, *(np.isin(part, joints) for joints in (_FOREARMS, _UPPER_ARMS, _TORSO, _HIPS, _SHINS, _FEET)))

    def colours(self, rng: np.random.Generator) -> np.ndarray:
        """(V, 3) RGB in [0, 1]: a skin tone, a top with no, short or long sleeves, shorts or trousers, shoes, and
        sometimes hair; every colour slightly mottled."""
        skin = np.array([0.95, 0.78, 0.65]) * rng.uniform(0.3, 1.0) + rng.normal(0.0, 0.03, 3)
        top, bottom, shoes, hair = rng.uniform(0.05, 0.95, (4, 3))
        hair *= rng.uniform(0.1, 0.6)
        colour = np.tile(skin, (len(self.hair), 1))
        sleeves = rng.choice(3, p=[0.15, 0.45, 0.4])  # none, short, long
        sleeve = (self.upper_arms if sleeves >= 1 else False) | (self.forearms if sleeves == 2 else False)
        colour[self.torso | sleeve] = top
        colour[self.hips | (self.shins if rng.random() < 0.7 else False)] = bottom
        colour[self.feet] = shoes
        if rng.random() < 0.8:
            colour[self.hair] = hair
        colour *= 1.0 + rng.normal(0.0, 0.05, (len(colour), 1))
        return np.clip(colour, 0.0, 1.0)


def random_lights(rng: np.random.Generator) -> list[DirectionalLight]:
    """A key light from a random direction in front of the body, a dimmer fill light and one from the camera; colours
    between warm and cool. Directions in the camera frame (x right, y down, z forward), pointing from the light."""

    def towards_body(spread: float) -> np.ndarray:
        d = np.array([rng.uniform(-spread, spread), rng.uniform(-spread, spread * 0.5), 1.0])
        return d / np.linalg.norm(d)

    def tint() -> tuple[float, float, float]:
        warm = rng.uniform(-0.15, 0.15)  # > 0 warmer (less blue), < 0 cooler (less red)
        return (1.0 - max(-warm, 0.0), 1.0 - abs(warm) / 3.0, 1.0 - max(warm, 0.0))

    key = rng.uniform(0.6, 1.1)
    return [
        DirectionalLight(tuple(towards_body(1.5)), tint(), key),
        DirectionalLight(tuple(towards_body(1.5)), tint(), key * rng.uniform(0.1, 0.5)),
        DirectionalLight((0.0, 0.0, 1.0), (1.0, 1.0, 1.0), rng.uniform(0.1, 0.4)),
    ]


def random_background(size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size, 3) float RGB in [0, 1]: a linear gradient, stripes, or smooth value noise, each in random
    colours, with a little pixel noise."""
    y, x = np.mgrid[0:size, 0:size] / size
    angle = rng.uniform(0.0, np.pi)
    along = x * np.cos(angle) + y * np.sin(angle)  # (S, S)
    low, high = rng.uniform(0.0, 1.0, (2, 3))
    kind = rng.integers(3)
    if kind == 0:  # gradient
        t = (along - along.min()) / max(along.max() - along.min(), 1e-6)
    elif kind == 1:  # stripes, soft or hard
        wave = 0.5 + 0.5 * np.sin(2.0 * np.pi * rng.uniform(2.0, 20.0) * along + rng.uniform(0.0, 2.0 * np.pi))
        t = wave if rng.random() < 0.5 else (wave > 0.5).astype(float)
    else:  # smooth noise from a coarse random grid
        import cv2

        cells = int(rng.integers(3, 24))
        coarse = rng.uniform(0.0, 1.0, (cells, cells, 3)).astype(np.float32)
        noise = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
        return np.clip(low * (1 - noise) + high * noise + rng.normal(0, 0.01, noise.shape), 0.0, 1.0)
    image = low * (1.0 - t[..., None]) + high * t[..., None]
    return np.clip(image + rng.normal(0.0, 0.01, image.shape), 0.0, 1.0)


class CropRenderer:
    """Renders a batch's crops. The VTK renderer starts on first use in each process (DataLoader workers included)."""

    def __init__(self, body: BodyModel | None = None, size: int = CROP_SIZE, photo_px: float = 512.0) -> None:
        self.body = body or load_body_model()
        self.size, self.photo_px = size, photo_px
        self.outfit = Outfit.from_body(self.body)
        self._renderer: MeshRenderer | None = None

    def posed_vertices(self, batch: dict[str, torch.Tensor]) -> np.ndarray:
        """(B, V, 3) the batch's full body meshes in the photo's camera frame, metres."""
        with torch.no_grad():
            vertices = self.body(batch["global_orient"], batch["body_pose"], batch["betas"]).vertices
        return (vertices + batch["transl"][:, None]).double().numpy()

    def view(self, batch: dict[str, torch.Tensor], row: int, vertices: np.ndarray) -> tuple[np.ndarray, PinholeCamera]:
        """Sample `row`'s (V, 3) camera-frame vertices as the crop camera should see them, and that camera."""
        rows = slice(row, row + 1)
        if not bool(batch["perspective"][row]):
            depth = batch["transl"][rows, 2].double()
            vertices = weak_perspective_to_pinhole_points(torch.from_numpy(vertices)[None], depth)[0].numpy()
        box = batch["box"][rows].double()
        focal, principal = image_intrinsics_to_crop_intrinsics(
            batch["focal_length"][rows].double(), batch["principal_point"][rows].double(), box[:, :2], box[:, 2],
            self.size)
        return vertices, PinholeCamera(float(focal[0]), float(principal[0, 0]), float(principal[0, 1]), self.size,
                                       self.size)

    def shade(self, vertices: np.ndarray, colours: np.ndarray, lights: list[DirectionalLight],
              camera: PinholeCamera) -> np.ndarray:
        """(V, 3) camera-frame vertices with (V, 3) RGB colours under `lights` -> (S, S, 4) uint8 RGBA."""
        if self._renderer is None:
            self._renderer = MeshRenderer()
        self._renderer.set_lights(lights)
        return self._renderer.render([(vertices, self.body.faces, colours)], camera)

    def render(self, batch: dict[str, torch.Tensor], rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A sample generator batch -> RGB (B, S, S, 3) uint8 and the body's silhouette (B, S, S) bool."""
        posed = self.posed_vertices(batch)
        images = np.empty((len(posed), self.size, self.size, 3), dtype=np.uint8)
        silhouettes = np.empty((len(posed), self.size, self.size), dtype=bool)
        for row, vertices in enumerate(posed):
            points, camera = self.view(batch, row, vertices)
            rgba = self.shade(points, self.outfit.colours(rng), random_lights(rng), camera)
            background = (random_background(self.size, rng) * 255.0).round().astype(np.uint8)
            inside = self._inside_photo(batch["box"][row].double().numpy())
            images[row] = blend(background, rgba, opacity=1.0) * inside[..., None]
            silhouettes[row] = rgba[..., 3] > 0
        return images, silhouettes

    def _inside_photo(self, box: np.ndarray) -> np.ndarray:
        """(S, S) uint8: 1 where the crop shows the photo, 0 where it reaches past the photo's border."""
        pixel_centres = (torch.arange(self.size, dtype=torch.float64) + 0.5)[:, None].expand(-1, 2)  # (S, 2) crop px
        grid = crop_pixels_to_normalised(pixel_centres, self.size)[None]
        centres = normalised_to_pixels(grid, torch.from_numpy(box[None, :2]), torch.from_numpy(box[None, 2]))[0].T.numpy()
        inside = (centres >= 0.0) & (centres < self.photo_px)
        return (inside[1][:, None] & inside[0][None, :]).astype(np.uint8)


class RGBSampleGenerator:
    """The sample generator's batches with rendered crops (key "image"); same `batch(index)` contract."""

    def __init__(self, config: SampleConfig | None = None, size: int = CROP_SIZE, **generator_args: Any) -> None:
        self.samples = SampleGenerator(config, **generator_args)
        self.config = self.samples.config
        self.crops = CropRenderer(self.samples.body.body, size, self.config.photo_px)

    def render_rng(self, index: int) -> np.random.Generator:
        """The random generator of batch `index`'s render (backgrounds, lights, colours)."""
        return np.random.default_rng([self.config.seed, index, _RENDER_STREAM])

    def batch(self, index: int) -> dict[str, torch.Tensor]:
        batch = self.samples.batch(index)
        images, _ = self.crops.render(batch, self.render_rng(index))
        batch["image"] = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
        return batch
