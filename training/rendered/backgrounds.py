"""Backgrounds for the rendered set: a procedural room, a procedural texture, or a crop of a photo without people.

The photos are the public-domain and CC0 sample images that ship inside the scikit-image wheel (a cat, a coffee cup,
a rocket launch, coins, bricks, grass, gravel, the Hubble deep field; licences in training/data/RENDERED_SET.md). They
are read from the installed package at build time and never copied into the repository. Images are (S, S, 3) uint8
RGB.
"""

from __future__ import annotations

import functools
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from training.landmarks.scene import background as room_background
from training.samples.rgb_crops import random_background as texture_background

#: Background kinds in the order the set stores them (`background` column).
KINDS = ("room", "texture", "photo")
#: Share of each kind, in KINDS order.
KIND_WEIGHTS = (0.4, 0.3, 0.3)
#: scikit-image sample photos without people (file names in skimage/data).
PHOTO_FILES = (
    "chelsea.png", "coffee.png", "rocket.jpg", "coins.png", "brick.png", "grass.png", "gravel.png",
    "hubble_deep_field.jpg",
)  # fmt: skip


class MissingPhotosError(RuntimeError):
    """The background photos are not installed."""


@functools.cache
def background_photos() -> tuple[np.ndarray, ...]:
    """The photos as (H, W, 3) uint8 RGB, loaded once per process; raises MissingPhotosError without scikit-image."""
    try:
        import skimage
    except ImportError as error:
        raise MissingPhotosError(
            "the rendered set's photo backgrounds come from scikit-image's sample images: "
            "pip install -e '.[train]' (it lists scikit-image)"
        ) from error
    folder = Path(skimage.__file__).parent / "data"
    return tuple(np.asarray(Image.open(folder / name).convert("RGB")) for name in PHOTO_FILES)


def photo_crop(size: int, rng: np.random.Generator) -> np.ndarray:
    """A random square crop of a random photo (a quarter to all of its shorter side, maybe mirrored), resized to
    `size`, with its brightness and colour balance jittered."""
    photo = background_photos()[rng.integers(len(PHOTO_FILES))]
    height, width = photo.shape[:2]
    side = int(min(height, width) * rng.uniform(0.25, 1.0))
    y0, x0 = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    crop = cv2.resize(photo[y0 : y0 + side, x0 : x0 + side], (size, size), interpolation=cv2.INTER_AREA)
    if rng.uniform() < 0.5:
        crop = crop[:, ::-1]
    gain = rng.uniform(0.6, 1.3) * rng.uniform(0.9, 1.1, 3)
    return np.clip(crop * gain, 0, 255).round().astype(np.uint8)


def random_backdrop(size: int, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A (size, size, 3) uint8 background of a random kind and that kind's index in KINDS."""
    kind = int(rng.choice(len(KINDS), p=KIND_WEIGHTS))
    if KINDS[kind] == "room":
        return room_background(size, rng), kind
    if KINDS[kind] == "texture":
        return (texture_background(size, rng) * 255.0).round().astype(np.uint8), kind
    return photo_crop(size, rng), kind
